"""C simulation: build the firmware with g++ (cached by content hash), run it
on a batch through ctypes, and compare with the saved Keras outputs."""
from __future__ import annotations

import ctypes
import hashlib
import math
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hlsflow.backend.ap_types import csim_headers
from hlsflow.backend import cache
from hlsflow.backend.cache import cache_dir
from hlsflow.errors import BuildError
from hlsflow.progress import step

# -Wno-free-nonheap-object: GCC 12's check behind it takes minutes on the static
# initializers of large ap_fixed weight arrays (measured: 47 s -> 5 s at -O0).
# -DNDEBUG: ap_fixed asserts on an unused bit read in some narrowing casts.
CXXFLAGS = ["-O1", "-std=c++14", "-DNDEBUG", "-Wno-free-nonheap-object", "-fPIC", "-pthread"]


def _compiler() -> str:
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise BuildError(f"C++ compiler {cxx!r} not found on PATH (install g++ or set CXX)")
    return cxx


def _run(command, log: Path, what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(" ".join(map(str, command)) + "\n" + result.stdout + result.stderr)
    if result.returncode != 0:
        raise BuildError(f"{command[0]} failed building {what} (full log: {log})")


def _digest(parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def _files_key(paths) -> list:
    return [p.name.encode() + b"\0" + p.read_bytes() for p in paths]


@lru_cache(maxsize=None)
def _ap_types_key() -> str:
    return _digest(_files_key(sorted(csim_headers().rglob("*.h"))))


def precompiled_header(cxx: str) -> Path | None:
    """ap_fixed.h + ap_int.h precompiled once per compiler, flags and headers
    (~3 s, once; it then saves ~1.2 s of parsing in every translation unit).
    Returns the header to pass with -include (its .gch beside it), or None
    when the compiler cannot make one."""
    folder = cache_dir() / f"pch-{_digest([cxx, *CXXFLAGS, _ap_types_key()])}"
    if not (folder / "hlsflow_pch.h.gch").is_file():
        tmp = Path(tempfile.mkdtemp(prefix=f"{folder.name}.", dir=_mkdir(cache_dir())))
        try:
            (tmp / "hlsflow_pch.h").write_text('#include "ap_fixed.h"\n#include "ap_int.h"\n')
            built = subprocess.run([cxx, *CXXFLAGS, "-I", str(csim_headers()), "-x", "c++-header",
                                    str(tmp / "hlsflow_pch.h"), "-o", str(tmp / "hlsflow_pch.h.gch")],
                                   capture_output=True).returncode == 0
            if built and not folder.exists():
                os.replace(tmp, folder)  # atomic; a concurrent build may have won (then this fails)
        except OSError:
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder / "hlsflow_pch.h" if (folder / "hlsflow_pch.h.gch").is_file() else None


_LAYER_CALL = re.compile(r"\bnnet::\w+<")
_TYPEDEF = re.compile(r"^typedef (.+) (\w+);", re.M)


def layer_instances(source: str, typedefs: str = "") -> list[str]:
    """Every distinct `nnet::f<...>` that the firmware calls, in order of first
    use; spellings that name the same types (through the `typedefs` text) count once."""
    types = dict((name, spelled) for spelled, name in _TYPEDEF.findall(typedefs))
    found = {}
    for match in _LAYER_CALL.finditer(source):
        depth, end = 0, match.end() - 1
        while True:
            depth += {"<": 1, ">": -1}.get(source[end], 0)
            end += 1
            if depth == 0:
                break
        text = source[match.start():end]
        if source.startswith("(", end):
            found.setdefault(re.sub(r"\s+", "", re.sub(r"\w+", lambda m: types.get(m[0], m[0]), text)), text)
    return list(found.values())


def compile_library(project_dir: Path, name: str, progress=True) -> Path:
    """Build the csim shared library once per content; return its cached path.

    The firmware is compiled as it is, in several translation units built in
    parallel: each layer template the firmware calls is explicitly
    instantiated in a unit of layers (cached by its own content, so new
    weights rebuild only the main unit), and the main unit (testbench bridge,
    firmware, weights) declares them `extern template`."""
    cxx = _compiler()
    firmware = project_dir / "firmware"
    bridge = project_dir / "tb" / f"{name}_bridge.cpp"
    sources = [bridge, firmware / f"{name}.cpp", project_dir / "tb" / "hlsflow_csim.h",
               *sorted(p for p in firmware.rglob("*.h") if "ap_types" not in p.parts)]
    key = _digest([cxx, *CXXFLAGS, _ap_types_key(), *(f"{p.relative_to(project_dir).as_posix()}\0".encode()
                                                       + p.read_bytes() for p in sources)])
    library = cache_dir() / f"{name}-{key}.so"
    if library.is_file():
        return cache.touch(library)
    pch = precompiled_header(cxx)
    includes = [*(["-include", str(pch)] if pch else []), "-I", str(firmware), "-I", str(bridge.parent),
                "-I", str(csim_headers())]
    instances = layer_instances((firmware / f"{name}.cpp").read_text(), (firmware / "defines.h").read_text())
    layers_key = [_ap_types_key(), *_files_key([firmware / "defines.h", firmware / "parameters.h",
                                                *sorted((firmware / "nnet").glob("*.h"))])]
    work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=_mkdir(cache_dir())))
    try:
        (work / "externs.h").write_text('#include "hlsflow_csim.h"\n#include "parameters.h"\n'
                                        + "".join(f"extern template decltype({i}) {i};\n" for i in instances))
        jobs = [([cxx, *CXXFLAGS, "-c", *includes, "-include", str(work / "externs.h"), str(bridge)], work / "main.o")]
        for group in _split(instances, _jobs()):
            text = '#define HLSFLOW_LAYERS_ONLY\n#include "parameters.h"\n' + "".join(
                f"template decltype({i}) {i};\n" for i in group)
            source = work / f"{_digest([cxx, *CXXFLAGS, text, *layers_key])}.cpp"
            source.write_text(text)
            obj = _mkdir(cache_dir() / "layers") / source.with_suffix(".o").name
            jobs.append(([cxx, *CXXFLAGS, "-c", *includes, str(source)], obj))
        todo = [job for job in jobs[1:] if not cache.touch(job[1]).is_file()] + jobs[:1]  # the light main unit last
        with step(f"compiling {name} with {cxx} ({len(todo)} units, {_jobs()} at once)", show=progress):
            _compile_all(todo, project_dir / "build" / "compile.log", name)
            _run([cxx, *CXXFLAGS, "-shared", *(str(obj) for _, obj in jobs), "-o", str(work / "lib.so")],
                 project_dir / "build" / "link.log", name)
        os.replace(work / "lib.so", library)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cache.prune()
    return library


