"""Synthesizability lint of a generated project: its firmware, pragmas and tcl.

Text checks on every firmware file: constructs HLS tools reject or turn into
costly hardware (dynamic memory, recursion, containers, loops without static
bounds, float/double, math-library calls, variable-length arrays, `T**`,
comparisons with double, 64-bit division) and pragmas spelled as the chosen
tool documents them. Instance checks follow the calls from the top function
with the template arguments bound, as the tool elaborates them: unrolled
copies under PIPELINE/UNROLL, completely partitioned arrays, `%` and `/` on
run-time loop indices in pipelined code, huge static arrays. The tcl scripts'
commands and options are checked against the documented ones. The limits and
the documented syntax live in hlsflow/backend/documented.py.

Every project hlsflow writes is linted (the writer checks); `hlsflow lint DIR`
prints every problem, one per line.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from hlsflow.backend import documented
from hlsflow.backend.documented import ANY, INT, PARTITION_LIMIT, PRAGMAS, TCL, TCL_BUILTINS, UNROLL_LIMIT

# Problem kinds, each with what it means.
KINDS = {
    "dynamic-memory": "new/delete/malloc/free",
    "container": "standard containers or non-synthesizable headers",
    "unbounded-loop": "while/goto, or a for loop whose bound is not static",
    "exceptions": "throw/try",
    "recursion": "a function that calls itself",
    "pragma": "an HLS pragma or option the tool does not document",
    "pragma-spelling": "a pragma spelled as the other tool documents it",
    "float": "float or double in the firmware",
    "math-call": "a math-library call (exp, pow, sqrt, ...)",
    "vla": "an array whose size is not a compile-time constant",
    "pointer-to-pointer": "a T** (pointer to pointer)",
    "double-compare": "a comparison with a double value",
    "int64-divide": "a 64-bit integer division or remainder",
    "huge-array": "an array with static storage beyond documented.HUGE_ARRAY elements",
    "partition-limit": "a complete partition beyond the tool's limit",
    "unroll-limit": "more unrolled copies of a loop body than the tool's limit",
    "index-divide": "% or / of a run-time loop index by a non-power of two in pipelined code",
    "tcl": "a tcl command or option the tool does not document",
}

# Kinds a model's size and settings cause, not the templates (a latency-strategy
# layer too wide to unroll, say): a convert warns with the remedy; any other
# finding is a bug in hlsflow and stops it.
MODEL_KINDS = frozenset({"unroll-limit", "partition-limit"})


@dataclass(frozen=True)
class Problem:
    kind: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


FORBIDDEN = {
    r"\bnew\b|\bdelete\b|\bmalloc\s*\(|\bfree\s*\(": ("dynamic-memory", "dynamic memory"),
    r"std::(vector|map|set|list|deque|string|unique_ptr|shared_ptr|function)\b": ("container", "standard container"),
    r"#include\s*<(vector|map|set|list|deque|string|memory|functional|iostream|thread)>":
        ("container", "non-synthesizable header"),
    r"\bwhile\s*\(|\bgoto\b": ("unbounded-loop", "loop without a static bound"),
    r"\bthrow\b|\btry\b": ("exceptions", "exceptions"),
    r"\b(float|double)\b": ("float", "floating point in the datapath"),
    r"#include\s*[<\"](cmath|math\.h|hls_math\.h)[>\"]": ("math-call", "math library header"),
    r"\b(?:std::|hls::)?(?:exp[f2]?|expm1|log(?:2|10|1p)?f?|pow[f]?|sqrt[f]?|rsqrt|cbrt|hypot|sin|cos|tan|sinh|cosh|"
    r"tanh|asin|acos|atan2?|erfc?|fabs[f]?|floor|ceil|round|trunc|fmod|fmax|fmin)\s*\(": ("math-call", "math-library call"),
    r"[\w>]\s*\*\s*\*\s*(?:const\s+)?\w": ("pointer-to-pointer", "pointer to pointer"),
}
KEYWORDS = {"if", "for", "while", "switch", "catch", "return", "else", "do", "case", "goto", "delete", "new",
            "sizeof", "throw", "using", "typedef", "struct", "class", "namespace", "template", "typename"}
FOR_LOOP = re.compile(r"\bfor\s*\(([^;]*);([^;]*);([^)]*)\)")
STATIC_BOUND = re.compile(r"\s*int\s+(\w+)\s*=\s*[\w\s*+/()-]+;?\s*")
FUNCTION = re.compile(r"(?:^|(?<=[;{}]))[\w:<>,\s*&]*?\b(\w+)\s*\(([^;{}]*)\)\s*(?:const\s*)?\{", re.M)
PRAGMA = re.compile(r"#pragma\s+HLS\s+(\w+)([^\n]*)", re.I)
DECLARATION = re.compile(r"(?:^|(?<=[;{}]))[ \t]*((?:static\s+|const\s+|constexpr\s+)*)([A-Za-z_][\w:]*(?:<[^;{}()]*?>)?)"
                         r"\s+(\w+)\s*((?:\[[^\]]+\])+)\s*(?=[=;])", re.M)
CONSTANT = re.compile(r"\b(?:static\s+)?(?:const|constexpr)\s+(?:static\s+)?(?:unsigned\s+)?int\s+([^;]+);")
INT64 = re.compile(r"\b(?:unsigned\s+)?(?:long\s+long|long|u?int64_t|ap_u?int<64>)\s+(\w[^;]*);")
FLOAT_LITERAL = r"(?:\d+\.\d*|\.\d+|\d+[eE][-+]?\d+)(?:[eE][-+]?\d+)?[fFlL]?"
COMPARISON = r"\s(?:<=|>=|==|!=|<|>)\s"


# -- sources ---------------------------------------------------------------------
@dataclass
class Source:
    path: Path
    text: str  # comments blanked out, line breaks kept
    name: str  # as problems name it: the path within the project

    def line(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def where(self, pos: int) -> str:
        return f"{self.name}:{self.line(pos)}"


@dataclass
class Function:
    name: str
    template: list  # (kind, name) of each template parameter
    params: list  # (name, array dimensions text or None) of each parameter
    body: str
    source: Source
    offset: int  # of the body in the source text

    def where(self, pos: int) -> str:
        return self.source.where(self.offset + pos)


def firmware_files(project_dir: Path) -> list[Path]:
    """The firmware's code files (not ap_types, nor weights/: one template of constant data)."""
    firmware = Path(project_dir) / "firmware"
    return sorted(p for p in firmware.rglob("*") if p.suffix in (".h", ".cpp")
                  and not {"ap_types", "weights"} & set(p.relative_to(firmware).parts))


