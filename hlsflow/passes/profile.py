"""Calibration: the types hlsflow chooses, picked from samples and an error target.

Keras runs on the samples and the values of every tensor are recorded. Each
type hlsflow chooses (inputs of float models, float layer outputs, float
weights and biases, the softmax tables) is a knob: its integer bits cover the
observed range (the `percentile` of |values|, times `margin`), its fractional
bits come from a search on the emulator against Keras: first one width for all
knobs, then each knob as narrow as the error target still allows.

When the target at the outputs is unreachable and the inputs' types are the
only knobs (with a final softmax's), the outputs are exact functions of the
cast inputs (a QKeras model without an input quantizer: Keras on the cast
inputs is their bit-exact reference): the input's type is a precision choice,
and the max-error target at the outputs cannot apply, since a quantizer's step
turns any rounding of the input into a whole step for the samples near it.
The target then applies
where rounding is continuous -- the input's own rounding (error / its range),
and a final softmax against the exact softmax of the emulated logits -- and
the argmax agreement with Keras on the float samples is measured at the
outputs as for float models. The result
is config["layers"], the JSON `hlsflow config` writes and `--config` reads;
the user's entries win. Accumulators keep their interval-analysis widths and
types QKeras quantizers set are never touched.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from hlsflow.emulate import emulate
from hlsflow.errors import HlsflowError, OptionError, UnsupportedError
from hlsflow.fixed import FixedType, quantize
from hlsflow.ir import Graph
from hlsflow.passes.precision import fractional_bits, with_defaults

WIDEST = 24  # the search never goes wider than this
INDEX_LIMIT = 5  # softmax: max(x) - x beyond 2^5 has exp() below every table step


@dataclass
class Knob:
    """One chosen type: layer, config key, fixed integer bits and sign, searched fractional bits."""
    layer: str
    key: str
    integer: int
    signed: bool
    frac: int
    most: int  # fractional bits beyond which nothing changes (exact weights)
    size: int  # values it holds: the search narrows the biggest first

    @property
    def width(self) -> int:
        return self.integer + self.frac

    @property
    def floor(self) -> int:
        """Fewest fractional bits: a width of 1 (no negative count of table-index bits)."""
        return 0 if self.key == "inv_frac" else 1 - self.integer

    def value(self):
        if self.key == "inv_frac":
            return self.frac
        return str(FixedType(self.width, self.integer, self.signed, "RND_CONV", "SAT"))


def integer_bits(values: np.ndarray, signed: bool, percentile: float = 100.0, margin: float = 1.0) -> int:
    """Integer bits (sign included) whose range covers the percentile of |values| times margin."""
    peak = float(np.percentile(np.abs(values), percentile)) * margin if np.size(values) else 0.0
    if peak == 0:
        return 1
    return math.floor(math.log2(peak)) + 1 + signed


def record(model, graph: Graph, samples, names) -> dict:
    """Keras's values of the named IR tensors on the samples (float64, batch first;
    `graph` holds the float weights: the IR before assign_types).
    A tensor `<layer>_linear` is that layer's output before its activation;
    `<layer>_depthwise`, a separable convolution's intermediate, is its depthwise
    convolution alone, computed by TensorFlow from the layer's input. The layers
    of nested models and the steps of an unrolled TimeDistributed are recorded
    by running their model or layer on the values that reach them."""
    from hlsflow.frontend.keras import layer_names
    from hlsflow.frontend.tf_setup import import_keras, keras_of

    tf, _ = import_keras()
    keras = keras_of(model)  # tf-keras or Keras 3: the Keras that built the model
    arrays = samples if isinstance(samples, (list, tuple)) else [samples]
    arrays = [np.asarray(a, np.float32).reshape((len(a),) + tuple(model.inputs[i].shape[1:]))
              for i, a in enumerate(arrays)]
    values = {name: a.astype(np.float64) for name, a in zip(graph.inputs, arrays) if name in names}
    _record(keras, tf, model, arrays, graph, set(names), layer_names(model), values)
    return values


def _record(keras, tf, model, arrays, graph, names, ir, values, outputs=False):
    """Record the named tensors of `model`'s layers (IR names `ir`, {id(layer):
    name}) on its input `arrays` into `values`; returns its outputs if asked."""
    from hlsflow.frontend.keras import MODELS, model_calls

    input_names, calls, _ = model_calls(model)
    layers = {ir[id(layer)]: layer for layer, _ in calls if id(layer) in ir}
    wanted = [n for n in names if n not in values]
    direct = [n for n in layers if n in wanted]
    before = [n for n in layers if f"{n}_linear" in wanted]
    parts = [n for n in layers if f"{n}_depthwise" in wanted and hasattr(layers[n], "pointwise_kernel")]
    unrolled = [n for n in layers if f"{n}_t0" in graph.tensors]  # a TimeDistributed unrolled into steps
    lowered = [n for n in layers if f"{n}_einsum" in graph.tensors]  # an EinsumDense computed in another order
    nested = [(layer, sources) for layer, sources in calls if type(layer).__name__ in MODELS]
    models = {layer.name for layer, _ in nested}
    fed = sorted({s for _, sources in nested for s in sources} - set(input_names) - models)
    probes = ([layers[n].output for n in direct] + [layers[n].input for n in before + parts + unrolled + lowered]
              + [model.get_layer(s).output for s in fed] + (list(model.outputs) if outputs else []))
    results = []
    if probes:
        results = keras.Model(model.inputs, probes).predict(arrays if len(arrays) > 1 else arrays[0], verbose=0,
                                                           batch_size=1024)
        results = [np.asarray(r, np.float64) for r in (results if isinstance(results, list) else [results])]
    results = iter(results)
    for name in direct:
        values[name] = next(results)
    for name in before:
        values[f"{name}_linear"] = _linear(keras, layers[name], next(results))
    for name in parts:
        x = next(results)
        values[f"{name}_depthwise"] = _depthwise_part(tf, graph.producer(f"{name}_depthwise"), x).reshape(
            (len(x),) + graph.tensors[f"{name}_depthwise"].shape)
    for name in unrolled:
        _record_steps(keras, tf, layers[name], name, next(results), graph, names, values)
    for name in lowered:  # its output before the transpose to Keras's order
        x, back = next(results), [0] + [int(p) + 1 for p in np.argsort(graph.producer(name).attrs["perm"])]
        values[f"{name}_einsum"] = np.transpose(np.asarray(layers[name](x.astype(np.float32)), np.float64), back)
        values[f"{name}_einsum_linear"] = np.transpose(_linear(keras, layers[name], x), back)
    known = dict(zip(input_names, arrays))
    known.update((s, next(results)) for s in fed)
    found = [next(results) for _ in model.outputs] if outputs else None
    for layer, sources in nested:
        (known[layer.name],) = _record(keras, tf, layer, [known[s] for s in sources], graph, names, ir, values,
                                       outputs=True)
    return found


def _record_steps(keras, tf, layer, name, x, graph, names, values):
    """The tensors of TimeDistributed `layer` unrolled into steps (see
    hlsflow.frontend.sequence), from its input x: per step t the slice
    <name>_t<t>, the wrapped layer's or model's tensors <name>_t<t>_<layer>
    and the step's output <name>_t<t>_stacked."""
    from hlsflow.frontend.keras import MODELS, layer_names

    inner = layer.layer
    for t in range(x.shape[1]):
        step = f"{name}_t{t}"
        values[step] = x[:, t]
        if type(inner).__name__ in MODELS:
            (y,) = _record(keras, tf, inner, [x[:, t].astype(np.float32)], graph, names,
                           layer_names(inner, f"{step}_"), values, outputs=True)
        else:
            y = np.asarray(inner(x[:, t].astype(np.float32)), np.float64)
            values[f"{step}_{inner.name}"] = y
            if f"{step}_{inner.name}_linear" in names:
                values[f"{step}_{inner.name}_linear"] = _linear(keras, inner, x[:, t])
        values[f"{step}_stacked"] = y[:, None]


