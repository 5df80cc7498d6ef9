"""Model loading in every form and the IR the frontend builds."""
import numpy as np
import pytest

import hlsflow
from conftest import example_model, jet_tagger_mlp
from hlsflow.errors import ModelLoadError
from hlsflow.frontend.keras import to_graph


@pytest.mark.parametrize("suffix", [".h5", ".keras", ".json"])
def test_load_model_forms(tmp_path, suffix):
    model = jet_tagger_mlp()
    path = tmp_path / f"m{suffix}"
    if suffix == ".json":
        path.write_text(model.to_json())
        model.save_weights(tmp_path / "w.h5")
        loaded = hlsflow.load_model(path, weights=tmp_path / "w.h5")
    else:
        model.save(path)
        loaded = hlsflow.load_model(path)
    x = np.random.default_rng(0).normal(size=(8, 16)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_json_with_default_weights_name():
    model = hlsflow.load_model(example_model("qkeras_3layer"))
    assert [type(l).__name__ for l in model.layers][:2] == ["QDense", "QActivation"]


@pytest.mark.parametrize("content", [b"", b"not a model at all"])
def test_bad_model_files(tmp_path, content):
    path = tmp_path / "bad.h5"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match="bad.h5"):
        hlsflow.load_model(path)


def test_graph_of_functional_model_with_fused_activations():
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    inputs = keras.Input((8,), name="x")
    h = QActivation(quantized_bits(8, 3, alpha=1), name="q_in")(inputs)
    h = QDense(4, kernel_quantizer=quantized_bits(4, 0, alpha=1), activation="relu", name="d1")(h)
    h = keras.layers.Dropout(0.5)(h)
    h = QActivation(quantized_relu(4, 1), name="r1")(h)
    h = keras.layers.Dense(3, name="float_dense")(h)
    model = keras.Model(inputs, h, name="functional")
    from hlsflow.passes import run_passes

    g = run_passes(to_graph(model))
    assert [n.op for n in g.nodes] == ["dense", "dense"]
    assert g.inputs == ["q_in"] and str(g.tensors["q_in"].type) == "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"
    assert str(g.tensors["r1"].type) == "ap_ufixed<4,1,AP_RND_CONV,AP_SAT>"
    assert g.tensors["r1"].exact and not g.tensors["float_dense"].exact
