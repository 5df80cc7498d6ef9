"""Hardware estimates from the IR: multipliers, adders, memories, latency.

They follow the firmware hlsflow generates (hlsflow/backend/dataflow.py
decides its structure), not a model of it:
- io_parallel with no layer folded: one pipeline, every loop unrolled (II 1);
  a convolution builds its kernel at every output pixel. The latency is the
  critical path of the layers' arithmetic delays.
- Otherwise a DATAFLOW network of one process per layer. A latency-strategy
  kernel (reuse factor 1) multiplies by constant weights; a resource-strategy
  kernel has `lanes` multipliers fed from a weight ROM, RF clocks per input
  vector or output pixel; a convolution or pooling builds its kernel once per
  pixel computed at once (the parallelization factor; 1 in io_stream). Each
  process's II is its loop's clocks plus its pipeline depth (or, for a whole
  pipelined function, its beats); the design's II is the slowest process's;
  the latency is that of hlsflow's clock-level simulation of the network
  (the one that sizes the FIFOs).

Weights are constants unless in a ROM, so each multiplication is a
constant-coefficient multiplier: a zero weight costs nothing, a power of two
(incl. +-1, so binary and ternary weights) is a shift or an add, and any other
weight costs one adder per extra nonzero digit of its canonical signed-digit
(CSD) form; wide products go to DSPs. Memories are counted by width and
depth: block RAM in 18 Kb blocks of 512 x 36 ... 16K x 1 bits, LUT memory (ROMs,
shift registers, shallow FIFOs) in LUT6 of 64 x 1 (ROM) or 32 x 1 (SRL) bits.
docs/estimates.md compares the figures with published synthesis results:
expect +-50% on resources, and a latency up to twice the estimate.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from hlsflow.backend import dataflow
from hlsflow.backend.writer import PIXELWISE
from hlsflow.division import divider
from hlsflow.steps import step_luts
from hlsflow.ir import Graph
from hlsflow.passes.hardware import conv_uses, fold, output_pixels, rom_storage, window_geometry

DSP_MIN_BITS = 10  # both operands at least this wide: the product goes to a DSP
DSP_ACC_BITS = 48  # the DSP48E2's accumulator (post-adder) width
UNCERTAINTY = 0.5  # of the resource figures; latency: see LATENCY_FACTOR
LATENCY_FACTOR = 2  # hls4ml's csynth latencies of the jet MLPs are up to this much above ours (docs/estimates.md)
# first-order delays on UltraScale+ (ns): LUT adder of ~16 bits, DSP multiply, LUT-table read
ADD_NS, DSP_NS, LUT_MULT_NS, TABLE_NS = 0.9, 2.5, 1.2, 1.5
ROM_BITS_PER_LUT = 64  # a LUT6 holds 64 x 1 bit of a lookup table
SRL_BITS_PER_LUT = 32  # an SRLC32E: a 32-deep shift register of 1 bit
SRL_FIFO_DEPTH = 32  # deeper FIFOs go to block RAM
BRAM18_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))  # depth x width of a BRAM18K
# CLB LUTs, DSP slices, 18 Kb block RAMs of known parts (AMD DS890, Virtex UltraScale+ overview)
PARTS = {"xcvu9p": (1182240, 6840, 4320), "xcvu13p": (1728000, 12288, 5376)}
COUNTS = ("multiplications", "zero", "shift_or_add", "lut_multipliers", "dsp", "adders", "lut", "lutram",
          "weight_bits", "bram18k", "ebops")
WIRING = ("reshape", "pad", "transpose", "concat", "upsample")


def bram18k(depth: int, width: int) -> int:
    """Block RAMs of 18 Kb holding `depth` words of `width` bits (the best aspect ratio)."""
    if depth <= 0 or width <= 0:
        return 0
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in BRAM18_SHAPES)


def lut_rom(depth: int, width: int) -> int:
    """LUT6s of a read-only memory of `depth` words of `width` bits."""
    return math.ceil(depth / ROM_BITS_PER_LUT) * width


def srl(depth: int, width: int) -> int:
    """LUTs (SRLC32E) of a shift register `depth` deep and `width` bits wide."""
    return math.ceil(depth / SRL_BITS_PER_LUT) * width if depth > 0 else 0


def csd_digits(values: np.ndarray, frac: int) -> np.ndarray:
    """Nonzero digits of each value's canonical signed-digit form (on the grid 2**-frac)."""
    k = np.abs(np.round(np.asarray(values, np.float64) * 2.0 ** frac)).astype(np.int64)
    digits = np.zeros(k.shape, np.int64)
    while np.any(k):
        odd = (k & 1) == 1
        digit = np.where(odd, 2 - (k & 3), 0)  # +1 or -1 for odd k, choosing the one that leaves k/2 even
        digits += odd
        k = (k - digit) >> 1
    return digits


