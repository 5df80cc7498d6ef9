"""Each quantization technique on a case built for it, measured against the float
model; and the sanitize step against the original model's outputs."""
import warnings

import numpy as np
import pytest

import hlsflow
from hlsflow.frontend.tf_setup import import_keras
from hlsflow.ptq import calibrate
from hlsflow.ptq.sanitize import sanitize


@pytest.fixture(scope="module")
def keras():
    return import_keras()[1]


def _error(model, qmodel, x):
    return float(np.mean((model.predict(x, verbose=0) - qmodel.predict(x, verbose=0)) ** 2))


def _quiet_quantize(model, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hlsflow.quantize(model, **kwargs)


# -- sanitize ---------------------------------------------------------------------
def test_sanitize_folds_bn_merges_padding_and_rewrites_relus(keras):
    import tensorflow as tf

    L = keras.layers
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        L.InputLayer((6, 6, 2)), L.Rescaling(1 / 255.0, name="scale"),
        L.ZeroPadding2D(1, name="pad"), L.Conv2D(4, 3, name="conv"), L.BatchNormalization(name="bn"),
        L.Lambda(lambda t: tf.nn.relu(t), name="lambda_relu"),
        L.DepthwiseConv2D(3, padding="same", name="dw"), L.BatchNormalization(name="bn2"),
        L.Activation("relu", name="act"), L.Flatten(), L.Dropout(0.5), L.Dense(3, activation="softmax", name="out"),
    ])
    rng = np.random.default_rng(0)
    for bn in ("bn", "bn2"):
        layer = model.get_layer(bn)
        layer.set_weights([rng.uniform(0.5, 2, w.shape).astype(np.float32) if i in (0, 3) else
                           rng.normal(0, 1, w.shape).astype(np.float32) for i, w in enumerate(layer.get_weights())])
    clean = sanitize(model)
    names = [type(layer).__name__ for layer in clean.model.layers]
    assert names == ["Conv2D", "ReLU", "DepthwiseConv2D", "ReLU", "Flatten", "Dense", "Activation"]
    assert clean.model.get_layer("conv").padding == "same" and clean.stop is None
    assert set(clean.bn_stats) == {"conv", "dw"}
    x = rng.uniform(0, 255, (32, 6, 6, 2)).astype(np.float32)
    np.testing.assert_allclose(clean.model.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


# -- calibration --------------------------------------------------------------------
def test_calibration_methods_clip_outliers_and_reduce_error():
    rng = np.random.default_rng(0)
    x = np.abs(rng.laplace(0, 1, 200_000))
    x[:2] = 60.0  # rare outliers
    bits = 6
    minmax = calibrate.integer_bits(x, bits, False, "minmax")
    assert minmax == 6
    err = {m: np.mean((calibrate.quantize(x, bits, calibrate.integer_bits(x, bits, False, m), False) - x) ** 2)
           for m in calibrate.METHODS}
    for method in ("percentile", "entropy", "mse"):
        assert calibrate.integer_bits(x, bits, False, method) < minmax, method
        assert err[method] < err["minmax"] / 2, (method, err)
    assert err["mse"] == min(err.values())


def test_per_axis_activations_beat_per_tensor_on_spread_channels(keras):
    L = keras.layers
    keras.utils.set_random_seed(2)
    model = keras.Sequential([L.InputLayer((16,)), L.Dense(8, activation="relu", name="a"), L.Dense(4, name="b")])
    k, b = model.get_layer("a").get_weights()
    spread = np.logspace(0, -2, 8).astype(np.float32)  # channel ranges spread by 100x
    model.get_layer("a").set_weights([k * spread, b * 0])
    kb, bb = model.get_layer("b").get_weights()
    model.get_layer("b").set_weights([kb / spread[:, None], bb])
    x = np.random.default_rng(3).normal(size=(512, 16)).astype(np.float32)
    per_axis = _error(model, _quiet_quantize(model, samples=x, activation_bits=6), x)
    per_tensor = _error(model, _quiet_quantize(model, samples=x, activation_bits=6, per_tensor_activations=True), x)
    assert per_axis < per_tensor / 10


# -- cross-layer equalization ---------------------------------------------------------
def test_cle_equalizes_depthwise_channels_spread_100x(keras):
    L = keras.layers
    keras.utils.set_random_seed(4)
    model = keras.Sequential([L.InputLayer((6, 6, 4)), L.DepthwiseConv2D(3, padding="same", name="dw"),
                              L.ReLU(name="relu"), L.Conv2D(4, 1, name="pw"), L.Flatten(), L.Dense(3, name="out")])
    spread = np.array([1.0, 0.1, 0.03, 0.01], np.float32)  # 100x between channels
    k, b = model.get_layer("dw").get_weights()
    model.get_layer("dw").set_weights([k * spread[:, None], b * spread])
    k, b = model.get_layer("pw").get_weights()
    model.get_layer("pw").set_weights([k / spread[:, None], b])
    x = np.random.default_rng(5).normal(size=(256, 6, 6, 4)).astype(np.float32)
    options = dict(samples=x, per_channel=False, per_tensor_activations=True)
    without = _error(model, _quiet_quantize(model, **options), x)
    with_cle = _error(model, _quiet_quantize(model, cle=True, **options), x)
    assert with_cle < without / 10, (with_cle, without)


# -- bias correction --------------------------------------------------------------------
def _shifted_model(keras, with_bn):
    """Weights just above a 4-bit grid point: nearest rounding lowers all of them,
    shifting every output by the same sign."""
    L = keras.layers
    keras.utils.set_random_seed(6)
    layers = [L.InputLayer((32,)), L.Dense(32, name="a")]
    layers += [L.BatchNormalization(name="bn")] if with_bn else []
    layers += [L.ReLU(name="relu"), L.Dense(4, name="b")]
    model = keras.Sequential(layers)
    rng = np.random.default_rng(7)
    model.get_layer("b").set_weights([((rng.integers(-4, 4, (32, 4)) + 0.4) / 8).astype(np.float32),
                                      np.zeros(4, np.float32)])
    if with_bn:
        model.get_layer("bn").set_weights([np.ones(32, np.float32), np.full(32, 0.5, np.float32),
                                           np.zeros(32, np.float32), np.ones(32, np.float32)])
    return model


@pytest.mark.parametrize("empirical", [True, False])
def test_bias_correction_removes_a_systematic_shift(keras, empirical):
    model = _shifted_model(keras, with_bn=not empirical)
    x = np.random.default_rng(8).normal(size=(1024, 32)).astype(np.float32)
    if not empirical:  # analytic: from the BN statistics, the inputs must follow them
        x = (x - x.mean(0)) / x.std(0)
        a, b = model.get_layer("a").get_weights()
        rotation = np.linalg.qr(np.random.default_rng(9).normal(size=(32, 32)))[0]  # keeps N(0, 1)
        model.get_layer("a").set_weights([rotation.astype(np.float32), b * 0])
    options = dict(weight_bits=4, input_weight_bits=8, activation_bits=8, per_channel=False,
                   samples=x if empirical else None)
    reference = model.predict(x, verbose=0)
    plain = _quiet_quantize(model, **options).predict(x, verbose=0) - reference
    corrected = _quiet_quantize(model, bias_correction=True, **options).predict(x, verbose=0) - reference
    assert np.abs(plain.mean(0)).min() > 0.2  # the shift the case is built for
    assert np.abs(corrected.mean(0)).max() < np.abs(plain.mean(0)).min() / 4


# -- AdaRound ------------------------------------------------------------------------------
def test_adaround_beats_nearest_rounding_at_4_bits(keras):
    L = keras.layers
    keras.utils.set_random_seed(10)
    model = keras.Sequential([L.InputLayer((24,)), L.Dense(16, activation="relu", name="a"), L.Dense(8, name="b")])
    rng = np.random.default_rng(11)
    mixing = rng.normal(size=(24, 24)) / 5 + np.eye(24)  # correlated inputs: rounding errors do not average out
    x = (rng.normal(size=(1024, 24)) @ mixing).astype(np.float32)
    x_test = (rng.normal(size=(512, 24)) @ mixing).astype(np.float32)
    options = dict(weight_bits=4, input_weight_bits=4, activation_bits=8, samples=x)
    nearest = _error(model, _quiet_quantize(model, **options), x_test)
    learned = _error(model, _quiet_quantize(model, adaround=True, **options), x_test)
    assert learned < 0.8 * nearest, (learned, nearest)
