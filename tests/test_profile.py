"""Calibrated types for float Keras models: targets on held-out inputs,
emulator == csim, config overrides and `hlsflow check` catching overflow."""
import json
import subprocess
import sys

import numpy as np
import pytest

import hlsflow
from conftest import example_model
from hlsflow.errors import OptionError
from hlsflow.passes import check, profile


@pytest.fixture(scope="module")
def digits():
    """A float MLP trained on scikit-learn's digits; 500 calibration and ~600 held-out inputs."""
    import tf_keras as keras
    from sklearn.datasets import load_digits

    keras.utils.set_random_seed(0)
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order].astype(np.float32), y[order]
    model = keras.Sequential([keras.layers.InputLayer((64,), name="pixels"),
                              keras.layers.Dense(32, activation="relu", name="fc1"),
                              keras.layers.Dense(16, activation="relu", name="fc2"),
                              keras.layers.Dense(10, activation="softmax", name="out")], name="digits_float")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:1200], y[:1200], epochs=30, batch_size=32, verbose=0)
    return model, x[:500], x[1200:]


@pytest.fixture(scope="module")
def digits_project(digits, tmp_path_factory):
    model, calibration, _ = digits
    return hlsflow.convert(model, tmp_path_factory.mktemp("digits") / "prj", samples=calibration)


def _targets(model, project, held_out):
    """Argmax agreement and max error / output range against Keras on the raw held-out inputs."""
    reference = model.predict(held_out, verbose=0)
    got = project.emulate(held_out)
    agreement = float(np.mean(got.argmax(1) == reference.argmax(1)))
    return agreement, float(np.abs(got - reference).max() / np.ptp(reference))


def test_digits_calibrated_targets(digits, digits_project):
    model, _, held_out = digits
    agreement, error = _targets(model, digits_project, held_out)
    assert agreement >= 0.995 and error <= 0.01, (agreement, error)
    assert profile.mean_width(digits_project.graph) <= 16
    summary = digits_project.graph.meta["profile"]
    assert summary["samples"] == 500 and summary["argmax_agreement"] >= 0.999
    assert max(summary["max_error"].values()) <= summary["error_target"]
    assert 0 < summary["softmax_error"] <= summary["error_target"]
    # every chosen type rounds and saturates; accumulators stay exact (interval analysis)
    for node in digits_project.graph.nodes:
        if node.op == "dense":
            assert node.attrs["weight_type"].overflow == "SAT"
            assert node.attrs["accum_type"].rounding == "TRN"


def test_digits_emulator_equals_csim(digits, digits_project):
    _, _, held_out = digits
    assert np.array_equal(digits_project.predict(held_out), digits_project.emulate(held_out))
    assert np.array_equal(digits_project.predict(held_out, logits=True),
                          digits_project.emulate(held_out, logits=True).reshape(len(held_out), -1))
    assert len(np.loadtxt(digits_project.directory / "tb_data" / "inputs.txt")) == 500
    lines, ok = digits_project.csim(progress=False)
    assert ok and any("argmax agreement" in line for line in lines), lines


def test_data_free_conversion_warns_and_uses_input_range(digits, tmp_path):
    model, calibration, _ = digits
    with pytest.warns(UserWarning, match="data-free types.*--samples"):
        project = hlsflow.convert(model, tmp_path / "free", input_range=[0, 16])
    assert str(project.graph.tensors["pixels"].type) == "ap_ufixed<16,5,AP_RND_CONV,AP_SAT>"
    assert "profile" not in project.graph.meta


