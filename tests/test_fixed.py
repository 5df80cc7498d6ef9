"""Tests for hlsflow.fixed, including a differential fuzz against g++-compiled ap_fixed.

The fuzz seed is ``HLSFLOW_FUZZ_SEED`` (default 0); the compiled reference
program is cached in ``HLSFLOW_CACHE_DIR`` (default: the system temp dir).
"""

import hashlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from hlsflow import fixed
from hlsflow.backend.ap_types import ap_types_dir
from hlsflow.fixed import (
    OVERFLOW_MODES,
    ROUNDING_MODES,
    FixedType,
    quantize,
    quantize_affine,
    quantize_affine_exact,
    quantize_raw,
    representable,
)

# --------------------------------------------------------------------------- unit tests


@pytest.mark.parametrize(
    "t, text",
    [
        (FixedType(8, 3, rounding="RND_CONV", overflow="SAT"), "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"),
        (FixedType(6, 0, False, "RND_CONV", "SAT"), "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>"),
        (FixedType(8, 3), "ap_fixed<8,3>"),
        (FixedType(8, 3, rounding="RND"), "ap_fixed<8,3,AP_RND>"),
        (FixedType(8, 3, overflow="SAT_SYM"), "ap_fixed<8,3,AP_TRN,AP_SAT_SYM>"),
        (FixedType(8, 8), "ap_int<8>"),
        (FixedType(8, 8, signed=False), "ap_uint<8>"),
        (FixedType(8, 8, overflow="SAT"), "ap_fixed<8,8,AP_TRN,AP_SAT>"),
        (FixedType(8, -3), "ap_fixed<8,-3>"),
        (FixedType(4, 10, signed=False), "ap_ufixed<4,10>"),
    ],
)
def test_cpp_spelling_and_parse(t, text):
    assert t.cpp() == text
    assert str(t) == text
    assert FixedType.parse(text) == t


def test_parse_accepts_explicit_defaults_and_whitespace():
    assert FixedType.parse(" ap_fixed< 16, 6, AP_TRN, AP_WRAP > ") == FixedType(16, 6)
    assert FixedType.parse("ap_ufixed<8,0,AP_RND,AP_SAT,0>") == FixedType(8, 0, False, "RND", "SAT")
    assert FixedType.parse("ap_uint<4>") == FixedType(4, 4, signed=False)


@pytest.mark.parametrize("text, t", [
    ("fixed<16,6>", FixedType(16, 6)), ("ufixed<8,0>", FixedType(8, 0, False)),
    ("fixed<32,12,RND_CONV,SAT>", FixedType(32, 12, True, "RND_CONV", "SAT")),
    ("ap_fixed<16,6,RND,AP_SAT>", FixedType(16, 6, True, "RND", "SAT")), ("int<8>", FixedType(8, 8)),
    ("uint<3>", FixedType(3, 3, False)), ("fixed<8,3,RND_ZERO>", FixedType(8, 3, True, "RND_ZERO"))])
def test_parse_accepts_hls4ml_spellings(text, t):
    """hls4ml's precision strings: the ap_ prefix and AP_ of the modes are
    optional; modes left out are AP_TRN and AP_WRAP (ap_fixed's defaults)."""
    assert FixedType.parse(text) == t


@pytest.mark.parametrize(
    "text",
    ["", "float", "ap_fixed<8>", "ap_int<8,3>", "ap_fixed<8,3,AP_FOO>", "ap_fixed<8,3,AP_SAT>",
     "ap_fixed<0,0>", "ap_int<1025>", "ap_fixed<8,3,AP_RND,AP_SAT,1>", "ap_fixed<8,3>x", "xfixed<8,3>",
     "fixed<8,3,SAT>", "ac_fixed<8,3,true>"],
)
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        FixedType.parse(text)


