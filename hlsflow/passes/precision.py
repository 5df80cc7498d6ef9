"""Fixed-point types for every tensor, parameter and accumulator.

Accumulators come from interval analysis over the actual weights: wide enough
that no partial sum overflows and fine enough that nothing rounds, so the only
rounding of a layer is its output cast. Tensors QKeras leaves unquantized get
data-free defaults here, unless config["layers"] chooses their type (the
profiling pass writes that from samples; users override it the same way) or
config["default_precision"] states one type for all of them (hls4ml's default
precision); those are marked inexact unless the type holds every exact value.
Types QKeras quantizers set are never changed.
"""
import math

import numpy as np

from hlsflow import boundary
from hlsflow.division import divider
from hlsflow.errors import OptionError
from hlsflow.fixed import FixedType, quantize
from hlsflow.ir import FLOAT, Graph
from hlsflow.steps import find_steps, step_luts, table_luts
from hlsflow.tables import index_type

DEFAULTS = {
    "top": None,  # name of the top function (default: from the model's name; see backend/writer.py)
    "default_precision": None,  # e.g. "ap_fixed<16,6>": the type of every tensor, weight and bias Keras leaves float
    "strategy": "latency",  # or "resource" (see passes/hardware.py)
    "reuse_factor": 1,
    "parallelization_factor": 1,  # output pixels a conv/pool computes at once (io_parallel; see passes/hardware.py)
    "input_type": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",  # for inputs no quantizer sets
    "input_range": None,  # declared input range (R for +-R, or [lo, hi]): sets a 16-bit input_type
    "weight_width": 16,  # float weights are rounded to this many bits
    "activation_width": 18,  # cap for inexact (float-model) tensors
    "table_width": 16,  # widest input a lookup table (activation functions) is indexed by
    "softmax": {
        "index_type": "ap_ufixed<10,4,AP_RND_CONV,AP_SAT>",  # max(x) - x, indexes the exp table
        "exp_type": "ap_ufixed<18,1,AP_RND_CONV,AP_SAT>",
        "inv_frac": 7,  # fractional bits of the sum that index the 1/sum table
        "inv_type": "ap_ufixed<18,1,AP_RND_CONV,AP_SAT>",
        "output_type": "ap_ufixed<16,1,AP_RND_CONV,AP_SAT>",
    },
    "profile": {  # calibration from samples (hlsflow.passes.profile)
        "error_target": 0.0025,  # max |output error| / output range on the samples (logits too before a softmax)
        "argmax_target": 0.999,  # and at least this argmax agreement with Keras on the samples
        "margin": 1.25,  # integer bits cover the observed range times this
        "percentile": 100.0,  # of |values|: below 100, rarer outliers saturate
    },
}
# Widest tensor or parameter: the emulator holds them (and the sequence layers' values) as float64. Exact sums
# and products (accumulators of dense, conv, scale-shift, pooling, merges, dot) may be as wide as ap_fixed allows
# (fixed.MAX_WIDTH, 1024 bits): the emulator computes those wider than this on integer mantissas (fixed.exact_dtype).
FLOAT_LIMIT = 53
BATCHNORM_BITS = 32  # a batch normalization between quantizers: its scale and shift to this many bits (float32: 24)
STEP_INPUT_WIDTH = 40  # ... and its result, rounded to this width where it goes to STEP_OPS unquantized
SOFTMAX_KEYS = ("index_type", "exp_type", "inv_frac", "inv_type", "output_type")
LAYER_KEYS = ("output_type", "weight_type", "bias_type", "strategy", "reuse_factor",
              "parallelization_factor") + SOFTMAX_KEYS + (
    "recurrent_weight_type", "recurrent_bias_type", "carry_type", "unroll_time")


def with_defaults(config):
    """The conversion config with every default filled in."""
    merged = {**DEFAULTS, **(config or {})}
    for section in ("softmax", "profile"):
        merged[section] = {**DEFAULTS[section], **(config or {}).get(section, {})}
    unknown = set(merged) - set(DEFAULTS) - {"layers", "quantization"}  # quantization: for `hlsflow quantize -c`
    if unknown:
        raise OptionError(f"config: unknown option(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(DEFAULTS))})")
    if merged["default_precision"] is not None:  # the stated type, unless input/softmax types are stated apart
        stated = str(parse_type(merged["default_precision"], "default_precision"))
        user = config or {}
        if "input_type" not in user and user.get("input_range") is None:
            merged["input_type"] = stated
        if "output_type" not in user.get("softmax", {}):
            merged["softmax"]["output_type"] = stated
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


