"""Judging one peer item (case, io type, mode) with hlsflow, as issue 17's
"Done when" says, and the tolerance checks shared with the hls4ml runner.

Verdicts: bit-exact, close, mismatch, error (an exception), unsupported
(hlsflow's UnsupportedError). An item passes when

    exact       every output equals Keras (given the inputs the hardware gets)
                bit for bit -- a final softmax's logits, its probabilities
                within the float criteria -- and csim == emulator; where
                hlsflow marks an output inexact (a float op between
                quantizers), >= 99 % of the samples exact and the rest within
                the float criteria; where an output layer itself ends in an
                unquantized activation (a QLSTM's tanh: Keras is float there,
                and DESIGN.md judges such outputs by error), the float
                criteria and the hls4ml test's own tolerance
    calibrated  converted with the case's inputs as samples: max |error| <=
                2 % of the Keras output range and, for outputs that are one
                vector per sample of size > 1, >= 99 % argmax agreement;
                csim == emulator
    stated      converted with the hls4ml test's precision: within that test's
                own tolerance; csim == emulator
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RANGE_FRACTION = 0.02  # calibrated: max |error| / Keras output range
ARGMAX_AGREEMENT = 0.99
EXACT_SAMPLES = 0.99  # exact mode, outputs hlsflow marks inexact


@dataclass
class Result:
    item: str
    verdict: str  # bit-exact | close | mismatch | error | unsupported | skipped
    detail: str = ""
    passed: bool = False
    seconds: float = 0.0
    metrics: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"item": self.item, "verdict": self.verdict, "passed": self.passed, "detail": self.detail,
                "seconds": round(self.seconds, 2), **self.metrics}


def as_list(values) -> list:
    return [np.asarray(v) for v in (values if isinstance(values, (list, tuple)) else [values])]


def flat(a) -> np.ndarray:
    a = np.asarray(a, np.float64)
    return a.reshape(len(a), -1)


# -- criteria ------------------------------------------------------------------------
def float_criteria(predicted: list, reference: list) -> tuple[bool, str]:
    """Issue 17's float criteria on every output: max |error| <= 2 % of the
    Keras output range; >= 99 % argmax agreement where an output is one vector
    of size > 1 per sample."""
    ok, notes = True, []
    for k, (p, r) in enumerate(zip(predicted, reference)):
        p, r = flat(p), flat(r)
        span = float(r.max() - r.min()) if r.size else 0.0
        error = float(np.max(np.abs(p - r))) if r.size else 0.0
        good = np.isfinite(error) and error <= RANGE_FRACTION * span
        note = f"max error {error:.3g} = {100 * error / span:.2f}% of range" if span else f"max error {error:.3g}"
        if np.ndim(reference[k]) == 2 and r.shape[1] > 1:
            agreement = float(np.mean(np.argmax(p, 1) == np.argmax(r, 1)))
            good = good and agreement >= ARGMAX_AGREEMENT
            note += f", argmax {100 * agreement:.1f}%"
        ok = ok and good
        notes.append((f"output {k}: " if len(predicted) > 1 else "") + note)
    return ok, "; ".join(notes)


def tolerance_check(tolerance, predicted: list, reference: list) -> tuple[bool, str]:
    """The hls4ml test's own assertion on every output (see cases.Tolerance)."""
    ok, notes = True, []
    for k, (p, r) in enumerate(zip(predicted, reference)):
        r = np.asarray(r, np.float64)
        p = np.asarray(p, np.float64).reshape(r.shape)
        kind = tolerance.kind
        if kind == "allclose":
            desired, actual = (r, p) if tolerance.reference == "keras" else (p, r)
            excess = np.abs(actual - desired) - (tolerance.atol + tolerance.rtol * np.abs(desired))
            good = bool(np.all(excess <= 0))
            note = f"max |error| {np.max(np.abs(p - r)):.3g}"
            note += "" if good else f", {np.sum(excess > 0)} values outside"
        elif kind == "equal":
            good = bool(np.array_equal(p, r))
            note = "equal" if good else f"{np.sum(p != r)} values differ, max {np.max(np.abs(p - r)):.3g}"
        elif kind == "argmax":
            value = float(np.mean(np.argmax(r, -1).ravel() == np.argmax(p, -1).ravel()))
            good, note = value >= tolerance.limit, f"argmax agreement {value:.4f}"
        elif kind == "mae":
            value = float(np.mean(np.abs(r - p)))
            good, note = value < tolerance.limit, f"mean |error| {value:.3g}"
        elif kind == "wrong":
            value = float(np.mean(p != r))
            good = value <= tolerance.limit if tolerance.inclusive else value < tolerance.limit
            note = f"differing values {value:.4f}"
        else:
            raise ValueError(f"unknown tolerance kind {kind!r}")
        ok = ok and good and bool(np.all(np.isfinite(p)))
        notes.append((f"output {k}: " if len(predicted) > 1 else "") + note)
    return ok, f"{tolerance}: " + "; ".join(notes)


