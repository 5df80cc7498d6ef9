"""Weight grids: per-channel power-of-two scales that QKeras reproduces.

QKeras's quantized_bits(alpha="auto_po2") derives each channel's scale from the
kernel it is given (a least-squares fit rounded to a power of two), which clips
the largest weights of about half the channels by up to 29%, at any width.
hlsflow picks the grid itself and stores the kernel already on it; QKeras
then returns the same values whenever a channel's largest |integer| exceeds
levels / sqrt(2) (its first estimate is then this scale, and a kernel on the
grid is the least-squares fixed point).

- `align` (layers whose outputs can be rescaled, i.e. followed by ReLU and a
  compute layer): each output channel is multiplied by a factor t (the next
  layer divides its inputs by t) so that either its activation peak reaches the
  top of the tensor's power-of-two range or its weight threshold of least
  squared error falls on the top of a power-of-two grid (the float weights are
  clipped there): whichever of activations and weights has fewer bits gets the
  accuracy of a free per-channel scale on power-of-two hardware.
- `choose`: per channel, the reproducible power of two with least squared
  error; when a channel has none without heavy clipping (a layer that cannot be
  rescaled, like the logits), one per-tensor grid if that errs less.
"""
import numpy as np

from hlsflow.ptq import calibrate, kernels

RATIOS = np.linspace(0.5, 1.0, 51)[1:]  # clipping thresholds tried, as fractions of the channel's peak
CANDIDATES = 3  # powers of two tried below the one holding the peak
REPRODUCED = 2 ** -0.5  # QKeras keeps a grid whose top integer exceeds this fraction of the levels


def levels(bits: int) -> int:
    """Largest |integer| of a symmetric quantized_bits grid."""
    return 2 ** (bits - 1) - 1


def columns(layer_kind, kernel) -> np.ndarray:
    """The kernel as (weights, scale groups): QKeras scales depthwise kernels per input channel (scale_axis=2)."""
    if layer_kind == "DepthwiseConv2D":
        return kernel.transpose(0, 1, 3, 2).reshape(-1, kernel.shape[2])
    return kernel.reshape(-1, kernel.shape[-1])


def broadcast(layer_kind, kernel, per_group) -> np.ndarray:
    """A per-group vector shaped to multiply the kernel."""
    per_group = np.asarray(per_group, np.float32)
    return per_group[:, None] if layer_kind == "DepthwiseConv2D" else per_group


def snap(kernel, scale, qmin, qmax) -> np.ndarray:
    """The kernel's values on the grid scale * [qmin, qmax] (nearest)."""
    return (scale * np.clip(np.round(kernel / scale), qmin, qmax)).astype(np.float32)


def reproducible(layer_kind, grid_kernel, kernel, scale, qmin, qmax) -> np.ndarray:
    """grid_kernel (on the grid, e.g. from AdaRound) with the peak weight of each channel
    rounded away from zero where the channel's top integer fell to what QKeras would not keep."""
    if qmin != -qmax:  # a per-tensor grid is fixed
        return grid_kernel
    g = columns(layer_kind, grid_kernel).copy()
    w = columns(layer_kind, kernel)
    step = columns(layer_kind, np.broadcast_to(scale, kernel.shape).astype(np.float32))
    low = np.flatnonzero(np.abs(np.round(g / step)).max(axis=0) <= REPRODUCED * qmax)
    rows = np.argmax(np.abs(w), axis=0)[low]
    g[rows, low] = np.sign(w[rows, low]) * np.minimum(np.ceil(np.abs(w[rows, low] / step[rows, low])), qmax) \
        * step[rows, low]
    if layer_kind == "DepthwiseConv2D":
        kh, kw, c, m = kernel.shape
        return g.reshape(kh, kw, m, c).transpose(0, 1, 3, 2).astype(np.float32)
    return g.reshape(kernel.shape).astype(np.float32)


