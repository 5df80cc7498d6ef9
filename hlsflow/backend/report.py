"""Hardware estimates from the IR: multipliers, adders, weight memory, latency.

Weights are constants, so each multiplication is a constant-coefficient
multiplier: a zero weight costs nothing, a power of two (incl. +-1, so binary
and ternary weights) is a shift or an add, and any other weight costs one
adder per extra nonzero digit of its canonical signed-digit (CSD) form. Wide
products go to DSPs. Latency follows from the adder-tree depth and the clock.
These are first-order estimates: expect +-50% against synthesis.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from hlsflow.ir import Graph

DSP_MIN_BITS = 10  # both operands at least this wide: the product goes to a DSP
UNCERTAINTY = 0.5
# first-order delays on UltraScale+ (ns): LUT adder of ~16 bits, DSP multiply, LUT-table read
ADD_NS, DSP_NS, LUT_MULT_NS, TABLE_NS = 0.9, 2.5, 1.2, 1.5


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


def _dense_row(graph: Graph, node, clock: float) -> dict:
    x = graph.tensors[node.inputs[0]].type
    wt, acc = node.attrs["weight_type"], node.attrs["accum_type"]
    w = node.params["weight"]
    digits = csd_digits(w, wt.fractional)
    nonzero = digits > 0
    dsp = (digits > 1) & (x.width >= DSP_MIN_BITS and wt.width >= DSP_MIN_BITS)
    shifts = int(np.sum(digits == 1))
    lut_mults = int(np.sum(nonzero & ~dsp & (digits > 1)))
    lut = int(np.sum(np.where(nonzero & ~dsp, np.maximum(digits - 1, 0), 0)) * (x.width + wt.width))
    terms = nonzero.sum(axis=0)  # per output
    adders = int(np.sum(np.maximum(terms, 0)))  # bias add included
    lut += adders * acc.width
    reuse = node.attrs.get("reuse_factor", 1)
    dsps = int(math.ceil(dsp.sum() / reuse))
    depth = math.ceil(math.log2(max(int(terms.max()) + 1, 2)))
    delay = (DSP_NS if dsps else LUT_MULT_NS) + depth * ADD_NS
    cycles = max(1, math.ceil(delay / clock)) + (reuse - 1)
    bits = int(w.size * wt.width)
    return {"layer": node.name, "op": "dense", "strategy": node.attrs.get("strategy", "latency"), "reuse": reuse,
            "multiplications": int(w.size), "zero": int(np.sum(~nonzero)), "shift_or_add": shifts,
            "lut_multipliers": int(math.ceil(lut_mults / reuse)), "dsp": dsps, "adders": adders,
            "lut": int(math.ceil(lut / reuse)), "weight_bits": bits,
            "bram18k": int(math.ceil(bits / 18432)) if node.attrs.get("strategy") == "resource" else 0,
            "latency": cycles, "ii": reuse,
            "ebops": int(np.sum(np.where(nonzero, x.width * wt.width, 0)))}


def _table_row(node, clock: float, tables: list) -> dict:
    bits = sum(2 ** node.attrs[i].width * node.attrs[t].width for i, t in tables)
    return {"layer": node.name, "op": node.op, "strategy": "latency", "reuse": 1, "multiplications": 0, "zero": 0,
            "shift_or_add": 0, "lut_multipliers": 0, "dsp": 0, "adders": 0, "lut": 0, "weight_bits": bits,
            "bram18k": 0, "latency": max(1, math.ceil((2 * TABLE_NS + LUT_MULT_NS + 2 * ADD_NS) / clock)), "ii": 1,
            "ebops": 0}


def estimate(graph: Graph, clock_period: float) -> dict:
    """Per-layer rows and totals for the graph at the given clock period (ns)."""
    rows = []
    for node in graph.nodes:
        if node.op == "dense":
            rows.append(_dense_row(graph, node, clock_period))
        elif node.op == "softmax":
            rows.append(_table_row(node, clock_period, [("index_type", "exp_type"), ("inv_index_type", "inv_type")]))
    total = {k: sum(r[k] for r in rows) for k in ("multiplications", "zero", "shift_or_add", "lut_multipliers",
                                                  "dsp", "adders", "lut", "weight_bits", "bram18k", "latency",
                                                  "ebops")}
    total["ii"] = max((r["ii"] for r in rows), default=1)
    total["latency_ns"] = total["latency"] * clock_period
    return {"rows": rows, "total": total, "clock_period": clock_period, "uncertainty": UNCERTAINTY}


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


def format_report(result: dict, csynth: dict | None = None) -> str:
    """The report as an aligned text table (with synthesis figures beside the totals when given)."""
    head = ("layer", "strategy", "reuse", "mults", "zero", "shift/add", "LUT mults", "DSP", "adders", "LUT",
            "weight bits", "BRAM18K", "latency", "II")
    keys = ("layer", "strategy", "reuse", "multiplications", "zero", "shift_or_add", "lut_multipliers", "dsp",
            "adders", "lut", "weight_bits", "bram18k", "latency", "ii")
    total = dict(result["total"], layer="total", strategy="", reuse="")
    table = [head] + [tuple(str(r[k]) for k in keys) for r in result["rows"] + [total]]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in table]
    t, clock = result["total"], result["clock_period"]
    lines.append(f"estimated latency {t['latency']} cycles = {t['latency_ns']:.0f} ns at {clock} ns, II {t['ii']}; "
                 f"EBOPs {t['ebops']} (HGQ's cross-check: EBOPs ~ LUT + 55*DSP = {t['lut'] + 55 * t['dsp']}); "
                 f"uncertainty +-{result['uncertainty']:.0%}")
    if csynth:
        lines.append(f"synthesis report {csynth['file']}:")
        for key, ours in (("latency", t["latency"]), ("ii", t["ii"]), ("dsp", t["dsp"]), ("lut", t["lut"]),
                          ("bram18k", t["bram18k"])):
            theirs = csynth.get(key)
            lines.append(f"  {key:<8} estimate {ours:>8}   synthesis {'-' if theirs is None else f'{theirs:g}':>8}")
    return "\n".join(lines)
