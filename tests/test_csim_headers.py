"""hlsflow's csim ap_types (the installed headers plus a non-volatile
clearUnusedBits overload) must compute exactly what the installed headers
compute: the same program of ap_fixed arithmetic, casts in every rounding and
overflow mode, and comparisons, compiled with each, on random operands."""
import hashlib
import random
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hlsflow.backend import csim
from hlsflow.backend.ap_types import ap_types_dir, csim_headers
from hlsflow.backend.cache import cache_dir
from hlsflow.fixed import OVERFLOW_MODES, ROUNDING_MODES

CASES = 8  # each costs g++ ~1.5 s; the first is wide (a > 64-bit product)
OPERANDS = 60  # random operand pairs per case

_PROGRAM = r"""
#include <ap_fixed.h>
#include <cstdint>
#include <cstdio>
template <class A, class B, class O>
void ops(uint64_t a_bits, uint64_t b_bits) {
  A a; a.setBits(a_bits);
  B b; b.setBits(b_bits);
  O o[4];
  o[0] = a;
  o[1] = a * b;
  o[2] = a * b + a * a - b;
  o[3] = a * b + b;
  if (o[3] < 0) o[3] = 0;
  for (int i = 0; i < 4; i++) std::printf("%%llu ", (unsigned long long)o[i].V.to_uint64());
  std::printf("%%d %%d %%d\n", int(a < b), int(a == b), int(a * b > b));
}
typedef void (*op)(uint64_t, uint64_t);
static const op CASES[] = {
%(cases)s
};
int main() {
  unsigned long long k, a, b;
  while (std::scanf("%%llu %%llu %%llu", &k, &a, &b) == 3) CASES[k](a, b);
}
"""


def _ctype(width, integer, signed, rounding="TRN", overflow="WRAP"):
    return f"ap_{'' if signed else 'u'}fixed<{width},{integer},AP_{rounding},AP_{overflow}>"


def _cases():
    rnd = random.Random(7)
    cases = [((40, 12, True), (33, 5, False), (64, 30, True, "RND_CONV", "SAT"))]
    for _ in range(CASES - 1):
        a = (rnd.randint(1, 40), rnd.randint(-4, 20), rnd.random() < 0.7)
        b = (rnd.randint(1, 40), rnd.randint(-4, 20), rnd.random() < 0.7)
        out = (rnd.randint(1, 64), rnd.randint(-4, 30), rnd.random() < 0.7,
               rnd.choice(ROUNDING_MODES), rnd.choice(OVERFLOW_MODES))
        cases.append((a, b, out))
    return cases


def _build(include: Path, source: str) -> Path:
    """The program compiled against `include` with csim's flags (cached by content)."""
    key = hashlib.sha256(source.encode() + "".join(csim.CXXFLAGS).encode())
    for header in sorted(include.rglob("*.h")):
        key.update(header.read_bytes())
    exe = cache_dir() / f"csim_headers_check_{key.hexdigest()[:16]}"
    if not exe.is_file():
        exe.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=exe.parent) as tmp:
            (Path(tmp) / "check.cpp").write_text(source)
            subprocess.run(["g++", *csim.CXXFLAGS, "-w", "-I", str(include), "check.cpp", "-o", "check"],
                           cwd=tmp, check=True, capture_output=True)
            (Path(tmp) / "check").replace(exe)
    return exe


def test_csim_headers_compute_what_the_installed_headers_compute():
    installed, fast = ap_types_dir(), csim_headers()
    assert fast != installed, "the clearUnusedBits pattern was not found in the installed ap_private.h"
    assert (fast / "etc" / "ap_private.h").read_text().count("INLINE void clearUnusedBits(void)\n") == 2

    cases = _cases()
    source = _PROGRAM % {"cases": ",\n".join(
        f"&ops<{_ctype(*a)}, {_ctype(*b)}, {_ctype(*o)} >" for a, b, o in cases)}
    with ThreadPoolExecutor(2) as pool:
        programs = list(pool.map(lambda include: _build(include, source), [installed, fast]))

    rnd = random.Random(11)
    lines = [f"{k} {rnd.getrandbits(a[0])} {rnd.getrandbits(b[0])}"
             for k, (a, b, _) in enumerate(cases) for _ in range(OPERANDS)]
    outputs = [subprocess.run([str(p)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                              check=True).stdout.splitlines() for p in programs]
    assert len(outputs[0]) == len(lines)
    assert outputs[0] == outputs[1]


def test_csim_headers_fall_back_to_the_installed_ones_without_a_writable_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("HLSFLOW_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    assert csim_headers() == ap_types_dir()
