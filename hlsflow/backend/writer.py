"""Render the jinja2 templates into a complete HLS project directory."""
from __future__ import annotations

import functools
import math
import re
import shutil
import tempfile
from pathlib import Path

import jinja2
import numpy as np

from hlsflow.backend.ap_types import ap_types_dir
from hlsflow.backend.cache import cache_dir
from hlsflow.backend.lint import lint_project
from hlsflow.backend.names import cpp_identifier, unique_identifiers
from hlsflow.errors import OptionError, ProjectError
from hlsflow.ir import Graph
from hlsflow.softmax import softmax_tables

BACKENDS = {
    "vitis": {"tool": "vitis_hls", "tool_args": "-f", "tool_product": "Vitis HLS"},
    "vivado": {"tool": "vivado_hls", "tool_args": "-f", "tool_product": "Vivado HLS"},
}
IO_TYPES = ("io_parallel", "io_stream")
# io_stream: ops computed on one pixel (the last axis) at a time; the others
# (besides conv and pool, which have line buffers) buffer their whole input.
PIXELWISE = ("relu", "quantize", "reshape", "leaky_relu", "threshold", "table", "scale_shift", "merge", "layernorm")
DEFAULT_PART = "xcvu9p-flga2104-2-e"
DEFAULT_CLOCK_NS = 5.0
# Names the generated code derives from a tensor or node identifier.
DERIVED = ("", "_t", "_w", "_b", "_s", "_accum_t", "_weight_t", "_bias_t", "_scale_t", "_index_t", "_exp_t",
           "_sum_t", "_inv_index_t", "_inv_t", "_exp_table", "_inv_table", "_logits", "_test", "_prj", "_H_",
           "_quot_t", "_alpha_t", "_table", "_config", "_stream", "_bridge")
RESERVED = ("logits", "peak", "same", "exact", "samples", "defines", "parameters", "in", "out", "ref", "lref")
VALUES_PER_LINE = 8


def templates_dir() -> Path:
    """templates/ inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "firmware").is_dir():
            return candidate
    raise ProjectError(f"hlsflow templates not found next to {here}")


@functools.lru_cache(maxsize=None)
def _environment() -> jinja2.Environment:
    """The templates, compiled once per process and kept compiled in the user's
    cache (jinja2 compiles them in ~0.2 s, a large part of a small model's convert)."""
    compiled = cache_dir() / "templates"
    try:
        compiled.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable cache: compile them in every process
        compiled = None
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(compiled)) if compiled else None,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _ctype(t) -> str:
    """C++ spelling of a FixedType, always as ap_(u)fixed: ap_int<W> would round
    differently (toward zero) when assigned a value with fractional bits."""
    return f"ap_{'' if t.signed else 'u'}fixed<{t.width},{t.integer}>" if t.cpp().startswith("ap_") and "int<" in t.cpp() else t.cpp()


def _format(values) -> list[str]:
    """Exact decimal spelling of float64 values, VALUES_PER_LINE per line."""
    flat = list(map(repr, np.asarray(values, dtype=np.float64).ravel().tolist()))
    return [", ".join(flat[i:i + VALUES_PER_LINE]) for i in range(0, len(flat), VALUES_PER_LINE)]


