"""Fixed-point types for every tensor, parameter and accumulator.

Accumulators come from interval analysis over the actual weights: wide enough
that no partial sum overflows and fine enough that nothing rounds, so the only
rounding of a layer is its output cast. Tensors QKeras leaves unquantized get
data-free defaults here (the profiling pass refines them from samples); those
are marked inexact.
"""
import math

import numpy as np

from hlsflow.errors import OptionError
from hlsflow.fixed import FixedType, quantize
from hlsflow.ir import FLOAT, Graph

DEFAULTS = {
    "strategy": "latency",  # or "resource" (see passes/hardware.py)
    "reuse_factor": 1,
    "input_type": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",  # for inputs no quantizer sets
    "weight_width": 16,  # float weights are rounded to this many bits
    "activation_width": 18,  # cap for inexact (float-model) tensors
    "softmax": {
        "index_type": "ap_ufixed<10,4,AP_RND_CONV,AP_SAT>",  # max(x) - x, indexes the exp table
        "exp_type": "ap_ufixed<18,1,AP_RND_CONV,AP_SAT>",
        "inv_frac": 7,  # fractional bits of the sum that index the 1/sum table
        "inv_type": "ap_ufixed<18,1,AP_RND_CONV,AP_SAT>",
        "output_type": "ap_ufixed<16,1,AP_RND_CONV,AP_SAT>",
    },
}
EXACT_LIMIT = 53  # widest type the float64 emulator holds exactly


def with_defaults(config):
    """The conversion config with every default filled in."""
    merged = {**DEFAULTS, **(config or {})}
    merged["softmax"] = {**DEFAULTS["softmax"], **(config or {}).get("softmax", {})}
    unknown = set(merged) - set(DEFAULTS) - {"layers"}
    if unknown:
        raise OptionError(f"config: unknown option(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(DEFAULTS))})")
    return merged


def parse_type(text, option) -> FixedType:
    try:
        return FixedType.parse(text)
    except ValueError as exc:
        raise OptionError(f"config {option}: {exc}") from exc


def type_for_interval(lo: float, hi: float, frac: int) -> FixedType:
    """Narrowest type with `frac` fractional bits holding every value in [lo, hi]."""
    signed = lo < 0
    integer = -frac + 1
    while True:
        t = FixedType(max(integer + frac, 1), integer, signed)
        if t.min_value <= lo and hi <= t.max_value:
            return t
        integer += 1


