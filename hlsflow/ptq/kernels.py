"""Channel geometry of Dense/Conv2D/DepthwiseConv2D kernels and the layer pairs
of a sanitized chain whose channels can be rescaled without changing the model."""
import numpy as np

from hlsflow.ptq.sanitize import AVERAGING, COMPUTE, GRID_PRESERVING

# positively homogeneous, channel-wise layers: f(s*x) = s*f(x) per channel for s > 0
HOMOGENEOUS = ("ReLU",) + GRID_PRESERVING + AVERAGING


def kind(layer) -> str:
    return type(layer).__name__.removeprefix("Q")


def out_ranges(layer_kind, kernel) -> np.ndarray:
    """max |w| of every output channel."""
    if layer_kind == "DepthwiseConv2D":
        return np.abs(kernel).reshape(-1, kernel.shape[2] * kernel.shape[3]).max(axis=0)
    return np.abs(kernel).reshape(-1, kernel.shape[-1]).max(axis=0)


def in_ranges(layer_kind, kernel, channels) -> np.ndarray:
    """max |w| over every weight reading each of `channels` input channels."""
    return np.abs(_by_input(layer_kind, kernel, channels)).max(axis=(0, 2))


def scale_outputs(layer_kind, kernel, bias, factors):
    """Kernel and bias computing factors * (the layer's outputs)."""
    if layer_kind == "DepthwiseConv2D":
        kernel = kernel * factors.reshape(kernel.shape[2], kernel.shape[3])
    else:
        kernel = kernel * factors
    return kernel.astype(np.float32), (bias * factors).astype(np.float32)


def scale_inputs(layer_kind, kernel, factors):
    """Kernel computing the same outputs from inputs whose channels were multiplied by 1/factors."""
    view = _by_input(layer_kind, kernel, factors.size)
    return (view * factors[None, :, None]).reshape(kernel.shape).astype(np.float32)


def input_sums(layer_kind, kernel, values):
    """Per output channel: sum of w * values[input channel] over every weight (what a
    constant input of `values` per channel adds to the outputs)."""
    view = _by_input(layer_kind, kernel, values.size)
    if layer_kind == "DepthwiseConv2D":
        return (view * values[None, :, None]).sum(axis=0).reshape(-1)
    return (view * values[None, :, None]).sum(axis=(0, 1))


def _by_input(layer_kind, kernel, channels):
    """The kernel as (taps, input channels, outputs per input channel or all outputs)."""
    if layer_kind == "Dense":
        return kernel.reshape(-1, channels, kernel.shape[-1])
    return kernel.reshape(-1, kernel.shape[2], kernel.shape[3])


def pairs(model):
    """(producer, [layers between], consumer) for consecutive compute layers joined by homogeneous layers only."""
    layers = model.layers
    found = []
    for i, layer in enumerate(layers):
        if kind(layer) not in COMPUTE:
            continue
        between = []
        for nxt in layers[i + 1:]:
            if kind(nxt) in COMPUTE:
                flattened = any(kind(b) in ("Flatten", "Reshape", "GlobalMaxPooling2D", "GlobalAveragePooling2D")
                                for b in between)
                if not (flattened and kind(nxt) != "Dense"):
                    found.append((layer, between, nxt))
                break
            if kind(nxt) not in HOMOGENEOUS and type(nxt).__name__ != "QActivation":
                break
            between.append(nxt)
    return found
