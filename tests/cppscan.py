"""A reader of hlsflow's generated C++, for the architecture tests: what a
Vitis HLS engineer checks by eye. It instantiates the layer library's
templates with the project's config structs (parameters.h) from each call in
the firmware, and reports, for every call reached from the top function:
its enclosing loops (trip count, PIPELINE / UNROLL) and whether a function
above it is pipelined as a whole; and every completely partitioned array's
size. It understands the subset of C++ hlsflow writes, not C++ in general."""
import ast
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path

KEYWORDS = {"if", "for", "while", "switch", "else", "return", "catch", "sizeof"}
FUNCTION = re.compile(r"(?:template\s*<(?P<tparams>[^{};]*?)>\s*)?(?:(?:static|inline)\s+)*"
                      r"(?P<ret>[\w:<>,*&]+)\s+(?P<name>\w+)\s*\((?P<params>[^;{}]*)\)\s*(?:const\s*)?\{")
CALL = re.compile(r"\b(?:nnet::)?(\w+)\s*(?=<|\()")
LOOP = re.compile(r"\bfor\s*\(\s*int\s+(\w+)\s*=\s*([^;]+);\s*\w+\s*<\s*([^;]+);[^)]*\)\s*\{")
LOOP_PRAGMAS = ("PIPELINE", "UNROLL", "DATAFLOW")
PRAGMA = re.compile(r"#pragma\s+HLS\s+(\w+)([^\n]*)")
STRUCT = re.compile(r"struct\s+(\w+)\s*\{([^{}]*)\};")
CONST = re.compile(r"const\s+(?:int|bool)\s+([^;]+);")
OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
       ast.Mod: operator.mod, ast.USub: operator.neg}


@dataclass
class Function:
    name: str
    tparams: list  # [(kind, name)]
    text: str  # parameters and body
    body_start: int
    pragmas: list  # function-level: [(kind, rest)]
    loops: list = field(default_factory=list)  # [(start, end, var, trip expr, [pragmas])]


@dataclass
class Site:
    """A call reached from the top: the callee, its enclosing loops (outermost first:
    (trip count, pragma kinds)), whether an enclosing function is pipelined whole,
    the functions called on the way, and the layer config struct in use."""
    callee: str
    loops: list
    pipelined_function: bool
    chain: list
    config: str | None


