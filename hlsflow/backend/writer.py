"""Render the jinja2 templates into a complete HLS project directory."""
from __future__ import annotations

import functools
import math
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import jinja2
import numpy as np

from hlsflow.backend.ap_types import ap_types_dir
from hlsflow.backend.cache import cache_dir
from hlsflow.backend.csim import inexact_outputs
from hlsflow.backend.lint import OPEN_KINDS, problems
from hlsflow.backend.names import CPP_KEYWORDS, Identifiers, template_names
from hlsflow.division import divider
from hlsflow.errors import OptionError, ProjectError, UnsupportedError
from hlsflow.ir import Graph, Node
from hlsflow.softmax import softmax_tables

# cxx_std: the C++ standard the tool's front end compiles (Vivado HLS 2020.1:
# -std=c++0x; Vitis HLS: C++14), for the firmware and testbench alike.
# clock_uncertainty: each tool's documented default, stated explicitly (docs/tcl.md).
BACKENDS = {
    "vitis": {"tool": "vitis_hls", "tool_args": "-f", "tool_product": "Vitis HLS", "cxx_std": "c++14",
              "clock_uncertainty": "27%"},
    "vivado": {"tool": "vivado_hls", "tool_args": "-f", "tool_product": "Vivado HLS", "cxx_std": "c++0x",
               "clock_uncertainty": "12.5%"},
}
IO_TYPES = ("io_parallel", "io_stream")
# io_stream: ops computed on one pixel (the last axis) at a time; the others
# (besides conv and pool, which have line buffers) buffer their whole input.
PIXELWISE = ("relu", "quantize", "reshape", "leaky_relu", "threshold", "table", "step", "scale_shift", "merge")
TRANSPOSE_RANK = 6  # nnet::transpose: tensors of rank up to this (without the batch axis)
DEFAULT_PART = "xcvu9p-flga2104-2-e"
DEFAULT_CLOCK_NS = 5.0
# Names the writer derives from a tensor or node identifier (the templates' own
# are read from the templates by names.template_names), and numbered ones
# (`<id>_copy<k>`: a fork's copies; `<id>_in<k>`: a repeated input of a node).
DERIVED = ("_fork", "_w", "_b", "_s", "_table", "_exp_table", "_inv_table", "_divider", "_thresholds", "_levels",
           "_alpha")
NUMBERED = ("_copy", "_in")
FILES = ("defines", "parameters", "nnet", "weights", "ap_types")  # names in firmware/ besides <top>.cpp/.h
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
    allocator = identifiers(graph)
    top = allocator.claim(settings.get("top") or graph.name, key=("top",))
    if settings.get("top") and top != settings["top"]:
        raise OptionError(f"--top {settings['top']!r}: a name the generated code uses itself; choose another")
    tensors = {t.name: _tensor(t.name, allocator.claim(t.name), t.type, t.shape, t.exact)
               for t in graph.tensors.values()}
    nodes, weights = [], []
    for node in graph.nodes:
        nodes.append(_node(graph, node, allocator.claim(node.name), tensors, weights))
    output_names = _separate_ports(graph, tensors, nodes, weights, allocator)
    inputs, outputs = _ports([tensors[t] for t in graph.inputs]), _ports([tensors[t] for t in output_names])
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
    tolerances = settings.get("tolerance", {})
    inexact = [{"t": tensors[t], "label": label, "tolerance": tolerances[t]} for t, label in inexact_outputs(graph)]
    return {
        "name": top, "model_name": graph.name, "tensors": list(tensors.values()), "nodes": nodes,
        "logit_nodes": logit_nodes, "softmax": softmax, "streams": streams, "forks": forks,
        "input_names": list(graph.inputs), "weights": weights, "inputs": inputs, "outputs": outputs,
        "input_total": sum(t["size"] for t in inputs), "output_total": sum(t["size"] for t in outputs),
        "exact_outputs": any(t["exact"] for t in outputs), "inexact": inexact,
        "input_quantized": bool(graph.meta.get("quantized_inputs")),
        **settings, **BACKENDS[settings["backend"]],
    }


