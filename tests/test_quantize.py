"""hlsflow.quantize on float models trained on scikit-learn digits: accuracy next
to the float model, the layout hlsflow needs, QAT with fit, bit-exact conversion,
per-layer config and the CLI verbs."""
import json
import sys
import warnings

import numpy as np
import pytest

import hlsflow
from conftest import REPO, stress_inputs
from hlsflow.errors import UnsupportedError
from hlsflow.project import keras_logits

sys.path.insert(0, str(REPO / "scripts"))
import digits_models as dm  # noqa: E402


@pytest.fixture(scope="module")
def mlp():
    return dm.trained(dm.mlp)


@pytest.fixture(scope="module")
def cnn():
    return dm.trained(dm.cnn)


@pytest.fixture(scope="module")
def mlp_w8a8(mlp):
    model, (x_train, *_) = mlp
    return hlsflow.quantize(model, samples=x_train)


@pytest.fixture(scope="module")
def mlp_w4a4_adaround(mlp):
    model, (x_train, *_) = mlp
    return hlsflow.quantize(model, weight_bits=4, activation_bits=4, input_weight_bits=8, samples=x_train,
                            adaround=True)


def _drop(reference, quantized, data):
    _, _, x_test, y_test = data
    return dm.accuracy(reference, x_test, y_test) - dm.accuracy(quantized, x_test, y_test)


def _assert_bit_exact(qmodel, directory, x):
    project = hlsflow.convert(qmodel, directory)
    reference = keras_logits(qmodel, [x.astype(np.float32)])
    predicted = project.predict(x, logits=True)
    mismatched = np.flatnonzero(np.any(predicted != reference, axis=1))
    assert mismatched.size == 0, f"{mismatched.size}/{len(x)} inputs differ from QKeras"
    return project


def test_w8a8_mlp_accuracy(mlp, mlp_w8a8):
    model, data = mlp
    assert _drop(model, mlp_w8a8, data) <= 0.3


def test_w4a4_adaround_mlp_accuracy(mlp, mlp_w4a4_adaround):
    model, data = mlp
    assert _drop(model, mlp_w4a4_adaround, data) <= 1.0


def test_layout_is_what_hlsflow_builds_exactly(mlp_w4a4_adaround):
    q = mlp_w4a4_adaround
    kinds = [type(layer).__name__ for layer in q.layers]
    assert kinds == ["QActivation", "QDense", "QActivation", "QDense", "QActivation", "QDense", "Activation"]
    assert [layer.kernel_quantizer_internal.bits for layer in q.layers if kinds[q.layers.index(layer)] == "QDense"] \
        == [8, 4, 4]  # first layer: input_weight_bits
    # per layer: power-of-two scales per channel, or one grid where that errs less
    assert all(layer.kernel_quantizer_internal.alpha in ("auto_po2", 1)
               for layer in q.layers if hasattr(layer, "kernel"))
    assert q.get_layer("fc3").kernel_quantizer_internal.alpha == "auto_po2"
    assert type(q.get_layer("relu1").quantizer).__name__ == "quantized_relu"
    assert q.get_layer("relu1").quantizer.bits == 4
    assert type(q.layers[0].quantizer).__name__ == "quantized_bits" and q.layers[0].quantizer.bits == 8


def test_w8a8_mlp_converts_bit_exact(mlp, mlp_w8a8, tmp_path):
    _, (_, _, x_test, _) = mlp
    x = np.concatenate([x_test, stress_inputs(np.random.default_rng(0), 500, (64,), 16)])
    _assert_bit_exact(mlp_w8a8, tmp_path / "w8a8", x)


def test_w4a4_adaround_mlp_converts_bit_exact(mlp, mlp_w4a4_adaround, tmp_path):
    _, (_, _, x_test, _) = mlp
    _assert_bit_exact(mlp_w4a4_adaround, tmp_path / "w4a4", x_test)


def test_qat_with_plain_fit_then_bit_exact(mlp, tmp_path):
    model, data = mlp
    x_train, y_train, x_test, y_test = data
    q = hlsflow.quantize(model, weight_bits=4, activation_bits=4, samples=x_train)
    before = dm.accuracy(q, x_test, y_test)
    kernel = q.get_layer("fc2").get_weights()[0].copy()
    q.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    q.fit(x_train, y_train, epochs=2, batch_size=64, verbose=0)
    assert not np.array_equal(kernel, q.get_layer("fc2").get_weights()[0])
    assert dm.accuracy(q, x_test, y_test) >= before - 1.0
    _assert_bit_exact(q, tmp_path / "qat", x_test)


def test_cnn_w8a8_accuracy(cnn):
    model, data = cnn
    q = hlsflow.quantize(model, samples=data[0])
    assert _drop(model, q, data) <= 0.3
    assert type(q.get_layer("dw2")).__name__ == "QDepthwiseConv2D"


def _kernel_quantizer(layer):
    return getattr(layer, "kernel_quantizer_internal", None) or layer.depthwise_quantizer_internal