def _linear(keras, layer, x) -> np.ndarray:
    """The layer's output on input x before its activation."""
    activation, layer.activation = layer.activation, keras.activations.linear
    try:
        return np.asarray(layer(np.asarray(x, np.float32)), np.float64)
    finally:
        layer.activation = activation


def _depthwise_part(tf, node, x) -> np.ndarray:
    """The depthwise convolution of IR conv node `node` (its kernel and geometry) on
    Keras values x, in float32 as Keras computes it."""
    a = node.attrs
    (h, w, c), (kh, kw), (t, b, left, right) = a["in_hwc"], a["kernel"], a["pads"]
    x = np.pad(np.asarray(x, np.float32).reshape(len(x), h, w, c), ((0, 0), (t, b), (left, right), (0, 0)))
    kernel = node.params["weight"].reshape(kh, kw, c, -1).astype(np.float32)  # channel c * M + m is [c, m]
    y = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID", dilations=a["dilation"])
    return np.asarray(y, np.float64)[:, ::a["strides"][0], ::a["strides"][1]]


def knobs(graph: Graph, original: Graph, values: dict, options: dict) -> list[Knob]:
    """The searchable types of a data-free typed graph (`original`: its float weights, before any rounding)."""
    found = []
    p, m = options["percentile"], options["margin"]
    for name, keys in graph.meta.get("chosen", {}).items():
        node = graph.node(name) if name not in graph.inputs else None
        for key in keys:
            if node is not None and node.op == "softmax":
                found.append(_softmax_knob(graph, node, key, values, options))
            elif key in ("weight_type", "bias_type", "recurrent_weight_type", "recurrent_bias_type"):
                w = original.node(name).params[key[:-5]]
                if np.any(w):
                    signed = bool(w.min() < 0)
                    found.append(Knob(name, key, integer_bits(w, signed), signed, 0, fractional_bits(w), w.size))
            else:
                tensor = name if node is None else node.outputs[0]
                if node is not None and graph.tensors[tensor].exact:
                    continue  # computed exactly from quantized values: keep its exact type (bit-exact contract)
                tensor = f"{name}/{key}" if f"{name}/{key}" in values else tensor  # a value inside a layer
                if tensor not in values:
                    raise UnsupportedError(f"profile: no Keras value recorded for tensor {tensor!r} of {name!r}")
                x = values[tensor]
                signed = bool(x.min() < 0)
                found.append(Knob(name, key, integer_bits(x, signed, p, m), signed, 0, 10 ** 6, x[0].size))
    return found


