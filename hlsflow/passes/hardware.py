"""Per-layer implementation choices: strategy (latency / resource) and reuse factor.

Latency: every multiplication has its own multiplier, fully unrolled (II = 1).
Resource: each multiplier is reused `reuse_factor` times, so the layer's
multiplications must split evenly: the reuse factor must divide their count.

Only dense layers fold. Convolutions are always unrolled over their kernel
(strategy latency, reuse factor 1): the model-wide --reuse-factor/--strategy
leave them alone, and a per-layer reuse factor or resource strategy on one is
an error. (hls4ml folds a convolution's per-pixel kernel product instead.)
"""
import numpy as np

from hlsflow.errors import OptionError
from hlsflow.ir import Graph

STRATEGIES = ("latency", "resource")


def multiplications(graph: Graph, node) -> int:
    """Multiplications by a weight that a node performs per inference (0 for ops without weights)."""
    if node.op == "dense":
        return int(node.params["weight"].size)
    if node.op == "conv":
        return int(np.sum(conv_uses(node.attrs)) * node.params["weight"][0, 0].size)
    return 0


def window_uses(size_in: int, size_out: int, kernel: int, stride: int, dilation: int, pad: int) -> np.ndarray:
    """For each kernel tap along one axis, the number of output positions where it reads inside the input."""
    pos = np.arange(size_out)[:, None] * stride + np.arange(kernel)[None, :] * dilation - pad
    return np.sum((pos >= 0) & (pos < size_in), axis=0)


def conv_uses(a: dict) -> np.ndarray:
    """(kh, kw): how many output pixels each kernel tap of a conv/pool node contributes to."""
    rows = window_uses(a["in_hwc"][0], a["out_hwc"][0], a["kernel"][0], a["strides"][0], a["dilation"][0],
                       a["pads"][0])
    cols = window_uses(a["in_hwc"][1], a["out_hwc"][1], a["kernel"][1], a["strides"][1], a["dilation"][1],
                       a["pads"][2])
    return np.outer(rows, cols)


def valid_reuse_factors(count: int) -> list[int]:
    return [r for r in range(1, count + 1) if count % r == 0]


def assign_hardware(graph: Graph, config) -> Graph:
    """Record strategy and reuse factor on every node with weights, validated."""
    layers = config.get("layers", {})
    for node in graph.nodes:
        count = multiplications(graph, node)
        if not count:
            continue
        own = layers.get(node.name, {})
        if node.op == "conv":
            if own.get("reuse_factor", 1) != 1 or own.get("strategy", "latency") != "latency":
                raise OptionError(f"layer {node.name!r}: convolutions are always unrolled (strategy latency, "
                                  f"reuse factor 1): remove its reuse_factor/strategy (--io stream builds each "
                                  f"kernel once)")
            node.attrs["strategy"], node.attrs["reuse_factor"] = "latency", 1
            continue
        strategy = own.get("strategy", config["strategy"])
        reuse = own.get("reuse_factor", config["reuse_factor"])
        where = f"layer {node.name!r}" if "reuse_factor" in own or "strategy" in own else "--reuse-factor/--strategy"
        if strategy not in STRATEGIES:
            raise OptionError(f"{where}: strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
        if not isinstance(reuse, int) or isinstance(reuse, bool) or reuse < 1:
            raise OptionError(f"{where}: reuse factor {reuse!r} must be a positive integer")
        if strategy == "latency" and reuse != 1:
            strategy = "resource"
        if count % reuse:
            choices = valid_reuse_factors(count)
            shown = ", ".join(map(str, choices[:12])) + (", ..." if len(choices) > 12 else "")
            raise OptionError(f"layer {node.name!r}: reuse factor {reuse} does not divide its {count} "
                              f"multiplications (valid: {shown})")
        node.attrs["strategy"] = strategy
        node.attrs["reuse_factor"] = reuse
    return graph
