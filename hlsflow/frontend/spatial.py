"""Handlers of the spatial Keras layers: convolutions, pooling, padding,
cropping and upsampling (channels_last, 1D and 2D).

Every spatial op of the IR works on a (height, width, channels) view of its
tensors; a 1D tensor (steps, channels) is viewed with height 1. The attributes
`in_hwc`/`out_hwc`, `kernel`, `strides`, `dilation` and `pads` (top, bottom,
left, right) are always two-dimensional.
"""
import numpy as np

from hlsflow.errors import UnsupportedError
from hlsflow.frontend import keras as kf
from hlsflow.frontend import quantizers


def hwc(shape) -> list:
    """The (height, width, channels) view of a rank-2 or rank-3 tensor shape."""
    return [1, *shape] if len(shape) == 2 else list(shape)


def _pair(values, rank) -> list:
    values = list(values) if isinstance(values, (list, tuple)) else [values] * rank
    return [1, *values] if rank == 1 else values


def _where(layer) -> str:
    return f"layer {layer.name!r} ({type(layer).__name__})"


def _check_layout(layer, graph, src):
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise UnsupportedError(f"{_where(layer)}: only data_format='channels_last' is supported")
    if len(graph.tensors[src].shape) not in (2, 3):
        raise UnsupportedError(f"{_where(layer)}: input of rank {len(graph.tensors[src].shape)}; expected 2 or 3")


def _window(layer, graph, src, kernel, strides, dilation, padding) -> dict:
    """Geometry attributes of a sliding-window layer, with Keras's padding rules."""
    _check_layout(layer, graph, src)
    rank = len(graph.tensors[src].shape) - 1
    kernel, strides, dilation = _pair(kernel, rank), _pair(strides, rank), _pair(dilation, rank)
    in_hwc, out_hwc = hwc(graph.tensors[src].shape), hwc(kf.output_shape(layer))
    pads = []
    for axis in (0, 1):
        reach = (kernel[axis] - 1) * dilation[axis] + 1
        if padding == "valid":
            before = total = 0
        elif padding == "same":
            total = max((out_hwc[axis] - 1) * strides[axis] + reach - in_hwc[axis], 0)
            before = total // 2
        elif padding == "causal":
            before = total = reach - 1
        else:
            raise UnsupportedError(f"{_where(layer)}: padding {padding!r} is not supported")
        pads += [before, total - before]
    return {"in_hwc": in_hwc, "out_hwc": out_hwc, "kernel": kernel, "strides": strides, "dilation": dilation,
            "pads": pads}


def _conv(graph, layer, inputs):
    (src,) = inputs
    attrs = _window(layer, graph, src, layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding)
    groups = int(getattr(layer, "groups", 1))
    kernel = layer.kernel.numpy()
    kq = getattr(layer, "kernel_quantizer_internal", None)
    weight = quantizers.quantized_values(kq, kernel).reshape(attrs["kernel"] + list(kernel.shape[-2:]))
    return _add_conv(graph, layer, src, layer.name, attrs, groups, weight, kq, kernel.shape, layer.activation)


def _depthwise(graph, layer, inputs):
    """Depthwise convolution = grouped convolution with one input channel per group;
    output channel c * multiplier + m uses kernel[..., c, m], as in Keras."""
    (src,) = inputs
    attrs = _window(layer, graph, src, layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding)
    kernel = kf.layer_attribute(layer, "depthwise_kernel", "kernel").numpy()
    kq = getattr(layer, "depthwise_quantizer_internal", None)
    channels = attrs["in_hwc"][2]
    weight = quantizers.quantized_values(kq, kernel).reshape(attrs["kernel"] + [1, channels * kernel.shape[-1]])
    return _add_conv(graph, layer, src, layer.name, attrs, channels, weight, kq, kernel.shape, layer.activation)