def test_json_round_trip():
    for t in [FixedType(1, -5, False, "RND_INF", "SAT_ZERO"), FixedType(64, 70), FixedType(8, 3)]:
        d = t.to_json()
        assert FixedType.from_json(json.loads(json.dumps(d))) == t


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(width=0, integer=0), "width"),
        (dict(width=1025, integer=0), "width"),
        (dict(width=8.0, integer=0), "width"),
        (dict(width=8, integer=True), "integer"),
        (dict(width=8, integer="3"), "integer"),
        (dict(width=8, integer=3, signed=1), "signed"),
        (dict(width=8, integer=3, rounding="AP_RND"), "rounding"),
        (dict(width=8, integer=3, overflow="SAT_ZER0"), "overflow"),
    ],
)
def test_validation(kwargs, field):
    with pytest.raises(ValueError, match=field):
        FixedType(**kwargs)


def test_properties_and_with_modes():
    t = FixedType(8, 3)
    assert (t.fractional, t.step, t.min_value, t.max_value) == (5, 2**-5, -4.0, 4 - 2**-5)
    u = FixedType(6, 0, signed=False)
    assert (u.min_value, u.max_value) == (0.0, 1 - 2**-6)
    assert t.with_modes(overflow="SAT") == FixedType(8, 3, overflow="SAT")
    assert t.with_modes("RND", "SAT_SYM") == FixedType(8, 3, True, "RND", "SAT_SYM")
    assert FixedType(np.int64(8), np.int32(3)).to_json()["width"].__class__ is int


def test_representable():
    assert list(representable(FixedType(3, 1))) == [k / 4 for k in range(-4, 4)]
    assert list(representable(FixedType(2, 4, signed=False))) == [0.0, 4.0, 8.0, 12.0]
    assert list(representable(FixedType(1, 1))) == [-1.0, 0.0]
    vals = representable(FixedType(12, 5, signed=False))
    assert len(vals) == 4096 and np.all(np.diff(vals) == 2**-7)
    np.testing.assert_array_equal(quantize(vals, FixedType(12, 5, False, "RND", "SAT")), vals)
    with pytest.raises(ValueError):
        representable(FixedType(21, 0))


def test_dtypes_shapes_and_float_view():
    x = np.array([[-1.3, 0.2], [3.9, -0.0]])
    k = quantize_raw(x, FixedType(8, 3, rounding="RND"))
    assert k.dtype == np.int64 and k.shape == (2, 2)
    assert k.tolist() == [[-42, 6], [125, 0]]
    assert quantize_raw(2.5, FixedType(4, 4, rounding="RND_CONV")).shape == ()
    np.testing.assert_array_equal(quantize(x, FixedType(8, 3, rounding="RND")), k * 2.0**-5)
    assert quantize_raw([1.0], FixedType(63, 1, signed=False)).dtype == np.int64
    wide = quantize_raw([-1.0, 1e300], FixedType(64, 64, signed=False, overflow="SAT"))
    assert wide.dtype == object and wide.tolist() == [0, 2**64 - 1]
    assert quantize_raw([-1.0], FixedType(64, 64)).tolist() == [-1]
    with pytest.raises(ValueError):
        quantize_raw([np.nan], FixedType(8, 3))
    with pytest.raises(ValueError):
        quantize_raw([np.inf], FixedType(8, 3))


def test_sat_sym_never_yields_min_code():
    t = FixedType(4, 4, overflow="SAT_SYM")
    assert quantize_raw([-8.0, -100.0, 100.0, -7.0], t).tolist() == [-7, -7, 7, -7]
    assert quantize_raw([-1.0], FixedType(1, 1, overflow="SAT_SYM")).tolist() == [-1]


