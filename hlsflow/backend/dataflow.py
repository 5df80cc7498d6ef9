"""The dataflow network of a generated design: one process per layer (plus
stream forks, and in io_parallel the processes that move the ports' arrays
into and out of streams), the hls::stream FIFOs between them, their depths,
and the clock-level schedule they imply.

Every process is one pipelined loop (II = 1) with a static schedule: in which
of its clocks it reads or writes each stream never depends on the data. The
network is therefore a cyclo-static dataflow graph, and a FIFO of depth D can
be modelled as a second channel running backwards with D free slots. For such
a graph, whether every process runs to completion depends only on the
depths, not on the processes' relative speeds (the histories of a Kahn
network are unique). So one simulated run that completes proves that no
deadlock can happen at those depths; `size_fifos` finds such depths (2, the
tools' default, except where branches meet again). The model
includes pipeline stalls (the tools' default pipeline style stalls every stage
while a read waits): a loop `depth` clocks deep that waits for an input also
holds the results of its last `depth` clocks, so clock i's writes are taken to
happen only when clock i + depth starts (SIZING_DEPTH bounds every loop's
depth when sizing). The same simulation, with each layer's estimated
depth, gives the report's latency.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hlsflow.errors import ProjectError
from hlsflow.ir import Graph
from hlsflow.passes.hardware import is_global_pool, output_pixels, window_geometry

SIZING_DEPTH = 16  # clocks: bound assumed on any layer loop's pipeline depth when sizing FIFOs (twice the deepest
# the report estimates for 5 ns clocks; Vitis HLS pipelines stall by default, UG1448 "Pipeline Styles")
MIN_DEPTH = 2  # the HLS tools' default FIFO depth


@dataclass
class Stream:
    """One FIFO: `beats` beats of `beat` values of `tensor` per inference."""
    name: str
    tensor: str
    beat: int
    beats: int
    depth: int = MIN_DEPTH
    port: bool = False  # a top-level stream argument (io_stream): not declared, the caller keeps up
    array: bool = False  # a whole-tensor array between processes (io_parallel softmax), not a FIFO


@dataclass
class Process:
    """One loop: `clocks` iterations per inference; reads[s] / writes[s]: the clocks that access stream s."""
    name: str
    kind: str  # window, pool_global, pixelwise, regroup, whole, fork, source, sink; port: the caller (not generated)
    node: str | None
    ins: list
    outs: list
    clocks: int
    reads: dict = field(default_factory=dict)
    writes: dict = field(default_factory=dict)
    folded: bool = False  # a loop over clocks (else the function itself is pipelined)


@dataclass
class Network:
    processes: list
    streams: dict
    logits: str | None = None  # stream (or array) between the logits function and a final softmax


def beat_size(shape, io_type: str) -> int:
    """Values per beat: one pixel (the last axis) in io_stream; one row in io_parallel (the
    whole tensor below rank 3)."""
    size = int(np.prod(shape))
    if io_type == "io_stream":
        return int(shape[-1])
    return size // int(shape[0]) if len(shape) == 3 else size


def is_dataflow(graph: Graph, io_type: str) -> bool:
    """io_stream always; io_parallel as soon as a layer is folded (reuse factor or
    resource strategy) or computes a few pixels at a time (otherwise the whole
    design is one pipeline, every loop unrolled)."""
    return io_type == "io_stream" or any(_folded(n) or _windowed(graph, n, io_type) for n in graph.nodes)


def final_softmax(graph: Graph) -> bool:
    """Whether the model ends in a softmax that runs after a separate logits function."""
    return bool(graph.nodes) and graph.nodes[-1].op == "softmax" and graph.outputs == [graph.nodes[-1].outputs[0]]


def _folded(node) -> bool:
    """A layer computed over several clocks: by its reuse factor or strategy, or a
    recurrent layer's time loop (one cell reused on every step)."""
    return (node.attrs.get("reuse_factor", 1) > 1 or node.attrs.get("strategy") == "resource"
            or _time_loop(node))


def _time_loop(node) -> bool:
    return node.op == "recurrent" and not node.attrs["unroll_time"]


def _windowed(graph: Graph, node, io_type: str) -> bool:
    """Whether a conv/pool node scans its input (else it computes every pixel at once)."""
    return node.op in ("conv", "pool") and _beats_are_scan_steps(graph, node, io_type) and (
        io_type == "io_stream" or node.attrs["parallelization_factor"] < output_pixels(node))


def _beats_are_scan_steps(graph: Graph, node, io_type: str) -> bool:
    """Whether a conv/pool node's tensors come in the beats its scan reads and
    writes: one row (io_parallel) or pixel (io_stream) of its (h, w, c) each.
    An EinsumDense, a 1 x 1 convolution over a tensor of another shape, need not."""
    a = node.attrs
    for name, (h, w, c) in ((node.inputs[0], a["in_hwc"]), (node.outputs[0], a["out_hwc"])):
        shape = graph.tensors[name].shape
        if beat_size(shape, io_type) != (c if io_type == "io_stream" else w * c):
            return False
    return True