def chosen_type(config, name: str, key: str):
    """The type config["layers"][name][key] chooses, or None (also for "auto")."""
    text = config.get("layers", {}).get(name, {}).get(key)
    return None if text is None or is_auto(config, name, key) else parse_type(text, f"layers.{name}.{key}")


def is_auto(config, name: str, key: str = "output_type") -> bool:
    """Whether config["layers"][name][key] is "auto" (as in hls4ml configs): a
    result hlsflow can derive from its inputs' types (sums, products, merges,
    pooling) gets that type exactly, rounded only where wider than FLOAT_LIMIT
    bits; any other type (a float function's table, float weights) gets
    default_precision, as if the key were absent."""
    text = config.get("layers", {}).get(name, {}).get(key)
    return isinstance(text, str) and text.strip().lower() == "auto"


def stated_type(config, name: str, key: str, derived: bool = False):
    """The type config["layers"][name][key] chooses, else config["default_precision"], else None.
    derived: the result has a type of its own from its inputs' types, which "auto" keeps (None)."""
    if derived and is_auto(config, name, key):
        return None
    chosen = chosen_type(config, name, key)
    if chosen is None and config.get("default_precision") is not None:
        return parse_type(config["default_precision"], "default_precision")
    return chosen


def _holds(outer: FixedType, inner: FixedType) -> bool:
    """Whether every value of `inner` is a value of `outer`."""
    return (outer.fractional >= inner.fractional and outer.min_value <= inner.min_value
            and inner.max_value <= outer.max_value)


def _record_choice(graph: Graph, name: str, key: str) -> None:
    """Remember which types hlsflow chose (not a quantizer): these are what a config may override."""
    keys = graph.meta.setdefault("chosen", {}).setdefault(name, [])
    if key not in keys:
        keys.append(key)


def _input_type(config) -> FixedType:
    declared = config["input_range"]
    if declared is None:
        return parse_type(config["input_type"], "input_type")
    try:
        lo, hi = (-float(declared), float(declared)) if np.ndim(declared) == 0 else map(float, declared)
    except (TypeError, ValueError):
        raise OptionError(f"input_range {declared!r}: expected R (for +-R) or [lo, hi]") from None
    if not lo < hi:
        raise OptionError(f"input_range {declared!r}: expected lo < hi")
    return covering_type(lo, hi, 16)


def covering_type(lo: float, hi: float, width: int) -> FixedType:
    """A `width`-bit rounding, saturating type whose integer bits cover [lo, hi]."""
    peak = max(abs(lo), abs(hi))
    signed = lo < 0
    integer = 1 if peak == 0 else math.floor(math.log2(peak)) + 1 + signed
    return FixedType(width, integer, signed, "RND_CONV", "SAT")


def rounded_type(values: np.ndarray, width: int) -> FixedType:
    """A `width`-bit rounding type whose integer bits cover max |values|."""
    peak = float(np.abs(values).max()) if np.size(values) else 0.0
    integer = 1 if peak == 0 else max(math.floor(math.log2(peak)) + 2, 1 - width + 1)
    t = FixedType(width, integer, True, "RND_CONV", "SAT")
    return t


def _param_type(graph, node, key, quantized, config):
    """Quantized parameters keep their exact values; float ones get the type
    config["layers"] chooses, else keep their exact values when they fit in
    weight_width bits, else are rounded to that width."""
    values = node.params[key]
    if quantized and chosen_type(config, node.name, f"{key}_type") is not None:
        raise OptionError(f"config layers.{node.name}.{key}_type: set by a QKeras quantizer, which hlsflow never changes")
    chosen = None if quantized else stated_type(config, node.name, f"{key}_type")
    if chosen is not None:
        _record_choice(graph, node.name, f"{key}_type")
        return chosen, _round_params(node, key, chosen)
    if not quantized:
        _record_choice(graph, node.name, f"{key}_type")
    try:
        exact = exact_type(values)
    except ValueError:  # wider than any fixed-point type: a float weight
        if quantized:
            raise
        exact = None
    if quantized or (exact is not None and exact.width <= config["weight_width"]):
        return exact, True
    t = rounded_type(values, config["weight_width"])
    return t, _round_params(node, key, t)