@pytest.mark.parametrize("overflow", OVERFLOW_MODES)
@pytest.mark.parametrize("rounding", ROUNDING_MODES)
def test_quantize_affine_is_quantize_of_the_affine_map(rounding, overflow):
    rng = np.random.default_rng(3)
    acc = np.ldexp(rng.integers(-2**20, 2**20, (64, 6)).astype(np.float64), -9)
    scale = np.ldexp(rng.integers(-255, 256, 6).astype(np.float64), -7)
    bias = np.ldexp(rng.integers(-2**12, 2**12, 6).astype(np.float64), -10)
    for t in (FixedType(8, 3, True, rounding, overflow), FixedType(6, 0, False, rounding, overflow),
              FixedType(12, 14, True, rounding, overflow), FixedType(10, -2, True, rounding, overflow)):
        for s in (None, scale):
            for relu in (False, True):
                y = acc * (1.0 if s is None else s) + bias
                want = quantize(np.maximum(y, 0) if relu else y, t)
                got = quantize_affine(acc.copy(), t, s, bias, relu)
                assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want)), (t, s, relu)


# --------------------------------------------------------------------------- differential fuzz vs g++

FUZZ_SEED = int(os.environ.get("HLSFLOW_FUZZ_SEED", "0"))
VALUES_PER_CASE = 48  # per (target type, source kind); 192 types x 2 kinds -> 18432 pairs
N_UNITS = 4  # translation units compiled in parallel

# (width, integer, signed) combos that must be covered; the rest are random but fixed.
_REQUIRED = [
    (1, 1, True), (1, 0, False), (1, -2, True), (2, 2, True), (2, 1, False), (2, -1, True),
    (53, 20, True), (53, 60, False), (63, 30, True), (63, 0, False), (64, 32, True),
    (64, 64, False), (64, -3, True), (64, 70, True), (8, -3, True), (6, 10, True),
    (5, 9, False), (8, 3, True), (6, 0, False), (16, 6, True),
]
_MODES_PER_COMBO = 6  # of the 28 (rounding, overflow) pairs; the full product compiles for minutes


def _reference_cases():
    """Fixed list of (target, source) type pairs; independent of the fuzz seed so the build caches."""
    rnd = random.Random(1234)
    combos = list(_REQUIRED)
    while len(combos) < 32:
        w = rnd.choice([rnd.randint(1, 12), rnd.randint(13, 40), rnd.randint(41, 64)])
        combos.append((w, rnd.randint(-6, w + 6), rnd.random() < 0.7))
    pairs = [(q, o) for q in ROUNDING_MODES for o in OVERFLOW_MODES]
    rnd.shuffle(pairs)
    cases = []
    for c, (w, i, s) in enumerate(combos):
        # A source with extra bits on both sides (rounding and overflow happen), and a random one.
        fs, is_ = w - i + rnd.randint(1, 6), i + rnd.randint(1, 6)
        if fs + is_ > 64:
            fs, is_ = (fs, 64 - fs) if rnd.random() < 0.5 else (64 - is_, is_)
        ws = rnd.randint(1, 64)
        sources = [FixedType(fs + is_, is_), FixedType(ws, rnd.randint(i - 8, i + 8), rnd.random() < 0.75)]
        for j in range(_MODES_PER_COMBO):
            q, o = pairs[(c * _MODES_PER_COMBO + j) % len(pairs)]
            cases.append((FixedType(w, i, s, q, o), sources[j % 2]))
    return cases


def _cpp_full(t):
    """Explicit C++ spelling (never ap_int: its conversions truncate toward zero)."""
    return f"ap_{'' if t.signed else 'u'}fixed<{t.width},{t.integer},AP_{t.rounding},AP_{t.overflow}>"


_PRELUDE = r"""
#include <ap_fixed.h>
#include <cstdint>
#include <cstdio>
#include <cstring>
typedef uint64_t (*conv)(uint64_t);
template <class T> uint64_t from_double(uint64_t b) { double d; std::memcpy(&d, &b, 8); T v = d; return v.V.to_uint64(); }
template <class T, class S> uint64_t from_fixed(uint64_t b) { S s; s.setBits(b); T v = s; return v.V.to_uint64(); }
"""