def build_context(graph: Graph, settings: dict) -> dict:
    """Everything the templates need, with C++ identifiers for every name."""
    top = cpp_identifier(graph.name)
    ids = unique_identifiers(list(graph.tensors) + [n.name for n in graph.nodes], reserved=(top,) + RESERVED,
                             derived=DERIVED + _derived_names(graph))
    tensors = {
        t.name: {"name": t.name, "id": ids[t.name], "t": ids[t.name] + "_t", "cpp": _ctype(t.type), "size": t.size,
                 "shape": list(t.shape), "exact": t.exact}
        for t in graph.tensors.values()
    }
    inputs, outputs = _ports([tensors[t] for t in graph.inputs]), _ports([tensors[t] for t in graph.outputs])
    nodes, weights = [], []
    for node in graph.nodes:
        ident = ids[node.name]
        n = {"id": ident, "op": node.op, "x": tensors[node.inputs[0]], "y": tensors[node.outputs[0]],
             "xs": [tensors[t] for t in node.inputs], "attrs": node.attrs, "mode": node.attrs.get("mode"),
             "relu": "true" if node.attrs.get("relu") else "false", "scale": "scale" in node.params, "types": [],
             "config": _config(node), "strategy": node.attrs.get("strategy", "latency"),
             "reuse_factor": node.attrs.get("reuse_factor", 1)}
        for key, value in sorted(node.attrs.items()):
            if key.endswith("_type"):
                n["types"].append((key[:-5], _ctype(value)))
        divides = "quot_type" in node.attrs
        n["accum"] = f"{ident}_accum_t" if divides else n["x"]["t"]
        n["quot"] = f"{ident}_quot_t" if divides else n["x"]["t"]
        n.update(_layout(graph, node, tensors))
        for key, suffix in (("weight", "w"), ("bias", "b"), ("scale", "s")):
            if key in node.params:
                weights.append(_weights(f"{ident}_{suffix}", f"{ident}_{key}_t", node.attrs[f"{key}_type"],
                                        node.params[key]))
        for key in sorted(set(node.params) - {"weight", "bias", "scale", "table"}):  # e.g. recurrent_weight
            weights.append(_weights(f"{ident}_{key}", f"{ident}_{key}_t", node.attrs[f"{key}_type"], node.params[key]))
        if node.op == "table":
            weights.append(_weights(f"{ident}_table", n["y"]["t"], graph.tensors[node.outputs[0]].type,
                                    node.params["table"]))
        if node.op == "softmax":
            exp_table, inv_table = softmax_tables(node.attrs)
            weights.append(_weights(f"{ident}_exp_table", f"{ident}_exp_t", node.attrs["exp_type"], exp_table))
            weights.append(_weights(f"{ident}_inv_table", f"{ident}_inv_t", node.attrs["inv_type"], inv_table))
        nodes.append(n)
    softmax = None
    if nodes and nodes[-1]["op"] == "softmax" and graph.outputs == [graph.nodes[-1].outputs[0]]:
        softmax = nodes[-1]
    logit_nodes = nodes[:-1] if softmax else nodes
    ports = {t["name"] for t in inputs + outputs} | ({softmax["x"]["name"]} if softmax else set())
    for n in logit_nodes:
        n["declare"] = n["y"]["name"] not in ports
    if settings["io_type"] == "io_stream":
        body_outputs = [softmax["x"]] if softmax else outputs
        streams, forks = _stream_wiring(graph, logit_nodes, inputs, body_outputs, tensors)
    else:
        streams, forks = [], []
    exact_outputs = any(t["exact"] for t in outputs) or bool(softmax and softmax["x"]["exact"])
    return {
        "name": top, "model_name": graph.name, "tensors": list(tensors.values()), "nodes": nodes,
        "logit_nodes": logit_nodes, "softmax": softmax, "streams": streams, "forks": forks,
        "input_names": list(graph.inputs), "weights": weights, "inputs": inputs, "outputs": outputs,
        "input_total": sum(t["size"] for t in inputs), "output_total": sum(t["size"] for t in outputs),
        "compares_exact": exact_outputs, "compares_error": not all(t["exact"] for t in outputs),
        "input_quantized": bool(graph.meta.get("quantized_inputs")),
        **settings, **BACKENDS[settings["backend"]],
    }


def _derived_names(graph: Graph) -> tuple:
    """Names the code derives from a node's own types and parameters beyond
    DERIVED (a recurrent node's `_recurrent_weight`, `_carry_t`, `_config::rec`, ...)."""
    found = set()
    for node in graph.nodes:
        found.update(f"_{key[:-5]}_t" for key in node.attrs if key.endswith("_type"))
        found.update(f"_{key}" for key in node.params)
    return tuple(sorted(found - set(DERIVED)))


