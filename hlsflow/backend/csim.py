"""C simulation: build the firmware with g++ (cached by content hash), run it
on a batch through ctypes, and compare with the saved Keras outputs."""
from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from hlsflow.backend.ap_types import ap_types_dir
from hlsflow.errors import BuildError

# -Wno-free-nonheap-object: GCC 12's check behind it takes minutes on the static
# initializers of large ap_fixed weight arrays (measured: 47 s -> 5 s at -O0).
# -DNDEBUG: ap_fixed asserts on an unused bit read in some narrowing casts.
CXXFLAGS = ["-O1", "-std=c++14", "-DNDEBUG", "-Wno-free-nonheap-object", "-fPIC", "-pthread"]


def cache_dir() -> Path:
    """HLSFLOW_CACHE_DIR, else the user's cache directory."""
    if os.environ.get("HLSFLOW_CACHE_DIR"):
        return Path(os.environ["HLSFLOW_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hlsflow"


def _compiler() -> str:
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise BuildError(f"C++ compiler {cxx!r} not found on PATH (install g++ or set CXX)")
    return cxx


def _sources(project_dir: Path, name: str) -> list[Path]:
    """The bridge (which includes the firmware: one translation unit) and every header."""
    firmware = project_dir / "firmware"
    headers = sorted(p for p in firmware.rglob("*.h") if "ap_types" not in p.parts)
    return [project_dir / "tb" / f"{name}_bridge.cpp", firmware / f"{name}.cpp", project_dir / "tb" / "hlsflow_csim.h",
            *headers]


def _digest(parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def _run(command, log: Path, what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(" ".join(map(str, command)) + "\n" + result.stdout + result.stderr)
    if result.returncode != 0:
        raise BuildError(f"{command[0]} failed building {what} (full log: {log})")


def precompiled_header(cxx: str) -> Path | None:
    """ap_fixed.h + ap_int.h precompiled once per compiler, flags and headers.

    Returns the header to pass with -include (its .gch beside it) when it is
    ready; otherwise starts building it in the background and returns None, so
    a cold build does not wait for it (it saves ~25% of every later build)."""
    headers = ap_types_dir()
    key = _digest([cxx, *CXXFLAGS, *(p.read_bytes() for p in sorted(headers.rglob("*.h")))])
    folder = cache_dir() / f"pch-{key}"
    if (folder / "hlsflow_pch.h.gch").is_file():
        return folder / "hlsflow_pch.h"
    tmp = cache_dir() / f"pch-{key}.building"
    try:
        tmp.mkdir(parents=True)
    except FileExistsError:  # being built by another process
        return None
    (tmp / "hlsflow_pch.h").write_text('#include "ap_fixed.h"\n#include "ap_int.h"\n')
    build = " ".join(shlex.quote(str(a)) for a in [cxx, *CXXFLAGS, "-I", headers, "-x", "c++-header",
                                                    tmp / "hlsflow_pch.h", "-o", tmp / "hlsflow_pch.h.gch"])
    script = f"{build} && mv {shlex.quote(str(tmp))} {shlex.quote(str(folder))} || rm -rf {shlex.quote(str(tmp))}"
    subprocess.Popen(["sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    return None


def compile_library(project_dir: Path, name: str, progress=True) -> Path:
    """Build the csim shared library once per content; return its cached path."""
    cxx = _compiler()
    sources = _sources(project_dir, name)
    key = _digest([cxx, *CXXFLAGS, *(f"{p.relative_to(project_dir).as_posix()}\0".encode() + p.read_bytes()
                                      for p in sources)])
    library = cache_dir() / f"{name}-{key}.so"
    if library.is_file():
        return library
    library.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    if progress:
        print(f"hlsflow: compiling {name} with {cxx} ...", file=sys.stderr, flush=True)
    pch = precompiled_header(cxx)
    tmp = library.with_suffix(f".{os.getpid()}.tmp")
    _run([cxx, *CXXFLAGS, "-shared", *(["-include", str(pch)] if pch else []), "-I", str(project_dir / "firmware"),
          "-I", str(ap_types_dir()), str(sources[0]), "-o", str(tmp)], project_dir / "build" / "compile.log", name)
    os.replace(tmp, library)
    if progress:
        print(f"hlsflow: compiled in {time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)
    return library


class CsimLibrary:
    """The compiled firmware, callable on a batch of (already cast) inputs."""

    def __init__(self, path: Path, input_total: int, output_total: int, logits_total: int):
        self._lib = ctypes.CDLL(str(path))
        self._run = self._lib.hlsflow_run
        self._run.restype = ctypes.c_int
        self._run.argtypes = [ctypes.c_int] + [ctypes.POINTER(ctypes.c_double)] * 3
        self.sizes = (input_total, output_total, logits_total)

    def run(self, x: np.ndarray, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        n_in, n_out, n_log = self.sizes
        x = np.ascontiguousarray(x.reshape(len(x), n_in), dtype=np.float64)
        out = np.zeros((len(x), n_out))
        logits = np.zeros((len(x), max(n_log, 1)))
        chunk = max(1, len(x) // 50) if progress else len(x)
        bar = ProgressBar(len(x), "csim") if progress else None
        for start in range(0, len(x), max(chunk, 1)):
            stop = min(start + chunk, len(x))
            self._run(stop - start, _ptr(x[start:stop]), _ptr(out[start:stop]), _ptr(logits[start:stop]))
            if bar:
                bar.update(stop)
        if bar:
            bar.close()
        return out, logits[:, :n_log]


def _ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


class ProgressBar:
    """A one-line progress bar on stderr, shown only when the work takes over a second."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.start = total, label, time.monotonic()
        self.shown = False

    def update(self, done: int) -> None:
        elapsed = time.monotonic() - self.start
        if elapsed < 1.0 and not self.shown:
            return
        self.shown = True
        filled = int(30 * done / max(self.total, 1))
        print(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} {elapsed:.1f}s",
              end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.shown:
            print(file=sys.stderr, flush=True)


def summary(outputs: np.ndarray, reference: np.ndarray, exact_columns: np.ndarray,
            logits: np.ndarray | None, logits_reference: np.ndarray | None, logits_exact: bool,
            first_output_size: int, probabilities: bool) -> tuple[list[str], bool]:
    """The testbench's summary lines (same text as `make csim`) and whether all exact values match."""
    same = np.all(outputs[:, exact_columns] == reference[:, exact_columns], axis=1)
    if logits is not None and logits_exact:
        same &= np.all(logits == logits_reference, axis=1)
    n = len(outputs)
    lines = []
    if exact_columns.any() or (logits is not None and logits_exact):
        lines.append(f"csim: {int(same.sum())}/{n} bit-exact" + (" (logits)" if logits is not None and logits_exact else ""))
    if not exact_columns.all():
        approx = ~exact_columns
        error = float(np.max(np.abs(outputs[:, approx] - reference[:, approx]))) if n else 0.0
        agree = int(np.sum(np.argmax(outputs[:, :first_output_size], axis=1)
                           == np.argmax(reference[:, :first_output_size], axis=1)))
        what = "probabilities" if probabilities else "outputs"
        lines.append(f"csim: {what} max abs error {'%.3g' % error}, argmax agreement {agree}/{n}")  # printf's %.3g
    return lines, bool(same.all())