def _round_params(node, key, t) -> bool:
    """Round node.params[key] to t; records the loss (max error / max |value|) as
    attrs[key + "_loss"] and returns whether nothing was lost."""
    values = node.params[key]
    node.params[key] = quantize(values, t)
    peak = float(np.abs(values).max()) if values.size else 0.0
    node.attrs[f"{key}_loss"] = float(np.abs(node.params[key] - values).max()) / peak if peak else 0.0
    return node.attrs[f"{key}_loss"] == 0.0


def _columns(node):
    """The weights as a matrix whose column j holds every weight output channel j sums over."""
    w = node.params["weight"]
    return w.reshape(1, -1) if node.op == "scale_shift" else w.reshape(-1, w.shape[-1])


def _linear(graph: Graph, node, config):
    """dense, conv, scale_shift: sum of products plus bias, exact until the output cast."""
    (x,) = graph.input_tensors(node)
    (y,) = graph.output_tensors(node)
    between = _between_quantizers(graph, node, config)
    if between:
        wt, bt = _batchnorm_parameters(node, x.type)
        w_exact = b_exact = True
    else:
        wt, w_exact = _param_type(graph, node, "weight", node.attrs["weight_quantized"], config)
        bt, b_exact = _param_type(graph, node, "bias", node.attrs["bias_quantized"], config)
    for key in ("mean", "beta"):  # a batch normalization's statistics: used by _batchnorm_parameters only
        node.params.pop(key, None)
    w, b = _columns(node), node.params["bias"]
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
    exact = x.exact and w_exact and b_exact and not node.attrs.get("inexact") and (node.op != "scale_shift" or between)
    if between and y.type == FLOAT:  # for STEP_OPS: exact, or rounded far below float32's precision
        t = type_for_interval(float(lo.min()), float(hi.max()), frac)
        y.type = t if t.width <= STEP_INPUT_WIDTH else FixedType(STEP_INPUT_WIDTH, t.integer, t.signed, "RND_CONV", "SAT")
        node.attrs["step_input"] = True
    if y.type == FLOAT:
        y.type, y.exact = _result_type(float(lo.min()), float(hi.max()), frac, exact, config, node.name)
    else:
        y.exact = exact


def _between_quantizers(graph: Graph, node, config) -> bool:
    """Whether a node is a float batch normalization between quantizers: a
    scale_shift whose input is exact and whose result only a quantizer takes (a
    fused one, or STEP_OPS: a quantized activation's table, typed after this
    node, becomes a "step" then), with no type stated for it in config["layers"]."""
    stated = ("output_type", "weight_type", "bias_type")
    if node.op != "scale_shift" or any(chosen_type(config, node.name, k) is not None for k in stated):
        return False
    (x,), (y,) = graph.input_tensors(node), graph.output_tensors(node)
    if not x.exact:
        return False
    users = graph.consumers(y.name)
    return y.type != FLOAT or (bool(users) and y.name not in graph.outputs
                                and all(u.op in boundary.STEP_OPS or (u.op == "table" and u.attrs["quantized"])
                                        for u in users))


def _batchnorm_parameters(node, x_type: FixedType) -> tuple[FixedType, FixedType]:
    """Types of a batch normalization between quantizers, its scale and shift
    rounded to them, and the bound of Keras's float32 error (hlsflow.boundary):
    the scale to BATCHNORM_BITS bits, the shift to as many or to the grid of the
    products x * scale, whichever is coarser."""
    p = node.params
    w_real, b_real = p["weight"], p["bias"]
    wt = rounded_type(w_real, BATCHNORM_BITS)
    if np.any(b_real):
        shift = rounded_type(b_real, BATCHNORM_BITS)
        frac = max(min(shift.fractional, x_type.fractional + wt.fractional), 1 - shift.integer)
        bt = FixedType(shift.integer + frac, shift.integer, True, "RND_CONV", "SAT")
    else:
        bt = exact_type(b_real)
    p["weight"], p["bias"] = quantize(w_real, wt), quantize(b_real, bt)
    p["keras_error_const"], p["keras_error_slope"] = boundary.batchnorm_bound(
        w_real, b_real, p["mean"], p["beta"], p["weight"], p["bias"])
    node.attrs["between_quantizers"] = True
    return wt, bt