_MAIN = r"""
#include <cstdint>
#include <cstdio>
typedef uint64_t (*conv)(uint64_t);
%(decls)s
static const conv* const TABLES[] = {%(tables)s};
int main() {
  unsigned long long i, kind, b;
  while (std::scanf("%%llu %%llu %%llu", &i, &kind, &b) == 3)
    std::printf("%%llu\n", (unsigned long long)TABLES[i / %(chunk)d][2 * (i %% %(chunk)d) + kind](b));
}
"""


def _reference_sources(cases):
    chunk = -(-len(cases) // N_UNITS)
    units = {}
    for u in range(N_UNITS):
        entries = ",\n".join(
            f"&from_double<{_cpp_full(t)} >, &from_fixed<{_cpp_full(t)}, {_cpp_full(s)} >"
            for t, s in cases[u * chunk:(u + 1) * chunk]
        )
        units[f"unit{u}.cpp"] = f"{_PRELUDE}\nextern const conv TABLE{u}[] = {{\n{entries}\n}};\n"
    units["main.cpp"] = _MAIN % {
        "decls": "\n".join(f"extern const conv TABLE{u}[];" for u in range(N_UNITS)),
        "tables": ", ".join(f"TABLE{u}" for u in range(N_UNITS)),
        "chunk": chunk,
    }
    return units


def _build(units, include):
    """Compile the reference program (cached by content hash); return its path."""
    digest = hashlib.sha256()
    for name, text in sorted(units.items()):
        digest.update(name.encode() + text.encode())
    for header in sorted(include.glob("*.h")):
        digest.update(header.read_bytes())
    cache = Path(os.environ.get("HLSFLOW_CACHE_DIR") or Path(tempfile.gettempdir()) / "hlsflow-cache")
    exe = cache / f"ap_fixed_ref_{digest.hexdigest()[:16]}"
    if exe.exists():
        return exe
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        def compile_unit(name):
            (Path(tmp) / name).write_text(units[name])
            # -O0 compiles ~1.5x faster than -O1 here.  NDEBUG: ap_fixed's fixed->fixed cast
            # asserts on an (unused) out-of-range bit read when F_src - F_dst > W_src.
            cmd = ["g++", "-O0", "-DNDEBUG", "-w", "-I", str(include), "-c", name, "-o", name + ".o"]
            return subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)

        with ThreadPoolExecutor(len(units)) as pool:
            for result in pool.map(compile_unit, sorted(units)):
                assert result.returncode == 0, result.stderr[-4000:]
        objects = [name + ".o" for name in sorted(units)]
        subprocess.run(["g++", *objects, "-o", "ref"], cwd=tmp, check=True)
        os.replace(Path(tmp) / "ref", exe)
    return exe


@pytest.fixture(scope="module")
def reference():
    """(cases, run) where run(lines) feeds 'index kind bits' lines to the compiled program."""
    include = ap_types_dir()
    cases = _reference_cases()
    exe = _build(_reference_sources(cases), include)

    def run(lines):
        out = subprocess.run([str(exe)], input="\n".join(lines) + "\n", capture_output=True,
                             text=True, check=True).stdout.split()
        assert len(out) == len(lines)
        return [int(v) for v in out]

    return cases, run


def _raw_bounds(t):
    return (-(1 << (t.width - 1)), (1 << (t.width - 1)) - 1) if t.signed else (0, (1 << t.width) - 1)


def _trim(k, bits=53):
    """Drop low bits of k (floor) so that it has at most `bits` significant bits."""
    extra = abs(k).bit_length() - bits
    return k if extra <= 0 else (k >> extra) << extra


_EXTREMES = [5e-324, 2.2250738585072014e-308, 1e-300, 1e300, sys.float_info.max]