def fractional_bits(values: np.ndarray) -> int:
    """Fewest fractional bits that represent every value exactly."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[values != 0]
    if values.size == 0:
        return 0
    _, exponents = np.frexp(values)
    frac = int(-exponents.max())
    while not np.all(np.ldexp(values, frac) == np.round(np.ldexp(values, frac))):
        frac += 1
    return frac


def exact_type(values: np.ndarray) -> FixedType:
    """Narrowest type holding every one of `values` exactly."""
    values = np.asarray(values, dtype=np.float64)
    frac = fractional_bits(values)
    return type_for_interval(min(float(values.min()), 0.0), max(float(values.max()), 0.0), frac)


def rounded_type(values: np.ndarray, width: int) -> FixedType:
    """A `width`-bit rounding type whose integer bits cover max |values|."""
    peak = float(np.abs(values).max()) if np.size(values) else 0.0
    integer = 1 if peak == 0 else max(math.floor(math.log2(peak)) + 2, 1 - width + 1)
    t = FixedType(width, integer, True, "RND_CONV", "SAT")
    return t


def _param_type(node, key, quantized, config):
    """Quantized parameters keep their exact values; float ones too when they
    fit in weight_width bits, else they are rounded to that width."""
    values = node.params[key]
    exact = exact_type(values)
    if quantized or exact.width <= config["weight_width"]:
        return exact, True
    t = rounded_type(values, config["weight_width"])
    node.params[key] = quantize(values, t)
    return t, False


def _dense(graph: Graph, node, config):
    (x,) = graph.input_tensors(node)
    (y,) = graph.output_tensors(node)
    wt, w_exact = _param_type(node, "weight", node.attrs["weight_quantized"], config)
    bt, b_exact = _param_type(node, "bias", node.attrs["bias_quantized"], config)
    w, b = node.params["weight"], node.params["bias"]
    scale = node.params.get("scale")
    # Each product x*w lies in [min(lo*w, hi*w), max(...)]; partial sums stay
    # within the sum of the negative parts and the sum of the positive parts.
    ends = np.stack([x.type.min_value * w, x.type.max_value * w])
    neg = np.minimum(ends.min(axis=0), 0).sum(axis=0)
    pos = np.maximum(ends.max(axis=0), 0).sum(axis=0)
    frac = x.type.fractional + wt.fractional
    if scale is None:
        neg, pos = neg + np.minimum(b, 0), pos + np.maximum(b, 0)
        frac = max(frac, bt.fractional)
        acc = type_for_interval(float(neg.min()), float(pos.max()), frac)
        lo, hi = neg, pos
    else:
        acc = type_for_interval(float(neg.min()), float(pos.max()), frac)
        st = exact_type(scale)
        node.attrs["scale_type"] = st
        ends = np.stack([neg * scale, pos * scale])
        lo, hi = ends.min(axis=0) + b, ends.max(axis=0) + b
        frac = max(frac + st.fractional, bt.fractional)
    if node.attrs.get("relu"):
        lo, hi = np.maximum(lo, 0), np.maximum(hi, 0)
    node.attrs.update(weight_type=wt, bias_type=bt, accum_type=acc)
    exact = x.exact and w_exact and b_exact
    if y.type == FLOAT:
        y.type, y.exact = _result_type(float(lo.min()), float(hi.max()), frac, exact, config)
    else:
        y.exact = exact
    for t in (acc, y.type):
        if t.width > EXACT_LIMIT:
            raise OptionError(f"layer {node.name!r}: needs a {t.width}-bit type; hlsflow handles at most {EXACT_LIMIT} bits")


def _result_type(lo, hi, frac, exact, config):
    """Exact type of a result, rounded to the width cap where already inexact."""
    t = type_for_interval(lo, hi, frac)
    limit = EXACT_LIMIT if exact else config["activation_width"]
    if t.width <= limit:
        return t, exact
    return FixedType(limit, t.integer, t.signed, "RND_CONV", "SAT"), False


def _same_as_input(graph: Graph, node, config):
    (x,) = graph.input_tensors(node)
    (y,) = graph.output_tensors(node)
    if y.type == FLOAT:
        y.type = x.type
    y.exact = x.exact


def _softmax(graph: Graph, node, config):
    (y,) = graph.output_tensors(node)
    opts = config["softmax"]
    n = y.size
    index = parse_type(opts["index_type"], "softmax.index_type")
    exp = parse_type(opts["exp_type"], "softmax.exp_type")
    sum_t = FixedType(exp.width + math.ceil(math.log2(n)), exp.integer + math.ceil(math.log2(n)), False)
    inv_integer = math.ceil(math.log2(n + 1))
    inv_index = FixedType(inv_integer + opts["inv_frac"], inv_integer, False, "RND_CONV", "SAT")
    node.attrs.update(
        index_type=index, exp_type=exp, sum_type=sum_t, inv_index_type=inv_index,
        inv_type=parse_type(opts["inv_type"], "softmax.inv_type"),
    )
    y.type = parse_type(opts["output_type"], "softmax.output_type")
    y.exact = False


TYPE_RULES = {
    "dense": _dense,
    "relu": _same_as_input,
    "reshape": _same_as_input,
    "quantize": _same_as_input,
    "softmax": _softmax,
}


def assign_types(graph: Graph, config) -> Graph:
    """Give every tensor, parameter and accumulator a FixedType."""
    for name in graph.inputs:
        t = graph.tensors[name]
        if t.type == FLOAT:
            t.type = parse_type(config["input_type"], "input_type")
    for node in graph.nodes:
        TYPE_RULES[node.op](graph, node, config)
    return graph