def _separable(graph, layer, inputs):
    """Depthwise convolution (no bias) then a pointwise one; Keras keeps the
    intermediate in float32, exact here while it fits float32's 24 bits. The
    pointwise node carries the layer's name (its output is the layer's), the
    intermediate `<layer>_depthwise` has no Keras tensor of its own."""
    (src,) = inputs
    attrs = _window(layer, graph, src, layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding)
    depthwise = layer.depthwise_kernel.numpy()
    dq = getattr(layer, "depthwise_quantizer_internal", None)
    channels = attrs["in_hwc"][2]
    between = hwc(kf.output_shape(layer))[:2] + [channels * depthwise.shape[-1]]
    mid_shape = tuple(between if len(graph.tensors[src].shape) == 3 else between[1:])
    mid = f"{layer.name}_depthwise"
    graph.add_tensor(mid, mid_shape)
    dw = quantizers.quantized_values(dq, depthwise).reshape(attrs["kernel"] + [1, between[2]])
    dw_attrs = dict(attrs, out_hwc=between, groups=channels, weight_quantized=dq is not None, bias_quantized=True)
    graph.add_node(mid, "conv", [src], [mid], dw_attrs, {"weight": dw, "bias": np.zeros(between[2])})
    pointwise = layer.pointwise_kernel.numpy()
    pq = getattr(layer, "pointwise_quantizer_internal", None)
    pw = quantizers.quantized_values(pq, pointwise).reshape([1, 1] + list(pointwise.shape[-2:]))
    pw_attrs = {"in_hwc": between, "out_hwc": hwc(kf.output_shape(layer)), "kernel": [1, 1], "strides": [1, 1],
                "dilation": [1, 1], "pads": [0, 0, 0, 0]}
    return _add_conv(graph, layer, mid, layer.name, pw_attrs, 1, pw, pq, pointwise.shape,
                     layer.activation)


def _conv_batchnorm(graph, layer, inputs):
    """QConv2DBatchnorm / QDepthwiseConv2DBatchnorm at inference: QKeras folds
    the moving statistics into kernel and bias (gamma * W / sqrt(var + eps),
    gamma * (b - mean) / sqrt(var + eps) + beta) and quantizes the folded values."""
    (src,) = inputs
    attrs = _window(layer, graph, src, layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding)
    kernel, bias = (np.asarray(v, np.float32) for v in layer.get_folded_weights())
    depthwise = type(layer).__name__ == "QDepthwiseConv2DBatchnorm"
    kq = getattr(layer, "depthwise_quantizer_internal" if depthwise else "kernel_quantizer_internal", None)
    channels = attrs["in_hwc"][2]
    shape = attrs["kernel"] + ([1, channels * kernel.shape[-1]] if depthwise else list(kernel.shape[-2:]))
    weight = quantizers.quantized_values(kq, kernel).reshape(shape)
    bias = np.broadcast_to(bias, (weight.shape[-1],)).astype(np.float32)
    return _add_conv(graph, layer, src, layer.name, attrs, channels if depthwise else 1, weight, kq, kernel.shape,
                     layer.activation, bias=bias, bq=getattr(layer, "bias_quantizer_internal", None))


def _add_conv(graph, layer, src, name, attrs, groups, weight, kq, kernel_shape, activation, bias=None, bq=None):
    """A conv node; `kernel_shape` is Keras's (for per-channel scales); `bias`/`bq`
    default to the layer's own bias and its quantizer."""
    attrs = dict(attrs, groups=groups)
    out = weight.shape[-1]
    if bias is None:
        bias = layer.bias.numpy() if layer.use_bias else np.zeros(out, np.float32)
        bq = getattr(layer, "bias_quantizer_internal", None) if layer.use_bias else None
        no_bias = not layer.use_bias
    else:
        no_bias = False
    attrs.update(weight_quantized=kq is not None, bias_quantized=bq is not None or no_bias)
    scale = quantizers.channel_scale(kq, kernel_shape, depthwise="Depthwise" in type(layer).__name__)
    if scale is not None:
        attrs["scale_hint"] = scale.tolist()
    params = {"weight": weight, "bias": quantizers.quantized_values(bq, bias)}
    return kf.add_linear(graph, layer, "conv", src, name, attrs, params, activation)


def pointwise_dense(graph, layer, src):
    """A Dense (or QDense) on an input of rank > 1: Keras applies it to the
    last axis, at every position of the others (the per-particle Dense of Deep
    Sets and interaction networks). It is a 1x1 convolution over those
    positions, in rows as io_parallel streams the tensor (a rank-3 tensor by
    its first axis, any other in one row; dataflow.beat_size): the memory
    layout is the same."""
    shape = graph.tensors[src].shape
    kernel = layer.kernel.numpy()
    rows = shape[0] if len(shape) == 3 else 1
    positions = int(np.prod(shape[:-1])) // rows
    attrs = {"in_hwc": [rows, positions, shape[-1]], "out_hwc": [rows, positions, kernel.shape[1]], "kernel": [1, 1],
             "strides": [1, 1], "dilation": [1, 1], "pads": [0, 0, 0, 0]}
    kq = getattr(layer, "kernel_quantizer_internal", None)
    weight = quantizers.quantized_values(kq, kernel).reshape(1, 1, *kernel.shape)
    return _add_conv(graph, layer, src, layer.name, attrs, 1, weight, kq, kernel.shape, layer.activation)


