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

from hlsflow.backend import dataflow
from hlsflow.backend.ap_types import ap_types_dir
from hlsflow.backend.cache import cache_dir
from hlsflow.backend.csim import inexact_outputs
from hlsflow.backend.lint import MODEL_KINDS, problems
from hlsflow.backend.names import CPP_KEYWORDS, Identifiers, template_names
from hlsflow.division import divider
from hlsflow.errors import OptionError, ProjectError, UnsupportedError
from hlsflow.ir import Graph, Node
from hlsflow.passes.hardware import fold, rom_storage, window_geometry
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
# Dataflow designs: ops computed one beat (a pixel in io_stream, a row in
# io_parallel) at a time; the others (besides conv and pool, which scan their
# input, and reshape, which regroups beats) buffer their whole input.
PIXELWISE = ("relu", "quantize", "reshape", "leaky_relu", "threshold", "table", "step", "scale_shift", "merge",
             "layernorm")
TRANSPOSE_RANK = 6  # nnet::transpose: tensors of rank up to this (without the batch axis)
DEFAULT_PART = "xcvu9p-flga2104-2-e"
DEFAULT_CLOCK_NS = 5.0
# Names the writer derives from a tensor or node identifier (the templates' own
# are read from the templates by names.template_names), and numbered ones
# (`<id>_copy<k>`: a fork's copies; `<id>_in<k>`: a repeated input of a node).
DERIVED = ("_fork", "_w", "_b", "_s", "_table", "_exp_table", "_inv_table", "_divider", "_thresholds", "_levels",
           "_alpha", "_stream")
NUMBERED = ("_copy", "_in")
FILES = ("defines", "parameters", "nnet", "weights", "ap_types")  # names in firmware/ besides <top>.cpp/.h
# Parameters _node names itself; any other with a type `<key>_type` is a constant array `<id>_<key>`.
HANDLED_PARAMS = {"weight", "bias", "scale", "table", "alpha", "thresholds", "levels"}
VALUES_PER_LINE = 8
PARTITION_LIMIT = 8192  # elements: the largest array the firmware partitions completely (build_prj.tcl's limit)


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
    graph = _with_port_copies(graph)
    io_type = settings["io_type"]
    allocator = identifiers(graph)
    top = allocator.claim(settings.get("top") or graph.name, key=("top",))
    if settings.get("top") and top != settings["top"]:
        raise OptionError(f"--top {settings['top']!r}: a name the generated code uses itself; choose another")
    tensors = {t.name: _tensor(t.name, allocator.claim(t.name), t.type, t.shape, t.exact, io_type)
               for t in graph.tensors.values()}
    inputs, outputs = _ports([tensors[t] for t in graph.inputs]), _ports([tensors[t] for t in graph.outputs])
    nodes, weights = [], []
    for node in graph.nodes:
        nodes.append(_node(graph, node, allocator.claim(node.name), tensors, weights, settings))
    softmax = nodes[-1] if dataflow.final_softmax(graph) else None
    logit_nodes = nodes[:-1] if softmax else nodes
    ports = {t["name"] for t in inputs + outputs} | ({softmax["x"]["name"]} if softmax else set())
    for n in logit_nodes:
        n["declare"] = n["y"]["name"] not in ports
    flow = dataflow.is_dataflow(graph, io_type)
    if io_type == "io_stream":
        _check_one_pixel_per_beat(graph)
    processes, streams, logits_stream = _wiring(graph, io_type, bool(softmax), nodes, tensors, allocator) if flow \
        else ([], [], None)
    tolerances = settings.get("tolerance", {})
    inexact = [{"t": tensors[t], "label": label, "tolerance": tolerances[t]} for t, label in inexact_outputs(graph)]
    ctx = {
        "name": top, "model_name": graph.name, "tensors": list(tensors.values()), "nodes": nodes,
        "logit_nodes": logit_nodes, "softmax": softmax, "dataflow": flow, "processes": processes,
        "streams": streams, "logits_stream": logits_stream,
        "input_names": list(graph.inputs), "weights": weights, "inputs": inputs, "outputs": outputs,
        "input_total": sum(t["size"] for t in inputs), "output_total": sum(t["size"] for t in outputs),
        "exact_outputs": any(t["exact"] for t in outputs), "inexact": inexact,
        "input_quantized": bool(graph.meta.get("quantized_inputs")),
        **settings, **BACKENDS[settings["backend"]],
    }
    _check_partitions(graph, ctx)
    return ctx


