"""Element-wise and layout ops: ThresholdedReLU compared in fixed point, and
every computing op's C++ agreeing with the emulator when its output type is
chosen (config or calibration) rather than derived by its type rule."""
import re

import numpy as np
import pytest

import hlsflow
from conftest import check_bit_exact, check_outputs_bit_exact, make_csim

IO_TYPES = ["io_parallel", "io_stream"]


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_thresholded_relu_compares_in_fixed_point(io_type, tmp_path):
    """theta between two grid values, on a grid value, and outside the range:
    bit-exact with QKeras, and no double in the generated firmware."""
    import tf_keras as keras
    from qkeras import QActivation, quantized_bits

    inp = keras.Input((12,), name="x_in")
    q = QActivation(quantized_bits(6, 2), name="q_in")(inp)
    outs = [keras.layers.ThresholdedReLU(theta, name=f"thr{k}")(q) for k, theta in enumerate((0.3, 0.5, 9.0, 0.0))]
    model = keras.Model(inp, outs)
    x = np.random.default_rng(0).uniform(-5, 5, (400, 12)).astype(np.float32)
    project = hlsflow.convert(model, tmp_path / "prj", io_type=io_type)
    check_outputs_bit_exact(model, project, x)
    firmware = (tmp_path / "prj" / "firmware" / f"{project.name}.cpp").read_text()
    firmware += (tmp_path / "prj" / "firmware" / "nnet" / "nnet_common.h").read_text()
    assert not re.search(r"\b(double|float)\b", firmware)


