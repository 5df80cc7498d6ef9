"""Bias correction: remove the mean output shift that weight quantization causes.

Empirical (with calibration samples): per output channel, the mean of the float
model's pre-activation minus the quantized model's, over samples and positions.
Analytic (without samples): (W - W_q) . E[x], with E[x] from the folded
BatchNormalization statistics of the layer before: for x = relu(y),
y ~ N(mu, sigma): E[x] = mu Phi(mu/sigma) + sigma phi(mu/sigma).
"""
import math

import numpy as np

from hlsflow.ptq import kernels


def empirical(float_out: np.ndarray, quant_out: np.ndarray) -> np.ndarray:
    """Per-channel mean of float - quantized pre-activations (channels last)."""
    c = float_out.shape[-1]
    return (float_out.reshape(-1, c).astype(np.float64).mean(axis=0)
            - quant_out.reshape(-1, c).astype(np.float64).mean(axis=0)).astype(np.float32)


def analytic(layer_kind, kernel, quantized_kernel, input_mean) -> np.ndarray:
    """(W - W_q) . E[x] per output channel."""
    return kernels.input_sums(layer_kind, (kernel - quantized_kernel).astype(np.float64),
                              input_mean.astype(np.float64)).astype(np.float32)


def expected_input(model, layer, bn_stats):
    """E[input] per input channel of `layer` from the BN statistics of the compute
    layer before it, or None when no statistics reach it."""
    for first, between, second in kernels.pairs(model):
        if second is not layer or first.name not in bn_stats:
            continue
        mean, std = (np.asarray(a, np.float64) for a in bn_stats[first.name])
        if any(kernels.kind(b) not in ("ReLU", "Flatten", "ZeroPadding2D", "Reshape") for b in between):
            return None  # pooling changes the distribution
        if any(kernels.kind(b) == "ReLU" for b in between):
            z = mean / np.maximum(std, 1e-12)
            cdf = 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
            pdf = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
            return mean * cdf + std * pdf
        return mean
    return None