def _block_end(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise ValueError("unbalanced braces")


def _strip(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _level0_pragmas(body: str) -> list:
    """Pragmas directly in this block, not in a nested one."""
    out, depth = [], 0
    for line in body.split("\n"):
        m = PRAGMA.search(line)
        if m and depth == 0:
            out.append((m.group(1).upper(), m.group(2).strip()))
        depth += line.count("{") - line.count("}")
    return out


def parse(text: str) -> dict:
    """Functions by name (a name defined twice keeps the first; hlsflow overloads none)."""
    text = _strip(text)
    functions = {}
    for m in FUNCTION.finditer(text):
        if m.group("name") in KEYWORDS or m.group("ret") in KEYWORDS:
            continue
        open_brace = m.end() - 1
        end = _block_end(text, open_brace)
        body = text[open_brace + 1:end]
        tparams = [tuple(p.split()[-2:]) for p in (m.group("tparams") or "").split(",") if p.strip()]
        f = Function(m.group("name"), tparams, m.group("params") + " " + body, len(m.group("params")) + 1,
                     _level0_pragmas(body))
        for loop in LOOP.finditer(f.text):
            lbrace = loop.end() - 1
            lend = _block_end(f.text, lbrace)
            f.loops.append((loop.start(), lend, loop.group(1), loop.group(3),
                            [k for k, _ in _level0_pragmas(f.text[lbrace + 1:lend]) if k in LOOP_PRAGMAS]))
        functions.setdefault(f.name, f)
    return functions


def configs(parameters_h: str) -> dict:
    return {name: {k: int(v) for k, v in re.findall(r"static const int (\w+) = (-?\d+);", body)}
            for name, body in STRUCT.findall(parameters_h)}


def evaluate(expr: str, env: dict):
    """An integer expression over literals, CFG::members and names bound in env (C++ / as //)."""
    def name(m):
        scope, member = m.group(1), m.group(2)
        return str(env[scope][member]) if member else str(env[scope])
    code = re.sub(r"\b([A-Za-z_]\w*)(?:::(\w+))?\b", name, expr.strip()).replace("/", "//")

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return int(node.value)
        if isinstance(node, ast.BinOp):
            return OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            return OPS[type(node.op)](ev(node.operand))
        raise ValueError(f"not an integer expression: {expr}")
    return ev(ast.parse(code, mode="eval"))


def _template_args(text: str, start: int) -> tuple:
    """(arguments, end) of the template argument list opening at text[start] == '<'."""
    depth, args, current = 0, [], ""
    for i in range(start, len(text)):
        c = text[i]
        if c == "<":
            depth += 1
            if depth == 1:
                continue
        elif c == ">":
            depth -= 1
            if depth == 0:
                args.append(current.strip())
                return args, i + 1
        elif c == "," and depth == 1:
            args.append(current.strip())
            current = ""
            continue
        current += c
    raise ValueError("unbalanced template arguments")


def _declares(text: str, start: int) -> bool:
    """Whether the name at text[start] is declared (`hls::stream<T> pool("pool")`), not called."""
    before = re.search(r"(\w+|>)[ \t]+$", text[max(0, start - 80):start])
    return bool(before) and before.group(1) not in KEYWORDS


class Design:
    """The generated firmware of a project: its functions, the library's, and the configs."""

    def __init__(self, project_dir):
        firmware = Path(project_dir) / "firmware"
        self.name = next(p.stem for p in firmware.glob("*.cpp"))
        library = "".join(p.read_text() for p in sorted((firmware / "nnet").glob("*.h")))
        self.functions = parse(library)
        self.firmware = parse((firmware / f"{self.name}.cpp").read_text())
        self.functions.update(self.firmware)
        self.configs = configs((firmware / "parameters.h").read_text())

    def walk(self, function: str | None = None):
        """(sites, partitions): every call and every completely partitioned array
        (function, variable, elements, layer config) reached from the top function."""
        sites, partitions = [], []
        self._walk(function or self.name, {}, [], False, [function or self.name], None, sites, partitions)
        return sites, partitions

    def _walk(self, name, env, loops, pipelined, chain, config, sites, partitions):
        f = self.functions[name]
        env = dict(env)
        for declaration in CONST.findall(f.text):
            for item in declaration.split(","):
                const, _, expr = item.partition("=")
                try:
                    env[const.strip()] = evaluate(expr, env)
                except (KeyError, ValueError, SyntaxError):
                    pass  # not a constant of the geometry (a bool of the data, say)
        pipelined = pipelined or any(k == "PIPELINE" for k, _ in f.pragmas)
        for kind, rest in PRAGMA.findall(f.text):
            if kind.upper() == "ARRAY_PARTITION" and re.search(r"\bcomplete\b", rest):
                var = re.search(r"variable=(\w+)", rest).group(1)
                dim = int((re.search(r"dim=(\d+)", rest) or [0, 0])[1])
                dims = re.search(rf"\b{var}\s*((?:\[[^\]]+\])+)", f.text).group(1)
                sizes = [evaluate(e, env) for e in re.findall(r"\[([^\]]+)\]", dims)]
                total = 1
                for k, s in enumerate(sizes, 1):
                    total *= s if dim in (0, k) else 1
                partitions.append((name, var, total, config))
        for m in CALL.finditer(f.text):
            callee = self.functions.get(m.group(1))
            if callee is None or m.start() < f.body_start or callee.name == name or _declares(f.text, m.start()):
                continue
            args, _ = _template_args(f.text, m.end()) if f.text[m.end()] == "<" else ([], m.end())
            inner = [(evaluate(trip, env), kinds) for start, end, _, trip, kinds in f.loops
                     if start < m.start() < end]
            callee_env, layer = {}, config
            for (kind, param), arg in zip(callee.tparams, args):
                if arg in self.configs:
                    callee_env[param], layer = self.configs[arg], arg
                elif arg in env and isinstance(env[arg], dict):
                    callee_env[param] = env[arg]
                elif kind == "int" and not re.search(r"\bnnet::", arg):  # (not an enumerator like nnet::ADD)
                    callee_env[param] = evaluate(arg, env)
            site = Site(callee.name, loops + inner, pipelined, chain + [callee.name], layer)
            sites.append(site)
            self._walk(callee.name, callee_env, site.loops, pipelined, site.chain, layer, sites, partitions)
