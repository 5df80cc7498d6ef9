"""Keras/QKeras model loading and translation into the IR.

Each supported layer class has a handler in HANDLERS: it adds nodes to the
graph and returns the name of the tensor the layer outputs.
"""
from __future__ import annotations

import contextlib
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from hlsflow import progress
from hlsflow.errors import ModelLoadError, UnsupportedError
from hlsflow.frontend import quantizers
from hlsflow.frontend.tf_setup import custom_objects, import_keras, import_keras3, import_tensorflow
from hlsflow.ir import DuplicateNameError, Graph


# -- loading ---------------------------------------------------------------
def load_model(path, weights=None):
    """Load a model from .h5, .keras, or .json (+ weights .h5): a tf-keras/QKeras
    model, or a Keras 3 one (read and later run by Keras 3 itself)."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    if path.stat().st_size == 0:
        raise ModelLoadError(f"{path}: file is empty")
    suffix = path.suffix.lower()
    if suffix not in (".json", ".h5", ".hdf5", ".keras"):
        raise ModelLoadError(f"{path}: unknown model format {suffix!r} (expected .h5, .keras or .json)")
    keras3 = saved_by_keras3(path)
    keras = import_keras3() if keras3 else import_keras()[1]
    objects = {} if keras3 else custom_objects()
    try:
        with progress.step(f"loading {path.name}"), quiet_keras_warnings():
            if suffix == ".json":
                model = keras.models.model_from_json(path.read_text(), custom_objects=objects)
                weights = Path(weights) if weights else path.with_name(path.stem + "_weights.h5")
                if not weights.is_file():
                    raise ModelLoadError(f"{weights}: weights file not found (pass --weights)")
                model.load_weights(str(weights))
            else:
                model = keras.models.load_model(str(path), custom_objects=objects, compile=False)
                if weights:
                    model.load_weights(str(weights))
    except ModelLoadError:
        raise
    except Exception as exc:  # Keras raises many kinds for unreadable files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"{path}: not a readable Keras model ({first})") from exc
    return model


def saved_by_keras3(path: Path) -> bool:
    """Whether a model file was written by Keras 3 (its recorded keras_version);
    files that do not say are read as tf-keras ones."""
    import json
    import zipfile

    try:
        if path.suffix.lower() == ".keras":
            with zipfile.ZipFile(path) as archive:
                version = json.loads(archive.read("metadata.json")).get("keras_version", "")
        elif path.suffix.lower() == ".json":
            data = json.loads(path.read_text())
            version = data.get("keras_version", "3" if "module" in data else "")
        else:
            import h5py

            with h5py.File(path, "r") as f:
                version = f.attrs.get("keras_version", "")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, AttributeError):
        return False
    version = version.decode() if isinstance(version, bytes) else str(version)
    return version.startswith("3")


@contextlib.contextmanager
def quiet_keras_warnings():
    """Hide the warnings tf-keras gives about QKeras quantizers while models are
    (de)serialized: they are about Keras's API, not about the user's model."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The `keras\.\w+\.serialize\(\)` API should only be used")
        yield


def layer_attribute(layer, *names):
    """The first of `names` the layer has: tf-keras and Keras 3 name a few
    attributes differently (LeakyReLU alpha / negative_slope, DepthwiseConv
    depthwise_kernel / kernel)."""
    for name in names:
        if hasattr(layer, name):
            return getattr(layer, name)
    raise UnsupportedError(f"layer {layer.name!r} ({type(layer).__name__}): has none of {', '.join(names)}")


# -- translation -------------------------------------------------------------
MODELS = ("Functional", "Sequential", "Model")  # a model used as a layer: flattened into the outer graph


def to_graph(model) -> Graph:
    """Translate a built Keras model (tf-keras, QKeras or Keras 3) into an
    (untyped where float) IR graph; models nested in it are flattened into it."""
    graph = Graph(model.name)
    graph.outputs = add_model(graph, model, None, layer_names(model))
    return graph


