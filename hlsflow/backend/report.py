"""Hardware estimates from the IR: multipliers, adders, weight memory, latency.

Weights are constants, so each multiplication is a constant-coefficient
multiplier: a zero weight costs nothing, a power of two (incl. +-1, so binary
and ternary weights) is a shift or an add, and any other weight costs one
adder per extra nonzero digit of its canonical signed-digit (CSD) form. Wide
products go to DSPs. Latency follows from the adder-tree depth and the clock.

io_parallel: the top function is one pipeline with every loop unrolled, so a
convolution has a multiplier per weight *and* output pixel, and the latency is
the critical path in clock cycles. io_stream: each layer is a DATAFLOW process
reading and writing one value per clock; a convolution or pooling computes one
output pixel at a time, so its circuits exist once, and its cycles are the
values it reads plus those it writes. docs/estimates.md compares the figures
with published synthesis results: expect +-50% on resources, and a latency
up to twice the estimate.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from hlsflow.backend.writer import PIXELWISE
from hlsflow.ir import Graph
from hlsflow.passes.hardware import conv_uses

DSP_MIN_BITS = 10  # both operands at least this wide: the product goes to a DSP
UNCERTAINTY = 0.5  # of the resource figures; latency: see LATENCY_FACTOR
LATENCY_FACTOR = 2  # hls4ml's csynth latencies of the jet MLPs are up to this much above ours (docs/estimates.md)
# first-order delays on UltraScale+ (ns): LUT adder of ~16 bits, DSP multiply, LUT-table read
ADD_NS, DSP_NS, LUT_MULT_NS, TABLE_NS = 0.9, 2.5, 1.2, 1.5
ROM_BITS_PER_LUT = 64  # a LUT6 holds 64 x 1 bit of a lookup table
# CLB LUTs, DSP slices, 18 Kb block RAMs of known parts (AMD DS890, Virtex UltraScale+ overview)
PARTS = {"xcvu9p": (1182240, 6840, 4320), "xcvu13p": (1728000, 12288, 5376)}
COUNTS = ("multiplications", "zero", "shift_or_add", "lut_multipliers", "dsp", "adders", "lut", "weight_bits",
          "bram18k", "ebops")
WIRING = ("reshape", "pad", "transpose", "concat", "upsample")


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
    row.update(layer=node.name, op=node.op, strategy=node.attrs.get("strategy", "latency"),
               reuse=node.attrs.get("reuse_factor", 1), delay=0.0, cycles=None, fill=None)
    row.update(fields)
    return row


def _linear(node, x, acc, products: list[dict], terms: int, weight_bits: int, reuse: int = 1) -> dict:
    total = {k: sum(p[k] for p in products) for k in ("multiplications", "zero", "shift_or_add",
                                                      "lut_multipliers", "dsp", "lut", "ebops", "products")}
    adders = total.pop("products")  # one adder per nonzero product (the bias takes the place of the first)
    delay = _delay({"any_dsp": any(p["any_dsp"] for p in products),
                    "any_mult": any(p["any_mult"] for p in products)}, terms) + (len(products) - 1) * DSP_NS
    strategy = node.attrs.get("strategy", "latency")
    row = _row(node, **total, adders=adders, weight_bits=weight_bits, delay=delay,
               bram18k=int(math.ceil(weight_bits / 18432)) if strategy == "resource" else 0)
    row["lut"] += adders * acc.width
    for key in ("lut_multipliers", "dsp", "adders", "lut", "ebops"):
        row[key] = int(math.ceil(row[key] / reuse))
    return row


def _dense_row(graph: Graph, node) -> dict:
    x = graph.tensors[node.inputs[0]].type
    wt, acc, w = node.attrs["weight_type"], node.attrs["accum_type"], node.params["weight"]
    products = [_products(x.width, wt, w, 1, 1)]
    if "scale" in node.params:
        products.append(_products(acc.width, node.attrs["scale_type"], node.params["scale"], 1, 1))
    terms = int(np.max(np.sum(w != 0, axis=0))) + 1
    return _linear(node, x, acc, products, terms, int(w.size * wt.width), node.attrs.get("reuse_factor", 1))


def _conv_row(graph: Graph, node, stream: bool) -> dict:
    x = graph.tensors[node.inputs[0]].type
    wt, acc, a = node.attrs["weight_type"], node.attrs["accum_type"], node.attrs
    w = node.params["weight"].reshape(a["kernel"][0], a["kernel"][1], -1, a["out_hwc"][2])
    uses = conv_uses(a)[:, :, None, None]
    copies = 1 if stream else uses
    pixels = a["out_hwc"][0] * a["out_hwc"][1]
    products = [_products(x.width, wt, w, uses, copies)]
    if "scale" in node.params:
        products.append(_products(acc.width, a["scale_type"], node.params["scale"], pixels, 1 if stream else pixels))
    terms = int(np.max(np.sum(w != 0, axis=(0, 1, 2)))) + 1
    return _linear(node, x, acc, products, terms, int(w.size * wt.width))


def _recurrent_row(graph: Graph, node) -> dict:
    """A recurrent cell: its kernel and recurrent-kernel products (one cell, or
    one per step with unroll_time), the gate products and tables; `delay` is
    one step's (estimate() multiplies it by the steps)."""
    a, p = node.attrs, node.params
    x = graph.tensors[node.inputs[0]].type
    hs = a.get("state_type") or graph.tensors[node.outputs[0]].type
    steps, units = a["steps"], a["units"]
    copies = steps if a.get("unroll_time") else 1
    w, u = p["weight"], p["recurrent_weight"]
    products = [_products(x.width, a["weight_type"], w, steps, copies),
                _products(hs.width, a["recurrent_weight_type"], u, steps, copies)]
    terms = int(np.max(np.sum(w != 0, axis=0) + np.sum(u != 0, axis=0))) + 1
    row = _linear(node, x, a["accum_type"], products, terms, int(w.size * a["weight_type"].width
                                                                  + u.size * a["recurrent_weight_type"].width),
                  a.get("reuse_factor", 1))
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
            row["lut"] += count * copies * math.ceil(2 ** index.width / ROM_BITS_PER_LUT) * out.width
            row["weight_bits"] += 2 ** index.width * out.width
    gates = 2 if a["cell"] == "lstm" else 1 if a["cell"] == "gru" else 0  # activations in series after the sum
    row["delay"] += (gates + 1) * (TABLE_NS if "cand_index_type" in a else ADD_NS) + gates * (
        (DSP_NS if wide else LUT_MULT_NS) + ADD_NS)
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
    table = _softmax_row(node, a["key_steps"])
    row = _row(node, **{k: scores[k] + values[k] + rows * table[k] for k in ("multiplications", "dsp",
                                                                             "lut_multipliers", "lut", "adders")},
               weight_bits=table["weight_bits"], delay=scores["delay"] + table["delay"] + values["delay"])
    return row