def test_config_round_trip_and_too_narrow_override(digits, digits_project, tmp_path):
    model, calibration, held_out = digits
    config = profile.default_config(digits_project.graph)
    again = hlsflow.convert(model, tmp_path / "again", config=config)
    assert profile.default_config(again.graph) == config
    assert np.array_equal(again.emulate(held_out), digits_project.emulate(held_out))
    lines, ok = check.report(digits_project.graph, held_out)
    assert ok, lines
    config["layers"]["fc1"]["output_type"] = "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"  # fc1 reaches ~37
    path = tmp_path / "narrow.json"
    path.write_text(json.dumps(config))
    narrow = hlsflow.convert(model, tmp_path / "narrow", config=str(path))
    counts = check.overflow_counts(narrow.graph, held_out)
    assert counts["fc1"][0] > 0 and counts["fc2"][0] == 0
    np.save(tmp_path / "held.npy", held_out)
    result = subprocess.run([sys.executable, "-m", "hlsflow", "check", narrow.directory, "--samples",
                             tmp_path / "held.npy"], capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "fc1" in result.stdout.splitlines()[-1] and "OVERFLOW" in result.stdout


def test_quantizer_types_are_never_changed(digits, tmp_path):
    model, calibration, _ = digits
    with pytest.raises(OptionError, match="layers.nope: no such layer"):
        hlsflow.convert(model, tmp_path / "a", config={"layers": {"nope": {"output_type": "ap_fixed<8,4>"}}})
    from conftest import jet_tagger_mlp

    jet = jet_tagger_mlp()
    with pytest.raises(OptionError, match="layers.fc1.weight_type: set by a QKeras quantizer"):
        hlsflow.convert(jet, tmp_path / "b", config={"layers": {"fc1": {"weight_type": "ap_fixed<4,1>"}}})


@pytest.mark.parametrize("name", ["KERAS_3layer", "KERAS_3layer_batch_norm"])
def test_example_models_calibrated_on_standard_normal(name, tmp_path):
    model = hlsflow.load_model(example_model(name))
    rng = np.random.default_rng(5)
    calibration, held_out = rng.standard_normal((500, 16)), rng.standard_normal((3000, 16))
    project = hlsflow.convert(model, tmp_path / name, samples=calibration)
    agreement, error = _targets(model, project, held_out.astype(np.float32))
    assert agreement >= 0.995 and error <= 0.01, (agreement, error)
    assert profile.mean_width(project.graph) <= 16
    assert np.array_equal(project.predict(held_out), project.emulate(held_out))


def test_profile_and_config_verbs(digits, digits_project, tmp_path):
    model, calibration, _ = digits
    model.save(tmp_path / "digits.h5")
    np.save(tmp_path / "cal.npy", calibration)
    result = subprocess.run([sys.executable, "-m", "hlsflow", "profile", tmp_path / "digits.h5", "--samples",
                             tmp_path / "cal.npy", "--plot", tmp_path / "p.png"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    table = result.stdout.splitlines()
    for row in ("pixels ", "fc1.weight ", "fc1 ", "out_linear ", "out "):
        line = next(line for line in table if line.startswith(row))
        assert "0/" in line.split()[-1]  # no overflow on the calibration samples
    assert str(digits_project.graph.tensors["fc1"].type) in "\n".join(table)
    assert "softmax tables leave" in table[-2] and (tmp_path / "p.png").stat().st_size > 20000
    result = subprocess.run([sys.executable, "-m", "hlsflow", "config", tmp_path / "digits.h5", "--samples",
                             tmp_path / "cal.npy", "-o", tmp_path / "c.json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "c.json").read_text()) == profile.default_config(digits_project.graph)


def test_tanh_and_sigmoid_tables_follow_the_error_budget(digits, tmp_path):
    """Float tanh/sigmoid become tables indexed by their calibrated input type,
    with a calibrated output type: sizes and precisions come from the same budget."""
    import tf_keras as keras
    from sklearn.datasets import load_digits

    _, calibration, held_out = digits
    keras.utils.set_random_seed(0)
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))  # the split of the digits fixture
    model = keras.Sequential([keras.layers.InputLayer((64,)), keras.layers.Dense(32, activation="tanh", name="h1"),
                              keras.layers.Dense(16, activation="sigmoid", name="h2"),
                              keras.layers.Dense(10, activation="softmax", name="out")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[order][:1200].astype(np.float32), y[order][:1200], epochs=30, batch_size=32, verbose=0)
    project = hlsflow.convert(model, tmp_path / "prj", samples=calibration)
    agreement, error = _targets(model, project, held_out)
    assert agreement >= 0.995 and error <= 0.01
    tables = [n for n in project.graph.nodes if n.op == "table"]
    assert len(tables) == 2
    for node in tables:
        x_type = project.graph.tensors[node.inputs[0]].type
        assert node.attrs["index_type"].width == x_type.width <= 16  # the table covers the calibrated input type
        assert node.outputs[0] in project.graph.meta["chosen"] or node.name in project.graph.meta["chosen"]
    assert np.array_equal(project.predict(held_out), project.emulate(held_out))


def test_samples_keep_quantized_models_bit_exact(tmp_path):
    """Calibrating a QKeras model leaves its exactly computed tensors (the
    logits before a float softmax) at their exact types."""
    from conftest import check_bit_exact, jet_tagger_mlp

    model = jet_tagger_mlp()
    x = np.random.default_rng(4).normal(0, 4, (600, 16)).astype(np.float32)
    project = hlsflow.convert(model, tmp_path / "jet", samples=x[:300], error_target=0.01)
    logits = project.graph.nodes[-1].inputs[0]
    assert project.graph.tensors[logits].exact
    check_bit_exact(model, project, x[300:])


@pytest.mark.parametrize("activation", ["elu", "selu", "softplus", "softsign", "tanh", "sigmoid", "hard_sigmoid",
                                        "leaky_relu"])
def test_float_activation_on_the_input_calibrates(activation, tmp_path):
    """An element-wise float activation fed by the input (hls4ml's test_activations,
    shape (8, 8, 3)) calibrates: its table's index is the calibrated input type
    rounded to table_width bits, and argmax agreement is held to what that
    index can resolve (near-ties of 192 inputs closer than its step cannot)."""
    import tf_keras as keras

    x_in = keras.layers.Input((8, 8, 3))
    model = keras.Model(x_in, keras.layers.Activation(activation, name="act")(x_in))
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (1000, 8, 8, 3)).astype(np.float32)
    project = hlsflow.convert(model, tmp_path / "prj", io_type="io_stream", samples=x)
    summary = project.graph.meta["profile"]
    assert max(summary["max_error"].values()) <= summary["error_target"]
    assert summary["argmax_agreement"] >= summary["argmax_target"] >= 0.99
    (node,) = project.graph.nodes
    assert node.op == "table" and node.attrs["index_type"].width <= 16
    reference = model.predict(project.cast_inputs(x), verbose=0)  # Keras on the values the hardware sees
    assert np.abs(project.emulate(x) - reference).max() <= 0.0025 * np.ptp(reference)


@pytest.mark.parametrize("rank", [1, 2])
def test_separable_conv_calibrates(rank, tmp_path):
    """A float SeparableConv1D/2D calibrates: its intermediate (no Keras tensor)
    gets its values from the layer's depthwise part, which the layer's pointwise
    part turns into Keras's own output."""
    import tf_keras as keras

    L = keras.layers
    keras.utils.set_random_seed(0)
    shape, options = ((16, 3), dict(dilation_rate=2, padding="causal")) if rank == 1 else \
        ((9, 9, 3), dict(strides=2, padding="same"))
    x_in = L.Input(shape)
    layer = (L.SeparableConv1D if rank == 1 else L.SeparableConv2D)(4, 3, depth_multiplier=2, name="sep", **options)
    model = keras.Model(x_in, L.Activation("relu", name="relu")(layer(x_in)))
    x = np.random.default_rng(0).uniform(0, 1, (400,) + shape).astype(np.float32)
    project = hlsflow.convert(model, tmp_path / "prj", io_type="io_stream", samples=x)
    graph = project.graph
    assert "sep_depthwise" in graph.meta["chosen"]
    from hlsflow.frontend.keras import to_graph

    mid = profile.record(model, to_graph(model), x, {"sep_depthwise"})["sep_depthwise"]
    pointwise = np.einsum("n...c,cf->n...f", mid.reshape((len(x),) + tuple(layer.output.shape[1:-1]) + (-1,)),
                          layer.pointwise_kernel.numpy()[(0,) * rank]) + layer.bias.numpy()
    assert np.allclose(pointwise, layer(x).numpy(), atol=1e-5)
    reference = model.predict(project.cast_inputs(x), verbose=0)
    assert np.abs(project.emulate(x) - reference).max() <= 0.0025 * np.ptp(reference)
    lines, ok = project.csim(progress=False)
    assert ok, lines


def test_float_input_of_a_quantized_model_is_a_precision_choice():
    """A QKeras model without an input quantizer: its outputs are exact from the
    cast input (Keras on it is their bit-exact reference), and a quantizer's step
    turns any rounding of the input into a whole step for samples near it, so no
    input width meets the error target at the outputs. The input's type meets it
    on its own rounding, with the argmax agreement with Keras on the float
    samples; a float model that cannot meet its target still stops."""
    from conftest import jet_tagger_mlp
    from hlsflow.fixed import quantize
    from hlsflow.project import typed_graph

    model = jet_tagger_mlp()
    x = np.random.default_rng(4).normal(0, 4, (3000, 16)).astype(np.float32)
    graph = typed_graph(model, x)[1]
    summary, t = graph.meta["profile"], graph.tensors["inputs"].type
    assert summary["input_rounding"] == ["inputs"] and summary["argmax_agreement"] >= 0.999
    cast = quantize(x.astype(np.float64), t)
    assert np.abs(cast - x).max() <= 0.0025 * np.ptp(x)
    agree = np.mean(model.predict(cast.astype(np.float32), verbose=0).argmax(1) == model.predict(x, verbose=0).argmax(1))
    assert agree >= 0.999, (t, agree)

    import tf_keras as keras

    float_model = keras.Sequential([keras.layers.InputLayer((16,)), keras.layers.Dense(4)])
    with pytest.raises(OptionError, match=r"error target 1e-09 .* not reached even with 24-bit types"):
        typed_graph(float_model, x, error_target=1e-9)