def _fuzz_values(t, rnd, n):
    """n doubles around t: grid points, ties, neighbours of both, random bits, extremes."""
    f = t.fractional
    lo, hi = _raw_bounds(t)
    vals = [0.0, -0.0, math.ldexp(_trim(lo), -f), math.ldexp(_trim(hi), -f)]
    vals += [s * v for v in _EXTREMES for s in (1.0, -1.0)]
    margin = (hi - lo) // 2 + 2
    while len(vals) < n:
        k = rnd.randint(lo - margin, hi + margin)
        kind = rnd.randrange(6)
        if kind in (0, 1):  # exact grid point / neighbour
            v = math.ldexp(_trim(k), -f)
        elif kind in (2, 3):  # exact tie / neighbour
            v = math.ldexp(_trim(2 * k + 1), -f - 1)
        elif kind == 4:  # random bits from far below the LSB to far above the MSB
            v = math.ldexp(rnd.getrandbits(53) * rnd.choice((1, -1)), rnd.randint(-60, t.width + 8) - f)
        else:  # any magnitude
            v = rnd.choice((1.0, -1.0)) * math.ldexp(0.5 + rnd.random(), rnd.randint(-1074, 1023))
        if kind in (1, 3):
            v = math.nextafter(v, rnd.choice((math.inf, -math.inf)))
        vals.append(v)
    return vals


def _snap(v, s):
    """Raw mantissa of the value of s nearest below v, clamped to s, exact as a double."""
    num, den = v.as_integer_ratio()
    f = s.fractional
    k = (num << f) // den if f >= 0 else num // (den << -f)
    lo, hi = _raw_bounds(s)
    return _trim(min(max(k, lo), hi))


def _double_bits(v):
    return int(np.array(v, dtype=np.float64).view(np.uint64))


def test_matches_ap_fixed(reference):
    cases, run = reference
    rnd = random.Random(FUZZ_SEED)
    lines, expected, details = [], [], []
    for index, (t, s) in enumerate(cases):
        from_double = _fuzz_values(t, rnd, VALUES_PER_CASE)
        raw_src = [_snap(v, s) for v in _fuzz_values(t, rnd, VALUES_PER_CASE)]
        from_fixed = [math.ldexp(k, -s.fractional) for k in raw_src]
        for kind, xs, payload in [(0, from_double, [_double_bits(v) for v in from_double]),
                                  (1, from_fixed, [k % 2**64 for k in raw_src])]:
            lines += [f"{index} {kind} {p}" for p in payload]
            expected += [int(k) for k in quantize_raw(np.array(xs), t)]
            details += [(t, s if kind else None, x) for x in xs]
    got = run(lines)
    mismatches, by_type = [], {}
    for (t, s, x), want, bits in zip(details, expected, got):
        bits &= (1 << t.width) - 1
        ref = bits - (1 << t.width) if t.signed and bits >> (t.width - 1) else bits
        if ref != want:
            source = _cpp_full(s) if s else "double"
            mismatches.append(f"{_cpp_full(t)} <- {source} {x!r} ({x.hex()}): ap_fixed {ref}, hlsflow {want}")
        if t.width <= 53 and abs(x) < 2.0**(50 - max(t.fractional, 0)):
            by_type.setdefault(t, []).append((x, math.ldexp(ref, -t.fractional)))
    # quantize()'s float64 fast path (taken when all of an array is moderate) against ap_fixed too
    fast_cases = 0
    for t, pairs in by_type.items():
        xs, refs = np.array(pairs).T
        fast_cases += fixed._quantize_float(xs, t) is not None
        for name, values in [("quantize", quantize(xs, t)), ("quantize_affine", quantize_affine(xs.copy(), t))]:
            if not (np.array_equal(values, refs) and np.array_equal(np.signbit(values), np.signbit(refs))):
                bad = np.flatnonzero(values != refs)[:3]
                mismatches.append(f"{name} {_cpp_full(t)}: {xs[bad]!r} -> {values[bad]!r}, ap_fixed {refs[bad]!r}")
    assert fast_cases >= 30, fast_cases
    assert len(lines) >= 10_000
    assert not mismatches, f"{len(mismatches)}/{len(lines)} mismatches (seed {FUZZ_SEED}):\n" + "\n".join(
        mismatches[:20]
    )