def _pool(mode, rank=None):
    def handler(graph, layer, inputs):
        (src,) = inputs
        attrs = _window(layer, graph, src, layer.pool_size, layer.strides, 1, layer.padding)
        return _add_pool(graph, layer, src, dict(attrs, mode=mode))
    return handler


def _global_pool(mode):
    def handler(graph, layer, inputs):
        (src,) = inputs
        _check_layout(layer, graph, src)
        in_hwc = hwc(graph.tensors[src].shape)
        attrs = {"in_hwc": in_hwc, "out_hwc": [1, 1, in_hwc[2]], "kernel": in_hwc[:2], "strides": in_hwc[:2],
                 "dilation": [1, 1], "pads": [0, 0, 0, 0], "mode": mode}
        return _add_pool(graph, layer, src, attrs)
    return handler


def _add_pool(graph, layer, src, attrs):
    if attrs["mode"] == "avg":
        # Keras averages over the window's valid (unpadded) positions only
        attrs["rounding"] = "exact quotient rounded once, half to even, to the output type"
    graph.add_tensor(layer.name, kf.output_shape(layer))
    graph.add_node(layer.name, "pool", [src], [layer.name], attrs)
    return layer.name


def _pad_attrs(layer, graph, src, pads):
    _check_layout(layer, graph, src)
    return {"in_hwc": hwc(graph.tensors[src].shape), "out_hwc": hwc(kf.output_shape(layer)), "pads": pads}


def _pads(values, rank, sign):
    """Keras padding/cropping arguments -> signed (top, bottom, left, right)."""
    if rank == 1:
        return [0, 0, sign * values[0], sign * values[1]]
    (t, b), (l, r) = values
    return [sign * t, sign * b, sign * l, sign * r]


def _padding(sign, attr):
    def handler(graph, layer, inputs):
        (src,) = inputs
        rank = len(graph.tensors[src].shape) - 1
        attrs = _pad_attrs(layer, graph, src, _pads(getattr(layer, attr), rank, sign))
        graph.add_tensor(layer.name, kf.output_shape(layer))
        graph.add_node(layer.name, "pad", [src], [layer.name], attrs)
        return layer.name
    return handler


def _upsampling(graph, layer, inputs):
    (src,) = inputs
    rank = len(graph.tensors[src].shape) - 1
    if getattr(layer, "interpolation", "nearest") != "nearest":
        raise UnsupportedError(f"{_where(layer)}: only nearest-neighbour upsampling is supported")
    factors = [1, int(layer.size)] if rank == 1 else [int(s) for s in layer.size]
    attrs = _pad_attrs(layer, graph, src, [0, 0, 0, 0])
    del attrs["pads"]
    graph.add_tensor(layer.name, kf.output_shape(layer))
    graph.add_node(layer.name, "upsample", [src], [layer.name], dict(attrs, factors=factors))
    return layer.name


HANDLERS = {
    "Conv1D": _conv, "Conv2D": _conv, "QConv1D": _conv, "QConv2D": _conv,
    "DepthwiseConv1D": _depthwise, "DepthwiseConv2D": _depthwise, "QDepthwiseConv2D": _depthwise,
    "QConv2DBatchnorm": _conv_batchnorm, "QDepthwiseConv2DBatchnorm": _conv_batchnorm,
    "SeparableConv1D": _separable, "SeparableConv2D": _separable,
    "QSeparableConv1D": _separable, "QSeparableConv2D": _separable,
    "MaxPooling1D": _pool("max"), "MaxPooling2D": _pool("max"),
    "AveragePooling1D": _pool("avg"), "AveragePooling2D": _pool("avg"),
    "GlobalMaxPooling1D": _global_pool("max"), "GlobalMaxPooling2D": _global_pool("max"),
    "GlobalAveragePooling1D": _global_pool("avg"), "GlobalAveragePooling2D": _global_pool("avg"),
    "ZeroPadding1D": _padding(1, "padding"), "ZeroPadding2D": _padding(1, "padding"),
    "Cropping1D": _padding(-1, "cropping"), "Cropping2D": _padding(-1, "cropping"),
    "UpSampling1D": _upsampling, "UpSampling2D": _upsampling,
}