def identifiers(graph: Graph) -> Identifiers:
    """The allocator of every C++ identifier made from a name of the model
    (names.py): claim(name) for a tensor or node (a node and a tensor of the
    same name share one identifier: the templates derive different names from
    nodes and tensors), claim(graph.name, key=("top",)) for the top function."""
    typedefs = {f"_{key[:-5]}_t" for node in graph.nodes for key in node.attrs if key.endswith("_type")}
    arrays = {f"_{key}" for node in graph.nodes for key in node.params}
    return Identifiers(template_names(templates_dir()), suffixes=DERIVED + tuple(sorted(typedefs | arrays)),
                       numbered=NUMBERED, reserved=FILES)


def _tensor(name, ident, fixed_type, shape, exact, io_type) -> dict:
    return {"name": name, "id": ident, "t": ident + "_t", "cpp": _ctype(fixed_type), "size": int(np.prod(shape)),
            "shape": list(shape), "exact": exact, "beat": dataflow.beat_size(shape, io_type)}


def _node(graph: Graph, node, ident: str, tensors: dict, weights: list, settings: dict) -> dict:
    """The template view of one node (its constant arrays appended to `weights`
    and to its own "weights": a dense/conv node's in the order its kernel reads them)."""
    n = {"id": ident, "op": node.op, "x": tensors[node.inputs[0]], "y": tensors[node.outputs[0]],
         "xs": [tensors[t] for t in node.inputs], "attrs": node.attrs, "mode": node.attrs.get("mode"),
         "relu": "true" if node.attrs.get("relu") else "false", "scale": "scale" in node.params, "types": [],
         "config": _config(node, settings["io_type"]), "strategy": node.attrs.get("strategy", "latency"),
         "reuse_factor": node.attrs.get("reuse_factor", 1), "weights": []}
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
            values = _rom_order(node, key, node.params[key]) if node.op in ("dense", "conv") else node.params[key]
            w = _weights(f"{ident}_{suffix}", f"{ident}_{key}_t", node.attrs[f"{key}_type"], values)
            weights.append(w)
            n["weights"].append(w)
    for key in sorted(set(node.params) - HANDLED_PARAMS):  # e.g. a recurrent node's recurrent_weight
        if f"{key}_type" in node.attrs:  # (other parameters are the passes' own numbers)
            weights.append(_weights(f"{ident}_{key}", f"{ident}_{key}_t", node.attrs[f"{key}_type"], node.params[key]))
    if node.op in ("dense", "conv"):
        n["rom"] = _rom(node, n["weights"], settings["backend"])
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


def _with_port_copies(graph: Graph) -> Graph:
    """The graph as the templates see it: every port a C++ variable of its own.
    Where the model returns one of its inputs (a lone input quantizer) or one
    tensor twice, or a final softmax reads an input (the logits port of the
    logits function), a copy node (a same-shape reshape) gives the port its own
    tensor. The IR itself (project.json) is not changed: this is a new Graph
    sharing its tensors and nodes."""
    last = graph.nodes[-1] if graph.nodes else None
    softmax_on_input = (last is not None and last.op == "softmax" and graph.outputs == last.outputs
                        and last.inputs[0] in graph.inputs)
    repeated = len(set(graph.outputs)) < len(graph.outputs) or set(graph.outputs) & set(graph.inputs)
    if not (softmax_on_input or repeated):
        return graph
    view = Graph(graph.name)
    view.tensors, view.nodes = dict(graph.tensors), list(graph.nodes)
    view.inputs, view.outputs, view.meta, view.functions = list(graph.inputs), [], graph.meta, graph.functions

    def copy(name) -> str:
        k = 0
        while (port := f"{name} (port {k})") in view.tensors:
            k += 1
        t = graph.tensors[name]
        view.add_tensor(port, t.shape, t.type, t.exact)
        return port

    seen = set(graph.inputs)
    for name in graph.outputs:
        port = name
        if name in seen:
            port = copy(name)
            view.nodes.append(Node(port, "reshape", [name], [port]))
        view.outputs.append(port)
        seen.add(port)
    if softmax_on_input:
        port = copy(last.inputs[0])
        view.nodes[-1:] = [Node(port, "reshape", [last.inputs[0]], [port]),
                           Node(last.name, last.op, [port], list(last.outputs), last.attrs, last.params)]
    return view


