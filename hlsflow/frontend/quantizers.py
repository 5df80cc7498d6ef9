"""QKeras quantizers -> fixed-point types and exact quantized weights.

Activation quantizers map to an ap_fixed type whose rounding and overflow modes
reproduce QKeras: `tf.round` rounds half to even (AP_RND_CONV) and the clip is
a saturation (AP_SAT, or AP_SAT_SYM for symmetric signed quantizers).

Weight quantizers are evaluated by QKeras itself on the trained weights: the
float32 values it produces are what Keras multiplies with, so they are the
exact weights of the IR.
"""
import numpy as np

from hlsflow.errors import UnsupportedError
from hlsflow.fixed import FixedType

SUPPORTED_ACTIVATION_QUANTIZERS = ("quantized_bits", "quantized_relu")


def is_fixed_point(quantizer) -> bool:
    """Whether an activation quantizer is a plain fixed-point cast (else it is a table)."""
    name = type(quantizer).__name__
    if name == "quantized_relu":
        return not (quantizer.use_sigmoid or quantizer.negative_slope or quantizer.relu_upper_bound is not None
                    or getattr(quantizer, "is_quantized_clip", True) is False)
    if name == "quantized_bits":
        return quantizer.bits - quantizer.keep_negative > 0  # one signed bit: a sign function (steps.py)
    return isinstance(quantizer, str) and quantizer in SUPPORTED_ACTIVATION_QUANTIZERS


STEP_FUNCTIONS = ("binary_sigmoid", "binary_tanh")  # QKeras quantizers written as plain functions


def is_step_quantizer(activation) -> bool:
    """Whether an activation (not a cast) is a QKeras quantizer: a quantizer
    object (it has bits), or one of the plain functions that round to two levels."""
    return hasattr(activation, "bits") or (getattr(activation, "__module__", "") == "qkeras.quantizers"
                                           and getattr(activation, "__name__", "") in STEP_FUNCTIONS)


def check_elementwise(quantizer, where: str) -> None:
    """An activation quantizer that is not a cast is tabulated or compared
    value by value (steps.py): it must not depend on the batch. (Stochastic
    quantizers are deterministic at inference, which is what Keras evaluates.)"""
    if isinstance(getattr(quantizer, "alpha", None), str):
        raise UnsupportedError(f"{where}: {type(quantizer).__name__} with alpha={quantizer.alpha!r} on activations "
                               "depends on each batch; only a fixed alpha can be built in hardware")


def activation_type(quantizer, where: str) -> FixedType:
    """The FixedType equal to a QKeras activation quantizer, or UnsupportedError."""
    name = type(quantizer).__name__
    if name == "quantized_bits":
        return _bits_type(quantizer, where)
    if name == "quantized_relu":
        return _relu_type(quantizer, where)
    raise UnsupportedError(
        f"{where}: activation quantizer {name} is not supported "
        f"(supported: {', '.join(SUPPORTED_ACTIVATION_QUANTIZERS)})"
    )


def _bits_type(q, where: str) -> FixedType:
    if q.alpha not in (None, 1, 1.0):
        raise UnsupportedError(
            f"{where}: quantized_bits with alpha={q.alpha!r} on activations depends on each batch; "
            "only alpha=1 or None can be built in hardware"
        )
    keep_negative = bool(q.keep_negative)
    if getattr(q, "use_stochastic_rounding", False):
        raise UnsupportedError(f"{where}: stochastic rounding has no hardware equivalent")
    overflow = "SAT_SYM" if (q.symmetric and keep_negative) else "SAT"
    return FixedType(q.bits, int(q.integer) + keep_negative, keep_negative, "RND_CONV", overflow)


def _relu_type(q, where: str) -> FixedType:
    if q.use_sigmoid or q.negative_slope or q.relu_upper_bound is not None or getattr(q, "is_quantized_clip", True) is False:
        raise UnsupportedError(
            f"{where}: quantized_relu with use_sigmoid, negative_slope, relu_upper_bound "
            "or is_quantized_clip=False is not supported yet"
        )
    if getattr(q, "use_stochastic_rounding", False):
        raise UnsupportedError(f"{where}: stochastic rounding has no hardware equivalent")
    return FixedType(q.bits, int(q.integer), False, "RND_CONV", "SAT")


def quantized_values(quantizer, values: np.ndarray) -> np.ndarray:
    """Run a QKeras weight quantizer on trained values; exact float64 result."""
    if quantizer is None:
        return values.astype(np.float64)
    out = quantizer(values.astype(np.float32))
    return np.asarray(out, dtype=np.float32).astype(np.float64)


def channel_scale(quantizer, kernel_shape, depthwise=False) -> np.ndarray | None:
    """Scale of each output channel of an alpha="auto"/"auto_po2" quantized_bits
    (read after a call), else None. Depthwise kernels (kh, kw, C, M) give output
    channel c * M + m the scale at [c, m], whatever axis the quantizer scaled."""
    if quantizer is None or type(quantizer).__name__ != "quantized_bits" or not isinstance(quantizer.alpha, str):
        return None
    m = 2.0 ** (quantizer.bits - quantizer.keep_negative)
    scale = np.asarray(quantizer.scale, dtype=np.float32).astype(np.float64) * 2.0 ** quantizer.integer / m
    full = np.broadcast_to(scale, tuple(kernel_shape))
    return full[(0,) * (len(kernel_shape) - (2 if depthwise else 1))].reshape(-1)
