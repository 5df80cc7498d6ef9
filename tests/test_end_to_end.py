"""QKeras MLPs -> HLS project: predict (g++ csim), emulate and `make csim` give
the same bits as QKeras on 2,000 inputs, many far outside the input range."""

import numpy as np
import pytest

import hlsflow
from conftest import check_bit_exact, example_model, jet_tagger_mlp, make_csim, stress_inputs

N = 2000


@pytest.fixture(scope="module")
def jet(tmp_path_factory):
    model = jet_tagger_mlp()
    project = hlsflow.convert(model, tmp_path_factory.mktemp("jet") / "prj")
    return model, project


def test_jet_mlp_bit_exact(jet):
    model, project = jet
    x = stress_inputs(np.random.default_rng(1), N, (16,), 32)
    check_bit_exact(model, project, x)


def test_jet_mlpmake_csim(jet):
    model, project = jet
    code, output = make_csim(project.directory)
    assert code == 0, output
    assert "csim: 200/200 bit-exact (logits, C only)" in output
    assert "probabilities within" in output and "(tolerance " in output
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
    check_bit_exact(model, project, x)
    code, output = make_csim(project.directory)
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


def test_layer_instances_count_each_specialization_once():
    from hlsflow.backend.csim import layer_instances

    source = ("nnet::relu<a_t, b_t, 4>(x, y);\n    nnet::relu<c_t, b_t, 4>(y, z);\n"
              "    nnet::cast<a_t, b_t, 8>(x, w);  // nnet::relu<a_t, b_t, 4> in a comment is no call\n")
    typedefs = "typedef ap_fixed<8,2> a_t;  // x [4]\ntypedef ap_fixed<8,2> c_t;\ntypedef ap_ufixed<4,0> b_t;\n"
    assert layer_instances(source, typedefs) == ["nnet::relu<a_t, b_t, 4>", "nnet::cast<a_t, b_t, 8>"]


def test_new_weights_rebuild_only_the_main_unit(jet, tmp_path, build_cache):
    """Retrained weights with the same types reuse the compiled layer units, and stay bit-exact."""
    model, project = jet
    project.compile(progress=False)
    layer_units = set((build_cache / "layers").glob("*.o"))
    retrained = jet_tagger_mlp()
    retrained.set_weights(model.get_weights())
    kernel, bias = retrained.get_layer("fc1").get_weights()
    retrained.get_layer("fc1").set_weights([kernel[::-1], bias])  # same column sums: same types
    other = hlsflow.convert(retrained, tmp_path / "retrained")
    assert other.compile(progress=False) != project.compile(progress=False)
    assert set((build_cache / "layers").glob("*.o")) == layer_units
    check_bit_exact(retrained, other, stress_inputs(np.random.default_rng(4), 300, (16,), 32))
