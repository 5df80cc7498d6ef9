"""`hlsflow.quantize`: float Keras model -> QKeras model that hlsflow converts bit-exactly.

Layout of the result (hardware friendly, no float scaling anywhere):
- the input goes through QActivation(quantized_bits(input_bits, integer, alpha=1));
- Dense/Conv2D/DepthwiseConv2D become QDense/QConv2D/QDepthwiseConv2D with
  quantized_bits(bits, 0, alpha="auto_po2") kernels (a power-of-two scale per
  output channel) or, per tensor, quantized_bits(bits, integer, alpha=1),
  whichever errs less (grids.choose); kernels are stored on their grid, which
  QKeras reproduces exactly;
  biases are quantized_bits(alpha=1) on the accumulator's grid;
- every ReLU becomes QActivation(quantized_relu(bits, integer)) and other
  quantized layer outputs QActivation(quantized_bits(bits, integer, alpha=1)),
  with power-of-two ranges from calibration; the last compute layer's output
  (the logits) stays exact.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from hlsflow.errors import OptionError
from hlsflow.files import fit_samples
from hlsflow.ptq import adaround as _adaround
from hlsflow.ptq import bias_correction as _bias
from hlsflow.ptq import calibrate, cle as _cle, grids, kernels
from hlsflow.ptq.sanitize import AVERAGING, COMPUTE, sanitize

RANDOM_SAMPLES = 1024
MAX_BIAS_BITS = 24  # Keras adds biases in float32: keep them within its mantissa
Q_CLASS = {"Dense": "QDense", "Conv2D": "QConv2D", "DepthwiseConv2D": "QDepthwiseConv2D"}
KERNEL_ARG = {"Dense": "kernel_quantizer", "Conv2D": "kernel_quantizer", "DepthwiseConv2D": "depthwise_quantizer"}


def quantize(model, weight_bits=8, activation_bits=8, input_weight_bits=8, samples=None, per_channel=True,
             per_tensor_activations=False, calibration="minmax", cle=False, bias_correction=False, adaround=False,
             input_bits=8, batch_size=128, config=None):
    """Quantize a float Keras model (object or path) into a QKeras model.

    samples: calibration inputs (without them: 1024 random inputs and a warning).
    input_bits: width of the network input's quantizer. config: per-layer
    overrides as written by `layer_config` (weight_bits, per_channel; bits, integer).
    """
    from hlsflow.frontend.keras import load_model
    from hlsflow.frontend.tf_setup import import_keras

    import_keras()
    _check_bits(weight_bits=weight_bits, activation_bits=activation_bits, input_weight_bits=input_weight_bits,
                input_bits=input_bits)
    if calibration not in calibrate.METHODS:
        raise OptionError(f"calibration {calibration!r}: unknown method (known: {', '.join(calibrate.METHODS)})")
    if isinstance(model, (str, Path)):
        model = load_model(model)
    model = _tf_keras(model)
    overrides = _load_config(config)
    clean = sanitize(model)
    fmodel, stats = clean.model, clean.bn_stats
    data = _samples(samples, fmodel, clean.input_range)
    if cle:
        _cle.equalize(fmodel, stats)
    layers = _quantized_part(fmodel, clean.stop)
    weights = _weight_settings(layers, weight_bits, input_weight_bits, per_channel, overrides)
    points = _points(fmodel, layers)
    if not per_tensor_activations and per_channel:
        _cle.balance_activations(fmodel, _producer_peaks(fmodel, points, data, batch_size), stats)
    peaks = _producer_peaks(fmodel, points, data, batch_size) if per_channel and not per_tensor_activations else {}
    grids.align(fmodel, {name: w["bits"] for name, w in weights.items() if w["per_channel"]}, stats, peaks,
                activation_bits)
    plan = _calibrate(fmodel, points, data, batch_size, calibration, activation_bits, input_bits, overrides)
    _nonnegative_integers(fmodel, plan, stats)
    grid = {}
    for name, w in weights.items():
        layer = fmodel.get_layer(name)
        grid[name] = grids.choose(kernels.kind(layer), layer.get_weights()[0], w["bits"], w["per_channel"])
        w["per_channel"] = grid[name][3]
    qmodel = _build(fmodel, clean.stop, plan, weights, biases=None)
    for name in weights:
        _quantize_weights(fmodel, qmodel, fmodel.get_layer(name), grid[name][:3], data, batch_size, adaround,
                          bias_correction, samples is not None, stats)
    biases = {name: _bias_quantizer(qmodel, name, plan, grid[name][0]) for name in weights}
    final = _build(fmodel, clean.stop, plan, weights, biases)
    for layer in final.layers:
        if layer.get_weights():
            layer.set_weights(qmodel.get_layer(layer.name).get_weights())
    return final


def _weight_settings(layers, weight_bits, input_weight_bits, per_channel, overrides) -> dict:
    """{compute layer: {"bits", "per_channel"}}; the first layer takes input_weight_bits. per_channel
    "auto": per channel unless one per-tensor grid errs less (see grids.choose)."""
    weights = {}
    first = next((layer.name for layer in layers if kernels.kind(layer) in COMPUTE), None)
    for layer in layers:
        if kernels.kind(layer) in COMPUTE:
            setting = overrides.get(layer.name, {})
            weights[layer.name] = {"bits": setting.get("weight_bits", input_weight_bits if layer.name == first
                                                       else weight_bits),
                                   "per_channel": setting.get("per_channel", "auto" if per_channel else False)}
    return weights


def _tf_keras(model):
    """The model itself, or for a Keras 3 model the same tf-keras model (QKeras builds on tf-keras)."""
    from hlsflow.frontend.keras3 import as_tf_keras
    from hlsflow.frontend.tf_setup import is_keras3

    return as_tf_keras(model) if is_keras3(model) else model


# -- options and samples ------------------------------------------------------
def _check_bits(**bits):
    for name, value in bits.items():
        if not isinstance(value, (int, np.integer)) or not 2 <= value <= 16:
            raise OptionError("expected an integer number of bits from 2 to 16", option=name, value=value)


def _load_config(config) -> dict:
    """The per-layer part of a config (dict or JSON path) as written by layer_config."""
    import json

    if config is None:
        return {}
    if not isinstance(config, dict):
        try:
            config = json.loads(Path(config).read_text())
        except (OSError, ValueError) as exc:
            raise OptionError(f"config {config}: not a readable JSON file ({exc})") from exc
    config = config.get("quantization", config)  # the file `hlsflow config` writes holds it in this section
    if not isinstance(config.get("layers"), dict):
        raise OptionError("config: expected {\"layers\": {layer name: settings}} as written by `hlsflow config`")
    return config["layers"]


def _samples(samples, fmodel, input_range):
    shape = tuple(fmodel.input_shape[1:])
    if samples is None:
        warnings.warn(f"quantize: no calibration samples; using {RANDOM_SAMPLES} random inputs "
                      "(ranges and accuracy will suffer: pass samples)", stacklevel=3)
        rng = np.random.default_rng(0)
        if input_range is not None:
            return rng.uniform(*input_range, (RANDOM_SAMPLES,) + shape).astype(np.float32)
        return rng.normal(0, 1, (RANDOM_SAMPLES,) + shape).astype(np.float32)
    if isinstance(samples, (list, tuple)):
        samples = samples[0]
    (samples,) = fit_samples(samples, {_input_name(fmodel): shape})
    return samples.astype(np.float32)


# -- quantization points and calibration ---------------------------------------
def _quantized_part(fmodel, stop):
    names = [layer.name for layer in fmodel.layers]
    return fmodel.layers[:names.index(stop)] if stop else list(fmodel.layers)


def _points(fmodel, layers) -> dict:
    """Where activation quantizers go: {quantizer name: (layer whose output it quantizes, signed)}."""
    points = {f"{_input_name(fmodel)}_quant": (None, None)}
    kinds = [kernels.kind(layer) for layer in layers]
    for i, layer in enumerate(layers):
        later = any(k in COMPUTE + AVERAGING for k in kinds[i + 1:])
        if kinds[i] == "ReLU":
            points[layer.name] = (layer, False)
        elif kinds[i] in COMPUTE + AVERAGING and later and (i + 1 == len(layers) or kinds[i + 1] != "ReLU"):
            points[f"{layer.name}_quant"] = (layer, True)
    return points


def _input_name(fmodel) -> str:
    return fmodel.inputs[0].name.split(":")[0]


def _outputs(fmodel, layers, data, batch_size):
    from hlsflow.frontend.tf_setup import import_keras

    _, keras = import_keras()
    sub = keras.Model(fmodel.inputs, [fmodel.input if layer is None else layer.output for layer in layers])
    out = sub.predict(data, batch_size=batch_size, verbose=0)
    return out if isinstance(out, list) else [out]


def _producer_peaks(fmodel, points, data, batch_size) -> dict:
    """Channel peaks of the quantized tensor after each compute layer of a pair."""
    tapped = {}
    for first, between, _second in kernels.pairs(fmodel):
        tap = between[0] if between and kernels.kind(between[0]) == "ReLU" else first
        if any(layer is tap for layer, _ in points.values()):
            tapped[first.name] = tap
    values = _outputs(fmodel, list(tapped.values()), data, batch_size) if tapped else []
    return {name: calibrate.channel_peaks(v) for name, v in zip(tapped, values)}


def _calibrate(fmodel, points, data, batch_size, method, bits, input_bits, overrides) -> dict:
    """{quantizer name: (layer name or None, bits, integer, signed)}."""
    values = _outputs(fmodel, [layer for layer, _ in points.values()], data, batch_size)
    plan = {}
    for (name, (layer, signed)), x in zip(points.items(), values):
        setting = overrides.get(name, {})
        if layer is None:  # the network input: always covered whole
            signed = bool(np.min(x) < 0)
            b = setting.get("bits", input_bits)
            integer = max(0, calibrate.integer_bits(x, b, signed, "minmax"))
        else:
            b = setting.get("bits", bits)
            integer = calibrate.integer_bits(x, b, signed, method)
        plan[name] = (layer.name if layer is not None else None, b, setting.get("integer", integer), signed)
    return plan


def _nonnegative_integers(fmodel, plan, stats) -> None:
    """QKeras quantizers need integer >= 0: a range below 1 is moved up by 2^k
    (the producing layer's outputs times 2^k, the consuming layer's inputs divided
    by it; per-channel power-of-two weight scales absorb both exactly)."""
    pairs = kernels.pairs(fmodel)
    for name, (layer, bits, integer, signed) in plan.items():
        if integer >= 0:
            continue
        pair = next(((a, c) for a, between, c in pairs if layer in [a.name] + [b.name for b in between]), None)
        if pair is None:
            warnings.warn(f"quantize: {name}: range 2^{integer} below 1 cannot be rescaled here; "
                          "using integer 0 (fewer significant bits)", stacklevel=3)
        else:
            _cle._rescale(*pair, np.full(_out_channels(pair[0]), 2.0 ** -integer, np.float32), stats)
        plan[name] = (layer, bits, 0, signed)


def _out_channels(layer) -> int:
    kernel = layer.get_weights()[0]
    return kernel.shape[2] * kernel.shape[3] if kernels.kind(layer) == "DepthwiseConv2D" else kernel.shape[-1]


# -- building the QKeras model ----------------------------------------------------
def _activation_quantizer(bits, integer, signed):
    from qkeras import quantized_bits, quantized_relu

    if signed:
        return quantized_bits(bits, integer, alpha=1)
    return quantized_relu(bits, integer)


def _input_quantizer(bits, integer, signed):
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, keep_negative=signed, alpha=1)


def _kernel_quantizer(layer_kind, bits, per_channel, kernel):
    from qkeras import quantized_bits

    if per_channel:
        return quantized_bits(bits, 0, alpha="auto_po2", scale_axis=2 if layer_kind == "DepthwiseConv2D" else None)
    return quantized_bits(bits, grids.tensor_integer(kernel, bits), alpha=1)


def _build(fmodel, stop, plan, weights, biases):
    """The QKeras Sequential for `plan`; weights are copied from fmodel (biases: None = float biases)."""
    import qkeras
    from hlsflow.frontend.tf_setup import import_keras

    _, keras = import_keras()
    by_layer = {layer: (name, b, i, s) for name, (layer, b, i, s) in plan.items()}
    input_name, (_, b, i, s) = next((n, p) for n, p in plan.items() if p[0] is None)
    out = [keras.layers.InputLayer(fmodel.input_shape[1:], name=_input_name(fmodel)),
           qkeras.QActivation(_input_quantizer(b, i, s), name=input_name)]
    quantizing = True
    for layer in fmodel.layers:
        quantizing = quantizing and layer.name != stop
        k = kernels.kind(layer)
        config = layer.get_config()
        if quantizing and k in COMPUTE:
            w = weights[layer.name]
            config[KERNEL_ARG[k]] = _kernel_quantizer(k, w["bits"], w["per_channel"], layer.get_weights()[0])
            config["bias_quantizer"] = biases[layer.name] if biases else None
            out.append(getattr(qkeras, Q_CLASS[k]).from_config(config))
        elif quantizing and k == "ReLU":
            _, b, i, s = by_layer[layer.name]
            out.append(qkeras.QActivation(_activation_quantizer(b, i, False), name=layer.name))
            continue
        else:
            out.append(type(layer).from_config(config))
        if quantizing and layer.name in by_layer:
            name, b, i, s = by_layer[layer.name]
            out.append(qkeras.QActivation(_activation_quantizer(b, i, s), name=name))
    qmodel = keras.Sequential(out, name=fmodel.name)
    for layer in fmodel.layers:
        if layer.get_weights():
            qmodel.get_layer(layer.name).set_weights(layer.get_weights())
    return qmodel


# -- weights ---------------------------------------------------------------------
def _quantize_weights(fmodel, qmodel, layer, grid, data, batch_size, adaround, bias_correction, empirical, stats):
    """The kernel of one layer on its grid (nearest, or by AdaRound), then bias
    correction, given every layer before it quantized."""
    from hlsflow.frontend.tf_setup import import_keras

    _, keras = import_keras()
    qlayer = qmodel.get_layer(layer.name)
    kernel, bias = qlayer.get_weights()
    if adaround:
        inputs = keras.Model(qmodel.inputs, qlayer.input).predict(data, batch_size=batch_size, verbose=0)
        (target,) = _outputs(fmodel, [layer], data, batch_size)
        following = fmodel.layers[[l.name for l in fmodel.layers].index(layer.name) + 1:]
        relu = bool(following) and kernels.kind(following[0]) == "ReLU"
        learned = _adaround.optimize(qlayer, kernel, bias, *grid, inputs, target, relu)
        kernel = grids.reproducible(kernels.kind(layer), learned, kernel, *grid)
    else:
        kernel = grids.snap(kernel, *grid)
    qlayer.set_weights([kernel, bias])
    if bias_correction:
        if empirical:
            (target,) = _outputs(fmodel, [layer], data, batch_size)
            quant = keras.Model(qmodel.inputs, qlayer.output).predict(data, batch_size=batch_size, verbose=0)
            delta = _bias.empirical(target, quant)
        else:
            mean = _bias.expected_input(fmodel, layer, stats)
            if mean is None:
                warnings.warn(f"quantize: bias correction of layer {layer.name!r} skipped: no BatchNormalization "
                              "statistics before it (pass samples for empirical correction)", stacklevel=4)
                return
            delta = _bias.analytic(kernels.kind(layer), layer.get_weights()[0], kernel, mean)
        qlayer.set_weights([kernel, bias + delta])


def _bias_quantizer(qmodel, name, plan, scale):
    """quantized_bits on the grid of the coarsest channel's accumulator, as wide as the biases need (<= 24 bits)."""
    from qkeras import quantized_bits

    bias = qmodel.get_layer(name).get_weights()[1]
    step = _input_step(qmodel, name, plan) * float(np.max(scale))
    frac = -int(round(math.log2(step)))
    peak = float(np.abs(bias).max())
    integer = max(math.ceil(math.log2(peak + step)), 0) if peak > 0 else 0
    bits = min(integer + 1 + frac, MAX_BIAS_BITS)
    return quantized_bits(bits, integer, alpha=1)