def _products(x_width: int, wt, weights, uses, copies) -> dict:
    """Constant multiplications x * w: `uses` of each weight per inference, `copies` of its circuit."""
    digits = csd_digits(weights, wt.fractional)
    uses, copies = np.broadcast_to(uses, digits.shape), np.broadcast_to(copies, digits.shape)
    nonzero, multiplier = digits > 0, digits > 1
    dsp = multiplier & (x_width >= DSP_MIN_BITS and wt.width >= DSP_MIN_BITS)
    lut_mult = multiplier & ~dsp
    return {"multiplications": int(uses.sum()), "zero": int(uses[~nonzero].sum()),
            "shift_or_add": int(uses[digits == 1].sum()), "lut_multipliers": int(copies[lut_mult].sum()),
            "dsp": int(copies[dsp].sum()),
            "lut": int(np.sum(np.where(lut_mult, digits - 1, 0) * copies) * (x_width + wt.width)),
            "ebops": int(copies[nonzero].sum()) * x_width * wt.width,
            "products": int(copies[nonzero].sum()), "any_dsp": bool(dsp.any()), "any_mult": bool(multiplier.any())}


def _delay(p: dict, terms: int) -> float:
    """Multiply then an adder tree over `terms` inputs (ns)."""
    mult = DSP_NS if p["any_dsp"] else LUT_MULT_NS if p["any_mult"] else 0.0
    return mult + math.ceil(math.log2(max(terms, 2))) * ADD_NS


def _row(node, **fields) -> dict:
    row = dict.fromkeys(COUNTS, 0)
    weighted = node.op in ("dense", "conv")
    row.update(layer=node.name, op=node.op, strategy=node.attrs.get("strategy", "latency") if weighted else "",
               reuse=node.attrs.get("reuse_factor", 1) if weighted else "",
               pf=node.attrs.get("parallelization_factor", ""),
               pixels=output_pixels(node) if node.op in ("conv", "pool") else "", delay=0.0, depth=0,
               clocks=None, latency=0, ii=1, accumulator=0)
    row.update(fields)
    return row


