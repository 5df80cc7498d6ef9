"""QKeras MLPs -> HLS project: predict (g++ csim), emulate and `make csim` give
the same bits as QKeras on 2,000 inputs, many far outside the input range."""
import subprocess

import numpy as np
import pytest

import hlsflow
from conftest import example_model, jet_tagger_mlp, stress_inputs

N = 2000


def _check_bit_exact(model, project, x):
    """Logits from predict and emulate equal Keras's, bit for bit, on every input."""
    graph = project.graph
    quantized_input = bool(graph.meta.get("quantized_inputs"))
    keras_x = x if quantized_input else project.cast_inputs(x)
    from hlsflow.project import keras_logits

    reference = keras_logits(model, [keras_x.astype(np.float32)])
    emulated = project.emulate(x, logits=True).reshape(len(x), -1)
    predicted = project.predict(x, logits=True)
    assert np.array_equal(emulated, predicted), "emulator and csim disagree"
    mismatched = np.flatnonzero(np.any(predicted != reference, axis=1))
    assert mismatched.size == 0, f"{mismatched.size}/{len(x)} inputs differ from Keras, e.g. #{mismatched[:3]}"
    probabilities = project.predict(x)
    assert np.array_equal(probabilities, project.emulate(x))
    keras_probabilities = model.predict(keras_x.astype(np.float32), verbose=0)
    assert np.max(np.abs(probabilities - keras_probabilities)) < 0.02


def _make_csim(directory):
    result = subprocess.run(["make", "-s", "-C", str(directory), "csim"], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def jet(tmp_path_factory):
    model = jet_tagger_mlp()
    project = hlsflow.convert(model, tmp_path_factory.mktemp("jet") / "prj")
    return model, project


def test_jet_mlp_bit_exact(jet):
    model, project = jet
    x = stress_inputs(np.random.default_rng(1), N, (16,), 32)
    _check_bit_exact(model, project, x)


def test_jet_mlp_make_csim(jet):
    model, project = jet
    code, output = _make_csim(project.directory)
    assert code == 0, output
    assert "csim: 200/200 bit-exact (logits)" in output
    assert "probabilities max abs error" in output
    lines, ok = project.csim(progress=False)
    assert ok and all(line in output for line in lines)


def test_jet_mlp_types(jet):
    _, project = jet
    g = project.graph
    assert str(g.tensors["relu1"].type) == "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>"
    assert g.node("fc1").attrs["weight_type"].width <= 6
    assert all(t.exact for name, t in g.tensors.items() if name != "softmax")


@pytest.mark.parametrize("name", ["qkeras_3layer", "qkeras_mnist_dense"])
def test_example_model_bit_exact(name, tmp_path):
    path = example_model(name)
    model = hlsflow.load_model(path)
    project = hlsflow.convert(model, tmp_path / name)
    shape = tuple(model.input_shape[1:])
    x = stress_inputs(np.random.default_rng(2), N, shape, 8 if name == "qkeras_3layer" else 2)
    _check_bit_exact(model, project, x)
    code, output = _make_csim(project.directory)
    assert code == 0 and "csim: 200/200 bit-exact" in output, output


def test_vivado_backend_differs_in_tcl_and_pragmas(jet, tmp_path):
    model, vitis = jet
    vivado = hlsflow.convert(model, tmp_path / "vivado", backend="vivado")
    tcl = (vivado.directory / "build_prj.tcl").read_text()
    assert "-flow_target" not in tcl and "-flow_target vivado" in (vitis.directory / "build_prj.tcl").read_text()
    assert "vivado_hls" in (vivado.directory / "Makefile").read_text()
    cpp = (vivado.directory / "firmware" / "jet_tagger.cpp").read_text()
    assert "INTERFACE ap_vld" in cpp and "mode=ap_vld" not in cpp
    x = stress_inputs(np.random.default_rng(3), 200, (16,), 32)
    assert np.array_equal(vivado.predict(x, logits=True), vitis.predict(x, logits=True))
