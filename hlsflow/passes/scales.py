"""Per-channel scales: factor alpha="auto"/"auto_po2" scales out of the weights.

QKeras multiplies by weights w = float32(s_c * z) with z on a narrow grid; when
that product is exact for every weight, the IR keeps the narrow z as weights
and applies s_c once per output channel after the sum (a shift when s_c is a
power of two). Otherwise the exact float32 weights stay in place.
"""
import numpy as np

from hlsflow.ir import Graph


def factor_channel_scales(graph: Graph, config) -> Graph:
    for node in graph.nodes:
        hint = node.attrs.pop("scale_hint", None)
        if hint is None:
            continue
        scale = np.array(hint, dtype=np.float64)
        weight = node.params["weight"]
        if np.any(scale == 0):
            continue
        z = weight / scale
        if np.all(z == np.round(z)) and np.all(z * scale == weight):
            node.params["weight"] = z
            node.params["scale"] = scale
    return graph
