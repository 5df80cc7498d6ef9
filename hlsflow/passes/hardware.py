"""Per-layer implementation choices: strategy, reuse factor and parallelization factor.

Every weighted layer (dense and convolution) computes with one *kernel*: the
products of one input vector (a dense layer's input, or the window of one
output pixel of a convolution) with the weights, giving every output value.
- Latency strategy: every product has its own multiplier by a constant weight
  (reuse factor 1): the tool folds the constants into the logic.
- Resource strategy: the weights sit in a ROM read one word per clock, and each
  of the kernel's multipliers is reused `reuse_factor` times: `reuse_factor`
  clocks per input vector. The reuse factor must divide the kernel's products
  per group (`fold` splits it over the inputs and the outputs); one that does
  not is replaced by the nearest that does (the smaller of two equally near,
  as hls4ml does), with a warning.

A convolution or pooling layer (io_parallel) computes `parallelization_factor`
output pixels at once, one output row at a time; a factor of at least the
layer's output pixels computes the whole layer at once (every pixel's kernel
built). io_stream computes one pixel per clock beat (factor 1).

A recurrent cell folds too: its reuse factor applies to its kernel and its
recurrent kernel, one cell reused on every time step (`unroll_time` builds one
cell per step instead).
"""
import math
import warnings

import numpy as np

from hlsflow.errors import OptionError
from hlsflow.ir import Graph

STRATEGIES = ("latency", "resource")
SPATIAL = ("conv", "pool")
LUTRAM_DEPTH = 64  # a weight ROM at most this deep goes into LUTs (one LUT6 holds 64 x 1 bit), deeper into block RAM


def cell_reuse_unit(graph: Graph, node) -> int:
    """The count a recurrent cell's reuse factor must divide: the cell shares
    the multipliers of each product of its kernels (n_in x units and units x
    units blocks of gates) between RF clocks."""
    units, n_in = node.attrs["units"], graph.tensors[node.inputs[0]].shape[-1]
    return units * math.gcd(n_in, units)


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


def kernel_shape(node) -> tuple[int, int, int]:
    """(groups, inputs per group, outputs per group) of a weighted node's kernel."""
    if node.op == "dense":
        n_in, n_out = node.params["weight"].shape
        return 1, int(n_in), int(n_out)
    a = node.attrs
    groups = a.get("groups", 1)
    return groups, a["kernel"][0] * a["kernel"][1] * a["in_hwc"][2] // groups, a["out_hwc"][2] // groups


def fold(node) -> dict:
    """How a weighted node's kernel folds over its reuse factor RF: RF = r_in x r_out
    clocks, clock (ro, ri) multiplying inputs [ri*bi, (ri+1)*bi) of every group
    by outputs [ro*bo, (ro+1)*bo); `lanes` multipliers, each used RF times."""
    groups, inputs, outputs = kernel_shape(node)
    reuse = node.attrs.get("reuse_factor", 1)
    r_in = math.gcd(reuse, inputs)
    r_out = reuse // r_in  # divides `outputs` since reuse divides inputs * outputs
    bi, bo = inputs // r_in, outputs // r_out
    return {"groups": groups, "inputs": inputs, "outputs": outputs, "reuse": reuse, "r_in": r_in, "r_out": r_out,
            "bi": bi, "bo": bo, "lanes": groups * bi * bo}


def rom_storage(depth: int) -> str:
    """Where a weight ROM of `depth` words goes: "lutram" or "bram"."""
    return "lutram" if depth <= LUTRAM_DEPTH else "bram"


def is_global_pool(a: dict) -> bool:
    """A pooling window that covers the whole input once (GlobalMax/AveragePooling)."""
    return list(a["kernel"]) == list(a["in_hwc"][:2]) and list(a["out_hwc"][:2]) == [1, 1] and not any(a["pads"])