def _check_width(node, *types):
    for t in types:
        if t.width > FLOAT_LIMIT:
            raise OptionError(f"layer {node.name!r}: needs a {t.width}-bit type; hlsflow handles at most {FLOAT_LIMIT} bits")


def _check_tensor_widths(graph: Graph) -> None:
    """Tensors and parameters hold at most FLOAT_LIMIT bits (sums and products may be wider)."""
    named = [(f"tensor {name!r}", t.type) for name, t in graph.tensors.items()]
    named += [(f"layer {n.name!r}'s {key[:-5]}s", n.attrs[key]) for n in graph.nodes
              for key in ("weight_type", "bias_type") if key in n.attrs]
    for what, t in named:
        if t.width > FLOAT_LIMIT:
            raise OptionError(f"{what}: type {t} is {t.width} bits wide; hlsflow holds tensors and parameters of "
                              f"at most {FLOAT_LIMIT} bits (use a narrower type)")


def _result_type(lo, hi, frac, exact, config, name):
    """Exact type of a result, rounded to the width cap where already inexact
    (to FLOAT_LIMIT bits where layer `name`'s output_type is "auto")."""
    t = type_for_interval(lo, hi, frac)
    limit = FLOAT_LIMIT if exact or is_auto(config, name) else config["activation_width"]
    if t.width <= limit:
        return t, exact
    return FixedType(limit, t.integer, t.signed, "RND_CONV", "SAT"), False


def _set(y, t, exact):
    """Give output tensor y type t unless a fused quantizer already set it."""
    if y.type == FLOAT:
        y.type, y.exact = t, exact
    else:
        y.exact = exact


def _range(ts):
    return min(t.min_value for t in ts), max(t.max_value for t in ts)


def _union(graph: Graph, node, config):
    """concat, max/min merges: a type holding every input value."""
    xs = graph.input_tensors(node)
    lo, hi = _range([t.type for t in xs])
    (y,) = graph.output_tensors(node)
    _set(y, type_for_interval(lo, hi, max(t.type.fractional for t in xs)), all(t.exact for t in xs))


def _division(node, y, acc, count, x_exact, config):
    """Types of sum / count (avg pool, average merge): exact when every count is a
    power of two; otherwise the exact quotient is rounded once, half to even, to
    the output type (a fused quantizer's, a chosen one, or a 24-bit approximation
    of float Keras). The divider (hlsflow/division.py) is checked against the
    final output type: a chosen type is applied here, not after this rule."""
    shift = max(math.ceil(math.log2(c)) for c in count)
    powers = all(c & (c - 1) == 0 for c in count)
    exact_t = type_for_interval(acc.min_value / min(count), acc.max_value / min(count), acc.fractional + shift)
    if y.type == FLOAT:
        if powers:
            y.type, y.exact = exact_t, x_exact
        else:
            width = min(exact_t.width, FLOAT_LIMIT if is_auto(config, node.name) else config["activation_width"])
            y.type, y.exact = FixedType(width, exact_t.integer, exact_t.signed, "RND_CONV", "SAT"), False
        stated = stated_type(config, node.name, "output_type", derived=True)
        if stated is not None and stated != y.type:
            y.type, y.exact = stated, y.exact and _holds(stated, y.type)
    else:
        y.exact = x_exact
    node.attrs["divisors"] = list(count)
    divider(count, acc, y.type, f"layer {node.name!r}")


def _pool(graph: Graph, node, config):
    (x,) = graph.input_tensors(node)
    (y,) = graph.output_tensors(node)
    a = node.attrs
    if a["mode"] == "max":
        _set(y, x.type, x.exact)
        return
    n = a["kernel"][0] * a["kernel"][1]
    acc = type_for_interval(n * min(x.type.min_value, 0), n * max(x.type.max_value, 0), x.type.fractional)
    a["accum_type"] = acc
    _division(node, y, acc, sorted(set(np.unique(pool_counts(a)).tolist())), x.exact, config)