# --------------------------------------------------------------------------- wide values vs g++
# Types beyond 64 bits (Python-int mantissas): casts from double, and the
# full-precision x * w + b of a batch normalization cast once, as the C++ computes it.

_WIDE_PRELUDE = r"""
#include <ap_fixed.h>
#include <cstdint>
#include <cstring>
#include <string>
typedef std::string (*wide)(uint64_t, uint64_t, uint64_t);
template <class T> std::string hex(const T &v) { ap_uint<T::width> r = v.range(T::width - 1, 0); return r.to_string(16); }
template <class T> std::string cast(uint64_t a, uint64_t, uint64_t) { double d; std::memcpy(&d, &a, 8); T v = d; return hex(v); }
template <class X, class W, class B, class T, bool RELU> std::string affine(uint64_t a, uint64_t b, uint64_t c) {
  X x; W w; B s; x.setBits(a); w.setBits(b); s.setBits(c);
  T y;
  if (RELU && x * w + s < 0) y = 0; else y = x * w + s;
  return hex(y);
}
"""

_WIDE_MAIN = r"""
#include <cstdint>
#include <cstdio>
#include <string>
typedef std::string (*wide)(uint64_t, uint64_t, uint64_t);
%(decls)s
static const wide *const TABLES[] = {%(tables)s};
int main() {
  unsigned long long i, a, b, c;
  while (std::scanf("%%llu %%llu %%llu %%llu", &i, &a, &b, &c) == 4)
    std::printf("%%s\n", TABLES[i / %(chunk)d][i %% %(chunk)d](a, b, c).c_str());
}
"""


def _wide_cases():
    """Fixed lists of casts (double -> a type of 65..200 bits) and affine maps
    (x * w + b of up to 53-bit types, sums of 60..150 bits, cast to <= 53 bits)."""
    rnd = random.Random(4321)
    pairs = [(q, o) for q in ROUNDING_MODES for o in OVERFLOW_MODES]
    casts = [FixedType(rnd.randint(65, 200), rnd.randint(-20, 150), rnd.random() < 0.7, q, o) for q, o in pairs[::2]]
    affine = []
    for q, o in pairs[1::2]:  # every rounding mode, each overflow mode in one of the two lists
        x, w = (FixedType(rnd.randint(24, 53), rnd.randint(-4, 12), rnd.random() < 0.7) for _ in range(2))
        b = FixedType(rnd.randint(8, 53), rnd.randint(-4, 14))
        out = FixedType(rnd.randint(2, 53), rnd.randint(-2, 16), rnd.random() < 0.6, q, o)
        affine.append((x, w, b, out, rnd.random() < 0.3))
    return casts, affine


