"""AdaRound (Nagel et al., 2020): learn, per weight, whether to round down or up.

For one layer, w = s * clip(floor(W/s) + h(V), qmin, qmax) with the rectified
sigmoid h(V) = clip(sigmoid(V) (zeta - gamma) + gamma, 0, 1). V is optimized
so that the layer's output on the quantized model's inputs matches the float
model's output, plus a regularizer 1 - |2h - 1|^beta (beta annealed from 20 to
2) that drives each h to 0 or 1. The result is a kernel on the quantizer's grid.
"""
import numpy as np

ZETA, GAMMA = 1.1, -0.1
ITERATIONS = 400
BATCH = 128
LEARNING_RATE = 3e-2
REG_WEIGHT = 100.0  # strong enough that every h ends at 0 or 1 within ITERATIONS
WARMUP = 0.2  # fraction of iterations without the regularizer


def optimize(layer, kernel, bias, scale, qmin, qmax, inputs, target, relu: bool, seed: int = 0) -> np.ndarray:
    """A kernel on the grid scale * [qmin, qmax] that best reproduces `target` from `inputs`."""
    from hlsflow.frontend.tf_setup import import_keras

    tf, _ = import_keras()
    rng = np.random.default_rng(seed)
    scale = np.broadcast_to(np.asarray(scale, np.float32), kernel.shape)
    floor = np.floor(kernel / scale)
    rest = np.clip(kernel / scale - floor, 1e-4, 1 - 1e-4)
    v = tf.Variable(-np.log((ZETA - GAMMA) / (rest - GAMMA) - 1), dtype=tf.float32)
    s, fl, b = (tf.constant(a, tf.float32) for a in (scale, floor, bias))
    op = _layer_op(tf, layer)
    optimizer = tf.keras.optimizers.Adam(LEARNING_RATE)

    def soft(v):
        return tf.clip_by_value(tf.sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0.0, 1.0)

    @tf.function
    def step(x, y, beta, reg):
        with tf.GradientTape() as tape:
            w = s * tf.clip_by_value(fl + soft(v), qmin, qmax)
            out = op(x, w) + b
            if relu:
                out, y = tf.nn.relu(out), tf.nn.relu(y)
            loss = tf.reduce_mean(tf.square(out - y))
            loss += reg * tf.reduce_sum(1.0 - tf.pow(tf.abs(2.0 * soft(v) - 1.0), beta))
        optimizer.apply_gradients([(tape.gradient(loss, v), v)])

    # the regularizer, at its largest (every h at 1/2), weighs REG_WEIGHT x the nearest-rounding loss
    nearest = op(tf.constant(inputs), tf.constant(scale * np.clip(np.round(kernel / scale), qmin, qmax))) + b
    reg_scale = REG_WEIGHT * _mse(tf, nearest, target, relu) / kernel.size
    n = len(inputs)
    for it in range(ITERATIONS):
        idx = rng.choice(n, min(BATCH, n), replace=False)
        progress = max(0.0, (it / ITERATIONS - WARMUP) / (1 - WARMUP))
        beta = 20.0 + (2.0 - 20.0) * progress
        reg = 0.0 if it < WARMUP * ITERATIONS else reg_scale
        step(tf.constant(inputs[idx]), tf.constant(target[idx]), tf.constant(beta), tf.constant(reg, tf.float32))
    up = (soft(v).numpy() >= 0.5).astype(np.float32)
    return (scale * np.clip(floor + up, qmin, qmax)).astype(np.float32)


def _mse(tf, out, target, relu) -> float:
    if relu:
        out, target = tf.nn.relu(out), tf.nn.relu(target)
    return float(tf.reduce_mean(tf.square(out - target)))


def _layer_op(tf, layer):
    """x, kernel -> the layer's linear output without bias."""
    kind = type(layer).__name__.removeprefix("Q")
    if kind == "Dense":
        return lambda x, w: tf.matmul(x, w)
    padding = layer.padding.upper()
    strides = (1,) + tuple(layer.strides) + (1,)
    dilations = tuple(layer.dilation_rate)
    if kind == "Conv2D":
        return lambda x, w: tf.nn.conv2d(x, w, strides, padding, dilations=dilations)
    return lambda x, w: tf.nn.depthwise_conv2d(x, w, strides, padding, dilations=dilations)
