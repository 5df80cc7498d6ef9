"""Synthesizability lint of a generated project's firmware.

HLS tools reject or mis-synthesize dynamic memory, recursion, standard
containers and loops without static bounds; pragmas must be spelled for the
chosen tool. Every project hlsflow writes passes this lint (the writer checks).
"""
from __future__ import annotations

import re
from pathlib import Path

FORBIDDEN = {
    r"\bnew\b|\bdelete\b|\bmalloc\s*\(|\bfree\s*\(": "dynamic memory",
    r"std::(vector|map|set|list|deque|string|unique_ptr|shared_ptr|function)\b": "standard container",
    r"#include\s*<(vector|map|set|list|deque|string|memory|functional|iostream|thread)>": "non-synthesizable header",
    r"\bwhile\s*\(|\bgoto\b": "loop without a static bound",
    r"\bthrow\b|\btry\b": "exceptions",
}
PRAGMAS = {"PIPELINE", "UNROLL", "INLINE", "ARRAY_PARTITION", "ARRAY_RESHAPE", "INTERFACE", "DATAFLOW", "STREAM",
           "LOOP_TRIPCOUNT", "ALLOCATION", "LATENCY", "BIND_STORAGE", "BIND_OP", "RESOURCE"}
FOR_LOOP = re.compile(r"\bfor\s*\(([^;]*);([^;]*);([^)]*)\)")
STATIC_BOUND = re.compile(r"\s*int\s+(\w+)\s*=\s*[\w\s*+/()-]+;?\s*")
FUNCTION = re.compile(r"^[\w:<>,\s*&]*?\b(\w+)\s*\([^;{}]*\)\s*\{", re.M)


def firmware_files(project_dir: Path) -> list[Path]:
    """The firmware's code files (not ap_types, nor weights/: one template of constant data)."""
    firmware = Path(project_dir) / "firmware"
    return sorted(p for p in firmware.rglob("*") if p.suffix in (".h", ".cpp")
                  and not {"ap_types", "weights"} & set(p.relative_to(firmware).parts))


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _bound_is_static(condition: str, constants: set) -> bool:
    """`i < BOUND` where BOUND uses only literals, template parameters (upper case),
    constexpr names and static members of a type (`CFG::kh`, `T::width`)."""
    match = re.fullmatch(r"\s*\w+\s*<=?\s*(.+?)\s*", condition)
    if not match:
        return False
    bound = re.sub(r"\b\w+::\w+\b", "0", match.group(1))
    if re.search(r"\w\s*\(", bound):  # a function call
        return False
    names = set(re.findall(r"[A-Za-z_]\w*", bound))
    return all(n.isupper() or n in constants for n in names)


def _function_bodies(text: str):
    for match in FUNCTION.finditer(text):
        if match.group(1) in ("if", "for", "while", "switch", "catch", "return", "else"):
            continue
        depth, start = 0, match.end() - 1
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                yield match.group(1), text[start + 1:i]
                break


def lint_file(path: Path, backend: str) -> list[str]:
    """Problems in one firmware file, each as 'file:line: message'."""
    text = _strip_comments(path.read_text())
    problems = []

    def where(pos):
        return f"{path.name}:{text.count(chr(10), 0, pos) + 1}"

    for pattern, what in FORBIDDEN.items():
        for m in re.finditer(pattern, text):
            problems.append(f"{where(m.start())}: {what} ({m.group(0).strip()})")
    constants = set(re.findall(r"constexpr\s+int\s+(\w+)", text))
    for m in FOR_LOOP.finditer(text):
        init, condition = m.group(1), m.group(2)
        if not STATIC_BOUND.fullmatch(init) or not _bound_is_static(condition, constants):
            problems.append(f"{where(m.start())}: loop bound is not static ({m.group(0)})")
    for name, body in _function_bodies(text):
        if re.search(rf"(?<![\w:]){name}\s*(<[^;]*?>)?\s*\(", body):  # not nnet::{name}
            problems.append(f"{path.name}: function {name} is recursive")
    for m in re.finditer(r"#pragma\s+HLS\s+(\w+)([^\n]*)", text):
        kind, rest = m.group(1).upper(), m.group(2)
        if kind not in PRAGMAS:
            problems.append(f"{where(m.start())}: unknown HLS pragma {kind}")
        if kind == "INTERFACE" and (backend == "vitis") != ("mode=" in rest):
            problems.append(f"{where(m.start())}: INTERFACE pragma not spelled for {backend} ({rest.strip()})")
        if kind == "RESOURCE" and backend == "vitis":
            problems.append(f"{where(m.start())}: RESOURCE pragma is deprecated in Vitis HLS (use BIND_OP/BIND_STORAGE)")
    return problems


def lint_project(project_dir: Path, backend: str) -> list[str]:
    """Every synthesizability problem in the project's firmware (empty when clean)."""
    return [p for f in firmware_files(project_dir) for p in lint_file(f, backend)]