@pytest.fixture(scope="module")
def wide_reference():
    casts, affine = _wide_cases()
    cpp = [f"&cast<{_cpp_full(t)} >" for t in casts]
    cpp += [f"&affine<{_cpp_full(x)}, {_cpp_full(w)}, {_cpp_full(b)}, {_cpp_full(t)}, {'true' if r else 'false'}>"
            for x, w, b, t, r in affine]
    chunk = -(-len(cpp) // N_UNITS)
    units = {f"wide{u}.cpp": f"{_WIDE_PRELUDE}\nextern const wide WIDE{u}[] = {{\n" + ",\n".join(
        cpp[u * chunk:(u + 1) * chunk]) + "\n};\n" for u in range(N_UNITS)}
    units["main.cpp"] = _WIDE_MAIN % {"decls": "\n".join(f"extern const wide WIDE{u}[];" for u in range(N_UNITS)),
                                      "tables": ", ".join(f"WIDE{u}" for u in range(N_UNITS)), "chunk": chunk}
    exe = _build(units, ap_types_dir())

    def run(lines):
        out = subprocess.run([str(exe)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                             check=True).stdout.split()
        assert len(out) == len(lines)
        return [int(v, 16) for v in out]

    return casts, affine, run


def _random_mantissa(t, rnd):
    lo, hi = _raw_bounds(t)
    return rnd.choice([lo, hi, 0, rnd.randint(lo, hi), rnd.randint(lo, hi), rnd.randint(lo // 64, hi // 64)])


def test_wide_values_match_ap_fixed(wide_reference):
    casts, affine, run = wide_reference
    rnd = random.Random(FUZZ_SEED)
    lines, expected, what = [], [], []
    for index, t in enumerate(casts):
        xs = _fuzz_values(t, rnd, 40)
        lines += [f"{index} {_double_bits(v)} 0 0" for v in xs]
        expected += [int(k) for k in quantize_raw(np.array(xs), t)]
        what += [f"{_cpp_full(t)} <- {v!r}" for v in xs]
    for index, (x, w, b, t, relu) in enumerate(affine, len(casts)):
        ks = np.array([[_random_mantissa(v, rnd) for v in (x, w, b)] for _ in range(40)], dtype=object)
        values = [np.ldexp(ks[:, j].astype(np.float64), -v.fractional) for j, v in enumerate((x, w, b))]
        product = ks[:, 0] * ks[:, 1]
        got = quantize_affine_exact(product, x.fractional + w.fractional, t, (values[2], b), relu=relu)
        assert all(v.bit_length() <= 53 or v == 0 for v in ks.ravel())  # exact as float64
        lines += [f"{index} {' '.join(str(int(k) % 2**64) for k in row)}" for row in ks]
        expected += [int(v) for v in np.ldexp(got, t.fractional)]
        what += [f"{_cpp_full(t)} <- {x}*{w}+{b} relu={relu} {list(row)}" for row in ks]
    assert sum(max(x.fractional + w.fractional, b.fractional) + max(x.integer + w.integer, b.integer) > 64
               for x, w, b, _, _ in affine) >= 10  # most sums are wider than 64 bits
    mismatches = []
    for line, want, bits, text in zip(lines, expected, run(lines), what):
        t = casts[int(line.split()[0])] if int(line.split()[0]) < len(casts) else affine[int(line.split()[0]) - len(casts)][3]
        ref = bits - (1 << t.width) if t.signed and bits >> (t.width - 1) else bits
        if ref != want:
            mismatches.append(f"{text}: ap_fixed {ref}, hlsflow {want}")
    assert not mismatches, f"{len(mismatches)}/{len(lines)} mismatches:\n" + "\n".join(mismatches[:20])


def test_int64_mantissas_cast_like_python_ints():
    """cast_mantissas on int64 (the emulator's 54..62-bit sums, within
    exact_dtype's bounds) equals the Python-int path that
    test_wide_values_match_ap_fixed checks against ap_fixed."""
    rnd = random.Random(FUZZ_SEED)
    checked = 0
    for q in ROUNDING_MODES:
        for o in OVERFLOW_MODES:
            for _ in range(6):
                value = FixedType(rnd.randint(54, 62), rnd.randint(-10, 40), rnd.random() < 0.8)
                t = FixedType(rnd.randint(2, 53), rnd.randint(-8, 30), rnd.random() < 0.6, q, o)
                if fixed.exact_dtype(value, t) is not np.int64:
                    continue
                lo, hi = _raw_bounds(value)
                ks = [lo, hi, 0, 1, -1] + [rnd.randint(lo, hi) for _ in range(200)]
                ks += [k >> rnd.randint(0, value.width) for k in ks]  # small values
                shift = value.fractional - t.fractional
                if shift > 0:  # ties
                    ks += [k for m in range(-3, 4) if lo <= (k := (m << shift) + (1 << (shift - 1))) <= hi]
                wide = fixed.cast_mantissas(np.array(ks, dtype=object), value.fractional, t)
                narrow = fixed.cast_mantissas(np.array(ks, dtype=np.int64), value.fractional, t)
                assert narrow.dtype == np.int64 and [int(v) for v in narrow] == list(wide), (value, t)
                checked += 1
    assert checked >= 40