def _kernel_row(graph: Graph, node, weights: np.ndarray, uses, instances, pixels: int = 1,
                scale_copies: int = 1) -> dict:
    """A dense/conv node's kernel built `instances` times (a scalar, or per weight
    like `uses`, each weight's multiplications per inference); `pixels` output
    vectors per inference, each scaled after the sum by one of `scale_copies` circuits."""
    x = graph.tensors[node.inputs[0]].type
    wt, acc = node.attrs["weight_type"], node.attrs["accum_type"]
    f, scale = fold(node), node.params.get("scale")
    uses = np.broadcast_to(uses, weights.shape)
    per_weight = _products(x.width, wt, weights, uses, instances)
    row = _row(node, **{k: per_weight[k] for k in ("multiplications", "zero", "shift_or_add")},
               weight_bits=int(weights.size * wt.width), accumulator=acc.width)
    if node.attrs.get("strategy") == "resource":  # `lanes` multipliers per instance, fed by a weight ROM
        built, width = f["lanes"] * int(np.max(instances)), f["lanes"] * wt.width
        dsp = x.width >= DSP_MIN_BITS and wt.width >= DSP_MIN_BITS
        row.update(dsp=built if dsp else 0, lut_multipliers=0 if dsp else built, adders=built,
                   lut=(0 if dsp else built * x.width * wt.width) + built * acc.width, ebops=built * x.width * wt.width)
        if rom_storage(f["reuse"]) == "bram":
            row["bram18k"] = bram18k(f["reuse"], width)
        else:
            row["lutram"] = lut_rom(f["reuse"], width)
        any_dsp, any_mult, terms = dsp, True, f["bi"] + 1
    else:  # constant weights
        row.update({k: per_weight[k] for k in ("lut_multipliers", "dsp", "lut", "ebops")},
                   adders=per_weight["products"])
        row["lut"] += per_weight["products"] * acc.width
        any_dsp, any_mult = per_weight["any_dsp"], per_weight["any_mult"]
        terms = int(np.max(np.sum(weights.reshape(-1, weights.shape[-1]) != 0, axis=0))) + 1
    delay = _delay({"any_dsp": any_dsp, "any_mult": any_mult}, terms)
    if scale is not None:  # one multiplier per output value, after the sum
        p = _products(acc.width, node.attrs["scale_type"], scale, pixels, scale_copies)
        for key in ("multiplications", "lut_multipliers", "dsp", "lut", "ebops"):
            row[key] += p[key]
        delay += DSP_NS
    row["delay"] = delay
    return row


def _dense_row(graph: Graph, node) -> dict:
    return _kernel_row(graph, node, node.params["weight"], 1, 1)


def _conv_row(graph: Graph, node, unrolled: bool, instances: int) -> dict:
    """`unrolled`: every pixel's kernel built (taps in the padding dropped); else `instances` kernels."""
    a = node.attrs
    w = node.params["weight"].reshape(a["kernel"][0], a["kernel"][1], -1, a["out_hwc"][2])
    uses, pixels = conv_uses(a)[:, :, None, None], output_pixels(node)
    return _kernel_row(graph, node, w, uses, uses if unrolled else instances, pixels,
                       pixels if unrolled else instances)


