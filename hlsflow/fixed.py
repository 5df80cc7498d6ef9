"""Fixed-point types and arithmetic with Xilinx ``ap_fixed`` semantics.

This module is the single Python-side source of truth for fixed-point
quantization.  Every rule below was checked bit-for-bit against the ap_types
headers compiled with g++ (see ``tests/test_fixed.py``):

* A value is first rounded onto the grid ``2**-fractional`` (rounding mode
  applied to the *exact* input value), then the rounded value is brought into
  range by the overflow mode.
* ``SAT_SYM`` on a signed type of width > 1 clamps to ``[-max, max]``: the
  most negative code is never produced, even for an input exactly equal to
  it.  For width 1 and for unsigned types ``SAT_SYM`` behaves like ``SAT``.
* The result is the same whether the source is a ``double`` or another
  ``ap_fixed`` holding the same value.  (Exception, not modelled: ap_fixed's
  double constructor misreads subnormal doubles, which only matters for
  types with more than ~1022 fractional bits.)

Caveat for code generation: ``ap_int<W>`` / ``ap_uint<W>`` (the spelling
``cpp()`` uses for default-mode integer types) do *not* share these semantics
when assigned a value with fractional bits: they truncate toward zero, and an
``ap_int`` built from a double in (-0.5, 0) becomes +1.  Assignments from
integer-valued sources agree.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
from dataclasses import dataclass

import numpy as np

ROUNDING_MODES = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV")
OVERFLOW_MODES = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")

MAX_WIDTH = 1024  # ap_fixed's default AP_INT_MAX_W; beyond 64 bits, mantissas are Python ints
MAX_REPRESENTABLE_WIDTH = 20

# "ap_" and "AP_" are optional (hls4ml's spelling: fixed<16,6>, ufixed<8,0,RND,SAT>, int<8>)
_FIXED_RE = re.compile(
    r"(?:ap_)?(u?)fixed<(-?\d+),(-?\d+)(?:,(?:AP_)?([A-Z_]+)(?:,(?:AP_)?([A-Z_]+)(?:,0)?)?)?>"
)
_INT_RE = re.compile(r"(?:ap_)?(u?)int<(\d+)>")


def _as_int(name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


@dataclass(frozen=True)
class FixedType:
    """An ``ap_fixed<width, integer, rounding, overflow>`` type (``integer`` counts the sign bit)."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "TRN"
    overflow: str = "WRAP"

    def __post_init__(self):
        width = _as_int("width", self.width)
        if not 1 <= width <= MAX_WIDTH:
            raise ValueError(f"width must be in 1..{MAX_WIDTH}, got {width}")
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "integer", _as_int("integer", self.integer))
        if not isinstance(self.signed, (bool, np.bool_)):
            raise ValueError(f"signed must be a bool, got {self.signed!r}")
        object.__setattr__(self, "signed", bool(self.signed))
        if self.rounding not in ROUNDING_MODES:
            raise ValueError(f"rounding must be one of {ROUNDING_MODES}, got {self.rounding!r}")
        if self.overflow not in OVERFLOW_MODES:
            raise ValueError(f"overflow must be one of {OVERFLOW_MODES}, got {self.overflow!r}")

    @property
    def fractional(self) -> int:
        return self.width - self.integer

    @property
    def step(self) -> float:
        return math.ldexp(1.0, -self.fractional)

    @property
    def min_value(self) -> float:
        return math.ldexp(_raw_bounds(self)[0], -self.fractional)

    @property
    def max_value(self) -> float:
        """Largest representable value (rounded to float64 for widths > 53)."""
        return math.ldexp(_raw_bounds(self)[1], -self.fractional)

    def cpp(self) -> str:
        """C++ spelling, omitting default template arguments."""
        u = "" if self.signed else "u"
        default_modes = self.rounding == "TRN" and self.overflow == "WRAP"
        if default_modes and self.fractional == 0:
            return f"ap_{u}int<{self.width}>"
        args = [str(self.width), str(self.integer)]
        if not default_modes:
            args.append(f"AP_{self.rounding}")
        if self.overflow != "WRAP":
            args.append(f"AP_{self.overflow}")
        return f"ap_{u}fixed<{','.join(args)}>"

    __str__ = cpp

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """Inverse of :meth:`cpp`; also accepts explicit default modes, whitespace
        and hls4ml's spellings (``fixed<16,6>``, modes without ``AP_``). Modes
        left out are ap_fixed's defaults, AP_TRN and AP_WRAP."""
        compact = re.sub(r"\s+", "", str(text))
        m = _INT_RE.fullmatch(compact)
        if m:
            width = int(m.group(2))
            return cls(width, width, signed=not m.group(1))
        m = _FIXED_RE.fullmatch(compact)
        if not m:
            raise ValueError(f"not an ap_fixed/ap_int type: {text!r}")
        u, width, integer, rounding, overflow = m.groups()
        return cls(int(width), int(integer), signed=not u,
                   rounding=rounding or "TRN", overflow=overflow or "WRAP")

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> FixedType:
        return cls(**d)

    def with_modes(self, rounding: str | None = None, overflow: str | None = None) -> FixedType:
        return dataclasses.replace(
            self,
            rounding=self.rounding if rounding is None else rounding,
            overflow=self.overflow if overflow is None else overflow,
        )


