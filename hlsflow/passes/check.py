"""Overflow and lossy-weight check of a typed graph, on the emulator.

A value overflows when the exact result of its operation lies outside its
tensor's type (it saturates or wraps). Overflow is an error in the types
hlsflow chose; in a type a QKeras quantizer set, it is the saturation QKeras
does too, reported but not an error. Each node is run by the emulator once
with its real output type and once with the same type widened by WIDEN
integer bits, whose values show what the real type cut off.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hlsflow.emulate import OPS, cast_inputs
from hlsflow.fixed import MAX_WIDTH, FixedType
from hlsflow.ir import Graph

WIDEN = 24
LOSS_THRESHOLD = 0.01  # weights whose rounding loses more than this fraction of max |w| are reported


def _outside(x: np.ndarray, t: FixedType) -> int:
    return int(np.sum((x > t.max_value) | (x < t.min_value)))


def overflow_counts(graph: Graph, inputs) -> dict:
    """{tensor: (values outside its type, values)} over a batch of raw inputs."""
    arrays = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    counts = {}
    values = dict(zip(graph.inputs, cast_inputs(graph, arrays)))
    for name, raw in zip(graph.inputs, arrays):
        counts[name] = (_outside(np.asarray(raw, np.float64), graph.tensors[name].type), int(np.size(raw)))
    for node in graph.nodes:
        args = [values[t] for t in node.inputs]
        y = graph.tensors[node.outputs[0]]
        real = y.type
        extra = MAX_WIDTH - real.width if real.width + WIDEN > MAX_WIDTH else WIDEN
        y.type = dataclasses.replace(real, width=real.width + extra, integer=real.integer + extra, signed=True,
                                     overflow="SAT")
        try:
            wide = OPS[node.op](graph, node, *args)
        finally:
            y.type = real
        values[y.name] = OPS[node.op](graph, node, *args)
        counts[y.name] = (_outside(wide, real), int(wide.size))
    return counts


def chosen_tensors(graph: Graph) -> set:
    """Tensors whose type hlsflow chose (not a QKeras quantizer)."""
    return {name if name in graph.inputs else graph.node(name).outputs[0]
            for name, keys in graph.meta.get("chosen", {}).items() if "output_type" in keys}


def lossy_weights(graph: Graph, threshold: float = LOSS_THRESHOLD) -> dict:
    """{"layer.weight": loss} for parameters whose rounding lost more than threshold x max |value|."""
    return {f"{n.name}.{key}": n.attrs[f"{key}_loss"] for n in graph.nodes for key in ("weight", "bias")
            if n.attrs.get(f"{key}_loss", 0.0) > threshold}


def report(graph: Graph, inputs, threshold: float = LOSS_THRESHOLD) -> tuple[list[str], bool]:
    """Text lines of the check and whether it found no overflow."""
    counts = overflow_counts(graph, inputs)
    chosen = chosen_tensors(graph)
    width = max(len(t) for t in counts)
    lines = [f"{'tensor':<{width}}  {'type':<36} overflow"]
    for name, (bad, total) in counts.items():
        note = ("  <- OVERFLOW" if name in chosen else "  (saturates, as its QKeras quantizer does)") if bad else ""
        lines.append(f"{name:<{width}}  {str(graph.tensors[name].type):<36} {bad}/{total}{note}")
    lossy = lossy_weights(graph, threshold)
    for name, loss in lossy.items():
        lines.append(f"weights {name}: rounding loses up to {loss:.2%} of max |value| (threshold {threshold:.2%})")
    failed = [name for name, (bad, _) in counts.items() if bad and name in chosen]
    n = len(np.asarray(inputs[0] if isinstance(inputs, (list, tuple)) else inputs))
    lines.append(f"check: overflow in {len(failed)} tensor(s){': ' + ', '.join(failed) if failed else ''} "
                 f"on {n} samples; {len(lossy)} lossy weight tensor(s)")
    return lines, not failed
