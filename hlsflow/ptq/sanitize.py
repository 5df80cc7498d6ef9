"""Sanitize a float Keras model before quantization.

The model must be a chain of layers. BatchNormalization is folded into the
Dense/Conv2D/DepthwiseConv2D before it, relu written as Activation or Lambda
becomes a ReLU layer, fused layer activations become separate layers,
ZeroPadding2D is merged into the next convolution when that equals "same"
padding, a leading Rescaling is folded into the first Dense/Conv, and Dropout
goes. The first layer the quantizer cannot handle stops quantization: it and
every layer after it are kept in float (with a warning naming it).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from hlsflow.errors import UnsupportedError

COMPUTE = ("Dense", "Conv2D", "DepthwiseConv2D")
# layers that keep values on their input's fixed-point grid
GRID_PRESERVING = ("Flatten", "Reshape", "MaxPooling2D", "GlobalMaxPooling2D", "ZeroPadding2D")
# layers whose output leaves the grid: a quantizer follows them
AVERAGING = ("AveragePooling2D", "GlobalAveragePooling2D")
QUANTIZABLE = COMPUTE + GRID_PRESERVING + AVERAGING + ("ReLU",)


@dataclass
class Sanitized:
    model: object  # float tf.keras Sequential
    stop: str | None = None  # first layer left in float, if any
    bn_stats: dict = field(default_factory=dict)  # compute layer -> (mean, std) of its output, from a folded BN
    input_range: tuple | None = None  # raw input range implied by a folded Rescaling (for random samples)


def chain(model) -> list:
    """The layers of a single-input, single-output chain model, InputLayer excluded."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UnsupportedError("quantize handles models with one input and one output only")
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if type(model).__name__ != "Sequential":
        for prev, layer in zip([None] + layers, layers):
            inbound = layer._inbound_nodes[0].inbound_layers if len(layer._inbound_nodes) == 1 else []
            inbound = inbound if isinstance(inbound, list) else [inbound]
            if len(inbound) != 1 or (prev is not None and inbound[0] is not prev):
                raise UnsupportedError(f"layer {layer.name!r}: quantize handles chains of layers only (no branches)")
    return layers


def _clone(layer, **changes):
    config = dict(layer.get_config(), **changes)
    return type(layer).from_config(config)


def _is_relu(layer) -> bool:
    """An Activation('relu') or a Lambda that computes relu (checked on probe values)."""
    cls = type(layer).__name__
    if cls == "Activation":
        return getattr(layer.activation, "__name__", "") == "relu"
    if cls == "Lambda":
        probe = np.linspace(-3, 3, 13, dtype=np.float32).reshape(1, 13)
        try:
            out = np.asarray(layer(probe))
        except Exception:  # a Lambda may reject this shape: then it is not treated as relu
            return False
        return out.shape == probe.shape and np.allclose(out, np.maximum(probe, 0))
    return False


def _plain_relu(layer) -> bool:
    return (layer.max_value is None and float(layer.negative_slope) == 0 and float(layer.threshold) == 0)


def _fold_bn(kernel, bias, bn, kind):
    """Kernel and bias of a compute layer followed by a BatchNormalization."""
    gamma, beta, mean, var = _bn_params(bn)
    g = gamma / np.sqrt(var + bn.epsilon)
    if kind == "DepthwiseConv2D":
        kernel = kernel * g.reshape(kernel.shape[2], kernel.shape[3])
    else:
        kernel = kernel * g
    return kernel.astype(np.float32), ((bias - mean) * g + beta).astype(np.float32), (beta, np.abs(gamma))


def _bn_params(bn):
    weights = dict(zip([w.name.split("/")[-1].split(":")[0] for w in bn.weights], bn.get_weights()))
    n = weights["moving_mean"].shape[0]
    gamma = weights.get("gamma", np.ones(n, np.float32))
    beta = weights.get("beta", np.zeros(n, np.float32))
    return gamma, beta, weights["moving_mean"], weights["moving_variance"]


def _kernel_bias(layer):
    kernel = layer.get_weights()[0]
    n_out = kernel.shape[-1] if type(layer).__name__ != "DepthwiseConv2D" else kernel.shape[2] * kernel.shape[3]
    bias = layer.get_weights()[1] if layer.use_bias else np.zeros(n_out, np.float32)
    return kernel, bias


def _fold_rescaling(rescaling, layer, kernel, bias):
    """Fold y = x*scale + offset into the next compute layer (exact unless zero padding meets an offset)."""
    scale = np.float32(rescaling.scale)
    offset = np.float32(rescaling.offset)
    kind = type(layer).__name__
    if offset != 0 and kind != "Dense" and layer.padding != "valid":
        raise UnsupportedError(f"layer {rescaling.name!r} (Rescaling): an offset cannot be folded into "
                               f"{layer.name!r} with {layer.padding!r} padding")
    if kind == "Dense":
        shift = offset * kernel.sum(axis=0)
    elif kind == "Conv2D":
        shift = offset * kernel.sum(axis=(0, 1, 2))
    else:
        shift = offset * kernel.sum(axis=(0, 1)).reshape(-1)
    return (kernel * scale).astype(np.float32), (bias + shift).astype(np.float32)