def _jobs() -> int:
    """Compiler processes at once: one per usable core, at most 8 (each takes up to ~0.4 GB)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, 8))


def _split(items: list, parts: int) -> list[list]:
    """items in at most `parts` contiguous groups of near-equal length."""
    parts = min(parts, len(items))
    return [items[len(items) * k // parts:len(items) * (k + 1) // parts] for k in range(parts)]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _compile_all(jobs, log: Path, what: str) -> None:
    """Run the compile commands (each writing its object file), _jobs() at once."""
    def compile_one(job):
        command, obj = job
        tmp = obj.with_suffix(f".{os.getpid()}.tmp")
        result = subprocess.run([*command, "-o", str(tmp)], capture_output=True, text=True)
        if result.returncode == 0:
            os.replace(tmp, obj)
        return " ".join(command) + "\n" + result.stdout + result.stderr, result.returncode

    with ThreadPoolExecutor(_jobs()) as pool:
        results = list(pool.map(compile_one, jobs))
    _mkdir(log.parent)
    log.write_text("".join(text for text, _ in results))
    if any(code for _, code in results):
        raise BuildError(f"{jobs[0][0][0]} failed building {what} (full log: {log})")


class CsimLibrary:
    """The compiled firmware, callable on a batch of (already cast) inputs."""

    def __init__(self, path: Path, input_total: int, output_total: int, logits_total: int):
        self._lib = ctypes.CDLL(str(path))
        self._run = self._lib.hlsflow_run
        self._run.restype = ctypes.c_int
        self._run.argtypes = [ctypes.c_int] + [ctypes.POINTER(ctypes.c_double)] * 3
        self.sizes = (input_total, output_total, logits_total)

    def run(self, x: np.ndarray, progress: bool = False, outputs: bool = True,
            logits: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(top function's outputs, logits) on a batch; either is None when not asked for
        (or, for the logits, when the model has no final softmax)."""
        n_in, n_out, n_log = self.sizes
        x = np.ascontiguousarray(x.reshape(len(x), n_in), dtype=np.float64)
        out = np.zeros((len(x), n_out)) if outputs else None
        lg = np.zeros((len(x), n_log)) if logits and n_log else None
        chunk = max(1, len(x) // 50) if progress else max(len(x), 1)
        with step("csim", len(x), show=progress) as bar:
            for start in range(0, len(x), chunk):
                stop = min(start + chunk, len(x))
                self._run(stop - start, _ptr(x, start, stop), _ptr(out, start, stop), _ptr(lg, start, stop))
                bar.advance(stop - start)
        return out, lg


def _ptr(a: np.ndarray | None, start: int = 0, stop: int | None = None):
    """A pointer to rows start:stop of `a` (a null pointer for None)."""
    if a is None:
        return None
    return a[start:stop].ctypes.data_as(ctypes.POINTER(ctypes.c_double))


BOUNDARY_LINE = "csim: {} boundary cases (float32 rounding at a quantization step)"


TOLERANCE_MARGIN = 1.5  # the stated tolerance: this times the C model's error, rounded up


def tolerance(error: float, quantum: float) -> float:
    """The tolerance stated for an inexact output: TOLERANCE_MARGIN times the
    C model's max error from Keras on the reference inputs (at least one
    quantum of the output type), rounded up to one significant digit."""
    bound = TOLERANCE_MARGIN * max(float(error), float(quantum))
    exponent = math.floor(math.log10(bound))
    digit = math.ceil(round(bound / 10.0 ** exponent, 9))
    return float(f"{digit}e{exponent}")


def inexact_outputs(graph) -> list[tuple[str, str]]:
    """(tensor, label in the summary) of each output Keras computes in float."""
    names = [t for t in graph.outputs if not graph.tensors[t].exact]
    last = graph.nodes[-1] if graph.nodes else None
    if len(graph.outputs) == 1:
        single = "probabilities" if last is not None and last.op == "softmax" else "outputs"
        return [(t, single) for t in names]
    return [(t, f"output {t}") for t in names]


def output_tolerances(graph, reference: np.ndarray, emulated: np.ndarray) -> dict:
    """tensor -> the tolerance of each inexact output, from the C model's (the
    emulator's) max error from Keras on the reference inputs (rows of the
    concatenated outputs)."""
    tolerances, offset = {}, 0
    for name in graph.outputs:
        t = graph.tensors[name]
        if not t.exact:
            columns = slice(offset, offset + t.size)
            error = np.max(np.abs(emulated[:, columns] - reference[:, columns]), initial=0.0)
            tolerances[name] = tolerance(error, 2.0 ** (t.type.integer - t.type.width))
        offset += t.size
    return tolerances


@dataclass
class Rows:
    """The comparisons of each row (input sample) with its references, as the
    testbench makes them: arrays of one value per row."""
    keras_exact: np.ndarray  # exact outputs equal Keras's bit for bit
    model_exact: np.ndarray  # every output equals the C model's bits (tb_data/emulated.txt)
    errors: dict  # label -> max |output - Keras| per row, per inexact output
    argmax_same: dict  # label -> same argmax as Keras per row (outputs of more than one value)
    logits_exact: np.ndarray | None  # C only: <top>_logits equals Keras's logits (exact logits only)
    boundary: np.ndarray | None = None  # tb_data/boundary.txt (hlsflow.boundary): Keras's float32 rounding
    # may cross a quantization step on this row, so its Keras comparisons may differ (counted apart)


def compare(outputs: np.ndarray, reference: np.ndarray, emulated: np.ndarray, columns: dict,
            exact_columns: np.ndarray, logits=None, logits_reference=None, boundary=None) -> Rows:
    """Row-by-row comparisons of the top function's outputs (and optionally
    the logits) with Keras and the C model; `columns` maps each inexact
    output's label to its column slice; `boundary` flags rows per tb_data/boundary.txt."""
    keras_exact = np.all(outputs[:, exact_columns] == reference[:, exact_columns], axis=1)
    errors = {label: np.max(np.abs(outputs[:, c] - reference[:, c]), axis=1) for label, c in columns.items()}
    argmax_same = {label: np.argmax(outputs[:, c], axis=1) == np.argmax(reference[:, c], axis=1)
                   for label, c in columns.items() if c.stop - c.start > 1}
    logits_exact = None if logits is None else np.all(logits == logits_reference, axis=1)
    return Rows(keras_exact, np.all(outputs == emulated, axis=1), errors, argmax_same, logits_exact, boundary)


def verdict(rows: Rows, tolerances: dict, any_exact: bool) -> tuple[list[str], bool]:
    """The summary lines (the same text as the testbench prints) and whether
    every check passes: the C model's bits everywhere, Keras's bits on exact
    outputs, the tolerance on the others, and the logits (C only)."""
    n = len(rows.model_exact)
    lines, ok = [], bool(rows.model_exact.all())
    logits_exact = rows.logits_exact if rows.logits_exact is not None else np.ones(n, bool)
    excused = np.zeros(n, bool) if rows.boundary is None else rows.boundary & ~(rows.keras_exact & logits_exact)
    if any_exact:
        lines.append(f"csim: {int(rows.keras_exact.sum())}/{n} bit-exact")
        ok &= bool((rows.keras_exact | excused).all())
    if rows.boundary is not None:
        lines.append(BOUNDARY_LINE.format(int(excused.sum())))
    for label, error in rows.errors.items():
        worst = float(error.max()) if n else 0.0
        line = f"csim: {label} within {'%.3g' % worst} of Keras (tolerance {'%g' % tolerances[label]})"  # printf's
        if label in rows.argmax_same:
            line += f", argmax agreement {int(rows.argmax_same[label].sum())}/{n}"
        lines.append(line)
        ok &= worst <= tolerances[label]
    lines.append(f"csim: {int(rows.model_exact.sum())}/{n} match the C model bit for bit")
    if rows.logits_exact is not None:
        lines.append(f"csim: {int(rows.logits_exact.sum())}/{n} bit-exact (logits, C only)")
        ok &= bool((rows.logits_exact | excused).all())
    return lines, ok