def _blank_comments(text: str) -> str:
    """Comments replaced by spaces (their line breaks kept, so line numbers hold)."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r"/\*.*?\*/|//[^\n]*", blank, text, flags=re.S)


def _matching(text: str, start: int, open_: str = "{", close: str = "}") -> int:
    """Index just past the bracket that closes the one at `start`."""
    depth = 0
    for i in range(start, len(text)):
        depth += (text[i] == open_) - (text[i] == close)
        if depth == 0:
            return i + 1
    return len(text)


def _split(text: str) -> list[str]:
    """Comma-separated items at bracket depth 0."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "(<[{"
        depth -= ch in ")>]}"
        if ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    if text[start:].strip():
        items.append(text[start:].strip())
    return items


def _template_head(text: str, start: int) -> list:
    """(kind, name) of the template parameters declared just before `start`."""
    m = re.search(r"template\s*<([^{};]*)>\s*(?:static\s+|inline\s+)*[\w:<>,\s*&]*$", text[:start])
    if not m:
        return []
    params = []
    for item in _split(m.group(1)):
        words = re.findall(r"\w+", item.split("=")[0])
        if len(words) >= 2:
            params.append((words[0], words[-1]))
    return params


def _parameters(text: str) -> list:
    params = []
    for item in _split(text):
        m = re.search(r"(\w+)\s*((?:\[[^\]]*\])*)\s*(?:=.*)?$", item)
        if m and m.group(1) not in ("const", "void") and len(re.findall(r"\w+", item)) > 1:
            params.append((m.group(1), m.group(2) or None))
    return params


def _functions(source: Source) -> list[Function]:
    found = []
    for m in FUNCTION.finditer(source.text):
        name = m.group(1)
        if name in KEYWORDS or re.fullmatch(r"\s*(else\s+)?(if|for|while|switch)\b.*", m.group(0), re.S):
            continue
        brace = m.end() - 1
        end = _matching(source.text, brace)
        found.append(Function(name, _template_head(source.text, m.start(1)), _parameters(m.group(2)),
                              source.text[brace + 1:end - 1], source, brace + 1))
    return found


def _structs(text: str) -> dict:
    """Constant members of every struct: name -> {member: value}."""
    structs = {}
    for m in re.finditer(r"\bstruct\s+(\w+)\s*\{([^{}]*)\}", text):
        members = {k: int(v) for k, v in re.findall(r"static\s+(?:const|constexpr)\s+int\s+(\w+)\s*=\s*(-?\d+)",
                                                    m.group(2))}
        if members:
            structs[m.group(1)] = members
    return structs


# -- expressions -----------------------------------------------------------------
_NAME = re.compile(r"\b[A-Za-z_]\w*(?:::\w+)?\b")


def evaluate(expr: str, env: dict):
    """The integer value of a C++ constant expression over `env` (template
    arguments, constants, struct members as `CFG::x`), or None."""
    expr = re.sub(r"(\d+)[uUlL]+\b", r"\1", expr.strip())
    if not expr or "?" in expr or re.search(r"\(\s*(int|unsigned|long|bool)\s*\)", expr):
        return None
    failed = []

    def value(m):
        name = m.group(0)
        if name in ("true", "false"):
            return "1" if name == "true" else "0"
        if "::" in name:
            owner, member = name.split("::")
            scope = env.get(owner)
            v = scope.get(member) if isinstance(scope, dict) else None
        else:
            v = env.get(name)
        if not isinstance(v, int):
            failed.append(name)
            return "0"
        return str(v)

    text = _NAME.sub(value, expr)
    if failed or re.search(r"[^\d\s()+\-*/%<>=!&|^~]", text):
        return None
    text = text.replace("&&", " and ").replace("||", " or ").replace("/", "//")
    text = re.sub(r"!(?!=)", " not ", text)
    try:
        result = eval(text, {"__builtins__": {}}, {})  # only digits and operators remain
    except (SyntaxError, ZeroDivisionError, TypeError, ValueError):
        return None
    return int(result)


def _names(expr: str) -> set:
    return set(re.findall(r"(?<![:\w])[A-Za-z_]\w*(?!\s*::)", expr))


# -- per-file text checks ------------------------------------------------------------
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


def _constants(text: str) -> set:
    names = set()
    for m in CONSTANT.finditer(text):
        names.update(item.split("=")[0].strip().split("[")[0] for item in _split(m.group(1)))
    return names


def _template_heads(text: str) -> list[str]:
    """The parameter lists of every `template <...>`, angle brackets balanced."""
    heads = []
    for m in re.finditer(r"\btemplate\s*<", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"<": 1, ">": -1}.get(text[i], 0)
            i += 1
        heads.append(text[m.end():i - 1])
    return heads


def _text_problems(source: Source, functions: list[Function], backend: str) -> list[Problem]:
    text, problems = source.text, []
    for pattern, (kind, what) in FORBIDDEN.items():
        for m in re.finditer(pattern, text):
            problems.append(Problem(kind, source.where(m.start()), f"{what} ({m.group(0).strip()})"))
    constants = _constants(text)
    template_names = {w for head in _template_heads(text)  # functions' and structs'
                      for item in _split(head) for w in re.findall(r"\w+$", item.split("=")[0].strip())}
    for m in FOR_LOOP.finditer(text):
        init, condition = m.group(1), m.group(2)
        if not STATIC_BOUND.fullmatch(init) or not _bound_is_static(condition, constants):
            problems.append(Problem("unbounded-loop", source.where(m.start()),
                                    f"loop bound is not static ({m.group(0)})"))
    for f in functions:
        if re.search(rf"(?<![\w:]){f.name}\s*(<[^;]*?>)?\s*\(", f.body):  # not nnet::{name}
            problems.append(Problem("recursion", f.where(0), f"function {f.name} is recursive"))
        problems += _function_text_problems(f, constants | template_names)
    for m in PRAGMA.finditer(text):
        problems += [Problem(kind, source.where(m.start()), message)
                     for kind, message in pragma_problems(m.group(1), m.group(2), backend)]
    return problems


def _function_text_problems(f: Function, allowed: set) -> list[Problem]:
    """Variable-length arrays, comparisons with double, 64-bit division."""
    problems = []
    local = allowed | _constants(f.body)
    for m in DECLARATION.finditer(f.body):
        if m.group(2) in KEYWORDS:
            continue
        dims = re.findall(r"\[([^\]]+)\]", m.group(4))
        unknown = {n for d in dims for n in _names(re.sub(r"\b\w+::\w+\b", "0", d))} - local - {"sizeof"}
        if unknown:
            problems.append(Problem("vla", f.where(m.start(3)), f"array {m.group(3)} has a run-time size "
                                                                 f"({', '.join(sorted(unknown))})"))
    doubles = {name for name, _ in f.params if re.search(rf"\b(double|float)\s*&?\s*{name}\b", f.source.text)}
    doubles |= set(re.findall(r"\b(?:double|float)\s+(\w+)", f.body))
    operand = FLOAT_LITERAL + ("|\\b(?:" + "|".join(map(re.escape, sorted(doubles))) + ")\\b" if doubles else "")
    for m in re.finditer(rf"(?:{COMPARISON})(?:{operand})|(?:{operand}){COMPARISON}", f.body):
        problems.append(Problem("double-compare", f.where(m.start()), f"comparison with a double ({m.group(0).strip()})"))
    wide = {item.split("=")[0].strip() for m in INT64.finditer(f.body) for item in _split(m.group(1))}
    if wide:
        names = "|".join(map(re.escape, sorted(wide)))
        for m in re.finditer(rf"\b(?:{names})\s*[/%]=?\s*\w+|\w+\s*[/%]=?\s*(?:{names})\b", f.body):
            problems.append(Problem("int64-divide", f.where(m.start()),
                                    f"64-bit integer division ({m.group(0).strip()})"))
    return problems


def pragma_problems(kind: str, rest: str, backend: str) -> list[tuple[str, str]]:
    """(problem kind, message) for one `#pragma HLS kind rest`, against the
    chosen tool's documented syntax; what only the other tool documents is a
    "pragma-spelling" problem."""
    name, label = kind.lower(), kind.upper()
    spec, other = PRAGMAS[backend].get(kind.lower()), PRAGMAS["vivado" if backend == "vitis" else "vitis"].get(name)
    if spec is None:
        if other is not None:
            return [("pragma-spelling", f"{label} pragma is not spelled for {backend}: only {other.source} has it")]
        return [("pragma", f"unknown HLS pragma {label} for {backend}")]
    other_tool = "Vivado HLS" if backend == "vitis" else "Vitis HLS"
    problems, seen = [], set()
    for token in re.sub(r"\s*=\s*", "=", rest).split():
        key, _, value = token.partition("=")
        key = key.lower()
        seen.add(key)
        if not value:
            if key in spec.words:
                continue
            if other is not None and key in other.words | set(other.options.get("mode", ())) \
                    | set(other.options.get("type", ())):
                problems.append(("pragma-spelling", f"{label} pragma not spelled for {backend}: '{token}' is "
                                                    f"{other_tool} syntax ({spec.source})"))
            else:
                problems.append(("pragma", f"{label} pragma: unknown option '{token}' ({spec.source})"))
            continue
        allowed = spec.options.get(key)
        if allowed is None:
            if other is not None and key in other.options:
                problems.append(("pragma-spelling", f"{label} pragma not spelled for {backend}: '{key}=' is "
                                                    f"{other_tool} syntax ({spec.source})"))
            else:
                problems.append(("pragma", f"{label} pragma: unknown option '{key}=' ({spec.source})"))
        elif allowed is INT and not re.fullmatch(r"-?\d+|[A-Za-z_]\w*", value):
            problems.append(("pragma", f"{label} pragma: {key}={value} is not {INT} ({spec.source})"))
        elif allowed not in (INT, ANY) and value.lower() not in allowed:
            problems.append(("pragma", f"{label} pragma: {key}={value}, expected one of {', '.join(allowed)} "
                                       f"({spec.source})"))
    for key in spec.required:
        if key not in seen:
            positional = key == "mode" and set(rest.split()) & set(documented.INTERFACE_MODES)
            problems.append(("pragma-spelling" if positional else "pragma",
                             f"{label} pragma {'not spelled for ' + backend + ': it ' if positional else ''}"
                             f"lacks {key}= ({spec.source})"))
    return problems




# -- instance checks (from the top function, template arguments bound) -------------------
@dataclass(frozen=True)
class Region:
    """Where the code being walked sits: under a PIPELINE (every loop below is
    unrolled), how many copies unrolling makes of it, and which variables
    change at run time (loop indices not unrolled, values derived from them)."""
    pipelined: bool = False
    copies: int | None = 1
    runtime: frozenset = frozenset()
    origin: str = ""  # the call in the top-level firmware this code runs for


class _Walker:
    """Follows the calls from the root functions, one instance per distinct
    binding, and collects the instance problems."""

    def __init__(self, functions: list[Function], structs: dict, constants: dict, backend: str):
        self.by_name = {}
        for f in functions:
            self.by_name.setdefault(f.name, []).append(f)
        self.structs, self.constants, self.backend = structs, constants, backend
        self.problems, self.seen, self.reported = [], set(), set()
        self.call = re.compile(r"\b(" + "|".join(sorted(map(re.escape, self.by_name), key=len, reverse=True))
                               + r")\s*(<)?") if self.by_name else None

    def report(self, kind: str, where: str, message: str) -> None:
        problem = Problem(kind, where, message)
        if problem not in self.reported:
            self.reported.add(problem)
            self.problems.append(problem)

    def run(self, f: Function, env: dict, region: Region, runtime_params: frozenset = frozenset()) -> None:
        key = (f.source.path, f.offset, tuple(sorted((k, str(v)) for k, v in env.items())), region,
               runtime_params)
        if key in self.seen or len(self.seen) > 20000:
            return
        self.seen.add(key)
        env = dict(env)
        self._partitions(f, f.body, env, region.origin, params=True)
        if _direct_pragma(f.body, "pipeline") and not region.pipelined:
            region = Region(True, 1, runtime_params, region.origin)
        else:
            region = replace(region, runtime=runtime_params | region.runtime)
        self._block(f, f.body, 0, env, region)

    def _block(self, f: Function, text: str, base: int, env: dict, region: Region) -> None:
        """Walk a block: straight code between loops, and each loop."""
        pos = 0
        for m in re.finditer(r"\bfor\s*\(", text):
            if m.start() < pos:
                continue
            region = self._straight(f, text[pos:m.start()], base + pos, env, region)
            header_end = _matching(text, m.end() - 1, "(", ")")
            header = text[m.end():header_end - 1]
            rest = header_end
            while rest < len(text) and text[rest].isspace():
                rest += 1
            if rest < len(text) and text[rest] == "{":
                end = _matching(text, rest)
                body, body_base = text[rest + 1:end - 1], base + rest + 1
            else:
                end = text.find(";", rest) + 1 or len(text)
                body, body_base = text[rest:end], base + rest
            self._loop(f, header, body, body_base, base + m.start(), env, region)
            pos = end
        self._straight(f, text[pos:], base + pos, env, region)

    def _loop(self, f, header, body, body_base, at, env, region: Region) -> None:
        parts = header.split(";")
        var = re.search(r"(\w+)\s*=", parts[0]) if len(parts) == 3 else None
        trips = _trip_count(parts, env) if var else None
        name = var.group(1) if var else ""
        unroll = _direct_pragma(body, "unroll")
        factor = evaluate(unroll.group(1), env) if unroll and unroll.group(1) else None
        if region.pipelined or (unroll and (not unroll.group(1) or factor == trips)):  # completely unrolled
            copies = None if trips is None or region.copies is None else region.copies * trips
            inner = replace(region, copies=copies)
            limit = UNROLL_LIMIT[self.backend]
            if copies is not None and copies > limit.value and not (region.copies or 0) > limit.value:
                self.report("unroll-limit", f.where(at),
                            f"{copies} unrolled copies of this loop's body in {f.name}{region.origin}, above "
                            f"{limit.value} ({limit.source})")
        elif _direct_pragma(body, "pipeline"):
            inner = Region(True, 1, region.runtime | {name}, region.origin)
        else:  # a sequential (or partially unrolled) loop: its index changes at run time
            copies = region.copies * factor if unroll and factor and region.copies is not None else region.copies
            inner = Region(region.pipelined, copies, region.runtime | {name}, region.origin)
        self._block(f, body, body_base, dict(env), inner)

    def _straight(self, f: Function, text: str, base: int, env: dict, region: Region) -> Region:
        """Code outside loops: constants, derived run-time values, divisions,
        calls. Returns the region with the run-time values it derives."""
        runtime = set(region.runtime)
        for m in re.finditer(r"\b(?:const\s+|constexpr\s+|static\s+)*(?:unsigned\s+)?int\s+([^;{}]+);", text):
            for item in _split(m.group(1)):
                lhs, _, rhs = item.partition("=")
                name = lhs.strip()
                if not re.fullmatch(r"\w+", name) or not rhs:
                    continue
                value = evaluate(rhs, env)
                if value is not None and not (_names(rhs) & runtime):
                    env[name] = value
                elif _names(rhs) & runtime:
                    runtime.add(name)
        for m in re.finditer(r"\b(\w+)\s*=[^=;]*;", text):  # assignments from run-time values
            if _names(m.group(0).split("=", 1)[1]) & runtime:
                runtime.add(m.group(1))
        region = replace(region, runtime=frozenset(runtime))
        if region.pipelined:
            self._divisions(f, text, base, env, region)
        self._partitions(f, text, env, region.origin)
        for m in self.call.finditer(text) if self.call else ():
            args_text, after = "", m.end()
            if m.group(2):
                close = _matching(text, m.end() - 1, "<", ">")
                args_text, after = text[m.end():close - 1], close
            rest = text[after:].lstrip()
            if not rest.startswith("("):
                continue
            start = after + text[after:].index("(")
            call_args = _split(text[start + 1:_matching(text, start, "(", ")") - 1])
            for callee in self.by_name[m.group(1)]:
                if callee.source.text is f.source.text and callee.offset == f.offset:
                    continue
                bound = self._bind(callee, _split(args_text), env)
                runtime_params = frozenset(name for (name, _), arg in zip(callee.params, call_args)
                                           if _names(arg) & region.runtime)
                origin = (f" (called at {f.where(base + m.start())})" if f.source.path.suffix == ".cpp"
                          else region.origin)
                self.run(callee, bound, replace(region, origin=origin), runtime_params)
        return region

    def _bind(self, callee: Function, args: list, env: dict) -> dict:
        bound = dict(self.constants)
        for (kind, name), arg in zip(callee.template, args):
            if kind in ("class", "typename"):
                bound[name] = self.structs.get(arg, env.get(arg) if isinstance(env.get(arg), dict) else None)
            else:
                bound[name] = evaluate(arg, env)
        return bound

    def _divisions(self, f, text, base, env, region: Region) -> None:
        for m in re.finditer(r"([\w\]\)]+)\s*([/%])(?![/=*])\s*(\(|[\w:]+)", text):
            left = _operand_before(text, m.start(1) + len(m.group(1)))
            right = text[m.start(3):_matching(text, m.start(3), "(", ")")] if m.group(3) == "(" else m.group(3)
            if not ((_names(left) | _names(right)) & region.runtime):
                continue
            divisor = evaluate(right, env)
            if divisor is None or divisor <= 0 or divisor & (divisor - 1):
                what = "a run-time value" if divisor is None else f"{divisor}, not a power of two"
                self.report("index-divide", f.where(base + m.start()),
                            f"'{left.strip()} {m.group(2)} {right.strip()}' in pipelined code of {f.name}"
                            f"{region.origin} divides a run-time index by {what} (a divider in hardware)")

    def _partitions(self, f: Function, text: str, env: dict, origin: str, params: bool = False) -> None:
        limit = PARTITION_LIMIT[self.backend]
        for m in PRAGMA.finditer(text if not params else f.body):
            if m.group(1).lower() != "array_partition":
                continue
            options = dict(re.findall(r"(\w+)\s*=\s*(\w+)", m.group(2)))
            words = set(re.sub(r"\w+\s*=\s*\w+", "", m.group(2)).split())
            complete = "complete" in words or options.get("type", "complete" if self.backend == "vitis"
                                                            and not words & {"block", "cyclic"} else "") == "complete"
            variable = options.get("variable")
            if not complete or not variable:
                continue
            dims = None
            if params:
                dims = dict(f.params).get(variable)
            else:
                d = re.search(rf"\b{re.escape(variable)}\s*((?:\[[^\]]+\])+)", text)
                dims = d.group(1) if d and not dict(f.params).get(variable) else None
            if not dims:
                continue
            sizes = [evaluate(d, env) for d in re.findall(r"\[([^\]]*)\]", dims)]
            dim = int(options["dim"]) if options.get("dim", "").isdigit() else 1
            chosen = sizes if dim == 0 else sizes[dim - 1:dim]
            if chosen and None not in chosen and math.prod(chosen) > limit.value:
                self.report("partition-limit", f.where(f.body.find(m.group(0))),
                            f"{variable} ({math.prod(chosen)} elements) completely partitioned in {f.name}"
                            f"{origin}, above {limit.value} ({limit.source})")


def _operand_before(text: str, end: int) -> str:
    """The operand that ends at `end`: a bracketed group or a name with its subscripts."""
    i = end
    while i > 0 and text[i - 1] in ")]":
        open_ = "(" if text[i - 1] == ")" else "["
        close = text[i - 1]
        depth = 0
        while i > 0:
            i -= 1
            depth += (text[i] == close) - (text[i] == open_)
            if depth == 0:
                break
    m = re.search(r"[\w:]*$", text[:i])
    return text[m.start():end]


def _direct_pragma(body: str, kind: str):
    """The `#pragma HLS kind` of this block itself (not of a loop nested in it,
    nor one turned off); group 1 holds its factor= / II= value when there is one."""
    first_loop = re.search(r"\bfor\s*\(", body)
    head = body[:first_loop.start()] if first_loop else body
    m = re.search(rf"#pragma\s+HLS\s+{kind}\b(?:[^\n]*?\b(?:factor|II)\s*=\s*(\w+))?[^\n]*", head, re.I)
    return None if m is None or re.search(r"\boff\b", m.group(0), re.I) else m


def _trip_count(parts: list, env: dict):
    start = re.search(r"=\s*(.+)$", parts[0])
    cond = re.fullmatch(r"\s*\w+\s*(<=?)\s*(.+?)\s*", parts[1])
    step = re.fullmatch(r"\s*(?:\w+\s*\+\+|\+\+\s*\w+|\w+\s*\+=\s*(.+?))\s*", parts[2])
    if not (start and cond and step):
        return None
    first, bound = evaluate(start.group(1), env), evaluate(cond.group(2), env)
    stride = evaluate(step.group(1), env) if step.group(1) else 1
    if None in (first, bound, stride) or stride <= 0:
        return None
    return max(0, -(-(bound + (cond.group(1) == "<=") - first) // stride))


def _weights_problems(project_dir: Path) -> list[Problem]:
    """Huge constant arrays among the weights (their sizes are in the first lines)."""
    problems = []
    for path in sorted((Path(project_dir) / "firmware" / "weights").glob("*.h")):
        with open(path) as f:
            head = f.read(2000)
        m = re.search(r"HLSFLOW_WEIGHTS\(\s*\w+\s*,\s*(\w+)\s*,\s*(\d+)\s*\)", head)
        if m and int(m.group(2)) > documented.HUGE_ARRAY.value:
            problems.append(Problem("huge-array", f"firmware/weights/{path.name}", f"{m.group(1)} has {int(m.group(2))} elements, above "
                                                             f"{documented.HUGE_ARRAY.value} ({documented.HUGE_ARRAY.source})"))
    return problems


def _static_array_problems(source: Source, env: dict) -> list[Problem]:
    problems = []
    for m in DECLARATION.finditer(source.text):
        if "static" not in m.group(1) and source.text[:m.start()].count("{") != source.text[:m.start()].count("}"):
            continue
        sizes = [evaluate(d, env) for d in re.findall(r"\[([^\]]+)\]", m.group(4))]
        if None not in sizes and math.prod(sizes) > documented.HUGE_ARRAY.value:
            problems.append(Problem("huge-array", source.where(m.start(3)),
                                    f"{m.group(3)} has {math.prod(sizes)} elements, above {documented.HUGE_ARRAY.value} "
                                    f"({documented.HUGE_ARRAY.source})"))
    return problems


def firmware_problems(project_dir: Path, backend: str) -> list[Problem]:
    """Every problem in the project's firmware."""
    sources = [Source(p, _blank_comments(p.read_text()), p.relative_to(project_dir).as_posix())
               for p in firmware_files(project_dir)]
    functions = {id(s): _functions(s) for s in sources}
    problems = [p for s in sources for p in _text_problems(s, functions[id(s)], backend)]
    everything = "\n".join(s.text for s in sources)
    structs = _structs(everything)
    constants = {}
    for m in re.finditer(r"(?:^|\n)\s*(?:static\s+)?(?:const|constexpr)\s+int\s+(\w+)\s*=\s*([^;]+);", everything):
        value = evaluate(m.group(2), constants)
        if value is not None:
            constants[m.group(1)] = value
    walker = _Walker([f for fs in functions.values() for f in fs], structs, constants, backend)
    called = {m.group(1) for fs in functions.values() for f in fs for m in walker.call.finditer(f.body)} \
        if walker.call else set()
    for s in sources:
        if s.path.suffix == ".cpp":
            for f in functions[id(s)]:
                if f.name not in called:
                    walker.run(f, dict(constants), Region())
        problems += _static_array_problems(s, constants)
    return problems + walker.problems + _weights_problems(project_dir)


# -- tcl -------------------------------------------------------------------------
def _tcl_words(command: str) -> list[str]:
    """The words of one tcl command: braced, bracketed and quoted groups are one word each."""
    words, i = [], 0
    while i < len(command):
        if command[i].isspace():
            i += 1
            continue
        start = i
        while i < len(command) and not command[i].isspace():
            if command[i] in "{[\"":
                close = {"{": "}", "[": "]", "\"": "\""}[command[i]]
                i = _matching(command, i, command[i], close) if close != "\"" else command.index("\"", i + 1) + 1
            else:
                i += 1
        words.append(command[start:i])
    return words


def _tcl_commands(script: str) -> list[list[str]]:
    """The commands of a tcl script (comments dropped), with the scripts of
    if/foreach bodies and the commands in [brackets] expanded in order."""
    commands, depth, start = [], 0, 0
    script = re.sub(r"(?m)^\s*#.*$", "", script)
    for i, ch in enumerate(script + "\n"):
        depth += (ch in "{[") - (ch in "}]")
        if ch in "\n;" and depth == 0:
            text = script[start:i].strip()
            start = i + 1
            if not text:
                continue
            words = _tcl_words(text)
            commands.append(words)
            for word in words[1:]:
                if word.startswith("{") and words[0] in ("if", "foreach", "else", "elseif"):
                    commands += _tcl_commands(word[1:-1]) if words[0] != "if" or word != words[1] else []
                for inner in re.findall(r"\[([^\[\]]+)\]", word):
                    commands += _tcl_commands(inner)
    return commands


def tcl_problems(path: Path, tool: str) -> list[Problem]:
    """Each command and option of a tcl (or XDC) file against the tool's documented ones."""
    problems = []
    table = {**TCL_BUILTINS, **TCL[tool]}
    for words in _tcl_commands(path.read_text()):
        name = words[0]
        if name in ("else", "elseif"):
            continue
        command = table.get(name)
        if command is None:
            problems.append(Problem("tcl", path.name, f"{name}: not a documented {tool} command"))
            continue
        if name == "exec":
            continue
        args = iter(words[1:])
        for word in args:
            if re.fullmatch(r"-[A-Za-z_]\w*", word):
                if word not in command.options:
                    problems.append(Problem("tcl", path.name, f"{name} {word}: not a documented option "
                                                              f"({command.source})"))
                elif command.options[word]:
                    next(args, None)
    return problems


def project_tcl_problems(project_dir: Path, backend: str) -> list[Problem]:
    return [p for file, tool in documented.TCL_FILES.items() if (Path(project_dir) / file).is_file()
            for p in tcl_problems(Path(project_dir) / file, tool or backend)]


def problems(project_dir: Path, backend: str) -> list[Problem]:
    """Every problem in the project: firmware, pragmas and tcl."""
    return firmware_problems(project_dir, backend) + project_tcl_problems(project_dir, backend)


def lint_project(project_dir: Path, backend: str) -> list[str]:
    """Every problem in the project as 'file:line: message' (empty when clean)."""
    return [str(p) for p in problems(project_dir, backend)]