def _recurrent_row(graph: Graph, node) -> dict:
    """A recurrent cell: its kernel and recurrent-kernel products (one cell
    folded by its reuse factor, or one per step with unroll_time), the gate
    products and tables. `delay`: the steps' cells in series (each step waits
    for the state the last one computed)."""
    a, p = node.attrs, node.params
    x = graph.tensors[node.inputs[0]].type
    hs = a.get("state_type") or graph.tensors[node.outputs[0]].type
    steps, units, reuse, acc = a["steps"], a["units"], a.get("reuse_factor", 1), a["accum_type"]
    copies = steps if a.get("unroll_time") else 1
    w, u = p["weight"], p["recurrent_weight"]
    products = [_products(x.width, a["weight_type"], w, steps, copies),
                _products(hs.width, a["recurrent_weight_type"], u, steps, copies)]
    total = {k: sum(q[k] for q in products) for k in ("multiplications", "zero", "shift_or_add", "lut_multipliers",
                                                      "dsp", "lut", "ebops", "products")}
    adders = total.pop("products")  # one adder per nonzero product (the bias takes the place of the first)
    terms = int(np.max(np.sum(w != 0, axis=0) + np.sum(u != 0, axis=0))) + 1
    delay = _delay({"any_dsp": any(q["any_dsp"] for q in products),
                    "any_mult": any(q["any_mult"] for q in products)}, terms)
    row = _row(node, **total, adders=adders, accumulator=acc.width, strategy=a.get("strategy", "latency"),
               reuse=reuse, weight_bits=int(w.size * a["weight_type"].width + u.size * a["recurrent_weight_type"].width))
    row["lut"] += adders * acc.width
    for key in ("lut_multipliers", "dsp", "adders", "lut", "ebops"):  # the multipliers shared by RF clocks
        row[key] = math.ceil(row[key] / reuse)
    # gate products (LSTM: f*c, i*g, o*cell(c); GRU: r*h, z*h, (1-z)*h~) and activation tables, per cell
    gate_products = 0 if a["cell"] == "simple" else 3 * units * copies
    rec = a.get("rec_type", hs)
    wide = rec.width >= DSP_MIN_BITS and hs.width >= DSP_MIN_BITS
    row["multiplications"] += gate_products * steps // copies
    row["dsp" if wide else "lut_multipliers"] += gate_products
    row["lut"] += 0 if wide else gate_products * rec.width * hs.width
    row["adders"] += gate_products * 2 // 3
    lookups = {"rec": (3 if a["cell"] == "lstm" else 2) * units, "cand": units, "cell": units}
    for role, count in lookups.items():
        if f"{role}_index_type" in a:
            index, out = a[f"{role}_index_type"], a[f"{role}_type"]
            row["lut"] += count * copies * lut_rom(2 ** index.width, out.width)
            row["weight_bits"] += 2 ** index.width * out.width
    gates = 2 if a["cell"] == "lstm" else 1 if a["cell"] == "gru" else 0  # activations in series after the sum
    step = delay + (gates + 1) * (TABLE_NS if "cand_index_type" in a else ADD_NS) + gates * (
        (DSP_NS if wide else LUT_MULT_NS) + ADD_NS)
    row["delay"] = steps * step
    return row


def _variable_products(count: int, a, b, depth_terms: int) -> dict:
    """`count` products of two variables (of types a and b) and their adder trees."""
    wide = a.width >= DSP_MIN_BITS and b.width >= DSP_MIN_BITS
    return {"multiplications": count, "dsp": count if wide else 0, "lut_multipliers": 0 if wide else count,
            "lut": 0 if wide else count * a.width * b.width, "adders": count,
            "delay": (DSP_NS if wide else LUT_MULT_NS) + math.ceil(math.log2(max(depth_terms, 2))) * ADD_NS}


def _attention_row(graph: Graph, node) -> dict:
    """Scores (q.k), the softmax tables and the weighted sums of the values, all unrolled."""
    a = node.attrs
    q, v = graph.tensors[node.inputs[0]].type, graph.tensors[node.inputs[2]].type
    rows = a["heads"] * a["query_steps"]
    scores = _variable_products(rows * a["key_steps"] * a["key_dim"], q, q, a["key_dim"])
    values = _variable_products(rows * a["key_steps"] * a["value_dim"], a["prob_type"], v, a["key_steps"])
    table = _softmax_row(node, a["key_steps"], rows)
    return _row(node, **{k: scores.get(k, 0) + values.get(k, 0) + table[k] for k in ("multiplications", "dsp", "lut_multipliers",
                                                                       "lut", "lutram", "adders")},
                weight_bits=table["weight_bits"], delay=scores["delay"] + table["delay"] + values["delay"])