def _config(node) -> list:
    """Geometry constants of a sliding-window node (its C++ CFG struct)."""
    if node.op not in ("conv", "pool"):
        return []
    a = node.attrs
    keys = ("ih", "iw", "c", "oh", "ow", "f", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pb", "pl", "pr")
    values = [*a["in_hwc"], *a["out_hwc"], *a["kernel"], *a["strides"], *a["dilation"], *a["pads"]]
    extra = [("groups", a.get("groups", 1)), ("relu", int(bool(a.get("relu")))),
             ("average", int(a.get("mode") == "avg"))]
    return list(zip(keys, values)) + extra


def _layout(graph, node, tensors) -> dict:
    """Shape constants of concat and transpose nodes."""
    if node.op == "concat":
        axis = node.attrs["axis"]
        shape = graph.tensors[node.outputs[0]].shape
        outer, total, parts, offset = int(np.prod(shape[:axis])), int(np.prod(shape[axis:])), [], 0
        for t in node.inputs:
            inner = int(np.prod(graph.tensors[t].shape[axis:]))
            parts.append({"x": tensors[t], "outer": outer, "inner": inner, "offset": offset, "total": total})
            offset += inner
        return {"parts": parts}
    if node.op == "transpose":
        shape = list(graph.tensors[node.inputs[0]].shape)
        pad = 3 - len(shape)
        return {"dims": [1] * pad + shape, "perm": list(range(pad)) + [p + pad for p in node.attrs["perm"]]}
    return {}


def _stream_wiring(graph, nodes, inputs, outputs, tensors):
    """io_stream: the stream each node reads and writes. A tensor with several
    users is copied by a fork into one stream per user; those copies and the
    inputs of multi-input nodes hold a whole tensor, so no branch can stall
    another (no deadlock); the other FIFOs hold one pixel."""
    ports = {t["name"] for t in inputs + outputs}
    uses = {t: [] for t in tensors}
    for n in nodes:
        for k, t in enumerate(n["xs"]):
            uses[t["name"]].append((n, k))
    for t in outputs:
        uses[t["name"]].append((None, 0))
    streams, forks = {}, []
    for name, users in uses.items():
        t = tensors[name]
        if not users:
            continue
        if len(users) == 1:
            source, targets = t["id"], [t["id"]]
        else:
            source = t["id"] + ("_fork" if name in ports and users[-1][0] is None else "")
            targets = [t["id"] if n is None else f"{t['id']}_copy{k}" for k, (n, _) in enumerate(users)]
            forks.append({"source": source, "targets": targets, "t": t["t"], "size": t["size"], "tensor": name})
        if name not in ports or source != t["id"]:
            streams[source] = {"id": source, "t": t["t"], "depth": t["size"] if len(users) > 1 else t["shape"][-1]}
        for target, (n, k) in zip(targets, users):
            if n is None:
                continue
            n.setdefault("in_streams", [None] * len(n["xs"]))[k] = target
            if target != source or len(n["xs"]) > 1:
                streams[target] = {"id": target, "t": t["t"], "depth": t["size"]}
    for port in ports:
        streams.pop(tensors[port]["id"], None)
    for n in nodes:  # a fork runs right after its producer (csim runs processes in order)
        n["forks"] = [f for f in forks if f["tensor"] == n["y"]["name"]]
    for n in nodes:
        n["out_stream"] = n["y"]["id"] + ("_fork" if any(f["source"] == n["y"]["id"] + "_fork" for f in forks) else "")
        size = n["y"]["shape"][-1] if n["op"] in PIXELWISE else n["y"]["size"]
        if n["op"] == "reshape":  # same element order: pass chunks through
            size = math.gcd(n["x"]["shape"][-1], n["y"]["shape"][-1])
        n["chunks"] = n["y"]["size"] // size
        n["chunk"] = dict(n, x=_resize(n["x"], n, size), y=dict(n["y"], size=size),
                          xs=[_resize(x, n, size) for x in n["xs"]])
    return list(streams.values()), forks


def _resize(tensor, node, size):
    return dict(tensor, size=size) if node["op"] in PIXELWISE + ("reshape",) else tensor


def _ports(tensors: list[dict]) -> list[dict]:
    offset = 0
    for t in tensors:
        t["offset"] = offset
        offset += t["size"]
    return tensors


def _weights(ident, type_name, fixed_type, values) -> dict:
    return {"id": ident, "t": type_name, "cpp": _ctype(fixed_type), "size": int(np.size(values)), "rows": _format(values)}


def check_settings(backend: str, part: str, clock_period: float, io_type: str = "io_parallel") -> dict:
    if backend not in BACKENDS:
        raise OptionError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if not re.fullmatch(r"x[a-z0-9]+(-[a-zA-Z0-9]+)*", str(part)):  # speed grades like -2L
        raise OptionError(f"--part {part!r}: not a Xilinx/AMD part name (e.g. {DEFAULT_PART})")
    if io_type not in IO_TYPES:
        raise OptionError(f"io_type {io_type!r}: expected one of {', '.join(IO_TYPES)}")
    if not (isinstance(clock_period, (int, float)) and clock_period > 0):
        raise OptionError(f"--clock-period {clock_period!r}: expected a positive number of nanoseconds")
    return {"backend": backend, "io_type": io_type, "part": part, "clock_period": clock_period}


def write_project(graph: Graph, out_dir, settings: dict, tb_data: dict, force: bool = False) -> Path:
    """Write the project to out_dir, atomically: a complete new project or the old one."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ProjectError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise ProjectError(f"{out_dir}: directory is not empty (use --force to replace it)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        _render(graph, tmp, settings, tb_data)
        problems = lint_project(tmp, settings["backend"])
        if problems:  # a bug in hlsflow's templates, not in the user's model
            raise ProjectError(f"generated firmware fails the synthesizability lint: {problems[0]}")
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            out_dir.rename(old / "project")
            tmp.rename(out_dir)
            shutil.rmtree(old)
        else:
            tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out_dir


def _render(graph: Graph, root: Path, settings: dict, tb_data: dict) -> None:
    env = _environment()
    ctx = build_context(graph, settings)
    name = ctx["name"]
    files = {
        f"firmware/{name}.cpp": "firmware/model.cpp.j2",
        f"firmware/{name}.h": "firmware/model.h.j2",
        "firmware/defines.h": "firmware/defines.h.j2",
        "firmware/parameters.h": "firmware/parameters.h.j2",
        f"tb/{name}_test.cpp": "tb/test.cpp.j2",
        f"tb/{name}_bridge.cpp": "tb/bridge.cpp.j2",
        "Makefile": "project/Makefile.j2",
        "build_prj.tcl": "project/build_prj.tcl.j2",
        "vivado_synth.tcl": "project/vivado_synth.tcl.j2",
        "README.md": "project/README.md.j2",
    }
    for path, template in files.items():
        _write(root / path, env.get_template(template).render(**ctx))
    weight_template = env.get_template("firmware/weights.h.j2")
    for w in ctx["weights"]:
        _write(root / "firmware" / "weights" / f"{w['id']}.h", weight_template.render(w=w))
    shutil.copytree(templates_dir() / "firmware" / "nnet", root / "firmware" / "nnet")
    shutil.copy(templates_dir() / "tb" / "hlsflow_csim.h", root / "tb" / "hlsflow_csim.h")
    shutil.copytree(ap_types_dir(), root / "firmware" / "ap_types")
    graph.meta["project"] = dict(settings, name=name)
    _write(root / "project.json", graph.dumps() + "\n")
    for key, rows in sorted(tb_data.items()):
        _write(root / "tb_data" / f"{key}.txt", "".join(" ".join(repr(float(v)) for v in row) + "\n" for row in rows))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