def identifiers(graph: Graph) -> Identifiers:
    """The allocator of every C++ identifier made from a name of the model
    (names.py): claim(name) for a tensor or node (a node and a tensor of the
    same name share one identifier: the templates derive different names from
    nodes and tensors), claim(graph.name, key=("top",)) for the top function."""
    typedefs = {f"_{key[:-5]}_t" for node in graph.nodes for key in node.attrs if key.endswith("_type")}
    return Identifiers(template_names(templates_dir()), suffixes=DERIVED + tuple(sorted(typedefs)),
                       numbered=NUMBERED, reserved=FILES)


def _tensor(name, ident, fixed_type, shape, exact) -> dict:
    return {"name": name, "id": ident, "t": ident + "_t", "cpp": _ctype(fixed_type), "size": int(np.prod(shape)),
            "shape": list(shape), "exact": exact}


def _node(graph: Graph, node, ident: str, tensors: dict, weights: list) -> dict:
    """The template view of one node (its constant arrays appended to `weights`)."""
    n = {"id": ident, "op": node.op, "x": tensors[node.inputs[0]], "y": tensors[node.outputs[0]],
         "xs": [tensors[t] for t in node.inputs], "attrs": node.attrs, "mode": node.attrs.get("mode"),
         "relu": "true" if node.attrs.get("relu") else "false", "scale": "scale" in node.params, "types": [],
         "config": _config(node), "strategy": node.attrs.get("strategy", "latency"),
         "reuse_factor": node.attrs.get("reuse_factor", 1)}
    for key, value in sorted(node.attrs.items()):
        if key.endswith("_type"):
            n["types"].append((f"{ident}_{key[:-5]}_t", _ctype(value)))
    divides = "divisors" in node.attrs
    n["accum"] = f"{ident}_accum_t" if divides else n["x"]["t"]
    n["divider"] = f"{ident}_divider" if divides else "nnet::no_divider"
    n["division"] = divider(node.attrs["divisors"], node.attrs["accum_type"], graph.tensors[node.outputs[0]].type,
                            f"layer {node.name!r}") if divides else None
    n.update(_layout(graph, node, tensors))
    for key, suffix in (("weight", "w"), ("bias", "b"), ("scale", "s")):
        if key in node.params:
            weights.append(_weights(f"{ident}_{suffix}", f"{ident}_{key}_t", node.attrs[f"{key}_type"],
                                    node.params[key]))
    if node.op == "table":
        weights.append(_weights(f"{ident}_table", n["y"]["t"], graph.tensors[node.outputs[0]].type,
                                node.params["table"]))
    if node.op == "prelu":
        n["alpha_period"] = node.params["alpha"].size
        weights.append(_weights(f"{ident}_alpha", f"{ident}_alpha_t", node.attrs["alpha_type"], node.params["alpha"]))
    if node.op == "step":
        levels = node.params["levels"]
        n["levels"], n["levels_log2"] = len(levels), math.ceil(math.log2(len(levels)))
        weights.append(_weights(f"{ident}_thresholds", n["x"]["t"], graph.tensors[node.inputs[0]].type,
                                node.params["thresholds"]))
        weights.append(_weights(f"{ident}_levels", n["y"]["t"], graph.tensors[node.outputs[0]].type, levels))
    if node.op == "softmax":
        exp_table, inv_table = softmax_tables(node.attrs)
        weights.append(_weights(f"{ident}_exp_table", f"{ident}_exp_t", node.attrs["exp_type"], exp_table))
        weights.append(_weights(f"{ident}_inv_table", f"{ident}_inv_t", node.attrs["inv_type"], inv_table))
    return n