def _layernorm_row(graph: Graph, node, n: int) -> dict:
    """Per group: the sum, the squares, one table read, the normalizing and gamma products."""
    a = node.attrs
    products = _variable_products(2 * n, a["square_type"], a["dev_type"], a["channels"])
    scale = _variable_products(n, a["norm_type"], a["weight_type"], 1)
    table = a["rsqrt_table_type"]
    rom = math.ceil(2 ** a["index_bits"] / ROM_BITS_PER_LUT) * table.width * (n // a["channels"])
    return _row(node, **{k: products[k] + scale[k] for k in ("multiplications", "dsp", "lut_multipliers", "adders")},
                lut=products["lut"] + scale["lut"] + rom, weight_bits=2 ** a["index_bits"] * table.width,
                delay=2 * products["delay"] + TABLE_NS + scale["delay"])


def recurrent_timing(node, row: dict, clock: float, reads: int, writes: int, stream: bool) -> tuple[int, int, int]:
    """(latency, II, cycles to the first output) of a recurrent node: its steps
    run one after another, each taking one cell latency (the reuse factor adds
    RF - 1 cycles); io_stream reads one step per beat."""
    a = node.attrs
    reuse = row["reuse"]
    cell = max(1, math.ceil(row["delay"] / clock)) + reuse - 1
    latency = a["steps"] * cell
    if stream:  # one step per beat, unless go_backwards (reads it all first) or aligned (writes it all last)
        backwards, whole = a["go_backwards"], a["aligned"] or not a["return_sequences"]
        step = cell if backwards else max(cell, reads // a["steps"])
        cycles = (reads if backwards else 0) + a["steps"] * step + (writes if whole else 0)
        return cycles, cycles, cycles if whole else (reads if backwards else 0) + step + a["units"]
    return latency, reuse if a.get("unroll_time") else latency, latency


def _pool_row(graph: Graph, node, stream: bool) -> dict:
    """Max: a compare-and-select per extra window position; average: an adder tree and one division."""
    a, x = node.attrs, graph.tensors[node.inputs[0]].type
    channels, window = a["in_hwc"][2], conv_uses(a)
    positions = int(window.size) if stream else int(window.sum())  # window reads built, per channel
    outputs = 1 if stream else a["out_hwc"][0] * a["out_hwc"][1]
    extra = (positions - outputs) * channels
    depth = math.ceil(math.log2(max(int(window.size), 2)))
    if a.get("mode") == "avg":
        acc, quot = a.get("accum_type", x), a.get("quot_type", x)
        divisions = outputs * channels
        return _row(node, adders=extra, lut_multipliers=divisions, delay=depth * ADD_NS + LUT_MULT_NS,
                    lut=extra * acc.width + divisions * acc.width * quot.width)
    return _row(node, adders=extra, lut=extra * 2 * x.width, delay=depth * ADD_NS)


def _table_row(graph: Graph, node, lookups: int) -> dict:
    index, out = node.attrs["index_type"], graph.tensors[node.outputs[0]].type
    rom = math.ceil(2 ** index.width / ROM_BITS_PER_LUT) * out.width
    return _row(node, lut=lookups * rom, weight_bits=2 ** index.width * out.width, delay=TABLE_NS)


def _softmax_row(node, n: int) -> dict:
    """Max over the inputs, n exp lookups, their sum, one 1/sum lookup, n products."""
    a = node.attrs
    tables = [(a["index_type"], a["exp_type"], n), (a["inv_index_type"], a["inv_type"], 1)]
    rom = sum(k * math.ceil(2 ** i.width / ROM_BITS_PER_LUT) * t.width for i, t, k in tables)
    wide = a["exp_type"].width >= DSP_MIN_BITS and a["inv_type"].width >= DSP_MIN_BITS
    depth = math.ceil(math.log2(max(n, 2)))
    products = 0 if wide else n * a["exp_type"].width * a["inv_type"].width
    return _row(node, dsp=n if wide else 0, lut_multipliers=0 if wide else n, adders=2 * n - 1,
                lut=rom + (2 * n - 1) * a["sum_type"].width + products,
                weight_bits=sum(2 ** i.width * t.width for i, t, _ in tables),
                delay=(2 * depth + 1) * ADD_NS + 2 * TABLE_NS + (DSP_NS if wide else LUT_MULT_NS))


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
    if node.op == "scale_shift" or (node.op == "leaky_relu" and "alpha_type" in node.attrs):
        weights = node.params["weight"] if node.op == "scale_shift" else np.array([node.attrs["alpha"]])
        wt = node.attrs.get("weight_type", node.attrs.get("alpha_type"))
        uses = n // weights.size
        p = _products(ts[0].width, wt, weights, uses, uses)
        p.pop("any_dsp"), p.pop("any_mult")
        return _row(node, **{k: v for k, v in p.items() if k != "products"}, adders=p["products"],
                    lut=p["lut"] + p["products"] * y.width, delay=LUT_MULT_NS + ADD_NS)
    return _row(node, lut=n * y.width)  # a compare and select, or a saturating cast, per value


def _node_row(graph: Graph, node, stream: bool) -> dict:
    y = graph.tensors[node.outputs[0]]
    n = y.shape[-1] if stream and node.op in PIXELWISE else y.size  # values computed at once
    if node.op == "dense":
        return _dense_row(graph, node)
    if node.op == "conv":
        return _conv_row(graph, node, stream)
    if node.op == "pool":
        return _pool_row(graph, node, stream)
    if node.op == "table":
        return _table_row(graph, node, n)
    if node.op == "softmax":
        return _softmax_row(node, y.size)
    if node.op == "recurrent":
        return _recurrent_row(graph, node)
    if node.op == "attention":
        return _attention_row(graph, node)
    if node.op == "layernorm":
        return _layernorm_row(graph, node, n)
    return _elementwise_row(graph, node, n)


def _stream_cycles(graph: Graph, node, row: dict, clock: float) -> tuple[int, int]:
    """(cycles per inference, cycles to the first output value) of an io_stream process."""
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    reads, writes = sum(graph.tensors[t].size for t in node.inputs), y.size
    depth = math.ceil(row["delay"] / clock)
    if node.op in ("conv", "pool"):
        a = node.attrs
        rows_first = min(a["in_hwc"][0], max(1, (a["kernel"][0] - 1) * a["dilation"][0] + 1 - a["pads"][0]))
        pixel = a["out_hwc"][2]
        return reads + writes + depth, rows_first * a["in_hwc"][1] * a["in_hwc"][2] + depth + pixel
    if node.op in PIXELWISE:
        return reads + writes + depth, x.shape[-1] + depth + y.shape[-1]
    return reads + writes + depth, reads + depth + 1


def estimate(graph: Graph, clock_period: float, io_type: str | None = None) -> dict:
    """Per-layer rows and totals for the graph at the given clock period (ns)."""
    settings = graph.meta.get("project", {})
    io_type = io_type or settings.get("io_type", "io_parallel")
    stream = io_type == "io_stream"
    rows, ready = [], {t: 0 for t in graph.inputs}
    for node in graph.nodes:
        row = _node_row(graph, node, stream)
        reuse = row["reuse"]
        if node.op == "recurrent":
            reads = graph.tensors[node.inputs[0]].size
            row["latency"], row["ii"], first = recurrent_timing(node, row, clock_period, reads,
                                                                graph.tensors[node.outputs[0]].size, stream)
            row["cycles"], row["fill"] = (row["latency"], first) if stream else (None, None)
        elif stream:
            row["cycles"], row["fill"] = _stream_cycles(graph, node, row, clock_period)
            row["latency"], row["ii"] = row["cycles"], row["cycles"]
        else:
            row["latency"] = (math.ceil(row["delay"] / clock_period) if row["delay"] else 0) + (reuse - 1)
            row["ii"] = reuse
        # critical path: io_parallel adds latencies; io_stream adds fills (processes overlap)
        ready[node.outputs[0]] = max(ready.get(t, 0) for t in node.inputs) + (row["fill"] if stream else row["latency"])
        rows.append(row)
    total = {k: sum(r[k] for r in rows) for k in COUNTS}
    total["ii"] = max((r["ii"] for r in rows), default=1)
    path = max((ready[t] for t in graph.outputs), default=0)
    total["latency"] = path + total["ii"] if stream else max(path, 1)
    total["latency_ns"] = total["latency"] * clock_period
    return {"rows": rows, "total": total, "clock_period": clock_period, "io_type": io_type,
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


def _capacity_line(total: dict, part: str | None, has_conv: bool) -> str | None:
    family = next((p for p in PARTS if part and part.startswith(p)), None)
    if family is None:
        return None
    shares = [total[k] / cap for k, cap in zip(("lut", "dsp", "bram18k"), PARTS[family])]
    line = f"of {part}: LUT {shares[0]:.1%}, DSP {shares[1]:.1%}, BRAM18K {shares[2]:.1%}"
    if max(shares) > 1:
        line += " -- does not fit" + ("; an io_parallel CNN repeats each kernel per pixel: try --io stream"
                                      if has_conv else "")
    return line


def format_report(result: dict, csynth: dict | None = None) -> str:
    """The report as an aligned text table (with synthesis figures beside the totals when given)."""
    head = ("layer", "op", "strategy", "reuse", "mults", "zero", "shift/add", "LUT mults", "DSP", "adders", "LUT",
            "weight bits", "BRAM18K", "latency", "II")
    keys = ("layer", "op", "strategy", "reuse", "multiplications", "zero", "shift_or_add", "lut_multipliers", "dsp",
            "adders", "lut", "weight_bits", "bram18k", "latency", "ii")
    total = dict(result["total"], layer="total", op="", strategy="", reuse="")
    table = [head] + [tuple(str(r[k]) for k in keys) for r in result["rows"] + [total]]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines = ["  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in table]
    t, clock = result["total"], result["clock_period"]
    stream = result["io_type"] == "io_stream"
    overlap = " (layers overlap: first-output delays plus the slowest layer)" if stream else ""
    lines.append(f"estimated latency {t['latency']} cycles = {t['latency_ns']:.0f} ns at {clock} ns{overlap}, "
                 f"II {t['ii']}; EBOPs {t['ebops']} (HGQ's cross-check: EBOPs ~ LUT + 55*DSP = "
                 f"{t['lut'] + 55 * t['dsp']}); uncertainty +-{result['uncertainty']:.0%} on resources, "
                 f"latency up to {LATENCY_FACTOR}x higher in synthesis")
    capacity = _capacity_line(t, result.get("part"), any(r["op"] == "conv" for r in result["rows"]))
    if capacity:
        lines.append(capacity)
    if csynth:
        lines.append(f"synthesis report {csynth['file']}:")
        for key, ours in (("latency", t["latency"]), ("ii", t["ii"]), ("dsp", t["dsp"]), ("lut", t["lut"]),
                          ("bram18k", t["bram18k"])):
            theirs = csynth.get(key)
            lines.append(f"  {key:<8} estimate {ours:>8}   synthesis {'-' if theirs is None else f'{theirs:g}':>8}")
    return "\n".join(lines)