def _softmax_knob(graph, node, key, values, options) -> Knob:
    n = graph.tensors[node.outputs[0]].size
    if key == "index_type":
        x = values[node.inputs[0]]
        spread = (x.max(axis=-1) - x.min(axis=-1)) * options["margin"]
        integer = min(integer_bits(spread, False, options["percentile"]), INDEX_LIMIT)
        return Knob(node.name, key, integer, False, 0, 10 ** 6, n)
    if key == "inv_frac":
        return Knob(node.name, key, math.ceil(math.log2(n + 1)), False, 0, 10 ** 6, 1)
    return Knob(node.name, key, 1, False, 0, 10 ** 6, n)  # exp, 1/sum and probabilities lie in [0, 1]


class Search:
    """Emulator-against-Keras trials of candidate knob settings."""

    def __init__(self, original: Graph, config: dict, samples, reference: dict, options: dict,
                 argmax: tuple[str, np.ndarray] | None = None, softmax: tuple[str, str] | None = None):
        """Errors are measured on the tensors of `reference` (Keras's values), argmax
        agreement on `argmax` (tensor, Keras's values; default: the first of
        reference); with `softmax` (logits, probabilities), the probabilities'
        error is against the exact softmax of the emulated logits."""
        from hlsflow.passes import run_passes

        self.run_passes = run_passes
        self.original, self.config, self.samples = original, config, samples
        self.reference, self.options = reference, options
        self.argmax = argmax or next(iter(reference.items()))
        self.softmax = softmax
        self.spans = {t: float(np.ptp(r)) or 1.0 for t, r in reference.items()}
        self.argmax_target = options["argmax_target"]
        self.trials = 0

    def typed(self, chosen: list[Knob]) -> Graph:
        layers = {}
        for k in chosen:
            layers.setdefault(k.layer, {})[k.key] = k.value()
        for name, entry in self.config.get("layers", {}).items():
            layers.setdefault(name, {}).update(entry)
        return self.run_passes(copy.deepcopy(self.original), {**self.config, "layers": layers})

    def measure(self, graph: Graph) -> tuple[dict, float]:
        """Max |error| / range of each checked tensor, and the argmax agreement."""
        first, keras = self.argmax
        got = emulate(graph, self.samples, tensors=list(dict.fromkeys([*self.reference, first, *(self.softmax or ())])))
        reference = dict(self.reference)
        if self.softmax:
            logits, probabilities = self.softmax
            reference[probabilities] = exact_softmax(got[logits])
        errors = {t: float(np.abs(got[t] - r).max()) / self.spans[t] for t, r in reference.items()}
        n = len(got[first])
        agree = float(np.mean(got[first].reshape(n, -1).argmax(1) == keras.reshape(n, -1).argmax(1)))
        return errors, agree

    def meets(self, chosen: list[Knob]) -> bool:
        self.trials += 1
        try:
            errors, agree = self.measure(self.typed(chosen))
        except HlsflowError:  # e.g. an accumulator too wide: not a usable setting
            return False
        return max(errors.values()) <= self.options["error_target"] and agree >= self.argmax_target


