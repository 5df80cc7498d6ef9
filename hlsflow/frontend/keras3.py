"""A Keras 3 float model rebuilt as the same tf-keras model, for what must be
tf-keras: QKeras (the quantize verb builds its QKeras model from the float one).

Converting, profiling and checking read Keras 3 models directly (see
keras.to_graph); only this rebuild needs to know how the two configs differ:
- InputLayer: Keras 3 `batch_shape`, tf-keras `batch_input_shape`;
- functional inbound nodes: Keras 3 [{"args": [keras tensors with a
  keras_history [layer, node, tensor]], "kwargs": {}}], tf-keras
  [[[layer, node, tensor, kwargs], ...]]; input_layers/output_layers of one
  entry are not nested in Keras 3;
- dtypes are policy dicts, initializers/regularizers/constraints carry a
  module; a few arguments are renamed (LeakyReLU negative_slope / alpha) or
  new (lora_rank, quantization_config).
Initializers, regularizers and constraints matter only for training, and are
left at tf-keras's defaults; the weights are copied.
"""
from __future__ import annotations

import inspect

from hlsflow.errors import UnsupportedError
from hlsflow.frontend.tf_setup import import_keras

RENAMED = {"LeakyReLU": {"negative_slope": "alpha"}}
TRAINING_ONLY = ("_initializer", "_regularizer", "_constraint")
BASE_ARGUMENTS = ("name", "trainable", "dtype", "batch_input_shape")


def as_tf_keras(model):
    """The tf-keras model computing what the Keras 3 `model` computes, with its weights."""
    _, tf_keras = import_keras()
    config = model.get_config()
    functional = "input_layers" in config
    layers = [_layer_config(tf_keras, entry, functional) for entry in config["layers"]]
    if functional:
        rebuilt = tf_keras.Model.from_config({"name": config["name"], "layers": layers,
                                               "input_layers": _nested(config["input_layers"]),
                                               "output_layers": _nested(config["output_layers"])})
    else:
        rebuilt = tf_keras.Sequential.from_config({"name": config["name"], "layers": layers})
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            target = rebuilt.get_layer(layer.name)
            if [w.shape for w in target.get_weights()] != [w.shape for w in weights]:
                raise UnsupportedError(f"layer {layer.name!r} ({type(layer).__name__}): its Keras 3 weights do not "
                                       "match the tf-keras layer's")
            target.set_weights(weights)
    return rebuilt


def _layer_config(tf_keras, entry, functional) -> dict:
    cls, config = entry["class_name"], dict(entry["config"])
    target = getattr(tf_keras.layers, cls, None)
    if target is None:
        raise UnsupportedError(f"layer {config.get('name')!r} ({cls}): no tf-keras equivalent to rebuild it with")
    if "batch_shape" in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    if isinstance(config.get("dtype"), dict):
        config["dtype"] = config["dtype"]["config"]["name"]
    for old, new in RENAMED.get(cls, {}).items():
        if old in config:
            config[new] = config.pop(old)
    accepted = set(inspect.signature(target.__init__).parameters) | set(BASE_ARGUMENTS)
    config = {k: v for k, v in config.items() if k in accepted and not k.endswith(TRAINING_ONLY)}
    result = {"class_name": cls, "config": config, "name": config["name"]}
    if functional:
        result["inbound_nodes"] = [_inbound(node) for node in entry["inbound_nodes"]]
    return result


def _inbound(node) -> list:
    """One Keras 3 call node as a tf-keras one: [[layer, node, tensor, {}], ...]."""
    from hlsflow.frontend.keras import keras_tensors

    return [list(t["config"]["keras_history"]) + [{}] for t in keras_tensors(node["args"])]


def _nested(entries) -> list:
    return [entries] if entries and isinstance(entries[0], str) else entries