# -- hlsflow ---------------------------------------------------------------------------
def hlsflow_type(text: str) -> str:
    """An hls4ml precision string as an ap_fixed type: fixed<...>, ufixed<...>,
    ac_fixed<W, I[, signed][, modes]> and bare RND/SAT modes."""
    import re

    text = re.sub(r"\s+", "", text)
    m = re.fullmatch(r"ac_fixed<(\d+),(-?\d+)(?:,(true|false))?(.*)>", text)
    if m:
        width, integer, signed, modes = m.groups()
        text = f"{'ap_ufixed' if signed == 'false' else 'ap_fixed'}<{width},{integer}{modes.replace('AC_', 'AP_')}>"
    text = re.sub(r"^(u?fixed|u?int)<", r"ap_\1<", text)
    return re.sub(r",(RND\w*|TRN\w*|SAT\w*|WRAP\w*)", r",AP_\1", text)


def hlsflow_config(item, model) -> dict | None:
    """The --config hlsflow gets: the case's strategy and reuse factors, and in
    stated mode the hls4ml test's precision (default_precision plus per-layer
    types; hls4ml-internal layers and settings without an hlsflow key are dropped)."""
    case = item.case
    config: dict = {}
    layers: dict = {}
    if case.strategy != "latency" or case.reuse_factor != 1:
        config.update(strategy=case.strategy, reuse_factor=case.reuse_factor)
    for name, reuse in case.layer_reuse.items():
        layers.setdefault(name, {}).update(strategy="resource", reuse_factor=reuse)
    if item.mode == "stated":
        config["default_precision"] = hlsflow_type(case.precision)
        weight_counts = {layer.name: len(layer.get_weights()) for layer in model.layers}
        weight_counts.update(dict.fromkeys(model.input_names, 0))  # a Sequential's input is not in its layers
        for name, entry in case.layer_precision.items():
            if name not in weight_counts:
                continue  # an hls4ml-internal layer (e.g. its split-off linear activations)
            if isinstance(entry, str):  # one type for all of the layer's types
                weights = weight_counts[name]
                entry = {"result": entry, **({"weight": entry} if weights else {}),
                         **({"bias": entry} if weights > 1 else {})}
            keys = {"result": "output_type", "weight": "weight_type", "bias": "bias_type"}
            layers.setdefault(name, {}).update({keys[k]: hlsflow_type(v) for k, v in entry.items() if k in keys})
        if case.granularity == "name":  # hls4ml's config then says 'auto' for every result the test leaves alone
            for name in _layer_names(model, {**config, "layers": layers}):
                layers.setdefault(name, {}).setdefault("output_type", "auto")
    if layers:
        config["layers"] = layers
    return config or None


def _layer_names(model, config) -> list:
    """The Keras layers (and inputs) that remain as layers of hlsflow's graph (not folded into another)."""
    from hlsflow.project import typed_graph

    graph = typed_graph(model, config=config)[1]
    kept = set(graph.inputs) | {node.name for node in graph.nodes}
    return [name for name in [*model.input_names, *(layer.name for layer in model.layers)] if name in kept]


def keras_predict(model, xs: list) -> list:
    return as_list(model.predict(xs[0] if len(xs) == 1 else xs, verbose=0))


def run_hlsflow(item, workdir) -> Result:
    """Convert, build and run one item; never raises (an exception is a verdict)."""
    from hlsflow.errors import UnsupportedError

    start = time.time()
    try:
        result = _judge(item, Path(workdir))
    except UnsupportedError as exc:
        result = Result(item.id, "unsupported", _one_line(exc))
    except Exception as exc:  # noqa: BLE001 -- every failure is a verdict
        result = Result(item.id, "error", _one_line(exc), metrics={"traceback": traceback.format_exc(limit=-4)})
    except BaseException as exc:  # pytest.skip from example_model() when the corpus is absent
        if type(exc).__name__ != "Skipped":
            raise
        result = Result(item.id, "skipped", str(exc))
    result.seconds = time.time() - start
    return result


