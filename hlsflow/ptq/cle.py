"""Cross-layer equalization (Nagel et al., "Data-free quantization", 2019).

For consecutive layers joined by ReLU (or other positively homogeneous
layers), output channel i of the first is divided by s_i and input channel i of
the second multiplied by s_i, with s_i = sqrt(r1_i / r2_i), so both weight
ranges become sqrt(r1_i * r2_i). High-bias absorption then moves
c_i = max(0, beta_i - 3 sigma_i) (from folded BatchNormalization statistics)
out of the first layer's bias into the second's.

`balance_activations` is the power-of-two variant hlsflow uses for per-axis
activation ranges: channels whose calibrated range is far below the tensor's
are multiplied by 2^k (exactly undone by the next layer), so one per-tensor
fixed-point type serves them all.
"""
import numpy as np

from hlsflow.ptq import kernels

SWEEPS = 20
MAX_SHIFT = 8  # at most 2^8 between a channel and its tensor in balance_activations


def equalize(model, bn_stats: dict, absorb_bias: bool = True) -> None:
    """Equalize every pair of the float Sequential `model` in place; bn_stats is updated."""
    pairs = kernels.pairs(model)
    for _ in range(SWEEPS):
        for first, _between, second in pairs:
            k1, b1 = first.get_weights()
            k2, b2 = second.get_weights()
            r1 = kernels.out_ranges(kernels.kind(first), k1)
            r2 = kernels.in_ranges(kernels.kind(second), k2, r1.size)
            s = np.where((r1 > 0) & (r2 > 0), np.sqrt(r1 / np.where(r2 > 0, r2, 1)), 1.0)
            _rescale(first, second, 1.0 / s, bn_stats)
    if absorb_bias:
        for first, between, second in pairs:
            if first.name in bn_stats and any(kernels.kind(b) == "ReLU" for b in between):
                _absorb_high_bias(first, second, bn_stats)


def _rescale(first, second, factors, bn_stats) -> None:
    """first's outputs *= factors, second's inputs compensate."""
    k1, b1 = first.get_weights()
    k2, b2 = second.get_weights()
    first.set_weights(list(kernels.scale_outputs(kernels.kind(first), k1, b1, factors)))
    second.set_weights([kernels.scale_inputs(kernels.kind(second), k2, 1.0 / factors), b2])
    if first.name in bn_stats:
        mean, std = bn_stats[first.name]
        bn_stats[first.name] = (mean * factors, std * factors)


def _absorb_high_bias(first, second, bn_stats) -> None:
    mean, std = bn_stats[first.name]
    c = np.maximum(0.0, mean - 3 * std).astype(np.float32)
    k1, b1 = first.get_weights()
    k2, b2 = second.get_weights()
    first.set_weights([k1, b1 - c])
    second.set_weights([k2, b2 + kernels.input_sums(kernels.kind(second), k2, c)])
    bn_stats[first.name] = (mean - c, std)


def balance_activations(model, peaks: dict, bn_stats: dict) -> None:
    """Multiply each producer channel by 2^k so its calibrated peak approaches the
    tensor's; `peaks` maps a producer name to the channel peaks of its quantized output."""
    for first, _between, second in kernels.pairs(model):
        if first.name not in peaks:
            continue
        p = peaks[first.name]
        top = p.max()
        shift = np.where(p > 0, np.floor(np.log2(top / np.where(p > 0, p, 1))), 0)
        _rescale(first, second, 2.0 ** np.clip(shift, 0, MAX_SHIFT), bn_stats)
