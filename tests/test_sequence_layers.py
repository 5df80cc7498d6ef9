"""Embedding, LayerNormalization and EinsumDense: exact where Keras's values
are (an embedding table or an EinsumDense kernel on a fixed-point grid, on
quantized inputs), within the error targets where Keras computes in float
(layer normalization, float tables) — in the emulator, csim and both io types."""
import numpy as np
import pytest

import hlsflow
from conftest import check_outputs_bit_exact, make_csim
from hlsflow.errors import UnsupportedError

STEPS, CHANNELS, VOCABULARY = 6, 8, 20


def _keras():
    from hlsflow.frontend.tf_setup import import_keras

    return import_keras()[1]


def on_grid(values, step=1 / 32):
    return np.round(np.asarray(values) / step) * step


def exact_model(seed=0):
    """An embedding and EinsumDense projections (the forms MultiHeadAttention
    uses) with values on fixed-point grids, fed by quantized tensors."""
    keras = _keras()
    from qkeras import QActivation, quantized_bits

    L = keras.layers
    keras.utils.set_random_seed(seed)
    tokens = L.Input((STEPS,), name="tokens")
    seq = L.Input((STEPS, CHANNELS), name="seq")
    q = QActivation(quantized_bits(6, 2, alpha=1), name="seq_q")(seq)
    heads = L.EinsumDense("abc,cde->abde", output_shape=(STEPS, 2, 4), bias_axes="de", name="proj")(q)
    back = L.EinsumDense("abcd,cde->abe", output_shape=(STEPS, 3), bias_axes="e", name="merge_heads")(
        QActivation(quantized_bits(8, 3, alpha=1), name="heads_q")(heads))
    flat = L.EinsumDense("ab,bc->ac", output_shape=(4,), bias_axes="c", activation="relu", name="dense_like")(
        L.Flatten(name="flat")(q))
    model = keras.Model([tokens, seq], [L.Embedding(VOCABULARY, 5, name="emb")(tokens), heads, back, flat])
    for layer in model.layers:
        for w in layer.weights:
            w.assign(on_grid(w.numpy() + np.random.default_rng(seed).uniform(-0.3, 0.3, w.shape)))
    return model


def exact_inputs(n, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, VOCABULARY, (n, STEPS)).astype(np.float32),
            rng.normal(0, 3, (n, STEPS, CHANNELS)).astype(np.float32)]


@pytest.fixture(scope="module")
def model():
    return exact_model()


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_grid_valued_layers_are_bit_exact(model, io_type, tmp_path):
    project = hlsflow.convert(model, tmp_path / "prj", io_type=io_type)
    graph = project.graph
    assert all(graph.tensors[t].exact for t in graph.outputs)
    assert graph.tensors["tokens"].type.cpp() == "ap_ufixed<5,5,AP_TRN,AP_SAT>"  # the indices' type
    assert all(n.attrs["accum_type"].width <= 24 for n in graph.nodes if n.op == "conv")  # Keras's float32 is exact
    check_outputs_bit_exact(model, project, exact_inputs(1000))
    if io_type == "io_stream":
        code, output = make_csim(project.directory)
        assert code == 0 and "bit-exact" in output, output


def float_model(seed=0):
    keras = _keras()
    L = keras.layers
    keras.utils.set_random_seed(seed)
    tokens = L.Input((STEPS,), name="tokens")
    x = L.Embedding(VOCABULARY, CHANNELS, name="emb")(tokens)
    x = L.EinsumDense("abc,cde->abde", output_shape=(STEPS, 2, 4), bias_axes="de", name="proj")(x)
    x = L.EinsumDense("abcd,cde->abe", output_shape=(STEPS, CHANNELS), bias_axes="e", name="merge_heads")(x)
    x = L.LayerNormalization(name="ln")(x)
    out = L.Dense(4, name="head")(L.Flatten()(x))
    model = keras.Model(tokens, out, name="float_sequence")
    ln = model.get_layer("ln")
    rng = np.random.default_rng(seed)
    ln.gamma.assign(rng.uniform(0.5, 1.5, ln.gamma.shape))
    ln.beta.assign(rng.uniform(-0.5, 0.5, ln.beta.shape))
    return model