def _one_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:400]


def _judge(item, workdir: Path) -> Result:
    import hlsflow

    case = item.case
    model, xs = case.model(), case.data()
    source = model
    if case.from_h5:
        source = workdir / "model.h5"
        model.save(source)
    samples = None if item.mode == "stated" else (xs[0] if len(xs) == 1 else xs)
    project = hlsflow.convert(source, workdir / "prj", io_type=item.io_type, samples=samples,
                              config=hlsflow_config(item, model), force=True)
    predicted, emulated = as_list(project.predict(xs)), as_list(project.emulate(xs))
    for name, p, e in zip(project.graph.outputs, predicted, emulated):
        if not np.array_equal(p, e):
            diff = np.abs(flat(p) - flat(e))
            return Result(item.id, "mismatch", f"csim != emulator on {name}: {np.sum(diff > 0)} values differ, "
                                               f"max {diff.max():.3g}")
    if item.mode == "exact":
        return _judge_exact(item, model, project, xs, predicted)
    reference = keras_predict(model, [np.asarray(x, np.float32) for x in xs])
    if all(np.array_equal(flat(p), flat(r)) for p, r in zip(predicted, reference)):
        return Result(item.id, "bit-exact", "equal to Keras", passed=True)
    if item.mode == "calibrated":
        ok, detail = float_criteria(predicted, reference)
    else:
        ok, detail = tolerance_check(case.tolerance, predicted, reference)
    return Result(item.id, "close" if ok else "mismatch", detail, passed=ok)


def _judge_exact(item, model, project, xs, predicted) -> Result:
    from conftest import keras_inputs
    from hlsflow.project import keras_logits

    graph = project.graph
    keras_in = keras_inputs(project, xs)
    reference = keras_predict(model, keras_in)
    compared, ref_compared = list(predicted), list(reference)
    names = list(graph.outputs)
    exact_flags = [graph.tensors[t].exact for t in names]
    softmax_ok, softmax_note = True, ""
    if project._has_softmax():  # a final softmax: its logits are what must be exact
        logits = project.predict(xs, logits=True)
        if not np.array_equal(logits, project.emulate(xs, logits=True).reshape(logits.shape)):
            return Result(item.id, "mismatch", "csim != emulator on the logits")
        softmax_ok, softmax_note = float_criteria(predicted[-1:], reference[-1:])
        compared[-1], ref_compared[-1] = logits, keras_logits(model, keras_in)
        names[-1] = project._logits_tensor()
        exact_flags[-1] = graph.tensors[names[-1]].exact
    equal = np.ones(len(xs[0]), bool)
    for k, (p, r) in enumerate(zip(compared, ref_compared)):
        same = np.all(flat(p) == flat(r), axis=1)
        if exact_flags[k] and not same.all():
            return Result(item.id, "mismatch", f"output {names[k]} (marked exact) differs from Keras on "
                                               f"{np.sum(~same)}/{len(same)} samples",
                          metrics={"exact_fraction": float(np.mean(same))})
        equal &= same
    fraction = float(np.mean(equal))
    metrics = {"exact_fraction": fraction}
    if fraction == 1.0:
        if not softmax_ok:
            return Result(item.id, "mismatch", f"logits bit-exact; softmax {softmax_note}", metrics=metrics)
        return Result(item.id, "bit-exact", "bit-exact" + (f"; softmax {softmax_note}" if softmax_note else ""),
                      passed=True, metrics=metrics)
    ok, detail = float_criteria(predicted, reference)
    detail = f"{100 * fraction:.1f}% of samples bit-exact (outputs marked inexact); {detail}"
    if float_output(model):
        within, note = tolerance_check(item.case.tolerance, predicted, reference)
        return Result(item.id, "close" if ok and within else "mismatch", f"float output activation; {detail}; {note}",
                      passed=ok and within, metrics=metrics)
    return Result(item.id, "close" if ok else "mismatch", detail, passed=ok and fraction >= EXACT_SAMPLES,
                  metrics=metrics)


def float_output(model) -> bool:
    """Whether an output layer ends in an unquantized activation (tanh, sigmoid,
    ...; not linear, not a softmax, whose logits are judged instead)."""
    for name in model.output_names:
        activation = getattr(model.get_layer(name), "activation", None)
        if callable(activation) and not hasattr(activation, "bits") and \
                getattr(activation, "__name__", "") not in ("linear", "softmax"):
            return True
    return False