def _raw_bounds(t: FixedType) -> tuple[int, int]:
    """Smallest and largest integer mantissa of ``t``."""
    if t.signed:
        return -(1 << (t.width - 1)), (1 << (t.width - 1)) - 1
    return 0, (1 << t.width) - 1


def _round(y: np.ndarray, rounding: str) -> np.ndarray:
    """Round ``y`` (exact, |y| >= 0.5 or y == 0, possibly infinite) to an integer-valued float."""
    fl = np.floor(y)
    fr = y - fl  # exact for |y| >= 0.5; NaN for infinities (all comparisons False)
    if rounding == "TRN":
        return fl
    if rounding == "TRN_ZERO":
        return fl + ((fr > 0) & (y < 0))
    tie = fr == 0.5
    tie_up = {
        "RND": tie,
        "RND_ZERO": tie & (y < 0),
        "RND_MIN_INF": False,
        "RND_INF": tie & (y > 0),
        "RND_CONV": tie & (np.fmod(fl, 2) != 0),
    }[rounding]
    return fl + ((fr > 0.5) | tie_up)


def _wrap(r: np.ndarray, t: FixedType) -> np.ndarray:
    """Two's complement wrap of integer-valued floats ``r`` to ``t.width`` bits."""
    w = np.fmod(r, 2.0**64)  # exact; NaN for infinities, whose low bits are all zero
    w = np.where(np.isfinite(w), w, 0.0)
    w = np.where(w >= 2.0**63, w - 2.0**64, w)  # exact (Sterbenz), now in [-2**63, 2**63)
    w = np.where(w < -(2.0**63), w + 2.0**64, w)
    u = w.astype(np.int64).view(np.uint64)
    if t.width == 64:
        return u.view(np.int64) if t.signed else u
    u = u & np.uint64((1 << t.width) - 1)
    v = u.astype(np.int64)
    if t.signed:
        sign = np.int64(1 << (t.width - 1))
        v = (v ^ sign) - sign
    return v


def _saturate(r: np.ndarray, t: FixedType) -> np.ndarray:
    """Apply SAT / SAT_ZERO / SAT_SYM to integer-valued floats ``r``."""
    lo, hi = _raw_bounds(t)
    if t.overflow == "SAT_SYM" and t.signed and t.width > 1:
        lo += 1
        under = r <= float(lo - 1)  # lo - 1 is a power of two: exact as float
    else:
        under = r < float(lo)
    over = r >= float(hi + 1)  # hi + 1 is a power of two: exact as float
    dtype = np.uint64 if (t.width == 64 and not t.signed) else np.int64
    k = np.where(under | over, 0.0, r).astype(dtype)
    if t.overflow == "SAT_ZERO":
        return k
    return np.where(over, dtype(hi), np.where(under, dtype(lo), k))


def quantize_raw(x, t: FixedType) -> np.ndarray:
    """Integer mantissa ``k`` (value ``k * 2**-fractional``) of ``x`` converted to ``t``.

    Exact for every finite float64 input and every width.  Returns int64 for
    width <= 63, otherwise an object array of Python ints.
    """
    x = np.asarray(x, dtype=np.float64)
    fast = _quantize_float(x, t)
    if fast is not None:
        return np.ldexp(fast, t.fractional).astype(np.int64)  # integers below 2**53: exact
    return _quantize_raw_exact(x, t)