def _layers_model():
    """PReLU (per element and per channel), Dot (vector.vector, matrix.vector,
    matrix.matrix), a QDense on a rank-2 input (per particle), softmax over the
    last axis of a rank-2 tensor, a Permute of a rank-4 tensor."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits

    L = keras.layers
    parts, vec = keras.Input((6, 4), name="parts"), keras.Input((4,), name="vec")
    qa = QActivation(quantized_bits(6, 2, alpha=1), name="qa")(parts)
    qb = QActivation(quantized_bits(6, 2, alpha=1), name="qb")(vec)
    per_particle = QDense(5, kernel_quantizer=quantized_bits(5, 0, alpha=1),
                          bias_quantizer=quantized_bits(5, 0, alpha=1), name="per_particle")(qa)
    d = QActivation(quantized_bits(8, 3, alpha=1), name="dq")(per_particle)
    outputs = [L.PReLU(name="prelu_element")(d), L.PReLU(shared_axes=[1], name="prelu_channel")(d),
               L.Dot(axes=1, name="dot_vv")([qb, qb]), L.Dot(axes=(2, 1), name="dot_mv")([qa, qb]),
               L.Dot(axes=(1, 1), name="dot_mm")([qa, qa]), L.Softmax(name="softmax_rows")(d),
               L.Permute((4, 3, 1, 2), name="permute4")(L.Reshape((2, 3, 4, 1), name="to_rank4")(qa))]
    model = keras.Model([parts, vec], outputs, name="layers")
    rng = np.random.default_rng(0)
    for name in ("prelu_element", "prelu_channel"):
        layer = model.get_layer(name)
        layer.set_weights([rng.choice([0.25, -0.5, 0.125, 0.75], layer.get_weights()[0].shape)])
    model.get_layer("per_particle").bias.assign(rng.uniform(-1, 1, 5))
    return model


@pytest.fixture(scope="module")
def layers_model():
    return _layers_model()


def _layer_inputs(n=300, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-4, 4, (n, 6, 4)).astype(np.float32), rng.uniform(-4, 4, (n, 4)).astype(np.float32)]


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_layers_hls4ml_converts_are_bit_exact(layers_model, io_type, tmp_path):
    """Issue 17, classes 8 and 9: every quantized output bit-exact with QKeras
    (the softmax by error), in csim, the emulator and `make csim`."""
    project = hlsflow.convert(layers_model, tmp_path / "prj", io_type=io_type)
    ops = {n.name: n.op for n in project.graph.nodes}
    assert ops["per_particle"] == "conv" and ops["prelu_channel"] == "prelu" and ops["dot_mm"] == "dot"
    assert project.graph.node("prelu_channel").params["alpha"].size == 5
    xs = _layer_inputs()
    check_outputs_bit_exact(layers_model, project, xs)
    keras_softmax = layers_model.predict(xs, verbose=0)[5]
    assert np.max(np.abs(project.emulate(xs)[5] - keras_softmax)) < 0.02
    code, out = make_csim(tmp_path / "prj")
    assert code == 0, out


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_final_softmax_over_rows(io_type, tmp_path):
    """A final softmax over the last axis of a rank-2 tensor: logits bit-exact."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits

    inp = keras.Input((3, 4), name="x")
    q = QActivation(quantized_bits(6, 2, alpha=1), name="q")(inp)
    logits = QDense(5, kernel_quantizer=quantized_bits(5, 0, alpha=1), name="fc")(q)
    model = keras.Model(inp, keras.layers.Activation("softmax", name="probs")(logits))
    project = hlsflow.convert(model, tmp_path / "prj", io_type=io_type)
    x = np.random.default_rng(2).uniform(-4, 4, (200, 3, 4)).astype(np.float32)
    check_bit_exact(model, project, x)


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_dense_on_rank3_and_rank4_inputs(io_type, tmp_path):
    """A QDense on a rank-3 input (io_parallel streams it by its first axis:
    the 1x1 convolution must read those rows) and on a rank-4 input: bit-exact
    with QKeras, csim == emulator (hls4ml's test_multi_dense, shape 2x3x2)."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits

    q = dict(kernel_quantizer=quantized_bits(5, 0, alpha=1), bias_quantizer=quantized_bits(5, 0, alpha=1))
    a, b = keras.Input((2, 3, 4), name="a"), keras.Input((2, 2, 3, 4), name="b")
    outs = [QDense(5, **q, name=f"fc_{x.name}")(QActivation(quantized_bits(6, 2, alpha=1), name=f"q_{x.name}")(x))
            for x in (a, b)]
    model = keras.Model([a, b], outs)
    rng = np.random.default_rng(3)
    for name in ("fc_a", "fc_b"):
        model.get_layer(name).bias.assign(rng.uniform(-1, 1, 5))
    project = hlsflow.convert(model, tmp_path / "prj", io_type=io_type)
    xs = [rng.uniform(-4, 4, (200, 2, 3, 4)).astype(np.float32),
          rng.uniform(-4, 4, (200, 2, 2, 3, 4)).astype(np.float32)]
    check_outputs_bit_exact(model, project, xs)


def test_float_per_particle_dense_is_calibrated(tmp_path):
    """A float Deep Sets block (per-particle Dense, relu, sum pooling by a
    Dense on the flattened output) with samples: within 2 % of the output range."""
    import tf_keras as keras

    keras.utils.set_random_seed(4)
    inp = keras.Input((8, 3), name="particles")
    phi = keras.layers.Dense(6, activation="relu", name="phi")(inp)
    rho = keras.layers.Dense(2, name="rho")(keras.layers.Flatten(name="flat")(phi))
    model = keras.Model(inp, rho)
    x = np.random.default_rng(5).normal(0, 1, (400, 8, 3)).astype(np.float32)
    project = hlsflow.convert(model, tmp_path / "prj", samples=x)
    reference = model.predict(x, verbose=0)
    assert np.max(np.abs(project.predict(x) - reference)) <= 0.02 * np.ptp(reference)
    assert np.array_equal(project.predict(x), project.emulate(x))


def test_unsupported_forms_are_refused_in_one_line(tmp_path):
    import tf_keras as keras

    from hlsflow.errors import UnsupportedError

    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    normalized = keras.Model([a, b], keras.layers.Dot(axes=1, normalize=True, name="cosine")([a, b]))
    with pytest.raises(UnsupportedError, match="layer 'cosine'.*normalize"):
        hlsflow.convert(normalized, tmp_path / "dot")
    x = keras.Input((2, 1, 2, 1, 2, 1, 2), name="x")
    rank7 = keras.Model(x, keras.layers.Permute((7, 6, 5, 4, 3, 2, 1), name="flip")(x))
    with pytest.raises(UnsupportedError, match="layer 'flip'.*rank-7"):
        hlsflow.convert(rank7, tmp_path / "permute")


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_estimates_cover_the_new_ops(layers_model, io_type):
    """report.py rows for prelu, dot, step and a softmax over rows: resources and latency."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits, ternary

    from hlsflow.backend.report import estimate
    from hlsflow.project import typed_graph

    inp = keras.Input((8,), name="x")
    q = QActivation(quantized_bits(8, 3, alpha=1), name="q")(inp)
    dense = QDense(4, kernel_quantizer=quantized_bits(6, 0, alpha=1), name="fc")(q)
    stepped = keras.Model(inp, QActivation(ternary(alpha=1), name="tern")(dense))
    rows = {}
    for model in (layers_model, stepped):
        rows.update({r["layer"]: r for r in estimate(typed_graph(model)[1], 5.0, io_type)["rows"]})
    assert rows["tern"]["op"] == "step"
    for name in ("prelu_element", "prelu_channel", "dot_vv", "dot_mm", "softmax_rows", "tern"):
        assert rows[name]["lut"] > 0 and rows[name]["latency"] > 0, name
    assert rows["dot_mm"]["multiplications"] == 4 * 4 * 6
    assert rows["softmax_rows"]["adders"] == 6 * (2 * 5 - 1)


