"""Stated precision (issue 17, class 10): config "default_precision" is the
type of every tensor, weight and bias Keras leaves float, as hls4ml's default
precision is; layers.<name> overrides it per layer; accumulators stay exact
(interval analysis) and types QKeras quantizers set never change."""
import numpy as np
import pytest

import hlsflow
from hlsflow.fixed import FixedType

STATED = FixedType(16, 6)  # hls4ml's ap_fixed<16,6>: AP_TRN, AP_WRAP


def float_cnn(seed=0):
    import tf_keras as keras

    L = keras.layers
    keras.utils.set_random_seed(seed)
    x = L.Input((8, 8, 3), name="image")
    y = L.Conv2D(4, 3, activation="relu", name="conv")(x)
    y = L.AveragePooling2D(3, name="avg")(y)  # 9 values per window: a division that rounds
    y = L.Flatten(name="flat")(L.BatchNormalization(name="bn")(y))
    y = L.Dense(16, activation="tanh", name="fc1")(y)
    return keras.Model(x, L.Dense(5, name="fc2")(y), name="float_cnn")


@pytest.fixture(scope="module")
def stated_project(tmp_path_factory):
    model = float_cnn()
    for layer in model.layers:  # batch-norm statistics that matter
        if layer.name == "bn":
            rng = np.random.default_rng(3)
            layer.set_weights([rng.uniform(0.5, 2, 4), rng.uniform(-1, 1, 4), rng.uniform(0, 1, 4),
                               rng.uniform(0.5, 2, 4)])
    config = {"default_precision": "fixed<16,6>",
              "layers": {"fc2": {"output_type": "ap_fixed<24,10,AP_RND_CONV,AP_SAT>", "weight_type": "ap_fixed<10,2>"}}}
    x = np.random.default_rng(0).uniform(-2, 2, (300, 8, 8, 3)).astype(np.float32)
    project = hlsflow.convert(model, tmp_path_factory.mktemp("stated") / "prj", samples=x, config=config)
    return model, project, x


def test_every_float_type_is_the_stated_one(stated_project):
    _, project, _ = stated_project
    g = project.graph
    assert "profile" not in g.meta  # samples given, but nothing is calibrated
    assert g.tensors["image"].type == STATED
    assert g.tensors["fc2"].type == FixedType.parse("ap_fixed<24,10,AP_RND_CONV,AP_SAT>")
    assert g.node("fc2").attrs["weight_type"] == FixedType(10, 2)
    for node in g.nodes:
        for t in node.outputs:
            if t != "fc2":
                assert g.tensors[t].type == STATED, (t, g.tensors[t].type)
        for key in ("weight_type", "bias_type"):
            if key in node.attrs and (node.name, key) != ("fc2", "weight_type"):
                assert node.attrs[key] == STATED, (node.name, key)
        if "accum_type" in node.attrs:  # exact sums, wider than the stated type
            assert node.attrs["accum_type"].width > 16 and node.attrs["accum_type"].overflow == "WRAP"
    table = next(n for n in g.nodes if n.op == "table")
    assert np.array_equal(table.params["table"], np.floor(table.params["table"] * 2 ** 10) / 2 ** 10)


def test_stated_types_match_keras_and_csim(stated_project):
    model, project, x = stated_project
    reference = model.predict(project.cast_inputs(x), verbose=0)
    emulated = project.emulate(x)
    np.testing.assert_allclose(emulated, reference, atol=0.05)  # hls4ml's tests allow 2-5 % at 16 bits
    assert np.array_equal(project.predict(x), emulated)
    lines, ok = project.csim(progress=False)
    assert ok, lines


