"""Numpy executor of the IR, bit-exact with the generated C++. Tensors are
float64 arrays, exact as no tensor is wider than 53 bits; an op whose sums or
products are wider computes on integer mantissas (int64 or Python ints, as
fixed.exact_dtype chooses), with the same code as on float64."""
from functools import lru_cache

import numpy as np

from hlsflow.attention import emulate_attention
from hlsflow.cells import emulate_recurrent
from hlsflow.fixed import (FixedType, cast_mantissas, exact_dtype, mantissas, quantize, quantize_affine,
                           quantize_affine_exact, quantize_raw)
from hlsflow.ir import Graph
from hlsflow.layernorm import emulate_layernorm
from hlsflow.passes.precision import pool_counts
from hlsflow.softmax import softmax_tables


def cast_inputs(graph: Graph, inputs) -> list:
    """Raw inputs -> the values the hardware receives (cast to the input types)."""
    arrays = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    if len(arrays) != len(graph.inputs):
        raise ValueError(f"model has {len(graph.inputs)} input(s), got {len(arrays)}")
    out = []
    for name, x in zip(graph.inputs, arrays):
        t = graph.tensors[name]
        x = np.asarray(x, dtype=np.float32).astype(np.float64)  # Keras models take float32 inputs
        if x.shape[1:] != t.shape:
            x = x.reshape((x.shape[0],) + t.shape)
        out.append(quantize(x, t.type))
    return out


# Samples per step: about this many values in the largest tensor, so that a
# step's arrays are reused from the heap and cache rather than paged in anew
# (measured 1.3-2x faster on the CNNs than whole batches of 2,000).
CHUNK_VALUES = 1 << 17


@lru_cache(maxsize=None)
def _keep_freed_memory() -> None:
    """Once per process: allocate and free a 16 MB block. glibc's malloc gives
    freed memory at the top of its heap back to the OS beyond a threshold that
    it raises to twice the largest mmap-ed block freed so far; from its 128 kB
    default, every step's temporaries are faulted in anew (measured on the
    digits CNN without TensorFlow loaded: 10x the page faults, 2x the time)."""
    np.empty(1 << 21)


