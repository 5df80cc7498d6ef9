"""Activation ranges from calibration data, as power-of-two fixed-point ranges.

Every method returns the QKeras `integer` of a quantizer with `bits` bits
(quantized_relu / unsigned quantized_bits: range [0, 2^integer); signed
quantized_bits: [-2^integer, 2^integer)), so the hardware needs no scaling:
- minmax: the smallest range holding every calibrated value;
- percentile: the smallest range holding the given percentile of |x|;
- entropy: the threshold minimizing the KL divergence between the histogram of
  |x| and its quantized version (TensorRT's method), rounded up to a power of two;
- mse: the power-of-two range minimizing the mean squared quantization error.
"""
from __future__ import annotations

import math

import numpy as np

from hlsflow.errors import OptionError

METHODS = ("minmax", "percentile", "entropy", "mse")
PERCENTILE = 99.99
HISTOGRAM_BINS = 2048


def lsb(bits: int, integer: int, signed: bool) -> float:
    """Step of a QKeras quantizer: quantized_bits(bits, integer, keep_negative=signed) or quantized_relu."""
    return 2.0 ** (integer - bits + signed)


def quantize(x: np.ndarray, bits: int, integer: int, signed: bool) -> np.ndarray:
    """The quantizer's values on x: round half to even, then saturate (as QKeras with alpha=1)."""
    step = lsb(bits, integer, signed)
    low = -(2.0 ** integer) if signed else 0.0
    return np.clip(np.round(x / step) * step, low, 2.0 ** integer - step)


def covering_integer(peak: float, bits: int, signed: bool) -> int:
    """The smallest integer whose range holds `peak` (>= 0)."""
    if peak <= 0:
        return -bits + 1
    integer = math.floor(math.log2(peak)) - 1
    while 2.0 ** integer - lsb(bits, integer, signed) < peak:
        integer += 1
    return integer


def integer_bits(x: np.ndarray, bits: int, signed: bool, method: str = "minmax") -> int:
    """QKeras `integer` for a quantizer of `bits` bits on values like x."""
    if method not in METHODS:
        raise OptionError(f"calibration {method!r}: unknown method (known: {', '.join(METHODS)})")
    a = np.abs(np.asarray(x, np.float64).ravel())
    peak = float(a.max()) if a.size else 0.0
    full = covering_integer(peak, bits, signed)
    if method == "minmax" or peak == 0:
        return full
    if method == "percentile":
        return covering_integer(float(np.percentile(a, PERCENTILE)), bits, signed)
    if method == "entropy":
        return covering_integer(_kl_threshold(a, bits - signed, peak), bits, signed)
    candidates = range(full - bits // 2 - 1, full + 1)
    sample = np.asarray(x, np.float64).ravel()
    errors = [np.mean((quantize(sample, bits, c, signed) - sample) ** 2) for c in candidates]
    return list(candidates)[int(np.argmin(errors))]


def _kl_threshold(a: np.ndarray, magnitude_bits: int, peak: float) -> float:
    """TensorRT's entropy calibration: the clipping threshold of |x| with least KL divergence."""
    levels = 2 ** magnitude_bits
    hist, edges = np.histogram(a, bins=HISTOGRAM_BINS, range=(0.0, peak))
    hist = hist.astype(np.float64)
    best, best_kl = HISTOGRAM_BINS, np.inf
    for i in range(levels, HISTOGRAM_BINS + 1, max(1, HISTOGRAM_BINS // 256)):
        p = hist[:i].copy()
        p[-1] += hist[i:].sum()
        # merge the i bins into `levels` groups, spread each group's mass back over its non-empty bins
        group = np.arange(i) * levels // i
        total = np.bincount(group, weights=hist[:i], minlength=levels)
        nonzero = np.bincount(group, weights=(hist[:i] > 0).astype(np.float64), minlength=levels)
        q = np.where(hist[:i] > 0, total[group] / np.maximum(nonzero[group], 1), 0.0)
        mask = p > 0
        if not np.all(q[mask] > 0):
            continue
        p_n, q_n = p / p.sum(), q / q.sum()
        kl = float(np.sum(p_n[mask] * np.log(p_n[mask] / q_n[mask])))
        if kl < best_kl:
            best, best_kl = i, kl
    return float(edges[best])


def channel_peaks(x: np.ndarray) -> np.ndarray:
    """Max |x| of every channel (last axis)."""
    return np.abs(x).reshape(-1, x.shape[-1]).max(axis=0)