def pool_counts(attrs) -> np.ndarray:
    """Number of unpadded input positions in each output window, (out_h, out_w)."""
    counts = []
    for axis in (0, 1):
        size, k, s = attrs["in_hwc"][axis], attrs["kernel"][axis], attrs["strides"][axis]
        start = np.arange(attrs["out_hwc"][axis]) * s - attrs["pads"][2 * axis]
        counts.append(np.minimum(start + k, size) - np.maximum(start, 0))
    return np.outer(*counts)


def _merge(graph: Graph, node, config):
    xs = graph.input_tensors(node)
    (y,) = graph.output_tensors(node)
    mode = node.attrs["mode"]
    exact = all(t.exact for t in xs)
    if mode in ("maximum", "minimum"):
        return _union(graph, node, config)
    frac = max(t.type.fractional for t in xs)
    lo, hi = xs[0].type.min_value, xs[0].type.max_value
    for t in xs[1:]:
        a, b = t.type.min_value, t.type.max_value
        if mode == "multiply":
            ends = (lo * a, lo * b, hi * a, hi * b)
            lo, hi, frac = min(ends), max(ends), frac + t.type.fractional
        elif mode == "subtract":
            lo, hi = lo - b, hi - a
        else:
            lo, hi = lo + a, hi + b
    if mode == "multiply":
        frac = sum(t.type.fractional for t in xs)
    node.attrs["accum_type"] = type_for_interval(lo, hi, frac)  # the exact result
    if mode == "average":
        return _division(node, y, node.attrs["accum_type"], [len(xs)], exact, config)
    _set(y, *_result_type(lo, hi, frac, exact, config, node.name))


def _leaky_relu(graph: Graph, node, config):
    """alpha * x for x < 0 (LeakyReLU: one alpha; PReLU: one per element or
    channel): exact here; Keras's float32 product is exact (so the output
    bit-exact) when it fits float32's 24 significant bits."""
    (x,) = graph.input_tensors(node)
    (y,) = graph.output_tensors(node)
    alphas = node.params["alpha"] if node.op == "prelu" else np.array([node.attrs["alpha"]])
    at = exact_type(alphas)
    node.attrs["alpha_type"] = at
    frac = x.type.fractional + max(at.fractional, 0)
    ends = (x.type.min_value, x.type.max_value, *(a * x.type.min_value for a in (alphas.min(), alphas.max())))
    t = type_for_interval(min(ends + (0,)), max(ends), frac)
    exact = x.exact and t.width <= 24
    if y.type == FLOAT:
        y.type, y.exact = _result_type(t.min_value, t.max_value, frac, exact, config, node.name)
    else:
        y.exact = exact


def _table(graph: Graph, node, config):
    """Element-wise function. A quantized activation that is a monotone step
    function of its input (steps.py) becomes comparisons with its thresholds
    (op "step") when its input is wider than table_width, or when the
    comparisons take fewer LUTs than the table; anything else is a table over
    every value of the input (or, for an already inexact input wider than
    table_width, over the input rounded where the function changes: tables.py)."""
    (x,) = graph.input_tensors(node)
    (y,) = graph.output_tensors(node)
    found = find_steps(graph.functions[node.name], x.type) if node.attrs["quantized"] else None
    if found is not None:
        thresholds, levels = found
        if not len(thresholds):  # constant: one comparison that changes nothing keeps the form uniform
            thresholds, levels = np.array([x.type.max_value]), np.repeat(levels, 2)
        out_width = exact_type(levels).width
        if (x.type.width > config["table_width"]
                or step_luts(x.type.width, len(levels), out_width) < table_luts(x.type.width, out_width)):
            node.op = "step"  # its own emulator function, template and estimate
            node.params["thresholds"] = thresholds
            node.params["levels"] = quantize(levels, _function_type(graph, node, y, levels, x.exact, config))
            return
    node.op = "table"
    index = FixedType(x.type.width, x.type.integer, x.type.signed)
    exact = x.exact
    if index.width > config["table_width"]:
        if x.exact and node.attrs["quantized"]:
            raise OptionError(f"layer {node.name!r}: a lookup table over its {x.type.width}-bit input exceeds "
                              f"table_width={config['table_width']} (and the function is not a monotone step "
                              "function, which comparisons compute at any width); quantize the input first")
        out = y.type if y.type != FLOAT else stated_type(config, node.name, "output_type")
        index = index_type(graph.functions[node.name], x.type, config["table_width"], out, config["activation_width"])
        exact = False
    codes = np.arange(2 ** index.width)
    if index.signed:
        codes = np.where(codes >= 2 ** (index.width - 1), codes - 2 ** index.width, codes)
    values = graph.functions[node.name](codes * index.step)
    node.attrs["index_type"] = index
    node.params["table"] = quantize(values, _function_type(graph, node, y, values, exact, config))