def _lowest(meets, lo: int, hi: int) -> int:
    """Smallest v in [lo, hi] with meets(v), assuming meets(hi) and monotony."""
    while lo < hi:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


def search(found: list[Knob], trial: Search) -> list[Knob]:
    """One width for all knobs (bisection), then each knob, biggest first, as narrow as the target allows."""
    def uniform(width):
        for k in found:
            k.frac = max(min(width - k.integer, k.most), k.floor)
        return trial.meets(found)

    if not uniform(WIDEST):
        _attainable_argmax(found, trial)
    uniform(_lowest(uniform, 2, WIDEST))
    for k in sorted(found, key=lambda k: -k.size):
        start = k.frac

        def narrower(frac, k=k):
            k.frac = frac
            return trial.meets(found)

        k.frac = _lowest(narrower, k.floor, start)
    return found


def _attainable_argmax(found: list[Knob], trial: Search) -> None:
    """When the widest setting meets the error target but not the argmax target,
    the argmax target becomes what the widest setting reaches: near-ties that no
    type up to WIDEST bits resolves (a lookup table's index has at most
    table_width bits, so an element-wise function of the input cannot order
    inputs closer than its step) are not the knobs' to fix."""
    message = (f"error target {trial.options['error_target']:g} (argmax agreement "
               f">= {trial.options['argmax_target']:g}) not reached even with {WIDEST}-bit types")
    try:
        errors, agree = trial.measure(trial.typed(found))
    except HlsflowError as exc:
        raise OptionError(f"{message} ({exc})") from exc
    if max(errors.values()) > trial.options["error_target"]:
        raise OptionError(f"{message} (max error {max(errors.values()):.3g} of the output range)")
    trial.argmax_target = agree


def calibrate(model, original: Graph, samples, config=None) -> tuple[dict, dict]:
    """Config whose "layers" hold the types chosen from the samples (the user's
    entries in config["layers"] win), and a summary of what the search measured."""
    from hlsflow.frontend.keras import sequence  # (through keras.py, which registers its handlers)
    from hlsflow.passes import run_passes
    from hlsflow.passes.precision import assign_types

    config = dict(config or {})
    if with_defaults(config)["default_precision"] is not None:  # the user states the types: nothing to choose
        return config, {}
    options = with_defaults(config)["profile"]
    base = run_passes(copy.deepcopy(original), config)
    checked = list(base.outputs)
    last = base.nodes[-1] if base.nodes else None
    if last is not None and last.op == "softmax" and last.outputs == base.outputs:
        checked.append(last.inputs[0])
    wanted = set(checked) | set(base.inputs) | {n.outputs[0] for n in base.nodes} | {n.inputs[0] for n in base.nodes}
    # float weights as the hardware uses them: after batch-norm folding, before rounding
    folded = run_passes(copy.deepcopy(original), config, until=assign_types)
    values = record(model, folded, samples, wanted)
    values.update(sequence.record_internals(model, base, samples))
    found = knobs(base, folded, values, options)
    if not found:
        return config, {}
    trial = Search(original, config, samples, {t: values[t] for t in checked}, options)
    inputs = [k.layer for k in found if k.layer in base.inputs]
    softmax_name = last.name if last is not None and last.op == "softmax" else None
    stepped = False
    try:
        search(found, trial)
    except OptionError:
        # quantizers downstream of float inputs (see the module's docstring): only the inputs are knobs
        if not inputs or any(k.layer not in base.inputs and k.layer != softmax_name for k in found):
            raise
        stepped = True
        reference = {name: values[name] for name in inputs}
        softmax = None
        if softmax_name is not None and last.outputs[0] in checked:
            softmax = (last.inputs[0], last.outputs[0])
            reference[last.outputs[0]] = values[last.outputs[0]]
        trial = Search(original, config, samples, reference, options, (checked[0], values[checked[0]]), softmax)
        search(found, trial)
    graph = trial.typed(found)
    errors, agree = trial.measure(graph)
    layers = {}
    for k in found:
        layers.setdefault(k.layer, {})[k.key] = k.value()
    for name, entry in config.get("layers", {}).items():
        layers.setdefault(name, {}).update(entry)
    summary = {"samples": int(len(values[base.inputs[0]])), "error_target": options["error_target"],
               "max_error": errors, "argmax_agreement": agree, "argmax_target": trial.argmax_target,
               "trials": trial.trials}
    if stepped:
        summary["input_rounding"] = inputs  # the error measured on the inputs' rounding, not at the outputs
    if last is not None and last.op == "softmax":
        summary["softmax_error"] = softmax_error(graph, samples)
    return {**config, "layers": layers}, summary


