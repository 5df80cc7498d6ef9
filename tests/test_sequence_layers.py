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
        (keras.Sequential([L.InputLayer((4, 3)), L.EinsumDense("abc,cd->ad", output_shape=(5,))]), "equation"),
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


def structure_model(quantized=True, seed=0):
    """Nested models (a Functional holding a Sequential, with a layer name the
    outer model uses too), TimeDistributed of a convolution and of a
    Sequential, and EinsumDense forms that transpose, share an axis with the
    kernel or have a bias along a kept axis; grid-valued weights on quantized
    inputs when `quantized` (Keras's float32 is then exact)."""
    keras = _keras()
    from qkeras import QActivation, QConv2D, QDense, quantized_bits

    L = keras.layers
    keras.utils.set_random_seed(seed)
    q = (lambda bits, integer, name: QActivation(quantized_bits(bits, integer, alpha=1), name=name)) if quantized \
        else (lambda bits, integer, name: L.Activation("linear", name=name))
    dense = (lambda n, name, **kw: QDense(n, kernel_quantizer=quantized_bits(6, 2, alpha=1),
                                          bias_quantizer=quantized_bits(6, 2, alpha=1), name=name, **kw)) \
        if quantized else (lambda n, name, **kw: L.Dense(n, name=name, **kw))
    conv = (lambda n, name: QConv2D(n, 2, kernel_quantizer=quantized_bits(5, 1, alpha=1),
                                    bias_quantizer=quantized_bits(5, 1, alpha=1), name=name)) if quantized \
        else (lambda n, name: L.Conv2D(n, 2, name=name))

    inner = keras.Sequential([dense(5, "fc", input_shape=(6,), activation="relu"), q(7, 3, "inner_q"),
                              dense(4, "inner_fc")], name="inner")
    block_in = L.Input((6,), name="block_in")
    block = keras.Model(block_in, dense(3, "block_fc")(inner(dense(6, "block_first")(block_in))), name="block")
    flat = L.Input((6,), name="flat")
    features = dense(6, "fc")(q(6, 2, "flat_q")(flat))
    nested = dense(2, "head")(q(8, 3, "head_q")(block(features)))

    frames = L.Input((3, 5, 5, 2), name="frames")
    x = q(5, 2, "frames_q")(frames)
    td_conv = L.TimeDistributed(conv(3, "td_conv_inner"), name="td_conv")(x)
    td_model = L.TimeDistributed(keras.Sequential([conv(2, "td_seq_conv"), L.MaxPooling2D(2, name="td_pool")],
                                                  name="td_seq"), name="td_seq_wrap")(x)

    cube = L.Input((5, 4, 3, 2), name="cube")
    c = q(6, 2, "cube_q")(cube)
    per_b = L.EinsumDense("...abcd,bcde->...aeb", output_shape=(5, 6, 4), bias_axes="ab", name="per_b")(c)
    flipped = L.EinsumDense("...i,oi->...o", output_shape=(5,), name="flipped")(
        L.Reshape((20, 6), name="rows")(c))
    vec = L.Input((8,), name="vec")
    outer = L.EinsumDense("bi,j->bij", output_shape=(8, 7), bias_axes="i", activation="relu", name="outer")(
        q(6, 2, "vec_q")(vec))
    model = keras.Model([flat, frames, cube, vec], [nested, td_conv, td_model, per_b, flipped, outer],
                        name="structures")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for w in layer.weights:
            w.assign(on_grid(rng.uniform(-1, 1, w.shape), 1 / 8) if quantized else rng.normal(0, 0.5, w.shape))
    return model


def structure_inputs(model, n, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 2, (n,) + tuple(t.shape[1:])).astype(np.float32) for t in model.inputs]


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_nested_models_time_distributed_and_einsum_forms_are_bit_exact(io_type, tmp_path):
    model = structure_model()
    model.save(tmp_path / "structures.h5")  # read back from the file: nested models and wrappers survive it
    project = hlsflow.convert(tmp_path / "structures.h5", tmp_path / "prj", io_type=io_type)
    graph = project.graph
    names = {n.name for n in graph.nodes}
    assert {"fc", "block_inner_fc", "inner_fc", "block_fc"} <= names  # nested layers, flattened; "fc" twice
    assert all(graph.tensors[t].exact for t in graph.outputs)
    check_outputs_bit_exact(model, project, structure_inputs(model, 500))


def test_float_structures_are_calibrated_from_inner_keras_values(tmp_path):
    """Calibration records Keras's values of the layers inside nested models,
    of every step of an unrolled TimeDistributed and of an EinsumDense before
    its transpose; the float outputs then meet the error targets."""
    model = structure_model(quantized=False)
    samples = structure_inputs(model, 500)
    project = hlsflow.convert(model, tmp_path / "prj", samples=samples)
    assert {"block_inner_fc", "td_conv_t2_td_conv_inner", "td_seq_wrap_t1_td_pool", "per_b_einsum"} <= \
        {n.name for n in project.graph.nodes}
    reference = model.predict(project.cast_inputs(samples), verbose=0)
    for name, got, emulated, want in zip(project.graph.outputs, project.predict(samples), project.emulate(samples),
                                         reference):
        assert np.array_equal(got, emulated), name
        assert np.abs(got - want).max() <= 0.02 * np.ptp(want), name