def sanitize(model) -> Sanitized:
    """A float Sequential equivalent to `model`, ready for quantization."""
    from hlsflow.frontend.tf_setup import import_keras

    _, keras = import_keras()
    layers = chain(model)
    out, weights, result = [], {}, Sanitized(None)
    rescaling, i = None, 0
    while i < len(layers):
        layer = layers[i]
        cls = type(layer).__name__
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        try:
            if rescaling is not None and cls not in COMPUTE + ("ZeroPadding2D",):
                raise UnsupportedError(f"layer {rescaling.name!r} (Rescaling) must be followed by a Dense or Conv")
            if cls == "Dropout" or (cls == "Activation" and _activation(layer) == "linear"):
                pass
            elif cls == "Rescaling" and not out and rescaling is None:
                rescaling = layer
            elif _is_relu(layer) or (cls == "ReLU" and _plain_relu(layer)):
                out.append(keras.layers.ReLU(name=layer.name))
            elif cls == "ZeroPadding2D" and _merges_into(layer, nxt):
                i = _add_compute(layers, i + 1, out, weights, result, keras, rescaling, padding="same")
                rescaling = None
                continue
            elif cls in COMPUTE:
                i = _add_compute(layers, i, out, weights, result, keras, rescaling)
                rescaling = None
                continue
            elif cls in GRID_PRESERVING + AVERAGING + ("Softmax",) or (cls == "Activation" and _activation(layer) == "softmax"):
                out.append(_clone(layer))
            else:
                raise UnsupportedError(f"layer {layer.name!r} ({cls}) is not supported by quantize")
        except UnsupportedError as exc:
            warnings.warn(f"quantize: {exc}; quantization stops there, the rest stays float", stacklevel=2)
            result.stop = layer.name
            for rest in layers[i:]:
                out.append(_clone(rest))
                if rest.get_weights():
                    weights[rest.name] = tuple(rest.get_weights())
            break
        i += 1
    seq = keras.Sequential([keras.layers.InputLayer(model.input_shape[1:], name=model.input_names[0])] + out,
                           name=model.name)
    for name, w in weights.items():
        seq.get_layer(name).set_weights(list(w))
    result.model = seq
    return result


def _activation(layer) -> str:
    return getattr(getattr(layer, "activation", None), "__name__", "linear")


def _merges_into(padding, conv) -> bool:
    """ZeroPadding2D then a stride-1 'valid' conv is that conv with 'same' padding when the pad is (k-1)/2."""
    if conv is None or type(conv).__name__ not in ("Conv2D", "DepthwiseConv2D") or conv.padding != "valid":
        return False
    if tuple(conv.strides) != (1, 1) or tuple(conv.dilation_rate) != (1, 1):
        return False
    (top, bottom), (left, right) = padding.padding
    kh, kw = conv.kernel_size
    return kh % 2 == 1 and kw % 2 == 1 and (top, bottom) == ((kh - 1) // 2,) * 2 and (left, right) == ((kw - 1) // 2,) * 2


def _add_compute(layers, i, out, weights, result, keras, rescaling, **changes) -> int:
    """Add the compute layer at i (a following BN folded in, its activation split
    into a layer); returns the index of the next layer to read."""
    layer = layers[i]
    activation = _activation(layer)
    if activation not in ("linear", "relu", "softmax"):
        raise UnsupportedError(f"layer {layer.name!r}: activation {activation!r} is not supported by quantize")
    kernel, bias = _kernel_bias(layer)
    if rescaling is not None:
        kernel, bias = _fold_rescaling(rescaling, layer, kernel, bias)
        scale, offset = float(rescaling.scale), float(rescaling.offset)
        result.input_range = tuple(sorted(((0 - offset) / scale, (1 - offset) / scale)))
    out.append(_clone(layer, activation="linear", use_bias=True, **changes))
    nxt = layers[i + 1] if i + 1 < len(layers) else None
    if activation == "linear" and nxt is not None and type(nxt).__name__ == "BatchNormalization":
        kernel, bias, result.bn_stats[layer.name] = _fold_bn(kernel, bias, nxt, type(layer).__name__)
        i += 1
    weights[layer.name] = (kernel, bias)
    if activation == "relu":
        out.append(keras.layers.ReLU(name=f"{layer.name}_relu"))
    elif activation == "softmax":
        out.append(keras.layers.Activation("softmax", name=f"{layer.name}_softmax"))
    return i + 1
