"""Per-layer implementation choices: strategy (latency / resource) and reuse factor.

Latency: every multiplication has its own multiplier, fully unrolled (II = 1).
Resource: each multiplier is reused `reuse_factor` times, so the layer's
multiplications must split evenly: the reuse factor must divide their count.

Dense layers and recurrent cells fold (a cell's reuse factor applies to its
kernel and its recurrent kernel; `unroll_time` builds one cell per time step
instead of reusing one). Convolutions are always unrolled over their kernel
(strategy latency, reuse factor 1): the model-wide --reuse-factor/--strategy
leave them alone, and a per-layer reuse factor or resource strategy on one is
an error. (hls4ml folds a convolution's per-pixel kernel product instead.)
"""
import math

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
    if node.op == "recurrent":  # both kernels on every step
        return node.attrs["steps"] * int(node.params["weight"].size + node.params["recurrent_weight"].size)
    return 0


def reuse_unit(graph: Graph, node) -> int:
    """The count a reuse factor must divide: a recurrent cell shares the
    multipliers of each product of its kernels (n_in x units and units x units
    blocks of gates) between RF steps; other nodes share all of theirs."""
    if node.op == "recurrent":
        units, n_in = node.attrs["units"], graph.tensors[node.inputs[0]].shape[-1]
        return units * math.gcd(n_in, units)
    return multiplications(graph, node)


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
        unit = reuse_unit(graph, node)
        if unit % reuse:
            choices = valid_reuse_factors(unit)
            shown = ", ".join(map(str, choices[:12])) + (", ..." if len(choices) > 12 else "")
            what = "multiplications" if unit == count else "multiplications per kernel block"
            raise OptionError(f"layer {node.name!r}: reuse factor {reuse} does not divide its {unit} "
                              f"{what} (valid: {shown})")
        node.attrs["strategy"] = strategy
        node.attrs["reuse_factor"] = reuse
        if node.op == "recurrent":
            unroll = own.get("unroll_time", False)
            if not isinstance(unroll, bool):
                raise OptionError(f"layer {node.name!r}: unroll_time {unroll!r} must be true or false")
            node.attrs["unroll_time"] = unroll
    return graph