def window_geometry(a: dict, pf: int = 1) -> dict:
    """The padded raster a sliding-window layer scans, in (rows, columns): `khs`/`kws`
    window span, `ph`/`pw` padded input rows/columns scanned, `steps` groups of
    `pf` output pixels per output row and `pwx` window-register columns (io_parallel)."""
    (kh, kw), (sh, sw), (dh, dw) = a["kernel"], a["strides"], a["dilation"]
    (ih, iw, _), (oh, ow, _) = a["in_hwc"], a["out_hwc"]
    pt, _, pl, _ = a["pads"]
    khs, kws = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    ph, pw = max(pt + ih, (oh - 1) * sh + khs), max(pl + iw, (ow - 1) * sw + kws)
    steps = -(-ow // pf)
    return {"khs": khs, "kws": kws, "ph": ph, "pw": pw, "steps": steps, "pwx": max(pw, (steps * pf - 1) * sw + kws)}


def output_pixels(node) -> int:
    return node.attrs["out_hwc"][0] * node.attrs["out_hwc"][1]


def valid_reuse_factors(count: int) -> list[int]:
    return [r for r in range(1, count + 1) if count % r == 0]


def nearest_reuse_factor(count: int, asked: int) -> int:
    """The divisor of `count` nearest to `asked`; the smaller of two equally near."""
    return min(valid_reuse_factors(count), key=lambda r: (abs(r - asked), r))


def assign_hardware(graph: Graph, config) -> Graph:
    """Record strategy and reuse factor on every weighted node, and the
    parallelization factor on every conv/pool node, validated. Reuse factors
    replaced by a valid one go to graph.meta["reuse_replaced"] as
    (layer, asked, used, what it must divide) for `warn_replaced`."""
    layers = config.get("layers", {})
    graph.meta["reuse_replaced"] = []
    for node in graph.nodes:
        own = layers.get(node.name, {})
        if node.op in ("dense", "conv"):
            groups, inputs, outputs = kernel_shape(node)
            _reuse(graph, node, own, config, inputs * outputs, "multiplications" if node.op == "dense" else
                   "kernel multiplications per output pixel" + (" and group" if groups > 1 else ""))
        if node.op == "recurrent":
            _reuse(graph, node, own, config, cell_reuse_unit(graph, node), "multiplications per kernel block")
            unroll = own.get("unroll_time", False)
            if not isinstance(unroll, bool):
                raise OptionError(f"layer {node.name!r}: unroll_time {unroll!r} must be true or false")
            node.attrs["unroll_time"] = unroll
        if node.op in SPATIAL:
            node.attrs["parallelization_factor"] = _parallelization(node, own, config)
    return graph


def _reuse(graph: Graph, node, own: dict, config, count: int, what: str) -> None:
    """Validate and record a node's strategy and reuse factor: the nearest divisor of its `count` `what`."""
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
        used = nearest_reuse_factor(count, reuse)
        graph.meta["reuse_replaced"].append((node.name, reuse, used, f"its {count} {what}"))
        reuse = used
    node.attrs["strategy"] = strategy
    node.attrs["reuse_factor"] = reuse


def warn_replaced(graph: Graph) -> None:
    """One warning per layer whose reuse factor `assign_hardware` replaced."""
    for name, asked, used, what in graph.meta.get("reuse_replaced", []):
        warnings.warn(f"layer {name!r}: reuse factor {asked} does not divide {what}; using {used}, "
                      f"the nearest that does", stacklevel=5)  # the caller of hlsflow.convert


def _parallelization(node, own: dict, config) -> int:
    """The output pixels a conv/pool node computes at once: 1..(output width), one
    output row at a time, or all its output pixels (the whole layer unrolled).
    The model-wide default is clipped to what the layer allows; a per-layer value must be valid."""
    width, pixels = node.attrs["out_hwc"][1], output_pixels(node)
    if "parallelization_factor" in own:
        pf, where = own["parallelization_factor"], f"layer {node.name!r}"
    else:
        pf, where = config["parallelization_factor"], "--parallelization-factor"
    if not isinstance(pf, int) or isinstance(pf, bool) or pf < 1:
        raise OptionError(f"{where}: parallelization factor {pf!r} must be a positive integer")
    whole = node.attrs.get("reuse_factor", 1) == 1  # the whole layer at once only with unfolded kernels
    if pf >= pixels and whole:
        return pixels
    if pf > width:
        if "parallelization_factor" in own:
            raise OptionError(f"layer {node.name!r}: parallelization factor {pf} is neither at most its output "
                              f"width {width} (pixels of one output row at once) nor" + (
                                  f" its {pixels} output pixels (the whole layer at once)" if whole else
                                  " possible for the whole layer with a reuse factor above 1"))
        return width
    return pf