@pytest.mark.parametrize("bits", [8, 4])
def test_qkeras_keeps_the_chosen_grids(cnn, bits):
    """QKeras recomputes auto_po2 scales from the stored kernel; it must return that kernel
    unchanged (its own fit clipped peak weights by up to 29%)."""
    model, data = cnn
    q = hlsflow.quantize(model, weight_bits=bits, activation_bits=bits, samples=data[0],
                         config={"layers": {"dw2": {"per_channel": True}, "fc": {"per_channel": True}}})
    assert q.get_layer("dw2").depthwise_quantizer_internal.scale_axis == 2  # one scale per channel
    for name in ("conv1", "dw2", "pw3", "fc"):
        layer = q.get_layer(name)
        kernel = layer.get_weights()[0]
        np.testing.assert_array_equal(np.asarray(_kernel_quantizer(layer)(kernel)), kernel, err_msg=name)


def test_cnn_w4a4_adaround_accuracy(cnn):
    model, data = cnn
    q = hlsflow.quantize(model, weight_bits=4, activation_bits=4, samples=data[0], adaround=True)
    assert _drop(model, q, data) <= 1.0


def test_cnn_converts_bit_exact(cnn, tmp_path):
    model, data = cnn
    q = hlsflow.quantize(model, samples=data[0], config={"layers": {"dw2": {"per_channel": True}}})
    assert q.get_layer("dw2").depthwise_quantizer_internal.alpha == "auto_po2"
    try:
        _assert_bit_exact(q, tmp_path / "cnn", data[2])
    except UnsupportedError as exc:
        pytest.skip(f"hlsflow.convert does not support this CNN yet: {exc}")


def test_config_round_trip(mlp, mlp_w8a8, tmp_path):
    from hlsflow.ptq.api import layer_config

    model, (x_train, *_) = mlp
    config = layer_config(mlp_w8a8)
    assert config["layers"]["fc2"]["weight_bits"] == 8 and config["layers"]["relu1"]["bits"] == 8
    config["layers"]["fc2"]["weight_bits"] = 3
    config["layers"]["relu1"].update(bits=6, integer=4)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    again = hlsflow.quantize(model, samples=x_train, config=str(path))
    assert again.get_layer("fc2").kernel_quantizer_internal.bits == 3
    assert again.get_layer("fc3").kernel_quantizer_internal.bits == 8
    relu = again.get_layer("relu1").quantizer
    assert (relu.bits, relu.integer) == (6, 4)


def test_cli_insert_rescaling_quantize_config(mlp, tmp_path, capsys):
    from hlsflow.cli import main

    model, (x_train, _, x_test, _) = mlp
    model.save(tmp_path / "float.h5")
    # the float model trained on 0..16 pixels, fed 0..255 through a Rescaling
    assert main(["insert-rescaling", str(tmp_path / "float.h5"), "-s", "0.0625", "-d", str(tmp_path / "r.h5")]) == 0
    rescaled = hlsflow.load_model(tmp_path / "r.h5")
    assert type(rescaled.layers[0]).__name__ == "Rescaling"
    np.testing.assert_allclose(rescaled.predict(x_test * 16, verbose=0), model.predict(x_test, verbose=0), atol=1e-5)
    np.savez(tmp_path / "s.npz", x=x_train * 16)
    code = main(["quantize", str(tmp_path / "r.h5"), "-i", "8", "-w", "8", "-a", "8", "--samples",
                 str(tmp_path / "s.npz"), "-bs", "64", "-o", str(tmp_path / "q.h5")])
    assert code == 0
    q = hlsflow.load_model(tmp_path / "q.h5")
    assert type(q.layers[1]).__name__ == "QDense"  # the Rescaling is folded into fc1
    assert np.mean(np.argmax(q.predict(x_test * 16, verbose=0), 1) == np.argmax(model.predict(x_test, verbose=0), 1)) > 0.98
    assert main(["config", str(tmp_path / "q.h5"), "-o", str(tmp_path / "c.json")]) == 0
    assert json.loads((tmp_path / "c.json").read_text())["quantization"]["layers"]["fc1"]["weight_bits"] == 8
    capsys.readouterr()
    assert main(["quantize", str(tmp_path / "float.h5"), "-w", "4", "-o", str(tmp_path / "q2.h5")]) == 0
    assert "1024 random inputs" in capsys.readouterr().err
    assert main(["quantize", str(tmp_path / "float.h5"), "-w", "1", "-o", str(tmp_path / "q3.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "-w 1:" in err and "weight_bits" not in err  # the flag the user typed


def test_unsupported_layer_stops_quantization_with_a_warning():
    from hlsflow.frontend.tf_setup import import_keras

    _, keras = import_keras()
    L = keras.layers
    model = keras.Sequential([L.InputLayer((6,)), L.Dense(5, activation="relu", name="a"),
                              L.LayerNormalization(name="norm"), L.Dense(3, name="b")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        q = hlsflow.quantize(model, samples=np.random.default_rng(0).normal(size=(64, 6)))
    assert any("'norm'" in str(w.message) and "stops" in str(w.message) for w in caught)
    assert [type(layer).__name__ for layer in q.layers] == ["QActivation", "QDense", "QActivation",
                                                           "LayerNormalization", "Dense"]