def _function_type(graph: Graph, node, y, values, exact, config) -> FixedType:
    """Set and return the type of an element-wise function's output y, whose
    every value is one of `values`: a fused quantizer's, else a chosen one, else
    the narrowest exact type (rounded to activation_width for float functions)."""
    if y.type == FLOAT:  # the values are quantized to this type, so a chosen one applies here
        t = chosen_type(config, node.name, "output_type") if node.attrs["quantized"] else \
            stated_type(config, node.name, "output_type")
        if t is not None:
            exact = exact and np.array_equal(quantize(values, t), values)
        else:
            try:
                t = exact_type(values)
            except ValueError:  # float values wider than any fixed-point type
                t = None
            if t is None or (t.width > config["activation_width"] and not node.attrs["quantized"]):
                t, exact = rounded_type(values, config["activation_width"]), False
        y.type = t
    y.exact = exact
    return y.type


def _same_as_input(graph: Graph, node, config):
    (x,) = graph.input_tensors(node)
    (y,) = graph.output_tensors(node)
    if y.type == FLOAT:
        y.type = x.type
    y.exact = x.exact


def _relu(graph: Graph, node, config):
    """max(x, 0) on the input's type, or cast to a type config["layers"] chooses
    (as hls4ml configs state one); exact where that type holds every result."""
    (x,), (y,) = graph.input_tensors(node), graph.output_tensors(node)
    chosen = chosen_type(config, node.name, "output_type") if y.type == FLOAT else None  # else a fused quantizer's
    _same_as_input(graph, node, config)
    if chosen is not None:
        results = type_for_interval(0.0, max(x.type.max_value, 0.0), x.type.fractional)
        y.type, y.exact = chosen, x.exact and _holds(chosen, results)


def _dot(graph: Graph, node, config):
    """Keras Dot: sums of K products, exact (the accumulator holds every partial
    sum), like Dense: Keras's float32 sum is exact while it fits 24 bits."""
    a, b = graph.input_tensors(node)
    (y,) = graph.output_tensors(node)
    k = a.shape[node.attrs["axes"][0]]
    ends = [p * q for p in (a.type.min_value, a.type.max_value) for q in (b.type.min_value, b.type.max_value)]
    frac = a.type.fractional + b.type.fractional
    acc = type_for_interval(k * min(min(ends), 0), k * max(max(ends), 0), frac)
    node.attrs["accum_type"] = acc
    if y.type == FLOAT:
        y.type, y.exact = _result_type(acc.min_value, acc.max_value, frac, a.exact and b.exact, config, node.name)
    else:
        y.exact = a.exact and b.exact


def _threshold(graph: Graph, node, config):
    """ThresholdedReLU: y = x if x > theta else 0, on the input's type. For x on
    the input's grid, x > theta iff x > the largest grid value <= theta, so the
    hardware compares with that fixed-point constant (clamped to one step below
    the input's range, where every x passes, and its top, where none does)."""
    _same_as_input(graph, node, config)
    (x,) = graph.input_tensors(node)
    step = x.type.step
    theta = math.floor(node.attrs["theta"] / step) * step
    theta = min(max(theta, x.type.min_value - step), x.type.max_value)
    node.attrs["theta_value"] = theta
    node.attrs["theta_type"] = type_for_interval(min(theta, 0.0), max(theta, 0.0), x.type.fractional)


def _softmax(graph: Graph, node, config):
    (y,) = graph.output_tensors(node)
    opts = {**config["softmax"], **config.get("layers", {}).get(node.name, {})}
    if is_auto(config, node.name):  # a softmax has no exact type: "auto" is the softmax section's
        opts["output_type"] = config["softmax"]["output_type"]
    for key in SOFTMAX_KEYS:
        _record_choice(graph, node.name, key)
    types, y.type = softmax_types(opts, y.shape[-1])  # values per softmax (over the last axis)
    node.attrs.update(types)
    y.exact = False