def _separate_ports(graph: Graph, tensors: dict, nodes: list, weights: list, allocator) -> list[str]:
    """The tensors of the output ports. Every port is a C++ variable of its own:
    where the model returns one of its inputs (a lone input quantizer) or one
    tensor twice, or a final softmax reads an input (the logits port of the
    logits function), a copy node (a same-shape reshape) gives the port its own
    tensor. Nothing changes in the IR."""

    def copy(name, before=None) -> str:
        k = 0
        while (port := f"{name} (port {k})") in tensors:
            k += 1
        t = graph.tensors[name]
        tensors[port] = _tensor(port, allocator.claim(f"{name}_port", key=("port", port)), t.type, t.shape, t.exact)
        node = Node(port, "reshape", [name], [port])
        n = _node(graph, node, tensors[port]["id"], tensors, weights)
        nodes.insert(len(nodes) if before is None else nodes.index(before), n)
        return port

    outputs, seen = [], set(graph.inputs)
    for name in graph.outputs:
        outputs.append(copy(name) if name in seen else name)
        seen.add(outputs[-1])
    last = graph.nodes[-1] if graph.nodes else None
    if last is not None and last.op == "softmax" and graph.outputs == last.outputs and last.inputs[0] in graph.inputs:
        softmax = nodes[-1]
        softmax["x"] = softmax["xs"][0] = tensors[copy(last.inputs[0], before=softmax)]
    return outputs


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
    if node.op == "dot":  # (I, J, K, AI, AK, BJ, BK): see nnet::dot
        dims = []
        for t, axis in zip(node.inputs, node.attrs["axes"]):
            shape = graph.tensors[t].shape
            k, free = shape[axis], int(np.prod(shape)) // shape[axis]
            summed_first = axis == 0 and len(shape) == 2
            dims.append((free, k, 1 if summed_first else k, free if summed_first else 1))
        (i, k, ai, ak), (j, _, bj, bk) = dims
        return {"dot": [i, j, k, ai, ak, bj, bk]}
    if node.op == "transpose":
        shape = list(graph.tensors[node.inputs[0]].shape)
        pad = TRANSPOSE_RANK - len(shape)
        if pad < 0:
            raise UnsupportedError(f"layer {node.name!r} (Permute): a rank-{len(shape)} tensor (without the batch "
                                   f"axis); permutations of rank up to {TRANSPOSE_RANK} are supported")
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
        xs = [_resize(x, n, size) for x in n["xs"]]
        for k, x in enumerate(xs):  # the stream process holds each input in an array of its own
            if any(x["id"] == other["id"] for other in xs[:k]):
                xs[k] = dict(x, id=f"{x['id']}_in{k}")
        n["chunk"] = dict(n, x=xs[0], y=dict(n["y"], size=size), xs=xs)
        if "parts" in n:
            n["chunk"]["parts"] = [dict(part, x=x) for part, x in zip(n["parts"], xs)]
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


def check_settings(backend: str, part: str, clock_period: float, io_type: str = "io_parallel", top=None) -> dict:
    if backend not in BACKENDS:
        raise OptionError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if not re.fullmatch(r"x[a-z0-9]+(-[a-zA-Z0-9]+)*", str(part)):  # speed grades like -2L
        raise OptionError(f"--part {part!r}: not a Xilinx/AMD part name (e.g. {DEFAULT_PART})")
    if io_type not in IO_TYPES:
        raise OptionError(f"io_type {io_type!r}: expected one of {', '.join(IO_TYPES)}")
    if not (isinstance(clock_period, (int, float)) and clock_period > 0):
        raise OptionError(f"--clock-period {clock_period!r}: expected a positive number of nanoseconds")
    if top is not None and (not isinstance(top, str) or not re.fullmatch(r"[A-Za-z_]\w*", top)
                            or top in CPP_KEYWORDS or top.lower().startswith("ap_")):
        raise OptionError(f"--top {top!r}: not usable as the top function's name (a C++ identifier that is no "
                          f"keyword and does not start with ap_)")
    return {"backend": backend, "io_type": io_type, "part": part, "clock_period": clock_period, "top": top}


def check_output_dir(out_dir, force: bool = False) -> Path:
    """out_dir as a Path; ProjectError if it is a file, or a non-empty directory without force."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ProjectError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise ProjectError(f"{out_dir}: directory is not empty (use --force to replace it)")
    return out_dir


def write_project(graph: Graph, out_dir, settings: dict, tb_data: dict, force: bool = False) -> Path:
    """Write the project to out_dir, atomically: a complete new project or the old one."""
    out_dir = check_output_dir(out_dir, force)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        _render(graph, tmp, settings, tb_data)
        found = problems(tmp, settings["backend"])
        errors = [p for p in found if p.kind not in OPEN_KINDS]
        if errors:  # a bug in hlsflow's templates, not in the user's model
            raise ProjectError(f"generated firmware fails the synthesizability lint: {errors[0]}")
        if found:
            kinds = sorted({p.kind for p in found})
            warnings.warn(f"{graph.name}: {len(found)} synthesizability lint finding(s) of kinds being fixed "
                          f"({', '.join(kinds)}), e.g. {found[0]}; `hlsflow lint {out_dir}` lists them", stacklevel=3)
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
        "vivado_synth.xdc": "project/vivado_synth.xdc.j2",
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