def emulate(graph: Graph, inputs, tensors=None):
    """Run the graph on a batch. Returns the output array (or list of arrays),
    or, with `tensors`, a dict of the named tensors' values."""
    _keep_freed_memory()
    cast = cast_inputs(graph, inputs)
    wanted = list(tensors) if tensors is not None else list(graph.outputs)
    step = max(1, CHUNK_VALUES // max(t.size for t in graph.tensors.values()))
    parts = [_run(graph, [x[i:i + step] for x in cast], wanted) for i in range(0, max(len(cast[0]), 1), step)]
    values = {t: np.concatenate([part[t] for part in parts]) for t in wanted}
    if tensors is not None:
        return values
    outs = [values[t] for t in graph.outputs]
    return outs[0] if len(outs) == 1 else outs


def _run(graph: Graph, cast: list, wanted: list) -> dict:
    values = dict(zip(graph.inputs, cast))
    for node in graph.nodes:
        values[node.outputs[0]] = OPS[node.op](graph, node, *(values[t] for t in node.inputs))
    return {t: values[t] for t in wanted}


def _domain(values, frac: int, dtype):
    """Values on the grid 2**-frac as an op computes them in dtype (exact_dtype):
    themselves (float64), else their integer mantissas at frac."""
    return values if dtype == np.float64 else mantissas(values, frac, dtype)


def _cast(y, frac: int, t: FixedType) -> np.ndarray:
    """An op's exact result y (float64 values, or mantissas at frac) cast to t, as float64."""
    if y.dtype == np.float64:
        return quantize(y, t)
    return np.ldexp(cast_mantissas(y, frac, t).astype(np.float64), -t.fractional) + 0.0


def _value_type(node) -> FixedType:
    """Type of every partial sum and product of a dense/conv/scale-shift up to its output cast."""
    a = node.attrs
    if "scale_type" not in a:
        return a["accum_type"]  # it holds the bias too
    acc, st, bt = a["accum_type"], a["scale_type"], a["bias_type"]
    integer = max(acc.integer + st.integer, bt.integer) + 1
    return FixedType(integer + max(acc.fractional + st.fractional, bt.fractional), integer)


def _operands(graph, node, x):
    """The input and the weights of a dense/conv/scale-shift in its domain."""
    dtype = exact_dtype(_value_type(node), graph.tensors[node.outputs[0]].type)
    return (_domain(x, graph.tensors[node.inputs[0]].type.fractional, dtype),
            _domain(node.params["weight"], node.attrs["weight_type"].fractional, dtype))


def _dense(graph, node, x):
    x, w = _operands(graph, node, x)
    return _finish(graph, node, x @ w)


def _finish(graph, node, acc):
    """Per-channel scale, bias, fused relu and the output cast of a weighted op
    (on a new `acc`, float64 ones changed in place)."""
    p, a, t = node.params, node.attrs, graph.tensors[node.outputs[0]].type
    if acc.dtype == np.float64:
        return quantize_affine(acc, t, p.get("scale"), p["bias"], a.get("relu", False))
    frac = graph.tensors[node.inputs[0]].type.fractional + a["weight_type"].fractional
    scale = (p["scale"], a["scale_type"]) if "scale" in p else None
    return quantize_affine_exact(acc, frac, t, (p["bias"], a["bias_type"]), scale, a.get("relu", False))


def _nhwc(x, a):
    return x.reshape((len(x),) + tuple(a["in_hwc"]))


def _out(graph, node, y):
    return y.reshape((len(y),) + graph.tensors[node.outputs[0]].shape)


def _windows(x, a, fill=0):
    """For each kernel tap, in row-major order: the (padded) input it meets at
    every output position, a strided view of shape (A, out_h, out_w, B) of the
    (A, in_h, in_w, B) array x: samples first (A = samples, B = channels) or
    last (A = 1, B = channels x samples)."""
    t, b, l, r = a["pads"]
    if any(a["pads"]):  # (np.pad costs 3x this)
        n, h, w, c = x.shape
        padded = np.full((n, t + h + b, l + w + r, c), fill, dtype=x.dtype)
        padded[:, t:t + h, l:l + w] = x
        x = padded
    (oh, ow, _), (kh, kw), (sh, sw), (dh, dw) = a["out_hwc"], a["kernel"], a["strides"], a["dilation"]
    for i in range(kh):
        for j in range(kw):
            yield x[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw, :]


def _conv(graph, node, x):
    """Exact in its domain (_operands). Depthwise: one
    multiply-add per kernel tap, samples innermost (long contiguous runs; 2x
    faster than im2col here). Otherwise all taps side by side (im2col), then
    one matrix product (BLAS) when ungrouped, else one einsum."""
    a, (x, w) = node.attrs, _operands(graph, node, x)
    g, (oh, ow, f), (h, iw, c) = a["groups"], a["out_hwc"], a["in_hwc"]
    n, (kh, kw) = len(x), a["kernel"]
    x = _nhwc(x, a)
    if c == g > 1:
        samples_last = np.moveaxis(x, 0, -1).reshape(1, h, iw, c * n)
        acc, product = np.zeros((2, oh, ow, g, f // g, n), x.dtype)
        for window, w_tap in zip(_windows(samples_last, a), w.reshape(kh * kw, g, f // g, 1)):
            acc += np.multiply(window.reshape(oh, ow, g, 1, n), w_tap, out=product)
        acc = np.moveaxis(acc, -1, 0).reshape(n, oh, ow, f)
    else:
        windows = list(_windows(x, a))
        taps = (windows[0] if len(windows) == 1 else np.stack(windows, axis=3)).reshape(n * oh * ow, kh * kw, g,
                                                                                          c // g)
        if g == 1:
            acc = taps.reshape(n * oh * ow, -1) @ w.reshape(-1, f)
        else:
            acc = np.einsum("ntgc,tcgf->ngf", taps, w.reshape(kh * kw, c // g, g, f // g))
    return _out(graph, node, _finish(graph, node, acc.reshape(n, oh, ow, f)))


def _scale_shift(graph, node, x):
    x, w = _operands(graph, node, x)
    return _finish(graph, node, x * w)


def divide(total, count, acc_t, y_t):
    """total / count rounded once, half to even, to y_t (then y_t's overflow),
    for exact sums of type acc_t in their domain (float64 values or mantissas)."""
    f, g = acc_t.fractional, y_t.fractional
    num = mantissas(total, f, np.int64) if total.dtype == np.float64 else total
    den = np.broadcast_to(np.asarray(count, np.int64), num.shape).astype(num.dtype)
    if g >= f:
        num = num << (g - f)
    else:
        den = den << (f - g)
    q = num // den
    r = num - q * den
    q = q + ((2 * r > den) | ((2 * r == den) & (q % 2 == 1)))
    return _cast(q, g, y_t)


def _pool(graph, node, x):
    a = node.attrs
    if a["mode"] == "max":
        y = np.full((len(x), *a["out_hwc"]), -np.inf)
        for window in _windows(_nhwc(x, a), a, -np.inf):
            np.maximum(y, window, out=y)
        return _out(graph, node, quantize(y, graph.tensors[node.outputs[0]].type))
    acc_t, y_t = a["accum_type"], graph.tensors[node.outputs[0]].type
    x = _domain(_nhwc(x, a), acc_t.fractional, exact_dtype(acc_t, y_t))
    total = np.zeros((len(x), *a["out_hwc"]), x.dtype)
    for window in _windows(x, a):
        total += window
    y = divide(total, pool_counts(a)[None, :, :, None], acc_t, y_t)
    return _out(graph, node, y)


MERGES = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply, "average": np.add,
          "maximum": np.maximum, "minimum": np.minimum}


def _merge(graph, node, *xs):
    """Sums and products in the domain of their exact type (accum_type); maximum and minimum on float64."""
    a, y_t = node.attrs, graph.tensors[node.outputs[0]].type
    value = a.get("accum_type")
    if value is not None:
        dtype = exact_dtype(value, y_t)
        fracs = [graph.tensors[t].type.fractional if a["mode"] == "multiply" else value.fractional
                 for t in node.inputs]
        xs = [_domain(x, frac, dtype) for x, frac in zip(xs, fracs)]
    y = xs[0]
    for x in xs[1:]:
        y = MERGES[a["mode"]](y, x)
    if a["mode"] == "average":
        return divide(y, len(xs), value, y_t)
    return quantize(y, y_t) if value is None else _cast(y, value.fractional, y_t)


def _concat(graph, node, *xs):
    return quantize(np.concatenate(xs, axis=node.attrs["axis"] + 1), graph.tensors[node.outputs[0]].type)


def _pad(graph, node, x):
    """Zero padding (positive pads) and cropping (negative pads)."""
    t, b, l, r = node.attrs["pads"]
    x = _nhwc(x, node.attrs)
    x = np.pad(x, ((0, 0), (max(t, 0), max(b, 0)), (max(l, 0), max(r, 0)), (0, 0)))
    x = x[:, max(-t, 0):x.shape[1] - max(-b, 0), max(-l, 0):x.shape[2] - max(-r, 0)]
    return _out(graph, node, x)


def _upsample(graph, node, x):
    fh, fw = node.attrs["factors"]
    return _out(graph, node, _nhwc(x, node.attrs).repeat(fh, axis=1).repeat(fw, axis=2))


def _transpose(graph, node, x):
    return np.transpose(x, [0] + [p + 1 for p in node.attrs["perm"]])


def _leaky_relu(graph, node, x):
    return quantize(np.where(x > 0, x, node.attrs["alpha"] * x), graph.tensors[node.outputs[0]].type)


def _prelu(graph, node, x):
    alpha = node.params["alpha"]
    flat = x.reshape(len(x), -1)
    product = flat * np.tile(alpha, flat.shape[1] // alpha.size)
    return quantize(np.where(flat > 0, flat, product).reshape(x.shape), graph.tensors[node.outputs[0]].type)


def _dot(graph, node, a, b):
    """sum_k a[i, k] * b[j, k] with the summed axes moved last, exact in the
    domain of the accumulator."""
    ia, ib = node.attrs["axes"]
    y_t = graph.tensors[node.outputs[0]].type
    dtype = exact_dtype(node.attrs["accum_type"], y_t)
    fa, fb = (graph.tensors[t].type.fractional for t in node.inputs)
    a, b = _domain(a, fa, dtype), _domain(b, fb, dtype)
    a = np.moveaxis(a, ia + 1, -1).reshape(len(a), -1, a.shape[ia + 1])
    b = np.moveaxis(b, ib + 1, -1).reshape(len(b), -1, b.shape[ib + 1])
    y = np.einsum("nik,njk->nij", a, b)
    return _cast(y.reshape((len(y),) + graph.tensors[node.outputs[0]].shape), fa + fb, y_t)


def _threshold(graph, node, x):
    return quantize(np.where(x > node.attrs["theta"], x, 0.0), graph.tensors[node.outputs[0]].type)


def _table(graph, node, x):
    index = node.attrs["index_type"]
    return node.params["table"][quantize_raw(x, index).astype(np.int64) & (2 ** index.width - 1)]


def _step(graph, node, x):
    """levels[number of thresholds <= x] (steps.py)."""
    return node.params["levels"][np.searchsorted(node.params["thresholds"], x, side="right")]


def _embedding(graph, node, x):
    """Row x of the table; indices beyond it (the index type's range exceeds the table) give zeros."""
    w = node.params["weight"]
    index = quantize_raw(x, node.attrs["index_type"]).astype(np.int64)
    rows = w[np.minimum(index, len(w) - 1)] * (index < len(w))[..., None]
    return rows.reshape((len(x),) + graph.tensors[node.outputs[0]].shape)


def _relu(graph, node, x):
    return quantize(np.maximum(x, 0), graph.tensors[node.outputs[0]].type)


def _quantize(graph, node, x):
    return quantize(x, graph.tensors[node.outputs[0]].type)


def _reshape(graph, node, x):
    return x.reshape((x.shape[0],) + graph.tensors[node.outputs[0]].shape)


def _softmax(graph, node, x):
    a = node.attrs
    exp_table, inv_table = softmax_tables(a)
    e = exp_table[quantize_raw(x.max(axis=-1, keepdims=True) - x, a["index_type"]).astype(np.int64)]
    total = quantize(e.sum(axis=-1, keepdims=True), a["sum_type"])
    inv = inv_table[quantize_raw(total, a["inv_index_type"]).astype(np.int64)]
    return quantize(e * inv, graph.tensors[node.outputs[0]].type)


OPS = {"dense": _dense, "relu": _relu, "quantize": _quantize, "reshape": _reshape, "softmax": _softmax,
       "conv": _conv, "scale_shift": _scale_shift, "pool": _pool, "merge": _merge, "concat": _concat, "pad": _pad,
       "upsample": _upsample, "transpose": _transpose, "leaky_relu": _leaky_relu, "threshold": _threshold,
       "table": _table, "step": _step,
       "prelu": _prelu, "dot": _dot, "recurrent": emulate_recurrent, "embedding": _embedding,
       "layernorm": emulate_layernorm, "attention": emulate_attention}
