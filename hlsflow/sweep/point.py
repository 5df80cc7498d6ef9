"""One point of a sweep: quantize (PTQ, float models) -> convert -> accuracy of
the bit-exact emulator on the labelled set, streamed in chunks -> `report`
estimate -> a csim spot-check -> vendor synthesis when `vitis_hls` is on PATH.

Runs anywhere (a Ray worker, or in-process); knows nothing of Ray. g++ runs
only for the spot-check (rows > 0), and a project is written only when csim
or synthesis needs one.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from hlsflow.errors import HlsflowError, OptionError
from hlsflow.sweep.space import settings as point_settings

SYNTHESIS_TOOL = "vitis_hls"


class SpotCheckError(HlsflowError):
    """csim and the emulator disagree on the spot-checked rows (a bug in hlsflow)."""


def evaluate(point: dict, model_path: Path, weights: Path | None, calibration: np.ndarray,
             chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]], spot: tuple[np.ndarray, np.ndarray] | None,
             synthesis: bool, workdir: Path) -> dict:
    """The figures of one point (flat dict); raises on a point that cannot be built.
    `chunks()` yields (inputs, labels) pieces of the labelled set; `spot` holds
    the rows to run through csim (None: no g++)."""
    import hlsflow
    from hlsflow.backend.report import estimate
    from hlsflow.project import typed_graph

    chosen = point_settings(point)
    times = {}
    start = time.monotonic()
    model = hlsflow.load_model(model_path, weights)
    if chosen["bits"] is not None:
        model = _quantize(model, chosen["bits"], calibration)
    times["time_quantize"] = time.monotonic() - start

    mark = time.monotonic()
    synthesize = synthesis and shutil.which(SYNTHESIS_TOOL) is not None
    convert_options = {"samples": calibration, "config": chosen["config"], "error_target": chosen["error_target"]}
    project = None
    if spot is not None or synthesize:
        clock = {"clock_period": chosen["clock_period"]} if chosen["clock_period"] is not None else {}
        project = hlsflow.convert(model, workdir / "project", io_type=chosen["io_type"], force=True,
                                  **convert_options, **clock)
        graph = project.graph
    else:
        _, graph = typed_graph(model, **convert_options)
    _check_layer_names(chosen["config"], graph)
    times["time_convert"] = time.monotonic() - mark

    mark = time.monotonic()
    figures = accuracy(graph, chunks())
    times["time_emulate"] = time.monotonic() - mark

    from hlsflow.backend.writer import DEFAULT_CLOCK_NS

    clock_period = chosen["clock_period"] or DEFAULT_CLOCK_NS
    total = estimate(graph, clock_period, chosen["io_type"])["total"]
    figures.update({k: total[k] for k in ("lut", "dsp", "bram18k", "latency", "latency_ns", "ii", "ebops")})

    if spot is not None:
        mark = time.monotonic()
        figures.update(spot_check(project, *spot))
        times["time_csim"] = time.monotonic() - mark
    if synthesize:
        mark = time.monotonic()
        figures.update(synthesize_project(project.directory))
        times["time_synthesis"] = time.monotonic() - mark
    figures.update({k: round(v, 3) for k, v in times.items()})
    return figures


def _quantize(model, bits: dict, calibration: np.ndarray):
    """hlsflow's PTQ at the point's bits (every layer `weight_bits` unless set per layer)."""
    import warnings

    import hlsflow

    if any(type(layer).__module__.startswith("qkeras") for layer in model.layers):
        raise OptionError(f"model {model.name!r} is quantized (QKeras): its quantizers state the precisions; "
                          "weight_bits/activation_bits knobs apply to float models")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qmodel = hlsflow.quantize(model, weight_bits=bits["weight_bits"], activation_bits=bits["activation_bits"],
                                  input_weight_bits=bits["weight_bits"], samples=calibration,
                                  config={"layers": bits["layers"]})
    from hlsflow.ptq.api import Q_CLASS

    quantizers = [layer.name for layer in qmodel.layers if type(layer).__name__ == "QActivation"]
    weighted = [layer.name for layer in qmodel.layers if type(layer).__name__ in Q_CLASS.values()]
    for name, own in bits["layers"].items():
        if "bits" in own and name not in quantizers:
            raise OptionError(f"layers.{name}.activation_bits: no activation quantizer {name!r} in the quantized "
                              f"model (quantizers: {', '.join(quantizers)})")
        if "weight_bits" in own and name not in weighted:
            raise OptionError(f"layers.{name}.weight_bits: no layer {name!r} with weights in the model "
                              f"(layers: {', '.join(weighted)})")
    return qmodel


def _check_layer_names(config: dict, graph) -> None:
    names = [node.name for node in graph.nodes]
    for layer, own in config.get("layers", {}).items():
        if layer not in names:
            knob = next(iter(own))
            raise OptionError(f"layers.{layer}.{knob}: no layer {layer!r} in the converted model "
                              f"(layers: {', '.join(names)})")


def predictions(outputs) -> np.ndarray:
    """Predicted class per row: the argmax of the (single) output."""
    if isinstance(outputs, list):
        raise OptionError("sweep: accuracy needs a model with one output")
    return np.argmax(outputs.reshape(len(outputs), -1), axis=1)


def accuracy(graph, chunks: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Emulated (hardware) accuracy over the chunks; only one chunk is in memory at a time."""
    from hlsflow.emulate import emulate

    correct = rows = 0
    for x, y in chunks:
        correct += int(np.sum(predictions(emulate(graph, x)) == y))
        rows += len(y)
    return {"accuracy": correct / max(rows, 1), "rows": rows}


def spot_check(project, x: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy of csim (g++) and of the emulator on the same rows; they must agree bit for bit."""
    emulated, simulated = project.emulate(x), project.predict(x)
    same = np.all(emulated.reshape(len(x), -1) == simulated.reshape(len(x), -1), axis=1)
    figures = {"spot_rows": len(x), "spot_emulated_accuracy": float(np.mean(predictions(emulated) == y)),
               "spot_csim_accuracy": float(np.mean(predictions(simulated) == y)),
               "spot_bit_exact_rows": int(same.sum())}
    if not same.all():
        raise SpotCheckError(f"csim and the emulator disagree on {int((~same).sum())} of {len(x)} spot-check rows "
                             f"(accuracy {figures['spot_csim_accuracy']:.4f} vs "
                             f"{figures['spot_emulated_accuracy']:.4f}): please report this hlsflow bug")
    return figures


def synthesize_project(directory: Path) -> dict:
    """C synthesis with vitis_hls in the project; its csynth.xml figures."""
    from hlsflow.backend.report import read_csynth

    result = subprocess.run([SYNTHESIS_TOOL, "-f", "build_prj.tcl", "-tclargs", "synth"], cwd=directory,
                            capture_output=True, text=True)
    report = read_csynth(directory)
    if result.returncode != 0 or report is None:
        tail = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no csynth.xml written"]
        raise HlsflowError(f"{SYNTHESIS_TOOL} failed (exit {result.returncode}): {tail[0][:200]}")
    return {f"synth_{k}": v for k, v in report.items() if k != "file"}