def _layernorm_row(graph: Graph, node, n: int) -> dict:
    """Per group: the sum, the squares, one table read, the normalizing and gamma products."""
    a = node.attrs
    products = _variable_products(2 * n, a["square_type"], a["dev_type"], a["channels"])
    scale = _variable_products(n, a["norm_type"], a["weight_type"], 1)
    table = a["rsqrt_table_type"]
    rom = lut_rom(2 ** a["index_bits"], table.width) * (n // a["channels"])
    return _row(node, **{k: products[k] + scale[k] for k in ("multiplications", "dsp", "lut_multipliers", "adders")},
                lut=products["lut"] + scale["lut"] + rom, lutram=rom, weight_bits=2 ** a["index_bits"] * table.width,
                delay=2 * products["delay"] + TABLE_NS + scale["delay"])


def _pool_row(graph: Graph, node, unrolled: bool, instances: int) -> dict:
    """Max: a compare-and-select per extra window position; average: an adder tree and one division."""
    a, x = node.attrs, graph.tensors[node.inputs[0]].type
    channels, window = a["in_hwc"][2], conv_uses(a)
    positions = int(window.sum()) if unrolled else int(window.size) * instances  # window reads built, per channel
    outputs = output_pixels(node) if unrolled else instances
    extra = (positions - outputs) * channels
    depth = math.ceil(math.log2(max(int(window.size), 2)))
    if a.get("mode") == "avg":  # a division: a multiplication by a reciprocal (hlsflow/division.py)
        acc = a["accum_type"]
        reciprocal = divider(a["divisors"], acc, graph.tensors[node.outputs[0]].type, node.name)["width"]
        divisions = outputs * channels
        return _row(node, adders=extra, lut_multipliers=divisions, delay=depth * ADD_NS + LUT_MULT_NS,
                    lut=extra * acc.width + divisions * acc.width * reciprocal)
    return _row(node, adders=extra, lut=extra * 2 * x.width, delay=depth * ADD_NS)


def _table_row(graph: Graph, node, lookups: int) -> dict:
    index, out = node.attrs["index_type"], graph.tensors[node.outputs[0]].type
    rom = lut_rom(2 ** index.width, out.width)
    return _row(node, lut=lookups * rom, lutram=lookups * rom, weight_bits=2 ** index.width * out.width,
                delay=TABLE_NS)


def _step_row(graph: Graph, node, n: int) -> dict:
    """k - 1 comparisons with constants and a k-way selection per value (steps.py); log2(k) selection levels."""
    x, y, k = graph.tensors[node.inputs[0]].type, graph.tensors[node.outputs[0]].type, len(node.params["levels"])
    return _row(node, lut=n * step_luts(x.width, k, y.width), weight_bits=k * y.width + (k - 1) * x.width,
                delay=ADD_NS + math.ceil(math.log2(k)) * TABLE_NS / 2)


def _softmax_row(node, n: int, rows: int = 1) -> dict:
    """Per row of n values: max over the inputs, n exp lookups, their sum, one 1/sum lookup, n products."""
    a = node.attrs
    tables = [(a["index_type"], a["exp_type"], n), (a["inv_index_type"], a["inv_type"], 1)]
    rom = sum(k * lut_rom(2 ** i.width, t.width) for i, t, k in tables)
    wide = a["exp_type"].width >= DSP_MIN_BITS and a["inv_type"].width >= DSP_MIN_BITS
    depth = math.ceil(math.log2(max(n, 2)))
    products = 0 if wide else n * a["exp_type"].width * a["inv_type"].width
    return _row(node, dsp=rows * n if wide else 0, lut_multipliers=0 if wide else rows * n, adders=rows * (2 * n - 1),
                lut=rows * (rom + (2 * n - 1) * a["sum_type"].width + products), lutram=rows * rom,
                weight_bits=sum(2 ** i.width * t.width for i, t, _ in tables),
                delay=(2 * depth + 1) * ADD_NS + 2 * TABLE_NS + (DSP_NS if wide else LUT_MULT_NS))


def _dot_row(graph: Graph, node) -> dict:
    """I * J sums of K products of two variables (DSPs when both are wide)."""
    a, b = (graph.tensors[t] for t in node.inputs)
    k = a.shape[node.attrs["axes"][0]]
    outputs = graph.tensors[node.outputs[0]].size
    wide = min(a.type.width, b.type.width) >= DSP_MIN_BITS
    n = outputs * k
    return _row(node, multiplications=n, dsp=n if wide else 0, lut_multipliers=0 if wide else n,
                adders=outputs * (k - 1), lut=(0 if wide else n * a.type.width * b.type.width)
                + outputs * (k - 1) * node.attrs["accum_type"].width,
                delay=(DSP_NS if wide else LUT_MULT_NS) + math.ceil(math.log2(max(k, 2))) * ADD_NS)


def _elementwise_row(graph: Graph, node, n: int) -> dict:
    """Casts, activations by comparison, merges; wiring ops (reshape, pad, ...) cost nothing."""
    ts = [graph.tensors[t].type for t in node.inputs]
    y = graph.tensors[node.outputs[0]].type
    mode = node.attrs.get("mode")
    if node.op in WIRING:
        return _row(node)
    if node.op == "merge" and mode == "multiply":
        wide = min(t.width for t in ts) >= DSP_MIN_BITS
        return _row(node, multiplications=n, dsp=n if wide else 0, lut_multipliers=0 if wide else n,
                    lut=0 if wide else n * ts[0].width * ts[1].width, delay=DSP_NS if wide else LUT_MULT_NS)
    if node.op == "merge" and mode in ("add", "subtract", "average"):
        return _row(node, adders=n, lut=n * y.width, delay=ADD_NS)
    if node.op in ("scale_shift", "prelu") or (node.op == "leaky_relu" and "alpha_type" in node.attrs):
        weights = (node.params["weight"] if node.op == "scale_shift" else node.params["alpha"] if node.op == "prelu"
                   else np.array([node.attrs["alpha"]]))
        wt = node.attrs.get("weight_type", node.attrs.get("alpha_type"))
        uses = max(n // weights.size, 1)
        p = _products(ts[0].width, wt, weights, uses, uses)
        p.pop("any_dsp"), p.pop("any_mult")
        return _row(node, **{k: v for k, v in p.items() if k not in ("products", "lut")}, adders=p["products"],
                    lut=p["lut"] + p["products"] * y.width, delay=LUT_MULT_NS + ADD_NS)
    return _row(node, lut=n * y.width)  # a compare and select, or a saturating cast, per value


def _node_row(graph: Graph, node, io_type: str, kind: str | None) -> dict:
    """The circuits of a node as generated: `kind` is its dataflow process (None: the one-pipeline design)."""
    y = graph.tensors[node.outputs[0]]
    n = dataflow.beat_size(y.shape, io_type) if kind == "pixelwise" else y.size  # values computed at once
    if node.op in ("conv", "pool"):
        scanning = kind in ("window", "pool_global")
        instances = 1 if io_type == "io_stream" or not scanning else node.attrs["parallelization_factor"]
        row = (_conv_row if node.op == "conv" else _pool_row)(graph, node, not scanning, instances)
        if scanning and io_type == "io_stream" and kind == "window":  # delay lines: shift registers
            g = window_geometry(node.attrs)
            bits = graph.tensors[node.inputs[0]].type.width * node.attrs["in_hwc"][2]
            lines = (g["khs"] - 1) * srl(g["pw"] - g["kws"], bits)
            row["lut"] += lines
            row["lutram"] += lines
        return row
    if node.op == "dense":
        return _dense_row(graph, node)
    if node.op == "table":
        return _table_row(graph, node, n)
    if node.op == "step":
        return _step_row(graph, node, n)
    if node.op == "softmax":
        return _softmax_row(node, y.shape[-1], y.size // y.shape[-1])
    if node.op == "dot":
        return _dot_row(graph, node)
    if node.op == "recurrent":
        return _recurrent_row(graph, node)
    if node.op == "attention":
        return _attention_row(graph, node)
    if node.op == "layernorm":
        return _layernorm_row(graph, node, n)
    return _elementwise_row(graph, node, n)


def _fifo_row(net, graph: Graph) -> dict:
    """The FIFOs between processes: shift registers up to SRL_FIFO_DEPTH deep, block RAM beyond."""
    lut = brams = 0
    for s in net.streams.values():
        if s.port or s.array:
            continue
        width = s.beat * graph.tensors[s.tensor].type.width
        if s.depth <= SRL_FIFO_DEPTH:
            lut += srl(s.depth, width)
        else:
            brams += bram18k(s.depth, width)
    row = dict.fromkeys(COUNTS, 0)
    row.update(layer="(FIFOs)", op="fifo", strategy="", reuse="", pf="", pixels="", lut=lut, lutram=lut,
               bram18k=brams, delay=0.0, depth=0, clocks=None, latency=0, ii=1, accumulator=0)
    return row


def estimate(graph: Graph, clock_period: float, io_type: str | None = None) -> dict:
    """Per-layer rows and totals for the graph at the given clock period (ns)."""
    settings = graph.meta.get("project", {})
    io_type = io_type or settings.get("io_type", "io_parallel")
    if not dataflow.is_dataflow(graph, io_type):
        return _pipeline_estimate(graph, clock_period, io_type, settings)
    net = dataflow.network(graph, io_type, PIXELWISE, dataflow.final_softmax(graph))
    dataflow.size_fifos(net)
    rows, depths = [], {}
    for p in net.processes:
        if p.kind == "port":
            continue
        if p.node is None:  # fork, source, sink: wiring
            row = dict.fromkeys(COUNTS, 0)
            row.update(layer=p.name.replace("#", " "), op=p.kind, strategy="", reuse="", pf="", pixels="",
                       delay=0.0, accumulator=0)
        else:
            row = _node_row(graph, graph.node(p.node), io_type, p.kind)
        row["depth"] = math.ceil(row["delay"] / clock_period) + 1  # plus the stream read stage
        row["clocks"] = p.clocks
        row["ii"] = p.clocks + row["depth"] if p.folded else max(
            [len(c) for c in p.reads.values()] + [len(c) for c in p.writes.values()] + [1])
        row["latency"] = p.clocks + row["depth"]
        depths[p.name] = row["depth"]
        rows.append(row)
    rows.append(_fifo_row(net, graph))
    schedule = dataflow.simulate(net, {s.name: s.depth for s in net.streams.values()}, lambda p: depths.get(p.name, 0))
    total = {k: sum(r[k] for r in rows) for k in COUNTS}
    total["ii"] = max(r["ii"] for r in rows)
    total["latency"] = max(t for t in schedule.finish.values()) + 1
    total["latency_ns"] = total["latency"] * clock_period
    return {"rows": rows, "total": total, "clock_period": clock_period, "io_type": io_type, "dataflow": True,
            "part": settings.get("part"), "uncertainty": UNCERTAINTY}


def _pipeline_estimate(graph: Graph, clock_period: float, io_type: str, settings: dict) -> dict:
    """io_parallel, nothing folded: one pipeline; the latency is the critical path of the layer delays."""
    rows, ready = [], {t: 0 for t in graph.inputs}
    for node in graph.nodes:
        row = _node_row(graph, node, io_type, None)
        row["latency"] = math.ceil(row["delay"] / clock_period) if row["delay"] else 0
        row["depth"] = row["latency"]
        ready[node.outputs[0]] = max(ready.get(t, 0) for t in node.inputs) + row["latency"]
        rows.append(row)
    total = {k: sum(r[k] for r in rows) for k in COUNTS}
    total["ii"] = 1
    total["latency"] = max(max((ready[t] for t in graph.outputs), default=0), 1)
    total["latency_ns"] = total["latency"] * clock_period
    return {"rows": rows, "total": total, "clock_period": clock_period, "io_type": io_type, "dataflow": False,
            "part": settings.get("part"), "uncertainty": UNCERTAINTY}


def read_csynth(project_dir: Path) -> dict | None:
    """Latency and resources from a Vivado/Vitis HLS csynth.xml report under the project, if present."""
    found = sorted(Path(project_dir).rglob("*csynth.xml"))
    if not found:
        return None
    root = ET.parse(found[0]).getroot()

    def number(path):
        node = root.find(path)
        return None if node is None or node.text is None else float(node.text)

    resources = root.find("AreaEstimates/Resources")
    area = {child.tag: float(child.text) for child in (resources if resources is not None else []) if child.text}
    return {
        "file": str(found[0]),
        "latency": number("PerformanceEstimates/SummaryOfOverallLatency/Worst-caseLatency"),
        "ii": number("PerformanceEstimates/SummaryOfOverallLatency/Interval-max"),
        "clock_estimated": number("PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"),
        "dsp": area.get("DSP", area.get("DSP48E")),
        "lut": area.get("LUT"),
        "ff": area.get("FF"),
        "bram18k": area.get("BRAM_18K"),
    }


def _capacity_line(total: dict, part: str | None) -> str | None:
    family = next((p for p in PARTS if part and part.startswith(p)), None)
    if family is None:
        return None
    shares = [total[k] / cap for k, cap in zip(("lut", "dsp", "bram18k"), PARTS[family])]
    line = f"of {part}: LUT {shares[0]:.1%}, DSP {shares[1]:.1%}, BRAM18K {shares[2]:.1%}"
    if max(shares) > 1:
        line += (" -- does not fit: raise the reuse factor (--reuse-factor), compute fewer pixels at once "
                 "(--parallelization-factor), or use --io stream")
    return line


def remarks(result: dict) -> list[str]:
    """What the figures alone do not say."""
    lines = []
    for r in result["rows"]:
        if r["accumulator"] > DSP_ACC_BITS and (r["dsp"] or r["adders"]):
            lines.append(f"layer {r['layer']}: its {r['accumulator']}-bit accumulator is wider than a DSP48's "
                         f"{DSP_ACC_BITS}-bit accumulator: the sums stay in LUT adders")
    return lines


def format_report(result: dict, csynth: dict | None = None) -> str:
    """The report as an aligned text table (with synthesis figures beside the totals when given)."""
    head = ("layer", "op", "strategy", "reuse", "PF", "pixels", "mults", "zero", "shift/add", "LUT mults", "DSP",
            "adders", "LUT", "LUTRAM", "weight bits", "BRAM18K", "depth", "latency", "II")
    keys = ("layer", "op", "strategy", "reuse", "pf", "pixels", "multiplications", "zero", "shift_or_add",
            "lut_multipliers", "dsp", "adders", "lut", "lutram", "weight_bits", "bram18k", "depth", "latency", "ii")
    total = dict(result["total"], layer="total", op="", strategy="", reuse="", pf="", pixels="", depth="")
    table = [head] + [tuple(str(r[k]) for k in keys) for r in result["rows"] + [total]]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines = ["  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in table]
    t, clock = result["total"], result["clock_period"]
    design = ("dataflow: layers overlap; II of the slowest process" if result.get("dataflow")
              else "one pipeline, every layer unrolled")
    lines.append(f"estimated latency {t['latency']} cycles = {t['latency_ns']:.0f} ns at {clock} ns, II {t['ii']} "
                 f"({result['io_type']}, {design}); EBOPs {t['ebops']} (HGQ's cross-check: EBOPs ~ LUT + 55*DSP = "
                 f"{t['lut'] + 55 * t['dsp']}); uncertainty +-{result['uncertainty']:.0%} on resources, "
                 f"latency up to {LATENCY_FACTOR}x higher in synthesis")
    capacity = _capacity_line(t, result.get("part"))
    if capacity:
        lines.append(capacity)
    lines += remarks(result)
    if csynth:
        lines.append(f"synthesis report {csynth['file']}:")
        for key, ours in (("latency", t["latency"]), ("ii", t["ii"]), ("dsp", t["dsp"]), ("lut", t["lut"]),
                          ("bram18k", t["bram18k"])):
            theirs = csynth.get(key)
            lines.append(f"  {key:<8} estimate {ours:>8}   synthesis {'-' if theirs is None else f'{theirs:g}':>8}")
    return "\n".join(lines)
