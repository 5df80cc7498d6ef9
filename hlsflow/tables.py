"""The index type of a lookup table of a float function over an input wider
than table_width bits.

The table has 2**table_width entries. Keeping the input's integer bits spends
them on values where a saturating function (tanh, sigmoid, ...) no longer
changes: a <32,16> gate sum read through a 16-bit index steps by 1.0. The
index instead covers only where the function changes -- the fewest integer
bits for which clamping the input to the index's range (the index type
saturates, in the emulator and in the C++ cast alike) moves the function by
at most `tolerance` -- and its remaining bits are fractional.
"""
from __future__ import annotations

import functools

import numpy as np

from hlsflow.fixed import FixedType

PROBES = 2 ** 16  # points of the input's range where the clamping is measured (and its two ends)


@functools.lru_cache(maxsize=256)
def index_type(function, x: FixedType, table_width: int, out: FixedType | None, width: int) -> FixedType:
    """The table_width-bit saturating index type for `function` over x's values
    (x itself when it is no wider). The tolerance is half a step of the output
    type `out`, or, when it is still to be chosen, of the `width`-bit type that
    covers the function's values."""
    if x.width <= table_width:
        return FixedType(x.width, x.integer, x.signed)
    from hlsflow.passes.precision import rounded_type

    probes = np.unique(np.concatenate([np.linspace(x.min_value, x.max_value, PROBES), [x.min_value, x.max_value]]))
    values = function(probes)
    tolerance = (out or rounded_type(values, width)).step / 2
    for integer in range(table_width - x.fractional, x.integer):  # no finer than x: it would hold nothing new
        t = FixedType(table_width, integer, x.signed, "RND_CONV", "SAT")
        if np.abs(function(np.clip(probes, t.min_value, t.max_value)) - values).max() <= tolerance:
            return t
    return FixedType(table_width, x.integer, x.signed, "RND_CONV", "SAT")