def softmax_error(graph: Graph, samples) -> float:
    """Max |fixed-point softmax - exact softmax of the same fixed-point logits| on the samples."""
    last = graph.nodes[-1]
    got = emulate(graph, samples, tensors=[last.inputs[0], last.outputs[0]])
    return float(np.abs(got[last.outputs[0]] - exact_softmax(got[last.inputs[0]])).max())


def exact_softmax(logits: np.ndarray) -> np.ndarray:
    """The softmax over the last axis, in float64."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def default_config(graph: Graph) -> dict:
    """Every type hlsflow chose for a typed graph, as the conversion config JSON (`hlsflow config`)."""
    layers = {}
    for name, keys in graph.meta.get("chosen", {}).items():
        entry = layers.setdefault(name, {})
        if name in graph.inputs:
            entry["output_type"] = str(graph.tensors[name].type)
            continue
        node = graph.node(name)
        for key in keys:
            if key == "output_type":
                entry[key] = str(graph.tensors[node.outputs[0]].type)
            elif key == "inv_frac":
                entry[key] = node.attrs["inv_index_type"].fractional
            else:
                entry[key] = str(node.attrs[key])
    return {"layers": layers}


def mean_width(graph: Graph) -> float:
    """Mean width of the tensors, weights and biases (accumulators excluded)."""
    widths = [t.type.width for t in graph.tensors.values()]
    widths += [n.attrs[k].width for n in graph.nodes for k in ("weight_type", "bias_type") if k in n.attrs]
    return float(np.mean(widths))


def quantization_table(graph: Graph, original: Graph, values: dict) -> list[dict]:
    """Per tensor and parameter of a typed graph (`original`: its float weights): observed
    range, type, step, max quantization error and overflow count on the recorded values."""
    rows = []
    for name, t in graph.tensors.items():
        node = graph.producer(name)
        for key in ("weight", "bias"):
            if node is not None and f"{key}_type" in node.attrs:
                rows.append(_row(f"{node.name}.{key}", original.node(node.name).params[key], node.attrs[f"{key}_type"]))
        if name in values:
            rows.append(_row(name, values[name], t.type))
    return rows


def _row(name, x, t: FixedType) -> dict:
    x = np.asarray(x, np.float64)
    return {"tensor": name, "min": float(x.min()), "max": float(x.max()), "type": str(t), "step": t.step,
            "error": float(np.abs(quantize(x, t) - x).max()),
            "overflow": int(np.sum((x > t.max_value) | (x < t.min_value))), "count": int(x.size), "values": x}


def format_table(rows: list[dict]) -> str:
    """The rows of quantization_table as aligned text."""
    width = max(len(r["tensor"]) for r in rows)
    head = f"{'tensor':<{width}}  {'min':>10} {'max':>10}  {'type':<36} {'step':>9} {'max err':>9}  overflow"
    lines = [head]
    for r in rows:
        lines.append(f"{r['tensor']:<{width}}  {r['min']:>10.4g} {r['max']:>10.4g}  {r['type']:<36} {r['step']:>9.3g} "
                     f"{r['error']:>9.3g}  {r['overflow']}/{r['count']}")
    return "\n".join(lines)
