"""Lookup tables of the fixed-point softmax, shared by the emulator and the C++.

softmax(x)_i = e_i / sum(e), with e_i = exp(-(max(x) - x_i)) read from a table
indexed by the raw bits of (max - x_i) cast to `index_type`, and 1/sum read
from a table indexed by the raw bits of the sum cast to `inv_index_type`.
"""
import functools

import numpy as np

from hlsflow.fixed import quantize


def softmax_tables(attrs) -> tuple[np.ndarray, np.ndarray]:
    """(exp table, inverse table), each quantized to its table type (shared, read-only arrays)."""
    return _tables(attrs["index_type"], attrs["inv_index_type"], attrs["exp_type"], attrs["inv_type"])


@functools.lru_cache(maxsize=64)
def _tables(index, inv_index, exp_type, inv_type):
    d = np.arange(2 ** index.width) * index.step
    exp_table = quantize(np.exp(-d), exp_type)
    s = np.arange(2 ** inv_index.width) * inv_index.step
    inv_table = quantize(np.where(s > 0, 1.0 / np.maximum(s, inv_index.step), 0.0), inv_type)
    exp_table.flags.writeable = inv_table.flags.writeable = False
    return exp_table, inv_table
