"""Fixed-point layer normalization, shared by the type rule, the emulator and
the C++ (nnet_layernorm.h).

Over each group of n values x (the last axis), with S = sum(x) and D_i =
n x_i - S (exact, f fractional bits), and Q = sum(E_i^2) where E_i is D_i
rounded to square_type (f' <= f fractional bits, so that Q fits 53 bits):
Keras's (x_i - mean) / sqrt(variance + eps) equals D_i 2^(f' - f) sqrt(n / K)
with K = (Q + n^3 eps) 2^(2f') an integer (n^3 eps rounded to Q's grid).
K = m 4^e with m in [1, 4): sqrt(n / K) = sqrt(n / m) 2^-e, and sqrt(n / m)
comes from a table indexed by m's leading INDEX_BITS bits (truncated; each
entry is the value at the middle of its interval, so its relative error is
below 2^-(INDEX_BITS - 1)). The normalized value D_i sqrt(n / m)
2^-(e + f - f') is rounded once to norm_type, then multiplied by gamma, beta
added, and cast to the output type.
"""
import functools

import numpy as np

from hlsflow.fixed import FixedType, quantize, quantize_raw

INDEX_BITS = 10  # m in [1, 4): 2 integer and INDEX_BITS - 2 fractional bits
MANTISSA = INDEX_BITS - 2
TABLE_WIDTH = 18  # bits of sqrt(n / m)
NORM_WIDTH = 18  # bits of the normalized value


def eps_raw(n: int, epsilon: float, var_type: FixedType) -> int:
    """n^3 eps on the grid of the sum of squares (raw integer), at least 1 when eps > 0."""
    raw = int(round(n ** 3 * epsilon * 2.0 ** var_type.fractional))
    return max(raw, 1 if epsilon > 0 else 0)


def table_type(n: int) -> FixedType:
    """Unsigned type of sqrt(n / m) for m in [1, 4): values up to sqrt(n)."""
    integer = int(np.floor(np.log2(np.sqrt(n)))) + 1
    return FixedType(TABLE_WIDTH, integer, False, "RND_CONV", "SAT")


@functools.lru_cache(maxsize=64)
def rsqrt_table(n: int, t: FixedType) -> np.ndarray:
    """sqrt(n / m) at the middle of each index interval (index k: m in [k, k + 1) 2^-MANTISSA)."""
    k = np.arange(2 ** INDEX_BITS, dtype=np.float64)
    m = (k + 0.5) * 2.0 ** -MANTISSA
    table = quantize(np.where(k >= 2 ** MANTISSA, np.sqrt(n / m), 0.0), t)
    table.flags.writeable = False
    return table


def normalize(x: np.ndarray, attrs: dict, table: np.ndarray) -> np.ndarray:
    """The normalized values (rounded to norm_type) of x's last-axis groups of attrs["channels"]."""
    n = attrs["channels"]
    groups = x.reshape(-1, n)
    dev = n * groups - groups.sum(axis=1, keepdims=True)  # exact
    var_t, dev_t = attrs["var_type"], attrs["dev_type"]
    rounded = quantize(dev, attrs["square_type"])
    k = quantize_raw((rounded * rounded).sum(axis=1), var_t).astype(np.int64) + attrs["eps_raw"]
    top = np.frexp(np.maximum(k, 1).astype(np.float64))[1] - 1  # position of the leading one (k < 2^53)
    e = top // 2
    index = (k << MANTISSA) >> (2 * e)
    e = e + dev_t.fractional - attrs["square_type"].fractional
    r = table[index]
    draw = quantize_raw(dev, dev_t).astype(np.float64)
    z = quantize(draw * r[:, None] * np.ldexp(1.0, -e)[:, None], attrs["norm_type"])
    return z.reshape(x.shape)


def emulate_layernorm(graph, node, x):
    a, p = node.attrs, node.params
    z = normalize(x, a, p["rsqrt_table"])
    return quantize(z * p["weight"] + p["bias"], graph.tensors[node.outputs[0]].type)
