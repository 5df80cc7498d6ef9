"""Boundary cases: samples on which Keras's float32 rounding may move a value
across a quantization step.

Where Keras computes in float32 between quantizers, hlsflow computes in fixed
point: a batch normalization between an exact tensor and a quantizer (scale and
shift carried to BATCHNORM_BITS bits, the sum exactly), and dense/conv sums
whose float32 partial sums Keras rounds. After the quantizer the two agree
except where the exact value lies within Keras's float32 error of a
quantization boundary. `flags` runs the graph (the emulator's ops) with a
bound E on |Keras's value - the hardware's| of every such value and flags each
sample with a value that the quantizer maps differently at value - E and
value + E. Flagged samples may differ from Keras (csim counts them apart);
every other sample is bit-exact.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hlsflow.fixed import FixedType, quantize
from hlsflow.ir import Graph

U = 2.0 ** -24  # float32's unit roundoff: one rounding moves a value by at most U times its magnitude
# Units of U per term of Keras's batch normalization: fl(var + eps), rsqrt (a few), * gamma,
# mean * inv, the subtraction, the product and the sum; fused or not, some ten; 16 for margin.
KERAS_ULPS = 16
SLACK = 1.0 + 2.0 ** -40  # this module's own float64 roundings
# Ops that quantize a value of any width by a monotone step function: a float op's
# result may go to them unrounded, and they are flagged by their own op at value -+ E.
STEP_OPS = ("quantize", "step")
MOVES = ("reshape", "transpose", "pad", "upsample")  # errors move with the values
CASTS = ("dense", "conv", "scale_shift")  # ops whose output cast may be a fused quantizer's


def batchnorm_bound(w_real, b_real, mean, beta, w, b) -> tuple[np.ndarray, np.ndarray]:
    """Per channel (const, slope): Keras's float32 batch normalization of x differs
    from the hardware's x * w + b by at most const + slope * |x| + U * |result|
    (w_real, b_real: the real scale and shift, from Keras's float32 statistics;
    w, b: the hardware's, rounded)."""
    const = KERAS_ULPS * U * (np.abs(mean * w_real) + np.abs(beta) + np.abs(b_real)) + np.abs(b - b_real)
    slope = KERAS_ULPS * U * np.abs(w_real) + np.abs(w - w_real)
    return const * SLACK, slope * SLACK


def flags(graph: Graph, cast: list) -> np.ndarray | None:
    """Per sample of the (already cast) inputs: whether a value that Keras rounds
    in float32 lies within its error bound of a quantization boundary. None when
    the graph has no such value."""
    from hlsflow.passes.check import chosen_tensors

    if not possible(graph):
        return None
    values, errors = dict(zip(graph.inputs, cast)), {}
    flagged = np.zeros(len(cast[0]), bool)
    chosen = chosen_tensors(graph)
    for node in graph.nodes:
        xs = [values[t] for t in node.inputs]
        (out,) = node.outputs
        values[out] = _ops()[node.op](graph, node, *xs)
        error = _error(graph, node, xs, [errors.get(t) for t in node.inputs])
        y = graph.tensors[out]
        if error is None or not y.exact:
            continue
        if node.op in STEP_OPS:
            (x,) = xs
            flagged |= _differ(_ops()[node.op](graph, node, x - error), _ops()[node.op](graph, node, x + error))
        elif node.attrs.get("step_input"):  # a batch normalization's result, rounded finely, for STEP_OPS
            errors[out] = (error + U * np.abs(values[out])) * SLACK + y.type.step
        elif node.op not in CASTS or out in chosen:  # a value computed exactly: Keras's may differ
            errors[out] = error
        else:  # the output cast is a quantizer's
            pre, slack = _before_cast(graph, node, xs)
            error = (error + U * np.abs(pre)) * SLACK + slack
            low = pre - error
            if node.attrs.get("relu"):
                low = np.maximum(low, 0)
            flagged |= _differ(quantize(low, y.type), quantize(pre + error, y.type))
    return flagged


def possible(graph: Graph) -> bool:
    """Whether any value of the graph can be a boundary case."""
    return any(n.attrs.get("between_quantizers") or (n.op in ("dense", "conv") and _keras_rounds(graph, n))
               for n in graph.nodes)


def _ops() -> dict:
    from hlsflow.emulate import OPS  # (the emulator imports the passes, which import this module)

    return OPS


def _differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any((a != b).reshape(len(a), -1), axis=1)


def _error(graph: Graph, node, xs: list, errors: list):
    """Bound on |Keras's value - the hardware's| of the node's result before its
    output cast (None where they are equal)."""
    (e, *_), x = errors, xs[0]
    if node.op in ("dense", "conv"):
        parts = [_keras_sum_error(graph, node, x)]
        if e is not None:
            parts.append(_abs_linear(graph, node, e, bias=False))
        parts = [p for p in parts if p is not None]
        return sum(parts) if parts else None
    if node.op == "scale_shift" and node.attrs.get("between_quantizers"):
        p = node.params
        bound = p["keras_error_const"] + p["keras_error_slope"] * np.abs(x)
        return bound if e is None else bound + np.abs(p["weight"]) * e * SLACK
    if e is None:
        return None
    if node.op in MOVES:
        return _ops()[node.op](graph, node, e)
    if node.op in ("relu",) + STEP_OPS:
        return e
    if node.op == "concat":
        return np.concatenate([np.zeros_like(x) if err is None else err for x, err in zip(xs, errors)],
                              axis=node.attrs["axis"] + 1)
    return None  # other ops: not tracked


def _keras_weights(node) -> np.ndarray:
    """The weights Keras multiplies with (a factored per-channel scale put back)."""
    w = node.params["weight"]
    return w * node.params["scale"] if "scale" in node.params else w


def _fan_in(node) -> int:
    w = node.params["weight"]
    return int(np.prod(w.shape[:-1]))


def _grid(graph: Graph, node) -> int:
    """Fractional bits of Keras's products and bias: every partial sum is a multiple of 2**-grid."""
    from hlsflow.passes.precision import fractional_bits

    x = graph.tensors[node.inputs[0]].type
    return max(x.fractional + fractional_bits(_keras_weights(node)), fractional_bits(node.params["bias"]))


def _keras_rounds(graph: Graph, node) -> bool:
    """Whether Keras's float32 sum of a dense/conv can round: some partial sum,
    in any order, may need more than float32's 24 significant bits."""
    x = graph.tensors[node.inputs[0]].type
    peak = max(abs(x.min_value), abs(x.max_value))
    w = np.abs(_keras_weights(node)).reshape(-1, node.params["weight"].shape[-1])
    worst = peak * w.sum(axis=0) + np.abs(node.params["bias"])
    return bool(graph.tensors[node.outputs[0]].exact and worst.max() * 2.0 ** _grid(graph, node) > 2.0 ** 24)


def _keras_sum_error(graph: Graph, node, x):
    """Bound on Keras's float32 rounding of a dense/conv sum: exact where the sum of
    the magnitudes fits 24 bits on the grid, else gamma_(n+2) times it."""
    if not _keras_rounds(graph, node):
        return None
    magnitude = _abs_linear(graph, node, np.abs(x), bias=True)
    n = _fan_in(node) + 2
    gamma = n * U / (1 - n * U)
    return np.where(magnitude * 2.0 ** _grid(graph, node) > 2.0 ** 24, gamma * magnitude * SLACK, 0.0)


def _abs_linear(graph: Graph, node, x, bias: bool) -> np.ndarray:
    """|weights| (Keras's) applied to non-negative x (plus |bias|) by the node's own op,
    before any activation, in float64 (relative error below 2**-50)."""
    w = _keras_weights(node)
    params = {"weight": np.abs(w), "bias": np.abs(node.params["bias"]) if bias else np.zeros(w.shape[-1])}
    copy = dataclasses.replace(node, attrs=dict(node.attrs, relu=False), params=params)
    return _with_output_type(graph, node, FixedType(53, _integer_bits(graph, node), False, "RND_CONV", "SAT"),
                             lambda: _ops()[node.op](graph, copy, x)) * SLACK


def _integer_bits(graph: Graph, node) -> int:
    """Integer bits covering every |sum| of a dense/conv with |weights| and |bias|."""
    x = graph.tensors[node.inputs[0]].type
    w = np.abs(_keras_weights(node)).reshape(-1, node.params["weight"].shape[-1])
    worst = max(abs(x.min_value), abs(x.max_value), 1.0) * w.sum(axis=0) + np.abs(node.params["bias"])
    return int(np.ceil(np.log2(worst.max() + 1.0))) + 1


def _before_cast(graph: Graph, node, xs) -> tuple[np.ndarray, float]:
    """The node's result before its output cast (after a fused relu), and a bound
    on how far that float64 view is from the exact value."""
    a = node.attrs
    acc = a["accum_type"]
    if "scale" not in node.params and acc.width <= 53:  # the accumulator holds the result exactly
        wide, slack = acc, 0.0
    else:
        integer = max(acc.integer + (a["scale_type"].integer if "scale_type" in a else 0), a["bias_type"].integer) + 1
        wide = FixedType(53, integer, True, "RND_CONV", "SAT")
        slack = wide.step / 2
    return _with_output_type(graph, node, wide, lambda: _ops()[node.op](graph, node, *xs)), slack


def _with_output_type(graph: Graph, node, t: FixedType, run):
    """run() with the node's output tensor given type t for the time being."""
    y = graph.tensors[node.outputs[0]]
    real = y.type
    y.type = t
    try:
        return run()
    finally:
        y.type = real