def align(model, bits_of: dict, bn_stats: dict, peaks: dict, activation_bits: int) -> None:
    """Rescale the outputs of every layer of `bits_of` that feeds another compute layer by
    t per channel. Where activation_bits <= the layer's weight bits and its channel
    `peaks` (calibrated, after the quantizer's ReLU if any) are known, t puts every
    channel's peak at the top of one power-of-two activation range; otherwise t puts
    each channel's best weight threshold at L * 2^k and the float weights are clipped there."""
    from hlsflow.ptq.cle import _rescale

    for first, between, second in kernels.pairs(model):
        if first.name not in bits_of:
            continue
        kind = kernels.kind(first)
        k = first.get_weights()[0]
        top = levels(bits_of[first.name])
        if first.name in peaks and activation_bits <= bits_of[first.name]:
            p = peaks[first.name]
            signed = not any(kernels.kind(b) == "ReLU" for b in between)
            high = 2.0 ** np.ceil(np.log2(p.max()))
            target = (high - calibrate.lsb(activation_bits, 0, signed) * high) * (1 - 1e-4)  # just below the top
            _rescale(first, second, np.where(p > 0, target / np.where(p > 0, p, 1), 1.0).astype(np.float32),
                     bn_stats)
            continue
        threshold = _best_thresholds(columns(kind, k).astype(np.float64), top)
        live = threshold > 0
        scale = 2.0 ** np.ceil(np.log2(np.where(live, threshold, 1.0) / top))
        t = np.where(live, top * scale / np.where(live, threshold, 1.0), 1.0)
        _rescale(first, second, (np.repeat(t, k.shape[3]) if kind == "DepthwiseConv2D" else t).astype(np.float32),
                 bn_stats)
        k, b = first.get_weights()
        limit = broadcast(kind, k, np.where(live, top * scale, np.inf))
        first.set_weights([np.clip(k, -limit, limit).astype(np.float32), b])


def _best_thresholds(w, top) -> np.ndarray:
    """Per column of w, the clipping threshold (a fraction of its peak) with least squared error at `top` levels."""
    peak = np.abs(w).max(axis=0)
    best, best_err = peak.copy(), np.full(peak.shape, np.inf)
    for r in RATIOS:
        c = r * peak
        step = np.where(c > 0, c / top, 1.0)
        err = np.mean((step * np.clip(np.round(w / step), -top, top) - w) ** 2, axis=0)
        better = err < best_err
        best, best_err = np.where(better, c, best), np.where(better, err, best_err)
    return best


def choose(layer_kind, kernel, bits, per_channel):
    """(scale broadcastable to the kernel, qmin, qmax, per_channel) of the grid to store the kernel on."""
    if per_channel:
        scale, err = _per_channel(layer_kind, kernel, bits)
        if not per_channel == "auto" or err <= _per_tensor(kernel, bits)[1]:
            top = levels(bits)
            return broadcast(layer_kind, kernel, scale), -top, top, True
    integer = _per_tensor(kernel, bits)[0]
    lsb = 2.0 ** (integer - bits + 1)
    return np.float32(lsb), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, False


def tensor_integer(kernel, bits) -> int:
    """QKeras `integer` of the per-tensor grid `choose` picks."""
    return _per_tensor(kernel, bits)[0]


def _per_channel(layer_kind, kernel, bits):
    """Per group: the reproducible power-of-two scale with least squared error; and the total error."""
    w = columns(layer_kind, kernel).astype(np.float64)
    top = levels(bits)
    peak = np.abs(w).max(axis=0)
    base = np.ceil(np.log2(np.where(peak > 0, peak, 1.0) / top))
    best, best_err = 2.0 ** base, np.full(peak.shape, np.inf)
    for shift in range(CANDIDATES + 1):
        scale = 2.0 ** (base - shift)
        z = np.clip(np.round(w / scale), -top, top)
        kept = (np.abs(z).max(axis=0) > REPRODUCED * top) | (peak == 0)
        err = np.sum((scale * z - w) ** 2, axis=0)
        better = kept & (err < best_err)
        best, best_err = np.where(better, scale, best), np.where(better, err, best_err)
    return best.astype(np.float32), float(np.sum(best_err))


def _per_tensor(kernel, bits):
    """(integer, squared error) of the best per-tensor quantized_bits(bits, integer, alpha=1) grid."""
    peak = float(np.abs(kernel).max())
    if peak == 0:
        return 0, 0.0
    half = 2 ** (bits - 1)
    full = int(np.ceil(np.log2(peak * half / (half - 1))))
    w = kernel.astype(np.float64)
    options = []
    for integer in range(max(0, full - CANDIDATES), max(0, full) + 1):  # QKeras needs integer >= 0
        lsb = 2.0 ** (integer - bits + 1)
        options.append((float(np.sum((lsb * np.clip(np.round(w / lsb), -half, half - 1) - w) ** 2)), -integer))
    err, neg = min(options)
    return -neg, err