def _quantize_raw_wide(x: np.ndarray, t: FixedType) -> np.ndarray:
    """quantize_raw() for widths beyond 64 bits: the exact mantissas of x on a common grid, cast in Python ints."""
    m, e = np.frexp(x)  # x = m * 2**e, m * 2**53 an integer
    low = int(e.min()) if x.size else 0
    k = mantissas(m, 53, object) << (e - low).astype(object)
    return cast_mantissas(k, 53 - low, t)


def mantissas(values, frac: int, dtype) -> np.ndarray:
    """The integer mantissas values * 2**frac of float64 values on that grid, as
    int64 (below 2**63) or, with dtype object, Python ints."""
    y = np.ldexp(np.asarray(values, np.float64), frac)
    return np.array(np.frompyfunc(int, 1, 1)(y), dtype=object) if np.dtype(dtype) == object else y.astype(np.int64)


def exact_dtype(value: FixedType, t: FixedType):
    """How the emulator computes exactly a value of type `value` (every partial
    sum and product of an op, on the grid 2**-value.fractional) and casts it to
    t: as float64 values up to 53 bits (the fast path), else as integer
    mantissas (cast_mantissas), int64 while every intermediate and shift stays
    within 62 bits, else Python ints (object: any width)."""
    if value.width <= 53:
        return np.float64
    shift = value.fractional - t.fractional
    return np.int64 if value.width + max(0, -shift) <= 62 and shift <= 62 and t.width <= 62 else object


def _round_up(rounding: str, k, q, rest, half):
    """Whether a cast rounds the floor q of k * 2**-shift up (rest = k - q * 2**shift, half = 2**(shift - 1))."""
    if rounding == "TRN":
        return 0
    if rounding == "TRN_ZERO":
        return (rest > 0) & (k < 0)
    if rounding == "RND":
        return rest >= half
    ties = {"RND_ZERO": lambda: k < 0, "RND_MIN_INF": lambda: False, "RND_INF": lambda: k > 0,
            "RND_CONV": lambda: q & 1 == 1}[rounding]
    return (rest > half) | ((rest == half) & ties())


def cast_mantissas(k, frac: int, t: FixedType) -> np.ndarray:
    """Mantissas in `t` of the values k * 2**-frac, for integer mantissas k: an
    int64 array within exact_dtype's bounds, or Python ints (object, any width).
    Rounding on the exact value, then overflow, as ap_fixed's conversions do."""
    k = np.asarray(k)
    shift = frac - t.fractional
    if shift <= 0:
        q = k << -shift
    else:
        q = k >> shift  # floor
        q = q + _round_up(t.rounding, k, q, k - (q << shift), 1 << (shift - 1))
    lo, hi = _raw_bounds(t)
    if t.overflow == "WRAP":
        return (q - lo) % (1 << t.width) + lo
    if t.overflow == "SAT_ZERO":
        return np.where((q >= lo) & (q <= hi), q, 0)
    lo, hi = _clip_bounds(t)
    return np.minimum(np.maximum(q, lo), hi)


def quantize_affine_exact(k, frac: int, t: FixedType, bias, scale=None, relu: bool = False) -> np.ndarray:
    """quantize(relu?(k * 2**-frac * scale + bias), t) as float64 values (t of
    at most 53 bits) for integer mantissas k (see cast_mantissas), exact at any
    width as ap_fixed's full-precision arithmetic; bias and scale are (values,
    type) pairs."""
    if scale is not None:
        values, st = scale
        k, frac = k * mantissas(values, st.fractional, k.dtype), frac + st.fractional
    values, bt = bias
    top = max(frac, bt.fractional)
    k = (k << (top - frac)) + (mantissas(values, bt.fractional, k.dtype) << (top - bt.fractional))
    if relu:
        k = np.where(k > 0, k, 0)
    return np.ldexp(cast_mantissas(k, top, t).astype(np.float64), -t.fractional) + 0.0


def _quantize_raw_exact(x: np.ndarray, t: FixedType) -> np.ndarray:
    """quantize_raw() without the float64 fast path."""
    if not np.all(np.isfinite(x)):
        raise ValueError("quantize_raw: input contains NaN or infinity")
    if t.width > 64:
        return _quantize_raw_wide(x, t)
    with np.errstate(all="ignore"):
        y = np.ldexp(x, t.fractional)  # exact unless it overflows (inf) or underflows
        # Every 0 < |y| < 0.5 rounds like +-0.25; this also repairs underflowed y.
        y = np.where((np.abs(y) < 0.5) & (x != 0), np.copysign(0.25, x), y)
        r = _round(y, t.rounding)
        k = _wrap(r, t) if t.overflow == "WRAP" else _saturate(r, t)
    return k if t.width <= 63 else k.astype(object)