def _every_computing_op():
    """A float model with every op whose output type hlsflow chooses."""
    import tf_keras as keras

    L = keras.layers
    keras.utils.set_random_seed(7)
    inp = keras.Input((9, 3), name="x")
    conv = L.Conv1D(4, 3, padding="same", name="conv")(inp)
    pooled = L.AveragePooling1D(3, strides=1, padding="same", name="avg")(conv)
    merged = [L.Add(name="add")([conv, pooled]), L.Average(name="average")([conv, pooled]),
              L.Multiply(name="mul")([conv, pooled]), L.Subtract(name="sub")([conv, pooled]),
              L.Maximum(name="max")([conv, pooled])]
    acts = [L.LeakyReLU(0.3, name="leaky")(merged[0]), L.PReLU(name="prelu")(merged[1]),
            L.ELU(name="elu")(merged[2]), L.BatchNormalization(name="bn")(merged[3]),
            L.MaxPooling1D(2, name="maxpool")(merged[4])]
    gap = L.GlobalAveragePooling1D(name="gap")(L.Concatenate(name="cat")(acts[:4]))
    dense = L.Dense(3, name="fc")(L.Flatten(name="flat")(acts[4]))
    dot = L.Dot(axes=1, name="dot")([dense, dense])
    model = keras.Model(inp, [gap, dense, dot])
    model.get_layer("bn").set_weights([np.full(4, 1.5), np.full(4, 0.25), np.full(4, 0.1), np.full(4, 2.0)])
    return model


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_chosen_output_types_keep_csim_equal_to_the_emulator(io_type, tmp_path):
    """Issue 17, class 2, the gap: the differential tests only ever ran types
    that each op's type rule derived itself, while calibration and --config
    replace them afterwards (the average pooling's C++ kept a quotient type
    made for the replaced one). Here every chosen output type is replaced by
    an odd one, signed and unsigned: csim must still equal the emulator."""
    from hlsflow.project import typed_graph

    model = _every_computing_op()
    chosen = [name for name, keys in typed_graph(model)[1].meta["chosen"].items() if "output_type" in keys]
    assert len(chosen) >= 15
    odd = ("ap_fixed<11,4,AP_RND_CONV,AP_SAT>", "ap_ufixed<9,3,AP_RND_CONV,AP_SAT>",
           "ap_fixed<13,6,AP_RND_CONV,AP_WRAP>")
    config = {"layers": {name: {"output_type": odd[k % 3]} for k, name in enumerate(sorted(chosen))}}
    project = hlsflow.convert(model, tmp_path / "prj", io_type=io_type, config=config)
    x = np.random.default_rng(3).normal(0, 2, (300, 9, 3)).astype(np.float32)
    for emu, pred in zip(project.emulate(x), project.predict(x)):
        assert np.array_equal(emu, pred)