def process_kind(graph: Graph, node, io_type: str, pixelwise) -> str:
    if node.op == "pool" and is_global_pool(node.attrs):
        return "pool_global"  # a running maximum or sum, beat by beat
    if _windowed(graph, node, io_type):
        return "window"
    if node.op == "reshape":
        x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
        return "pixelwise" if beat_size(x.shape, io_type) == beat_size(y.shape, io_type) else "regroup"
    if node.op in pixelwise:
        return "pixelwise"
    return "whole"


def network(graph: Graph, io_type: str, pixelwise, softmax_split: bool) -> Network:
    """The processes (in a valid call order) and streams of a dataflow design.
    `softmax_split`: the final softmax runs after a separate logits function.
    Stream names: a tensor's name, `t#fork` for the stream its producer writes
    when a fork copies it to several users, `t#i` for the copy to user i."""
    stream_io = io_type == "io_stream"
    body = graph.nodes[:-1] if softmax_split else graph.nodes
    ends = [graph.nodes[-1].inputs[0]] if softmax_split else list(graph.outputs)
    users = {t: [] for t in graph.tensors}
    for node in body:
        for k, t in enumerate(node.inputs):
            users[t].append((node.name, k))
    for t in ends:
        users[t].append(None)  # read outside the body: an output port, or the final softmax
    net = Network([], {}, ends[0] if softmax_split else None)
    reader = {}  # (node, input index) or (None, tensor) -> stream

    def add(name, t, port=False):
        beat = beat_size(graph.tensors[t].shape, io_type)
        net.streams[name] = Stream(name, t, beat, graph.tensors[t].size // beat, port=port)
        return name

    def produce(t) -> tuple:
        """The streams of tensor t: (the one its producer writes, the fork copying it to several users or None)."""
        many = len(users[t]) > 1
        head = add(f"{t}#fork" if many else t, t, port=stream_io and t in graph.inputs)
        copies = [head] if not many else [add(t if u is None else f"{t}#{i}", t) for i, u in enumerate(users[t])]
        for u, name in zip(users[t], copies):
            reader[(None, t) if u is None else u] = name
            if u is None and stream_io and not softmax_split:
                net.streams[name].port = True
        if not many:
            return head, None
        every = np.arange(net.streams[head].beats)
        return head, Process(f"{t}#split", "fork", None, [head], copies, len(every), {head: every},
                             {c: every for c in copies}, folded=True)

    for t in graph.inputs:
        beats = graph.tensors[t].size // beat_size(graph.tensors[t].shape, io_type)
        source = Process(f"{t}#source", "source" if not stream_io else "port", None, [], [], beats)
        head, fork = produce(t)
        source.outs, source.writes = [head], {head: np.arange(beats)}
        net.processes += [source] + ([fork] if fork else [])
    for node in body:
        ins = [reader[(node.name, k)] for k in range(len(node.inputs))]
        if not users[node.outputs[0]]:
            raise ProjectError(f"layer {node.name!r}: its output {node.outputs[0]!r} is used nowhere")
        head, fork = produce(node.outputs[0])
        net.processes += [_layer_process(graph, node, io_type, pixelwise, ins, head, net.streams)] + (
            [fork] if fork else [])
    for t in ends:
        if not (stream_io and softmax_split):  # (there the final softmax reads the logits stream)
            s = reader[(None, t)]
            beats = net.streams[s].beats
            net.processes.append(Process(f"{t}#sink", "port" if stream_io else "sink", None, [s], [], beats,
                                         {s: np.arange(beats)}, {}))
    if softmax_split:
        node, y = graph.nodes[-1], graph.outputs[0]
        logits = reader[(None, ends[0])]
        if stream_io:
            out = add(y, y, port=True)
            net.processes.append(_layer_process(graph, node, io_type, pixelwise, [logits], out, net.streams))
            beats = net.streams[out].beats
            net.processes.append(Process(f"{y}#sink", "port", None, [out], [], beats, {out: np.arange(beats)}, {}))
        else:  # the sink fills the logits array; the softmax reads it whole into the output array
            arrays = [Stream(f"{t}#array", t, graph.tensors[t].size, 1, array=True) for t in (ends[0], y)]
            net.streams.update({a.name: a for a in arrays})
            sink = net.processes[-1]
            sink.outs, sink.writes = [arrays[0].name], {arrays[0].name: np.array([sink.clocks - 1])}
            net.processes.append(Process(node.name, "whole", node.name, [arrays[0].name], [arrays[1].name], 1,
                                         {arrays[0].name: np.array([0])}, {arrays[1].name: np.array([0])}))
            logits = arrays[0].name
        net.logits = logits
    return net


def _layer_process(graph, node, io_type, pixelwise, ins, out, streams) -> Process:
    kind = process_kind(graph, node, io_type, pixelwise)
    proc = Process(node.name, kind, node.name, list(ins), [out], 0)
    if kind == "window":
        proc.folded = True
        clocks, reads, writes = _window_schedule(node, io_type)
        proc.clocks, proc.reads, proc.writes = clocks, {ins[0]: reads}, {out: writes}
    elif kind == "pool_global":
        proc.folded = True
        n = streams[ins[0]].beats
        proc.clocks, proc.reads, proc.writes = n + 1, {ins[0]: np.arange(n)}, {out: np.array([n])}
    elif kind in ("pixelwise", "fork"):
        proc.folded = True
        n = streams[out].beats
        proc.clocks = n
        proc.reads = {s: np.arange(n) for s in ins}
        proc.writes = {out: np.arange(n)}
    elif kind == "regroup":
        proc.folded = True
        bi, bo = streams[ins[0]].beat, streams[out].beat
        lcm = bi * bo // math.gcd(bi, bo)
        chunks, ri, ro = graph.tensors[node.outputs[0]].size // lcm, lcm // bi, lcm // bo
        starts = np.arange(chunks) * (ri + ro)
        proc.clocks = chunks * (ri + ro)
        proc.reads = {ins[0]: (starts[:, None] + np.arange(ri)).ravel()}
        proc.writes = {out: (starts[:, None] + ri + np.arange(ro)).ravel()}
    else:  # whole: read every beat, compute, write every beat
        compute = node.attrs.get("reuse_factor", 1) if node.op in ("dense", "conv") else 1
        if _time_loop(node):  # a step every reuse-factor clocks (the report adds the cells' depth)
            compute = node.attrs["steps"] * node.attrs["reuse_factor"]
        proc.folded = compute > 1 or _time_loop(node)  # a loop over clocks, else one pipelined function
        at, proc.reads = 0, {}
        for s in ins:
            proc.reads[s] = at + np.arange(streams[s].beats)
            at += streams[s].beats
        at += compute
        proc.writes = {out: at + np.arange(streams[out].beats)}
        proc.clocks = at + streams[out].beats
    return proc


def _window_schedule(node, io_type):
    """(clocks, read clocks, write clocks) of a conv/pool scan, as nnet_stream.h runs it."""
    a = node.attrs
    reuse = a.get("reuse_factor", 1) if node.op == "conv" else 1
    pf = 1 if io_type == "io_stream" else a["parallelization_factor"]
    g = window_geometry(a, pf)
    (ih, iw, _), (oh, ow, _) = a["in_hwc"], a["out_hwc"]
    (sh, sw), (pt, _, pl, _) = a["strides"], a["pads"]
    rows = np.arange(g["ph"])
    row_in = (rows >= pt) & (rows < pt + ih)
    row_out = np.zeros(g["ph"], bool)
    row_out[(g["khs"] - 1) + sh * np.arange(oh)] = True
    if io_type == "io_stream":
        cols = np.arange(g["pw"])
        col_in = (cols >= pl) & (cols < pl + iw)
        col_out = np.zeros(g["pw"], bool)
        col_out[(g["kws"] - 1) + sw * np.arange(ow)] = True
        step = np.arange(g["ph"] * g["pw"]) * reuse
        reads = step[(row_in[:, None] & col_in[None, :]).ravel()]
        writes = step[(row_out[:, None] & col_out[None, :]).ravel()] + reuse - 1
        return g["ph"] * g["pw"] * reuse, reads, writes
    burst = g["steps"] * reuse  # clocks computing one output row
    starts = np.arange(g["ph"]) + burst * np.concatenate([[0], np.cumsum(row_out)[:-1]])
    reads = starts[row_in]
    writes = starts[row_out] + burst
    return g["ph"] + oh * burst, reads, writes


# ------------------------------------------------------------------ schedule

@dataclass
class Schedule:
    complete: bool
    finish: dict  # process -> clock of its last event
    occupancy: dict  # stream -> most beats it held at once
    blocked: list  # deadlock: full streams whose reader waits for another, empty, stream


def simulate(net: Network, depths: dict, pipeline, events: dict | None = None) -> Schedule:
    """Run one inference through the network: every process starts at clock 0 and
    takes each of its clocks as soon as the beats it reads are there and the
    FIFOs it writes have room (a write of clock i waits for clock i + pipeline(p)).
    Event-driven: a process is revisited only when a stream it waits on changes.
    `events`: the processes' events (schedule_events), when already computed."""
    events = events or schedule_events(net, pipeline)
    written = {s: [] for s in net.streams}
    read = {s: [] for s in net.streams}
    cap = {s: depths.get(s) or (1 << 60) for s in net.streams}  # ports (depth 0): the caller keeps up
    writer = {s: p.name for p in net.processes for s in p.outs}
    reader = {s: p.name for p in net.processes for s in p.ins}
    pos = {p.name: 0 for p in net.processes}
    time = {p.name: (-1, -1) for p in net.processes}  # (clock index, time) of the last event
    queue, queued = deque(pos), set(pos)
    while queue:
        name = queue.popleft()
        queued.discard(name)
        ev, touched, at = events[name], set(), pos[name]
        last_clock, last_time = time[name]
        while at < len(ev):
            clock, ins, outs = ev[at]
            t = max(clock, last_time + (clock - last_clock))
            ready = True
            for s in ins:
                w, r = written[s], read[s]
                if len(w) <= len(r):
                    ready = False
                    break
                t = max(t, w[len(r)] + 1)
            for s in outs if ready else ():
                k, d = len(written[s]), cap[s]
                if k - len(read[s]) >= d:
                    ready = False
                    break
                if k >= d:
                    t = max(t, read[s][k - d] + 1)
            if not ready:
                break
            for s in ins:
                read[s].append(t)
            for s in outs:
                written[s].append(t)
            last_clock, last_time = clock, t
            at += 1
            touched.update(ins)
            touched.update(outs)
        pos[name], time[name] = at, (last_clock, last_time)
        for s in touched:
            for other in (writer.get(s), reader.get(s)):
                if other and other != name and other not in queued and pos[other] < len(events[other]):
                    queue.append(other)
                    queued.add(other)
    complete = all(pos[n] == len(events[n]) for n in pos)
    blocked = set()
    if not complete:
        pending = {n: events[n][pos[n]] for n in pos if pos[n] < len(events[n])}
        starved = {n for n, (_, ins, _) in pending.items() if any(len(written[s]) <= len(read[s]) for s in ins)}
        waiting = [s for _, _, outs in pending.values() for s in outs if len(written[s]) - len(read[s]) >= cap[s]]
        blocked = {s for s in waiting if reader.get(s) in starved} or set(waiting)
    occupancy = {s: int(np.max(np.arange(1, len(w) + 1) - np.searchsorted(read[s], w))) if w else 0
                 for s, w in written.items()}
    return Schedule(complete, {p: t for p, (_, t) in time.items()}, occupancy, sorted(blocked))


def schedule_events(net: Network, pipeline) -> dict:
    """Per process: (clock, streams read, streams written) in clock order, a write of
    clock i taking place at clock i + pipeline(p) (the pipeline stalls with its reads)."""
    out = {}
    for p in net.processes:
        depth = pipeline(p)
        streams = list(p.reads) + list(p.writes)
        clocks = list(p.reads.values()) + [c + depth for c in p.writes.values()]
        events = []
        if clocks:
            clock = np.concatenate(clocks)
            kind = np.concatenate([np.full(len(c), k) for k, c in enumerate(clocks)])
            order = np.lexsort((kind, clock))
            for c, k in zip(clock[order].tolist(), kind[order].tolist()):
                if not events or events[-1][0] != c:
                    events.append((c, [], []))
                events[-1][1 if k < len(p.reads) else 2].append(streams[k])
        out[p.name] = events
    return out


def size_fifos(net: Network) -> None:
    """Set every FIFO's depth so that the network cannot deadlock. FIFOs into a
    process that reads several streams (a join) get the most beats they hold in
    a run where they are unbounded (the others at 2); the run is then repeated at
    those depths until it completes, doubling in a deadlock the full FIFOs whose
    reader waits for another, empty, input (those full only because their reader
    is blocked writing are not the cause)."""
    depths = {s.name: (0 if s.port else MIN_DEPTH) for s in net.streams.values()}
    joins = [s for p in net.processes if len(p.ins) > 1 for s in p.ins if not net.streams[s].port]
    events = schedule_events(net, lambda p: SIZING_DEPTH)
    if joins:
        first = simulate(net, dict(depths, **dict.fromkeys(joins, 0)), None, events)
        depths.update({s: max(MIN_DEPTH, first.occupancy[s]) for s in joins})
    for _ in range(64):
        result = simulate(net, depths, None, events)
        if result.complete:
            for name, d in depths.items():
                net.streams[name].depth = d
            return
        if not result.blocked:
            raise ProjectError("dataflow network: a process waits for data no process writes (hlsflow bug)")
        for s in result.blocked:
            depths[s] *= 2
    raise ProjectError("dataflow network: FIFO sizing did not converge (hlsflow bug)")