def add_model(graph, model, inputs, names) -> list[str]:
    """Add the layers of a functional or Sequential `model`, reading the IR
    tensors `inputs` (None: new graph inputs), each layer under its name in
    `names` ({id(layer): IR name}); returns the IR tensors of its outputs."""
    input_names, calls, output_names = model_calls(model)
    if inputs is None:
        inputs = [_add_input(graph, name, t.shape[1:]) for name, t in zip(input_names, model.inputs)]
    aliases = dict(zip(input_names, inputs))  # Keras layer name -> IR tensor it became
    for layer, sources in calls:
        src = [aliases.get(name, name) for name in sources]
        if type(layer).__name__ in MODELS:
            outputs = add_model(graph, layer, src, names)
            if len(outputs) != 1:
                raise UnsupportedError(f"nested model {layer.name!r}: {len(outputs)} outputs; a model used as a "
                                       "layer must have one")
            aliases[layer.name] = outputs[0]
        else:
            name = names[id(layer)]
            aliases[layer.name] = translate(graph, layer if name == layer.name else renamed(layer, name), src)
    return [aliases[name] for name in output_names]


def model_calls(model) -> tuple[list, list, list]:
    """(input names, [(layer, names of the layers or inputs it reads)], output
    names) of a functional or Sequential model, its layers in call order."""
    with quiet_keras_warnings():
        config = model.get_config()
    if "input_layers" in config:  # functional
        calls = [(model.get_layer(c["name"]), _inbound_layers(c["inbound_nodes"])) for c in config["layers"]
                 if c["class_name"] != "InputLayer"]
        return _endpoints(config["input_layers"]), calls, _endpoints(config["output_layers"])
    # sequential (Keras 3 leaves the InputLayer out of model.layers)
    first = config["layers"][0] if config.get("layers") else {}
    name = first["config"]["name"] if first.get("class_name") == "InputLayer" else model.inputs[0].name.split(":")[0]
    calls, previous = [], name
    for layer in model.layers:
        if type(layer).__name__ != "InputLayer":
            calls.append((layer, [previous]))
            previous = layer.name
    return [name], calls, [previous]


def layer_names(model, prefix="") -> dict:
    """{id(layer): IR name} of the layers of `model` and of the models nested
    in it: `prefix` + the layer's name, a nested layer's also prefixed by its
    model's name where another layer of the tree has the same name."""
    found = []

    def walk(m, path):
        for layer in m.layers:
            if type(layer).__name__ in MODELS:
                walk(layer, f"{path}{layer.name}_")
            elif type(layer).__name__ != "InputLayer":
                found.append((layer, path))

    walk(model, "")
    counts = Counter(layer.name for layer, _ in found)
    return {id(layer): prefix + (path if counts[layer.name] > 1 else "") + layer.name for layer, path in found}


def _inbound_layers(nodes) -> list[str]:
    """Names of the layers feeding a layer's first call, the tensors passed by
    keyword (MultiHeadAttention's value and key) after the positional ones.
    tf-keras configs list [[[name, node, tensor, kwargs], ...]]; Keras 3 ones
    [{"args": [...], "kwargs": {...}}] whose tensors carry a keras_history [name, node, tensor]."""
    if not nodes:
        return []
    if isinstance(nodes[0], dict):
        tensors = keras_tensors(nodes[0]["args"]) + keras_tensors(list(nodes[0].get("kwargs", {}).values()))
        return [t["config"]["keras_history"][0] for t in tensors]
    named = [v[0] for entry in nodes[0] if len(entry) > 3 and isinstance(entry[3], dict) for v in entry[3].values()
             if isinstance(v, list) and len(v) == 3 and isinstance(v[0], str)]
    return [entry[0] for entry in nodes[0]] + named