def test_float_layers_meet_the_error_targets(tmp_path):
    model = float_model()
    tokens = np.random.default_rng(2).integers(0, VOCABULARY, (1000, STEPS)).astype(np.float32)
    project = hlsflow.convert(model, tmp_path / "prj", samples=tokens)
    reference = model.predict(tokens, verbose=0)
    predicted = project.predict(tokens)
    assert np.array_equal(predicted, project.emulate(tokens))
    assert np.mean(predicted.argmax(1) == reference.argmax(1)) >= 0.995
    assert np.abs(predicted - reference).max() <= 0.02 * np.ptp(reference)


def test_layer_normalization_error(tmp_path):
    """The normalized values of a data-free conversion stay within 0.5% of
    their range of Keras's (the table's 2^-9 relative error and two roundings)."""
    keras = _keras()
    model = keras.Sequential([keras.layers.InputLayer((STEPS, CHANNELS)),
                              keras.layers.LayerNormalization(epsilon=1e-3, name="ln")])
    project = hlsflow.convert(model, tmp_path / "prj", config={"input_range": 8})
    x = np.random.default_rng(3).normal(0, 2, (2000, STEPS, CHANNELS)).astype(np.float32)
    x[:100] *= 0.01  # small variances: epsilon matters
    x[100:110] = 1.5  # constant groups: zero variance
    reference = model.predict(project.cast_inputs(x).astype(np.float32), verbose=0)
    predicted = project.predict(x)
    assert np.array_equal(predicted, project.emulate(x))
    error = np.abs(predicted - reference).max() / np.ptp(reference)
    assert error <= 0.005, f"max error {error:.4%} of the output range"


def test_unsupported_forms_are_refused(tmp_path):
    keras = _keras()
    L = keras.layers
    cases = [
        (keras.Sequential([L.InputLayer((4,)), L.Embedding(10, 3, mask_zero=True)]), "mask_zero"),
        (keras.Sequential([L.InputLayer((4, 3)), L.LayerNormalization(axis=1)]), "last axis"),
        (keras.Sequential([L.InputLayer((4, 3)), L.EinsumDense("abc,bd->adc", output_shape=(5, 3))]), "equation"),
        (keras.Sequential([L.InputLayer((4,)), L.Activation("relu"), L.Embedding(10, 3)]), "model input"),
    ]
    for i, (model, message) in enumerate(cases):
        with pytest.raises(UnsupportedError, match=message):
            hlsflow.convert(model, tmp_path / f"m{i}")


def attention_model(seed=0):
    """A transformer block (self-attention, residual, layer normalization) and a
    cross-attention with a separate key, on two sequence inputs."""
    keras = _keras()
    L = keras.layers
    keras.utils.set_random_seed(seed)
    seq = L.Input((STEPS, CHANNELS), name="seq")
    memory = L.Input((4, 5), name="memory")
    attended = L.MultiHeadAttention(2, 4, name="self_attention")(seq, seq)
    block = L.LayerNormalization(name="ln")(L.Add(name="residual")([seq, attended]))
    cross = L.MultiHeadAttention(3, 2, value_dim=3, name="cross")(block, memory, key=memory)
    out = L.Dense(4, name="head")(L.Flatten()(cross))
    return keras.Model([seq, memory], out, name="transformer")


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_multi_head_attention_meets_the_error_targets(io_type, tmp_path):
    model = attention_model()
    rng = np.random.default_rng(4)
    samples = [rng.normal(0, 1, (1000, STEPS, CHANNELS)).astype(np.float32),
               rng.normal(0, 1, (1000, 4, 5)).astype(np.float32)]
    project = hlsflow.convert(model, tmp_path / "prj", samples=samples, io_type=io_type)
    assert [n.op for n in project.graph.nodes].count("attention") == 2
    reference = model.predict([c.astype(np.float32) for c in project.cast_inputs(samples)], verbose=0)
    predicted = project.predict(samples)
    assert np.array_equal(predicted, project.emulate(samples))
    assert np.mean(predicted.argmax(1) == reference.argmax(1)) >= 0.995
    assert np.abs(predicted - reference).max() <= 0.02 * np.ptp(reference)


def test_masked_attention_is_refused(tmp_path):
    keras = _keras()
    seq = keras.layers.Input((STEPS, CHANNELS))
    model = keras.Model(seq, keras.layers.MultiHeadAttention(2, 4)(seq, seq, use_causal_mask=True))
    with pytest.raises(UnsupportedError, match="use_causal_mask"):
        hlsflow.convert(model, tmp_path / "prj")