def _input_step(qmodel, name, plan) -> float:
    """LSB of the activation quantizer that feeds layer `name`."""
    step = None
    for layer in qmodel.layers:
        if layer.name == name:
            return step
        if type(layer).__name__ == "QActivation":
            _, bits, integer, signed = plan[layer.name]
            step = calibrate.lsb(bits, integer, signed)
    raise OptionError(f"layer {name!r} not found")


# -- per-layer configuration and rescaling ------------------------------------------
def _kernel_quantizer_of(qlayer):
    return getattr(qlayer, "kernel_quantizer_internal", None) or qlayer.depthwise_quantizer_internal


def layer_config(qmodel) -> dict:
    """The per-layer quantization of a model made by `quantize`, editable and
    accepted back by quantize(config=...)."""
    layers = {}
    for layer in qmodel.layers:
        cls = type(layer).__name__
        if cls in Q_CLASS.values():
            kq = _kernel_quantizer_of(layer)
            entry = {"class": cls, "weight_bits": int(kq.bits), "per_channel": isinstance(kq.alpha, str)}
            bq = layer.bias_quantizer_internal
            if bq is not None:
                entry.update(bias_bits=int(bq.bits), bias_integer=int(bq.integer))
            layers[layer.name] = entry
        elif cls == "QActivation":
            q = layer.quantizer
            signed = type(q).__name__ == "quantized_bits" and bool(q.keep_negative)
            layers[layer.name] = {"class": cls, "quantizer": type(q).__name__, "bits": int(q.bits),
                                  "integer": int(q.integer), "signed": signed}
    return {"model": qmodel.name, "layers": layers}


def insert_rescaling(model, scale: float, offset: float = 0.0):
    """The model with a Rescaling(scale, offset) layer in front of its first layer."""
    from hlsflow.frontend.tf_setup import import_keras
    from hlsflow.ptq.sanitize import chain

    _, keras = import_keras()
    model = _tf_keras(model)
    layers = chain(model)
    out = keras.Sequential([keras.layers.InputLayer(model.input_shape[1:], name=model.input_names[0]),
                            keras.layers.Rescaling(scale, offset, name="rescaling")]
                           + [type(layer).from_config(layer.get_config()) for layer in layers], name=model.name)
    for layer in layers:
        if layer.get_weights():
            out.get_layer(layer.name).set_weights(layer.get_weights())
    return out
