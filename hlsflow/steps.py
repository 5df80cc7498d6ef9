"""Quantized activations as threshold comparisons.

A QKeras activation quantizer (binary, ternary, quantized_tanh/sigmoid,
quantized_po2/relu_po2, quantized_bits with one bit, quantized_relu with
use_sigmoid ...) rounds and clips a monotone function of its input, so it is
a monotone step function: k output levels change at k - 1 thresholds. On an
input of a fixed-point type the thresholds are values of that type's grid,
found here by bisection on Keras's own outputs (Keras sees the input as
float32, so that rounding is part of the function), about k * width
evaluations whatever the width. The hardware then compares the input with
k - 1 constants and selects the level by a binary search over the results
(nnet::step): exact at any input width, comparison depth log2(k).

Whether a function is monotone is checked, not assumed: on every input value
up to VERIFY_ALL codes, else on a sample of VERIFY_SAMPLE evenly spaced values
plus both sides of every threshold. Keras itself is not always consistent
right at a threshold: quantized_po2 rounds a float32 log2, which TensorFlow
computes slightly differently in vectorized and scalar code, so the input
next to sqrt(2) * 2^k may get either level depending on its place in the
batch. There the check accepts either neighbouring level, and the hardware
has the level Keras gives for the bisection's evaluation.
"""
from __future__ import annotations

import math

import numpy as np

from hlsflow.fixed import FixedType

VERIFY_ALL = 1 << 20
VERIFY_SAMPLE = 1 << 16


def codes(t: FixedType) -> tuple[int, int]:
    """The least and greatest integer codes of type t (value = code * step)."""
    return round(t.min_value / t.step), round(t.max_value / t.step)


def find_steps(evaluate, t: FixedType):
    """(thresholds, levels) of the element-wise `evaluate` over every value of
    t: y = levels[number of thresholds <= x], thresholds ascending values of t.
    None when `evaluate` is not a monotone step function of t's values."""
    lo, hi = codes(t)

    def f(c):
        return evaluate(np.asarray(c, np.float64) * t.step)

    ends = f([lo, hi])
    rising = ends[1] >= ends[0]
    found = []  # codes c with f(c - 1) != f(c)
    frontier = [(lo, hi, ends[0], ends[1])] if ends[0] != ends[1] else []
    while frontier:
        split = [(a, b, fa, fb) for a, b, fa, fb in frontier if b - a > 1]
        found += [b for a, b, fa, fb in frontier if b - a == 1]
        mids = [(a + b) // 2 for a, b, _, _ in split]
        values = f(mids) if mids else []
        frontier = []
        for (a, b, fa, fb), m, fm in zip(split, mids, values):
            frontier += [part for part in ((a, m, fa, fm), (m, b, fm, fb)) if part[2] != part[3]]
    thresholds = np.array(sorted(found), np.int64)
    levels = f(np.concatenate([[lo], thresholds]))
    if np.any(np.diff(levels) < 0 if rising else np.diff(levels) > 0):
        return None
    sample = (np.arange(lo, hi + 1) if hi - lo < VERIFY_ALL
              else np.unique(np.concatenate([np.linspace(lo, hi, VERIFY_SAMPLE).round().astype(np.int64),
                                             thresholds, thresholds - 1])))
    got, index = f(sample), np.searchsorted(thresholds, sample, side="right")
    near = lambda shift: levels[np.clip(index + shift, 0, len(levels) - 1)]  # noqa: E731
    at_step = np.isin(sample, thresholds) | np.isin(sample, thresholds - 1)
    if not np.all((got == levels[index]) | (at_step & ((got == near(-1)) | (got == near(1))))):
        return None
    return thresholds * t.step, levels


def table_luts(width: int, out_width: int, per_lut: int = 64) -> int:
    """LUT6s of a ROM of 2**width entries (a LUT6 holds 64 x 1 bit)."""
    return math.ceil(2 ** width / per_lut) * out_width


def step_luts(width: int, levels: int, out_width: int) -> int:
    """LUT6s of k - 1 comparisons of a width-bit input with constants (about
    one LUT per two bits of a carry chain) and a k-way selection per output bit."""
    return (levels - 1) * math.ceil(width / 2) + math.ceil(levels / 4) * out_width