def _config(node, io_type: str) -> list:
    """Constants of a dense, conv or pool node (its C++ CFG struct): geometry,
    kernel folding (passes/hardware.py) and, for a scanning conv/pool, the scan."""
    a = node.attrs
    out = []
    if node.op in ("conv", "pool"):
        keys = ("ih", "iw", "c", "oh", "ow", "f", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pb", "pl", "pr")
        values = [*a["in_hwc"], *a["out_hwc"], *a["kernel"], *a["strides"], *a["dilation"], *a["pads"]]
        out += list(zip(keys, values)) + [("average", int(a.get("mode") == "avg"))]
        pf = 1 if io_type == "io_stream" else a["parallelization_factor"]
        g = window_geometry(a, pf)
        out += [("pf", pf), *((k, g[k]) for k in ("khs", "kws", "ph", "pw", "steps", "pwx")),
                ("line", max(1, g["pw"] - g["kws"])), ("lines", max(1, (g["khs"] - 1) * a["in_hwc"][2]))]
    if node.op in ("dense", "conv"):
        f = fold(node)
        out += [*f.items(), ("rom", int(a.get("strategy") == "resource")), ("scaled", int("scale" in node.params))]
    if out:
        out += [("relu", int(bool(a.get("relu"))))]
    return out


def _rom_order(node, key: str, values) -> np.ndarray:
    """A dense/conv node's parameters in the order its kernel reads them
    (nnet_dense.h): weights word by word (clock ro * r_in + ri), lane
    (g * bi + a) * bo + b; biases and scales word ro, lane g * bo + b."""
    f = fold(node)
    if key == "weight":
        w = np.asarray(values).reshape(f["r_in"], f["bi"], f["groups"], f["r_out"], f["bo"])
        return w.transpose(3, 0, 2, 1, 4).ravel()
    return np.asarray(values).reshape(f["groups"], f["r_out"], f["bo"]).transpose(1, 0, 2).ravel()


def _rom(node, weights: list, backend: str) -> dict:
    """Storage of a resource-strategy node's weights: one ROM word per clock,
    in block RAM or LUTs by its shape (hlsflow.passes.hardware.rom_storage)."""
    if node.attrs.get("strategy") != "resource":
        return {}
    f = fold(node)
    impl = rom_storage(f["reuse"])
    pragma = (f"BIND_STORAGE variable={weights[0]['id']} type=rom_1p impl={impl}" if backend == "vitis"
              else f"RESOURCE variable={weights[0]['id']} core=ROM_1P_{impl.upper()}")
    return {"impl": impl, "storage": pragma, "lanes": f["lanes"], "word": f["groups"] * f["bo"]}


def _check_one_pixel_per_beat(graph: Graph) -> None:
    for node in graph.nodes:
        if node.attrs.get("parallelization_factor", 1) > 1:
            raise OptionError(f"layer {node.name!r}: parallelization factor "
                              f"{node.attrs['parallelization_factor']}: io_stream computes one pixel per clock beat "
                              f"(the factor applies to io_parallel)")


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


def _wiring(graph, io_type, softmax_split, nodes, tensors, allocator):
    """Dataflow designs: the processes to generate, in call order, and the FIFOs
    to declare (depths from dataflow.size_fifos), with their C++ names."""
    net = dataflow.network(graph, io_type, PIXELWISE, softmax_split)
    dataflow.size_fifos(net)
    by_name = {node.name: n for node, n in zip(graph.nodes, nodes)}
    port_tensors = set(graph.inputs) | set(graph.outputs) | ({net.logits.split("#")[0]} if net.logits else set())

    def fresh(base):  # a new identifier (every call), beside every other the allocator gave
        return allocator.claim(base, key=("wiring", len(allocator.ids)))

    names = {}
    for s in net.streams.values():
        ident = tensors[s.tensor]["id"]
        if s.port or s.array:
            names[s.name] = ident
        elif s.name == s.tensor:
            names[s.name] = fresh(ident + "_beats") if io_type == "io_parallel" and s.tensor in port_tensors \
                else ident
        else:
            names[s.name] = fresh(ident + ("_fork" if s.name.endswith("#fork") else "_copy"))

    def view(stream):
        s = net.streams[stream]
        t = tensors[s.tensor]
        return dict(t, id=names[stream], beat=s.beat, beats=s.beats, depth=s.depth,
                    beat_t=f"nnet::array<{t['t']}, {s.beat}>")

    processes = []
    for p in net.processes:
        if p.kind == "port":
            continue
        n = by_name.get(p.node)
        proc = {"kind": p.kind, "n": n, "ins": [view(s) for s in p.ins], "outs": [view(s) for s in p.outs],
                "pipelined": not p.folded, "final": softmax_split and p.node == graph.nodes[-1].name, "rom": {}}
        if p.kind in ("source", "sink"):  # between a port (or the logits) array and a stream
            proc["array"] = tensors[p.name.split("#")[0]]
            proc["outs"] = [] if p.kind == "sink" else proc["outs"]
            proc["fn"] = fresh(proc["array"]["id"] + "_" + p.kind)
        elif p.kind == "fork":
            proc["fn"] = fresh(tensors[net.streams[p.ins[0]].tensor]["id"] + "_split")
        else:
            proc["fn"] = n["id"] + "_stream"
            proc["rom"] = n.get("rom", {})
            proc["summary"] = _summary(p, n, io_type)
            proc["xs"] = _locals(n["xs"])
            if p.kind == "pixelwise":  # the op on each pixel of a beat (a reshape: on the whole beat)
                beat = proc["outs"][0]["beat"]
                pixel = beat if n["op"] == "reshape" else n["y"]["shape"][-1]
                proc["pixels"] = beat // pixel
                proc["chunk"] = dict(n, x=dict(proc["xs"][0], size=pixel), y=dict(n["y"], size=pixel),
                                     xs=[dict(x, size=pixel) for x in proc["xs"]])
            if p.kind == "regroup":
                a, b = proc["ins"][0]["beat"], proc["outs"][0]["beat"]
                proc["lcm"] = a * b // math.gcd(a, b)
            proc["node"] = dict(n, xs=proc["xs"], x=proc["xs"][0])
            proc["ii"] = max(s["beats"] for s in proc["ins"] + proc["outs"])  # one beat per stream per clock
        processes.append(proc)
    logits = view(net.logits) if net.logits else None
    streams = [view(s.name) for s in net.streams.values() if not s.port and not s.array and s.name != net.logits]
    return processes, streams, logits


def _locals(xs: list) -> list:
    """A node's inputs as local arrays: a tensor read twice (Add([x, x])) gets a second name."""
    seen = set()
    out = []
    for k, x in enumerate(xs):
        out.append(dict(x, id=f"{x['id']}_in{k}") if x["id"] in seen else x)
        seen.add(x["id"])
    return out


def _summary(p, n, io_type) -> str:
    """One line on what a process computes per clock (the header comment of its function)."""
    reuse = n["reuse_factor"]
    per = f", {reuse} clocks each" if reuse > 1 else ""
    if p.kind == "window":
        cfg = dict(n["config"])
        if io_type == "io_stream":
            return (f"{cfg['ph']} x {cfg['pw']} input pixels (padding included) scanned one per beat{per}; "
                    f"an output pixel per completed window")
        groups = f"{cfg['steps']} groups" if cfg["steps"] > 1 else "one group"
        return (f"{cfg['ph']} input rows (padding included) read one per beat; each output row in {groups} "
                f"of {cfg['pf']} pixels{per}")
    if p.kind == "pool_global":
        return f"a running {'sum' if n['mode'] == 'avg' else 'maximum'} over {p.reads[p.ins[0]].size} beats"
    if p.kind == "pixelwise":
        return f"one beat of {n['y']['beat']} values per clock"
    if p.kind == "regroup":
        return "the same values in beats of another size"
    return "the whole tensor at once" + (f", {reuse} clocks (reuse factor)" if reuse > 1 else "")


def _check_partitions(graph, ctx) -> None:
    """No array the firmware partitions completely may exceed PARTITION_LIMIT
    elements: the tensors (io_parallel pipeline), the beats and the arrays
    each process buffers (dataflow). The ports of io_parallel are the user's
    interface, one register per value at any size (as in hls4ml): the lint's
    partition-limit finding warns of them on convert."""
    ports = {t["name"] for t in ctx["inputs"] + ctx["outputs"]}
    def check(what, size, node=None):
        if size > PARTITION_LIMIT:
            where = f"layer {node!r}: " if node else ""
            hint = ("use --io stream, or a smaller parallelization factor" if ctx["io_type"] == "io_parallel"
                    else "this layer needs the whole tensor at once")
            raise OptionError(f"{where}{what} has {size} values, above the {PARTITION_LIMIT} an array may be "
                              f"partitioned into registers: {hint}")
    if not ctx["dataflow"]:
        for t in ctx["tensors"]:
            if t["name"] not in ports:
                check(f"tensor {t['name']!r}", t["size"])
        return
    for s in ctx["streams"]:
        check(f"a beat of tensor {s['name']!r}", s["beat"])
    for p in ctx["processes"]:
        n = p["n"]
        if p["kind"] == "whole":
            for t in p["ins"] + p["outs"]:
                check(f"tensor {t['name']!r} (buffered whole)", t["size"], n and n["id"])
        if p["kind"] == "window":
            cfg = dict(n["config"])
            c = cfg["c"]
            window = cfg["khs"] * (cfg["kws"] if ctx["io_type"] == "io_stream" else cfg["pwx"]) * c
            check("its window register", window, n["id"])
        if p["kind"] == "regroup":
            a, b = p["ins"][0]["beat"], p["outs"][0]["beat"]
            check("its regrouping buffer", a * b // math.gcd(a, b), n["id"])


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
        raise ProjectError(f"{out_dir}: directory is not empty (use --force, or force=True in Python, to replace it)")
    return out_dir


def write_project(graph: Graph, out_dir, settings: dict, tb_data: dict, force: bool = False) -> Path:
    """Write the project to out_dir, atomically: a complete new project or the old one."""
    out_dir = check_output_dir(out_dir, force)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        _render(graph, tmp, settings, tb_data)
        found = problems(tmp, settings["backend"])
        errors = [p for p in found if p.kind not in MODEL_KINDS]
        if errors:  # a bug in hlsflow's templates, not in the user's model
            raise ProjectError(f"generated firmware fails the synthesizability lint: {errors[0]}")
        if found:
            kinds = sorted({p.kind for p in found})
            warnings.warn(f"{graph.name}: {len(found)} synthesizability lint finding(s) ({', '.join(kinds)}), "
                          f"e.g. {found[0]}; a larger reuse factor or io_stream folds the layer; "
                          f"`hlsflow lint {out_dir}` lists them", stacklevel=3)
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
    backend = settings["backend"]
    for path, template in files.items():
        _write(root / path, spelled_for(backend, env.get_template(template).render(**ctx)))
    weight_template = env.get_template("firmware/weights.h.j2")
    for w in ctx["weights"]:
        _write(root / "firmware" / "weights" / f"{w['id']}.h", weight_template.render(w=w))
    for header in sorted((templates_dir() / "firmware" / "nnet").glob("*.h")):
        _write(root / "firmware" / "nnet" / header.name, spelled_for(backend, header.read_text()))
    shutil.copy(templates_dir() / "tb" / "hlsflow_csim.h", root / "tb" / "hlsflow_csim.h")
    shutil.copytree(ap_types_dir(), root / "firmware" / "ap_types")
    graph.meta["project"] = dict(settings, name=name)
    _write(root / "project.json", graph.dumps() + "\n")
    for key, rows in sorted(tb_data.items()):
        _write(root / "tb_data" / f"{key}.txt", "".join(" ".join(repr(float(v)) for v in row) + "\n" for row in rows))


POSITIONAL_PARTITION = re.compile(r"(#pragma HLS ARRAY_(?:PARTITION|RESHAPE) variable=\S+) (complete|cyclic|block)\b")


def spelled_for(backend: str, text: str) -> str:
    """The firmware is written with Vivado HLS's positional partition type
    (UG902); Vitis HLS documents it as type=<type> (UG1399, pragma HLS
    array_partition / array_reshape)."""
    return POSITIONAL_PARTITION.sub(r"\1 type=\2", text) if backend == "vitis" else text


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