def keras_tensors(value) -> list:
    """The Keras 3 config entries of the tensors in a call's arguments."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in keras_tensors(item)]
    return []


def _endpoints(entries) -> list[str]:
    """Layer names of a functional config's input_layers/output_layers: a list of
    [name, node, tensor], or (Keras 3, one endpoint) that triple alone."""
    if entries and isinstance(entries[0], str):
        entries = [entries]
    return [entry[0] for entry in entries]


def translate(graph, layer, inputs) -> str:
    cls = type(layer).__name__
    handler = HANDLERS.get(cls)
    if handler is None:
        raise UnsupportedError(
            f"layer {layer.name!r} of class {cls} is not supported "
            f"(supported: {', '.join(sorted(HANDLERS))})"
        )
    try:
        return handler(graph, layer, inputs)
    except DuplicateNameError as exc:  # a name hlsflow derives (<layer>_linear, ...) is another layer's
        raise UnsupportedError(f"layer {layer.name!r} ({cls}): {exc.args[0]} (hlsflow names the parts of a "
                               "layer <layer>_linear, <layer>_activation, <layer>_depthwise ...); rename that layer"
                               ) from None


def output_shape(layer):
    return tuple(layer.output.shape[1:])


class Renamed:
    """A layer seen by the handlers under another name and output shape (by
    default its own): a layer of a nested model, a wrapped layer."""

    def __init__(self, layer, name, shape=None):
        self._layer, self.name = layer, name
        shape = output_shape(layer) if shape is None else tuple(shape)
        self.output = type("Output", (), {"shape": (None, *shape)})()

    def __getattr__(self, attr):
        return getattr(self._layer, attr)


def renamed(layer, name, shape=None) -> Renamed:
    """`layer` as a Renamed of a subclass named as its class (which names it in messages)."""
    cls = type(layer).__name__
    return _RENAMED.setdefault(cls, type(cls, (Renamed,), {}))(layer, name, shape)


_RENAMED: dict = {}


def _add_input(graph, name, shape) -> str:
    graph.add_tensor(name, shape)
    graph.inputs.append(name)
    return name


def _identity(graph, layer, inputs):
    return inputs[0]


def _dense(graph, layer, inputs):
    (src,) = inputs
    if len(graph.tensors[src].shape) > 1:  # Keras applies it to the last axis: a pointwise convolution
        return spatial.pointwise_dense(graph, layer, src)
    kernel = layer.kernel.numpy()
    bias = layer.bias.numpy() if layer.use_bias else np.zeros(kernel.shape[1], np.float32)
    kq = getattr(layer, "kernel_quantizer_internal", None)
    bq = getattr(layer, "bias_quantizer_internal", None) if layer.use_bias else None
    attrs = {"weight_quantized": kq is not None, "bias_quantized": bq is not None or not layer.use_bias}
    params = {"weight": quantizers.quantized_values(kq, kernel), "bias": quantizers.quantized_values(bq, bias)}
    scale = quantizers.channel_scale(kq, kernel.shape)  # set by the quantizer's call
    if scale is not None:
        attrs["scale_hint"] = scale.tolist()
    return add_linear(graph, layer, "dense", src, layer.name, attrs, params, layer.activation)


def add_linear(graph, layer, op, src, name, attrs, params, activation) -> str:
    """Add a weighted node (dense, conv) named `name` and its activation."""
    linear = _activation_name(activation) == "linear"
    out = name if linear else f"{name}_linear"
    graph.add_tensor(out, output_shape(layer))
    graph.add_node(name, op, [src], [out], attrs, params)
    if linear:
        return out
    return _add_activation(graph, activation, out, name, f"{name}_activation", layer)


def _activation_layer(graph, layer, inputs):
    return _add_activation(graph, layer.activation, inputs[0], layer.name, layer.name, layer)


def _qactivation(graph, layer, inputs):
    return _add_activation(graph, layer.quantizer, inputs[0], layer.name, layer.name, layer)


def _relu_layer(graph, layer, inputs):
    if layer.max_value is not None or float(layer.negative_slope) != 0 or float(layer.threshold) != 0:
        raise UnsupportedError(f"layer {layer.name!r} (ReLU): max_value, negative_slope and threshold are not supported yet")
    return _add_activation(graph, "relu", inputs[0], layer.name, layer.name, layer)


def _softmax_layer(graph, layer, inputs):
    if layer.axis not in (-1, len(graph.tensors[inputs[0]].shape)):
        raise UnsupportedError(f"layer {layer.name!r} (Softmax): only the last axis is supported")
    return _add_activation(graph, "softmax", inputs[0], layer.name, layer.name, layer)


def _activation_name(activation) -> str:
    if isinstance(activation, str):
        return activation
    return getattr(activation, "__name__", type(activation).__name__)


def _add_activation(graph, activation, src, out, node_name, layer) -> str:
    """Add the node for a Keras activation function or QKeras quantizer."""
    name = _activation_name(activation)
    where = f"layer {layer.name!r} ({type(layer).__name__})"
    shape = graph.tensors[src].shape
    if name == "linear":
        return src
    if name == "relu":
        graph.add_tensor(out, shape)
        graph.add_node(node_name, "relu", [src], [out])
    elif name == "softmax":  # over the last axis
        graph.add_tensor(out, shape)
        graph.add_node(node_name, "softmax", [src], [out])
    elif quantizers.is_fixed_point(activation):
        graph.add_tensor(out, shape, quantizers.activation_type(activation, where))
        graph.add_node(node_name, "quantize", [src], [out])
    elif callable(activation):
        quantized = quantizers.is_step_quantizer(activation)
        if quantized:
            quantizers.check_elementwise(activation, where)
        _add_table(graph, activation, src, out, node_name, quantized=quantized)
    else:
        raise UnsupportedError(f"{where}: activation {name!r} is not supported")
    return out


def _add_table(graph, function, src, out, node_name, quantized) -> str:
    """An element-wise function as a lookup table over every input value; the
    table is evaluated by Keras itself once the input type is known."""
    tf = import_tensorflow()

    def evaluate(x):
        return np.asarray(function(tf.constant(np.asarray(x, np.float32))), np.float32).astype(np.float64)

    graph.add_tensor(out, graph.tensors[src].shape)
    graph.add_node(node_name, "table", [src], [out], {"quantized": quantized})
    graph.functions[node_name] = evaluate
    return out


def _leaky_relu(graph, layer, inputs):
    alpha = float(np.float32(layer_attribute(layer, "alpha", "negative_slope")))
    graph.add_tensor(layer.name, graph.tensors[inputs[0]].shape)
    graph.add_node(layer.name, "leaky_relu", inputs, [layer.name], {"alpha": alpha})
    return layer.name


def _prelu(graph, layer, inputs):
    """y = x for x > 0, else alpha * x, alpha per element (shared along
    `shared_axes`); stored flat with the period it repeats with (channels,
    or the whole tensor)."""
    shape = graph.tensors[inputs[0]].shape
    rows = np.broadcast_to(np.asarray(layer.alpha.numpy(), np.float64), shape).reshape(-1, shape[-1])
    graph.add_tensor(layer.name, shape)
    graph.add_node(layer.name, "prelu", inputs, [layer.name], {},
                   {"alpha": rows[0] if np.all(rows == rows[0]) else rows.ravel()})
    return layer.name


def _dot(graph, layer, inputs):
    """Keras Dot: sums the products along one axis of each input (of rank 1
    or 2 without the batch axis); the output holds the other axes of the
    first input, then of the second."""
    shapes = [graph.tensors[t].shape for t in inputs]
    where = f"layer {layer.name!r} (Dot)"
    if layer.normalize:
        raise UnsupportedError(f"{where}: normalize=True (a float l2 normalization) is not supported")
    if len(inputs) != 2 or any(len(s) > 2 for s in shapes):
        raise UnsupportedError(f"{where}: only two inputs of rank 1 or 2 (without the batch axis) are supported")
    axes = layer.axes if isinstance(layer.axes, (list, tuple)) else [layer.axes] * 2
    axes = [a % (len(s) + 1) - 1 for a, s in zip(axes, shapes)]
    if any(a < 0 for a in axes):
        raise UnsupportedError(f"{where}: a dot product over the batch axis")
    graph.add_tensor(layer.name, output_shape(layer))
    graph.add_node(layer.name, "dot", inputs, [layer.name], {"axes": axes})
    return layer.name


def _thresholded_relu(graph, layer, inputs):
    graph.add_tensor(layer.name, graph.tensors[inputs[0]].shape)
    graph.add_node(layer.name, "threshold", inputs, [layer.name], {"theta": float(np.float32(layer.theta))})
    return layer.name


def _function_layer(graph, layer, inputs):
    return _add_table(graph, layer.call, inputs[0], layer.name, layer.name, quantized=False)


def _batchnorm(graph, layer, inputs):
    """Inference-time batch normalization as a per-channel scale and shift
    (float in Keras; folded into a float conv/dense before it by the fold pass)."""
    (src,) = inputs
    rank = len(graph.tensors[src].shape)
    axis = layer.axis if isinstance(layer.axis, int) else (layer.axis[0] if len(layer.axis) == 1 else None)
    if axis not in (-1, rank):
        raise UnsupportedError(f"layer {layer.name!r} ({type(layer).__name__}): only the channel (last) axis is supported")
    channels = graph.tensors[src].shape[-1]

    def value(attr, quantizer, default):
        weight = getattr(layer, attr, None)
        if weight is None:
            return np.full(channels, default, np.float64)
        return quantizers.quantized_values(getattr(layer, quantizer, None), weight.numpy())

    gamma = value("gamma", "gamma_quantizer_internal", 1.0)
    beta = value("beta", "beta_quantizer_internal", 0.0)
    mean = value("moving_mean", "mean_quantizer_internal", 0.0)
    variance = value("moving_variance", "variance_quantizer_internal", 1.0)
    scale = gamma / np.sqrt(variance + float(np.float32(layer.epsilon)))  # Keras adds epsilon in float32
    graph.add_tensor(layer.name, graph.tensors[src].shape)
    # mean and beta: what Keras's float32 rounding errors scale with (hlsflow.boundary)
    graph.add_node(layer.name, "scale_shift", [src], [layer.name],
                   {"weight_quantized": False, "bias_quantized": False},
                   {"weight": scale, "bias": beta - mean * scale, "mean": mean, "beta": beta})
    return layer.name


def _merge(mode):
    def handler(graph, layer, inputs):
        shapes = {graph.tensors[t].shape for t in inputs}
        if len(inputs) != 2:
            raise UnsupportedError(f"layer {layer.name!r} ({type(layer).__name__}): {len(inputs)} inputs; "
                                   "only two are supported (chain two-input layers)")
        if len(shapes) != 1:
            raise UnsupportedError(f"layer {layer.name!r} ({type(layer).__name__}): inputs of different shapes "
                                   f"{sorted(shapes)} (broadcasting is not supported)")
        graph.add_tensor(layer.name, output_shape(layer))
        graph.add_node(layer.name, "merge", inputs, [layer.name], {"mode": mode})
        return layer.name
    return handler


def _concatenate(graph, layer, inputs):
    rank = len(output_shape(layer))
    axis = layer.axis % (rank + 1)
    if axis == 0:
        raise UnsupportedError(f"layer {layer.name!r} (Concatenate): concatenation along the batch axis")
    graph.add_tensor(layer.name, output_shape(layer))
    graph.add_node(layer.name, "concat", inputs, [layer.name], {"axis": axis - 1})
    return layer.name


def _reshape(graph, layer, inputs):
    graph.add_tensor(layer.name, output_shape(layer))
    graph.add_node(layer.name, "reshape", inputs, [layer.name])
    return layer.name


def _permute(graph, layer, inputs):
    graph.add_tensor(layer.name, output_shape(layer))
    graph.add_node(layer.name, "transpose", inputs, [layer.name], {"perm": [d - 1 for d in layer.dims]})
    return layer.name


HANDLERS = {
    "Dense": _dense,
    "QDense": _dense,
    "Activation": _activation_layer,
    "QActivation": _qactivation,
    "ReLU": _relu_layer,
    "LeakyReLU": _leaky_relu,
    "ThresholdedReLU": _thresholded_relu,
    "PReLU": _prelu,
    "ELU": _function_layer,
    "Softmax": _softmax_layer,
    "Dropout": _identity,
    "SpatialDropout1D": _identity,
    "SpatialDropout2D": _identity,
    "Flatten": _reshape,
    "Reshape": _reshape,
    "Permute": _permute,
    "BatchNormalization": _batchnorm,
    "QBatchNormalization": _batchnorm,
    "Add": _merge("add"),
    "Subtract": _merge("subtract"),
    "Multiply": _merge("multiply"),
    "Average": _merge("average"),
    "Maximum": _merge("maximum"),
    "Minimum": _merge("minimum"),
    "Concatenate": _concatenate,
    "Dot": _dot,
}

from hlsflow.frontend import sequence, spatial  # noqa: E402  (their handlers use this module's helpers)

HANDLERS.update(spatial.HANDLERS)
HANDLERS.update(sequence.HANDLERS)