def quantize(x, t: FixedType) -> np.ndarray:
    """Values of ``x`` converted to ``t``, as float64.

    Exact for width <= 53 (unless the value is beyond the normal float64
    range); wider types are rounded to nearest only in this float view --
    use :func:`quantize_raw` for their exact mantissas.
    """
    x = np.asarray(x, dtype=np.float64)
    fast = _quantize_float(x, t)
    if fast is not None:
        return fast
    k = _quantize_raw_exact(x, t)
    return np.ldexp(k.astype(np.float64), -t.fractional)


_FLOAT_ROUNDING = {"TRN": np.floor, "TRN_ZERO": np.trunc, "RND_CONV": np.rint}


def _float_path(t: FixedType) -> bool:
    """Whether casts to ``t`` can run as float64 passes: width <= 53,
    fractional >= 0 and a rounding mode numpy has as one function."""
    return t.width <= 53 and t.fractional >= 0 and t.rounding in _FLOAT_ROUNDING


def _clip_bounds(t: FixedType) -> tuple[int, int]:
    """The mantissa range a saturating cast to ``t`` clips to (SAT_SYM drops the minimum)."""
    lo, hi = _raw_bounds(t)
    if t.overflow == "SAT_SYM" and t.signed and t.width > 1:
        lo += 1
    return lo, hi


def _quantize_float(x: np.ndarray, t: FixedType) -> np.ndarray | None:
    """quantize() in a few float64 passes (the emulator's hot path), for the
    common case where every step is exact: _float_path(t) and
    |x| * 2**fractional < 2**52.
    None when the case is not covered (NaN and infinities included)."""
    if not _float_path(t) or x.size == 0:
        return None
    scale = math.ldexp(1.0, t.fractional)
    if not max(float(x.max()), -float(x.min())) * scale < 2.0**52:
        return None
    r = np.multiply(x, scale, out=np.empty_like(x))  # an array also when x is 0-d
    _FLOAT_ROUNDING[t.rounding](r, out=r)
    lo, hi = _clip_bounds(t)
    if t.overflow == "WRAP":
        if r.min() < lo or r.max() > hi:  # every step exact: integers below 2**53
            r -= np.floor((r - lo) / 2.0**t.width) * 2.0**t.width
    elif t.overflow == "SAT_ZERO":
        r[(r < lo) | (r > hi)] = 0.0
    else:
        np.clip(r, lo, hi, out=r)
    r *= 1.0 / scale
    r += 0.0  # -0.0 -> 0.0, as from an integer mantissa
    return r


def quantize_affine(acc: np.ndarray, t: FixedType, scale=None, bias=0.0, relu: bool = False) -> np.ndarray:
    """quantize(relu?(acc * scale + bias), t), reusing the float64 array `acc`.

    For saturating types (the emulator's hot path) in five in-place passes:
    the 2**fractional of the cast is folded into scale and bias (a power of
    two commutes with float rounding), and the rounding is applied after the
    clip to the integer bounds, which relu raises to 0 (monotone roundings that
    keep integers commute with both)."""
    if t.overflow not in ("SAT", "SAT_SYM") or not _float_path(t):
        if scale is not None:
            acc *= scale
        acc += bias
        return quantize(np.maximum(acc, 0, out=acc) if relu else acc, t)
    grid = math.ldexp(1.0, t.fractional)
    acc *= grid if scale is None else np.asarray(scale) * grid
    acc += np.asarray(bias) * grid
    lo, hi = _clip_bounds(t)
    np.clip(acc, max(lo, 0) if relu else lo, hi, out=acc)
    _FLOAT_ROUNDING[t.rounding](acc, out=acc)
    acc *= 1.0 / grid
    acc += 0.0  # -0.0 -> 0.0, as from an integer mantissa
    return acc


def representable(t: FixedType) -> np.ndarray:
    """All values of ``t`` in increasing order (width <= 20)."""
    if t.width > MAX_REPRESENTABLE_WIDTH:
        raise ValueError(f"representable: width {t.width} > {MAX_REPRESENTABLE_WIDTH}")
    lo, hi = _raw_bounds(t)
    return np.ldexp(np.arange(lo, hi + 1, dtype=np.float64), -t.fractional)