def softmax_types(opts: dict, n: int) -> tuple[dict, FixedType]:
    """The table, index and sum types of a softmax over n values (attrs), and its output type."""
    index = parse_type(opts["index_type"], "softmax.index_type")
    exp = parse_type(opts["exp_type"], "softmax.exp_type")
    sum_t = FixedType(exp.width + math.ceil(math.log2(n)), exp.integer + math.ceil(math.log2(n)), False)
    inv_integer = math.ceil(math.log2(n + 1))
    inv_index = FixedType(inv_integer + opts["inv_frac"], inv_integer, False, "RND_CONV", "SAT")
    types = {"index_type": index, "exp_type": exp, "sum_type": sum_t, "inv_index_type": inv_index,
             "inv_type": parse_type(opts["inv_type"], "softmax.inv_type")}
    return types, parse_type(opts["output_type"], "softmax.output_type")


TYPE_RULES = {
    "dense": _linear,
    "conv": _linear,
    "scale_shift": _linear,
    "pool": _pool,
    "merge": _merge,
    "concat": _union,
    "leaky_relu": _leaky_relu,
    "prelu": _leaky_relu,
    "dot": _dot,
    "table": _table,
    "step": _table,  # a table the table rule found cheaper as comparisons
    "threshold": _threshold,
    "pad": _same_as_input,
    "upsample": _same_as_input,
    "transpose": _same_as_input,
    "relu": _relu,
    "reshape": _same_as_input,
    "quantize": _same_as_input,
    "softmax": _softmax,
}


def assign_types(graph: Graph, config) -> Graph:
    """Give every tensor, parameter and accumulator a FixedType."""
    _check_layer_names(graph, config)
    for name in graph.inputs:
        t = graph.tensors[name]
        if t.type == FLOAT:
            t.type = chosen_type(config, name, "output_type") or _input_type(config)
            _record_choice(graph, name, "output_type")
        elif name in graph.meta.get("index_inputs", {}) and chosen_type(config, name, "output_type"):
            t.type = sequence.stated_index_type(graph, name, chosen_type(config, name, "output_type"))
        elif chosen_type(config, name, "output_type"):
            raise OptionError(f"config layers.{name}.output_type: set by a QKeras quantizer, which hlsflow never changes")
    for node in graph.nodes:
        free = [t for t in graph.output_tensors(node) if t.type == FLOAT]
        TYPE_RULES[node.op](graph, node, config)
        chosen = chosen_type(config, node.name, "output_type")
        if node.op == "softmax" or not free or not _computes(graph, node) or node.attrs.get("between_quantizers"):
            if chosen and node.op != "softmax" and not (node.op == "relu" and free):  # _relu applied it
                raise OptionError(f"config layers.{node.name}.output_type: its type is set by a QKeras quantizer "
                                  "or its input's type, which hlsflow never changes")
            continue
        _record_choice(graph, node.name, "output_type")
        stated = chosen if node.op == "table" else stated_type(config, node.name, "output_type", derived=True)
        if stated is not None and stated != free[0].type:
            free[0].type, free[0].exact = stated, free[0].exact and _holds(stated, free[0].type)
    _check_tensor_widths(graph)
    return graph


def _computes(graph: Graph, node) -> bool:
    """Whether a node computes new values (its output type is a choice), unlike relu/reshape."""
    return TYPE_RULES[node.op] not in (_same_as_input, _relu, _threshold)


def _check_layer_names(graph: Graph, config) -> None:
    names = set(graph.inputs) | {n.name for n in graph.nodes}
    for name, entry in config.get("layers", {}).items():
        if name not in names:
            raise OptionError(f"config layers.{name}: no such layer or input (known: {', '.join(sorted(names))})")
        unknown = set(entry) - set(LAYER_KEYS)
        if unknown:
            raise OptionError(f"config layers.{name}: unknown key(s) {', '.join(sorted(unknown))} "
                              f"(known: {', '.join(dict.fromkeys(LAYER_KEYS))})")

from hlsflow.passes import sequence  # noqa: E402  (its rules use this module's helpers)

TYPE_RULES.update(recurrent=sequence.recurrent, embedding=sequence.embedding, layernorm=sequence.layernorm,
                  attention=sequence.attention)