def test_quantizer_types_never_change_and_exact_values_stay_exact(tmp_path):
    """A QDense with a quantized_relu keeps its quantizer's type; a QDense output
    without a quantizer takes the stated type, and stays exact (bit-exact with
    Keras) when that type holds every value of its exact type."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    from conftest import check_outputs_bit_exact

    keras.utils.set_random_seed(0)
    q = dict(kernel_quantizer=quantized_bits(4, 0, alpha=1), bias_quantizer=quantized_bits(4, 0, alpha=1))
    model = keras.Sequential([keras.layers.InputLayer((6,)), QActivation(quantized_bits(6, 2), name="xq"),
                              QDense(8, name="d1", **q), QActivation(quantized_relu(4, 1), name="r1"),
                              QDense(3, name="d2", **q)])
    project = hlsflow.convert(model, tmp_path / "q", config={"default_precision": "ap_fixed<32,12>"})
    g = project.graph
    assert g.tensors["r1"].type == FixedType(4, 1, False, "RND_CONV", "SAT")
    assert g.tensors["d2"].type == FixedType(32, 12) and g.tensors["d2"].exact
    check_outputs_bit_exact(model, project, np.random.default_rng(1).uniform(-4, 4, (500, 6)).astype(np.float32))
    narrow = hlsflow.convert(model, tmp_path / "n", config={"default_precision": "ap_fixed<6,3>"})
    assert narrow.graph.tensors["d2"].type == FixedType(6, 3) and not narrow.graph.tensors["d2"].exact


def test_relu_result_and_embedding_index_types_can_be_stated(tmp_path):
    """Types hlsflow derives itself that hls4ml configs state: a relu's result
    (a cast, exact where the type holds every max(x, 0)) and an Embedding's
    index input (an unsigned integer type holding every index, else an error)."""
    import tf_keras as keras

    from hlsflow.errors import OptionError
    from hlsflow.project import typed_graph

    keras.utils.set_random_seed(0)
    tokens = keras.layers.Input((4,), name="tokens")
    emb = keras.layers.Embedding(20, 3, name="emb")(tokens)
    model = keras.Model(tokens, keras.layers.Activation("relu", name="relu")(emb))
    table = model.get_layer("emb").embeddings
    table.assign(np.round(np.random.default_rng(0).uniform(-1.5, 1.5, table.shape) * 64) / 64)  # exact at <12,4>
    config = {"default_precision": "ap_fixed<12,4>",
              "layers": {"tokens": {"output_type": "ap_uint<5>"}, "relu": {"output_type": "ap_ufixed<8,1>"}}}
    project = hlsflow.convert(model, tmp_path / "prj", config=config)
    g = project.graph
    assert g.tensors["tokens"].type == FixedType.parse("ap_uint<5>") == g.node("emb").attrs["index_type"]
    assert g.tensors["emb"].type == FixedType(12, 4) and g.tensors["emb"].exact
    assert g.tensors["relu"].type == FixedType(8, 1, False) and not g.tensors["relu"].exact
    x = np.random.default_rng(1).integers(0, 20, (200, 4)).astype(np.float32)
    predicted = project.predict(x)
    assert np.array_equal(predicted, project.emulate(x))
    reference = model.predict(x, verbose=0)
    assert np.abs(predicted - reference).max() < 2 ** -7  # the relu's truncation
    wide = {"default_precision": "ap_fixed<12,4>", "layers": {"relu": {"output_type": "ap_fixed<16,6>"}}}
    assert typed_graph(model, config=wide)[1].tensors["relu"].exact  # holds every result: exact
    with pytest.raises(OptionError, match=r"^config layers.tokens.output_type: ap_uint<4> does not hold every index "
                                          r"0..19 of its Embedding's table; an unsigned integer type of at least 5"):
        typed_graph(model, config={"layers": {"tokens": {"output_type": "ap_uint<4>"}}})


def wide_model(seed=0):
    """Depthwise, separable and dense layers, a Multiply and a Dot: with 32-bit
    stated types, their exact sums and products are 54 to 100 bits wide."""
    import tf_keras as keras

    L = keras.layers
    keras.utils.set_random_seed(seed)
    x = L.Input((6, 6, 3), name="image")
    d = L.Flatten(name="flat_d")(L.DepthwiseConv2D(3, name="dw")(x))
    s = L.Flatten(name="flat_s")(L.SeparableConv2D(4, 2, strides=2, name="sep")(x))
    a, b = L.Dense(6, name="fc_a")(d), L.Dense(6, name="fc_b")(s)
    return keras.Model(x, [L.Multiply(name="mul")([a, b]), L.Dot(axes=1, name="dot")([a, b])], name="wide")


def test_wide_sums_and_products_match_csim(tmp_path):
    """ap_fixed<32,16> everywhere (hls4ml's common choice), finer weights on two
    layers and a rounding, saturating output on one: the emulator computes the
    sums and products wider than 53 bits on int64 or Python-int mantissas, bit
    for bit as the C++ does (wrapping included)."""
    from hlsflow.emulate import _value_type
    from hlsflow.fixed import exact_dtype

    model = wide_model()
    config = {"default_precision": "ap_fixed<32,16>",
              "layers": {"fc_a": {"weight_type": "ap_fixed<32,2>", "output_type": "ap_fixed<32,16,AP_RND_CONV,AP_SAT>"},
                         "sep": {"weight_type": "ap_fixed<24,2>"}}}
    project = hlsflow.convert(model, tmp_path / "prj", config=config)
    g = project.graph
    domains = {}
    for node in g.nodes:
        if "accum_type" in node.attrs:
            value = _value_type(node) if node.op in ("dense", "conv") else node.attrs["accum_type"]
            domains[node.name] = exact_dtype(value, g.tensors[node.outputs[0]].type)
    assert {np.float64, np.int64, object} <= set(domains.values()), domains
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-8, 8, (150, 6, 6, 3)), rng.uniform(-2 ** 15, 2 ** 15, (50, 6, 6, 3))])
    emulated, predicted = project.emulate(x), project.predict(x)
    for e, p in zip(emulated, predicted):
        assert np.array_equal(e, p)
    reference = model.predict(project.cast_inputs(x)[:150].astype(np.float32), verbose=0)
    for e, r in zip(emulated, reference):
        np.testing.assert_allclose(e[:150], r, rtol=1e-3, atol=0.01)  # weights rounded to 16 fractional bits


def test_tensor_types_wider_than_53_bits_are_refused(tmp_path):
    from hlsflow.errors import OptionError

    with pytest.raises(OptionError, match="53 bits"):
        hlsflow.convert(wide_model(), tmp_path / "prj", config={"default_precision": "ap_fixed<64,32>"})


def test_auto_results_are_derived_from_the_stated_types():
    """"auto" (what hls4ml's name-granularity configs hold for every result): a
    sum's type holds every exact value its stated input and weight types give
    (rounded only beyond 53 bits), a float function's table still gets the
    default; closer to Keras than the default everywhere."""
    from hlsflow.emulate import emulate
    from hlsflow.passes.precision import FLOAT_LIMIT, type_for_interval
    from hlsflow.project import typed_graph

    model = float_cnn()
    default = {"default_precision": "fixed<16,6>"}
    auto = {**default, "layers": {name: {"output_type": "auto"} for name in ("conv", "avg", "fc1", "fc2")}}
    _, g = typed_graph(model, config=auto)
    conv, avg = g.node("conv"), g.node("avg")
    acc = conv.attrs["accum_type"]
    assert g.tensors["conv"].type == type_for_interval(0, acc.max_value, acc.fractional)  # relu fused: no rounding
    assert g.tensors["avg"].type.width > 16 and g.tensors["avg"].type.fractional > avg.attrs["accum_type"].fractional
    for name in ("fc1", "fc2"):
        t = g.tensors[g.node(name).outputs[0]].type
        assert t.width == FLOAT_LIMIT or t == type_for_interval(t.min_value, t.max_value, t.fractional)
    tables = [n for n in g.nodes if n.op == "table"]
    assert tables and all(g.tensors[n.outputs[0]].type == STATED for n in tables)
    x = np.random.default_rng(1).uniform(-2, 2, (200, 8, 8, 3)).astype(np.float32)
    reference = model.predict(x, verbose=0)
    errors = [np.abs(emulate(graph, [x])[0] - reference).max()
              for graph in (g, typed_graph(model, config=default)[1])]
    assert errors[0] < errors[1], errors
