"""Batch normalization in fixed point (issue 17, classes 6 and 7), against QKeras.

Between quantizers (an exact input, a quantizer on its result), Keras computes a
batch normalization in float32; hlsflow carries scale and shift to 32 bits and
the sum exactly, so the two differ only where the exact value lies within
float32 rounding of a quantization step: hlsflow.boundary flags those samples
(tb_data/boundary.txt) and csim counts them apart from real mismatches. After a
wide QDense, the exact x * w + b exceeds float64's 53 bits: the emulator carries
it on integer mantissas, bit-exact with the C++."""
import shutil

import numpy as np
import pytest

import hlsflow
from conftest import make_csim
from hlsflow import boundary
from hlsflow.project import Project

CHANNELS = 64


def qbn_model(seed=0):
    """A 20-bit input quantizer, a QBatchNormalization with po2 statistics and a
    quantized_relu(8, 3), then a QDense: the float op between two quantizers."""
    import tf_keras as keras
    from qkeras import (QActivation, QBatchNormalization, QDense, quantized_bits, quantized_po2, quantized_relu,
                        quantized_relu_po2)

    keras.utils.set_random_seed(seed)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    model = keras.Sequential([
        keras.layers.InputLayer((CHANNELS,)), QActivation(quantized_bits(20, 5), name="xq"),
        QBatchNormalization(gamma_quantizer=quantized_po2(4), beta_quantizer=quantized_po2(4),
                            mean_quantizer=quantized_po2(4), variance_quantizer=quantized_relu_po2(4), name="bn"),
        QActivation(quantized_relu(8, 3), name="relu"), QDense(5, name="out", **q)], name="qbn")
    rng = np.random.default_rng(seed)
    model.get_layer("bn").set_weights([rng.uniform(0.5, 2, CHANNELS), rng.uniform(-1, 1, CHANNELS),
                                       rng.uniform(-2, 2, CHANNELS), rng.uniform(0.2, 3, CHANNELS)])
    return model


def near_ties(graph, n, rng):
    """n inputs, each with one value whose batch-norm result (the hardware's) lies
    nearest to a rounding tie of the quantized_relu: where float32 rounding matters."""
    node = graph.node("bn")
    x_type, y_type = graph.tensors[node.inputs[0]].type, graph.tensors[node.outputs[0]].type
    grid = np.arange(-8, 8, x_type.step)
    v = grid[:, None] * node.params["weight"] + node.params["bias"]
    ties = (np.floor(v / y_type.step) + 0.5) * y_type.step
    distance = np.where((v > 0) & (v < y_type.max_value), np.abs(v - ties), np.inf)
    where, channel = np.unravel_index(np.argsort(distance, axis=None)[:n], distance.shape)
    x = rng.normal(0, 3, (n, CHANNELS))
    x[np.arange(n), channel] = grid[where]
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def qbn(tmp_path_factory):
    from hlsflow.project import typed_graph

    model = qbn_model()
    rng = np.random.default_rng(1)
    _, graph = typed_graph(model)
    x = rng.normal(0, 3, (4000, CHANNELS)).astype(np.float32)
    adversarial = near_ties(graph, 2000, rng)
    samples = np.concatenate([adversarial[:40], x[:460]])  # tb_data: 500 rows, some at a step
    project = hlsflow.convert(model, tmp_path_factory.mktemp("qbn") / "prj", samples=samples)
    return model, project, x, adversarial


def _differ(model, project, x):
    return np.any(model.predict(x, verbose=0) != project.emulate(x), axis=1)


def test_between_quantizers_exact_but_for_flagged_boundary_cases(qbn):
    """4,000 random inputs: >= 99 % bit-exact with QKeras, and every sample that
    is not is flagged (today's 16-bit rounded scale and shift: 0 % exact)."""
    model, project, x, _ = qbn
    graph = project.graph
    assert graph.node("bn").attrs["between_quantizers"] and graph.tensors["out"].exact
    differ = _differ(model, project, x)
    flags = boundary.flags(graph, [project.cast_inputs(x)])
    assert differ.mean() <= 0.01 and flags.mean() <= 0.03, (differ.mean(), flags.mean())
    assert not np.any(differ & ~flags), np.flatnonzero(differ & ~flags)[:5]
    assert np.array_equal(project.predict(x), project.emulate(x))


def test_values_at_a_step_differ_only_where_flagged(qbn):
    """Inputs whose batch-norm result lies nearest a rounding tie: Keras's float32
    rounding does cross the step on some, and every one of those is flagged."""
    model, project, _, adversarial = qbn
    differ = _differ(model, project, adversarial)
    flags = boundary.flags(project.graph, [project.cast_inputs(adversarial)])
    assert differ.sum() >= 1 and not np.any(differ & ~flags), (differ.sum(), np.sum(differ & ~flags))


def test_csim_counts_boundary_cases_apart_and_fails_on_real_mismatches(qbn, tmp_path):
    _, project, _, _ = qbn
    tb = project.directory / "tb_data"
    flags = np.loadtxt(tb / "boundary.txt").astype(bool)
    reference = np.loadtxt(tb / "outputs.txt", ndmin=2)
    emulated = project.emulate(np.loadtxt(tb / "inputs.txt", ndmin=2))
    cases = int(np.sum(np.any(reference != emulated, axis=1)))
    assert cases >= 1 and flags.sum() >= cases  # real boundary cases among the saved rows
    expected = [f"csim: {500 - cases}/500 bit-exact",
                f"csim: {cases} boundary cases (float32 rounding at a quantization step)",
                "csim: 500/500 match the C model bit for bit"]
    lines, ok = project.csim(progress=False)
    assert ok and lines == expected, lines
    code, output = make_csim(project.directory)
    assert code == 0 and output.splitlines()[-3:] == expected, output
    # a wrong output on a row not flagged is a real mismatch; on a flagged row, a boundary case
    unflagged, flagged = np.flatnonzero(~flags)[0], np.flatnonzero(flags & np.all(reference == emulated, axis=1))[0]
    for row, verdict in ((unflagged, False), (flagged, True)):
        copy = tmp_path / f"row{row}"
        shutil.copytree(project.directory, copy)
        corrupted = reference.copy()
        corrupted[row, 0] += 1.0
        (copy / "tb_data" / "outputs.txt").write_text("".join(" ".join(repr(float(v)) for v in r) + "\n"
                                                              for r in corrupted))
        lines, ok = Project.load(copy).csim(progress=False)
        code, output = make_csim(copy)
        assert ok == verdict and (code == 0) == verdict, (row, lines, output)
        assert lines[1] in output and lines[1].startswith(f"csim: {cases + verdict} boundary cases")


def test_batchnorm_after_a_wide_qdense(tmp_path):
    """A float BatchNormalization after a QDense with 'auto' ternary weights (hls4ml's
    test_btnn): the exact x * w + b needs 59 (float result) and 75 bits (after a
    float ReLU and a quantized_relu); the emulator equals the C++ and QKeras, but
    for flagged samples (Keras's float32 error of the dense carried through the ReLU)."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu, ternary

    keras.utils.set_random_seed(3)
    x_in = keras.layers.Input((10,))
    dense = QDense(10, kernel_quantizer=ternary(alpha="auto"), bias_quantizer=quantized_bits(5, 2), name="dense")(x_in)
    outputs = [keras.layers.BatchNormalization(name="bn_float")(dense),
               QActivation(quantized_relu(4, 1), name="relu")(
                   keras.layers.BatchNormalization(name="bn")(keras.layers.ReLU(name="float_relu")(dense)))]
    model = keras.Model(x_in, outputs)
    rng = np.random.default_rng(0)
    for name in ("bn_float", "bn"):
        model.get_layer(name).set_weights([rng.uniform(0.5, 2, 10), rng.uniform(-1, 1, 10), rng.uniform(-1, 1, 10),
                                           rng.uniform(0.2, 3, 10)])
    project = hlsflow.convert(model, tmp_path / "prj", io_type="io_stream")
    graph = project.graph
    (float_bn,) = [n for n in graph.nodes if n.op == "scale_shift" and not n.attrs.get("between_quantizers")]
    (exact_bn,) = [n for n in graph.nodes if n.attrs.get("between_quantizers")]
    assert float_bn.attrs["accum_type"].width > 53 and exact_bn.attrs["accum_type"].width > 64
    x = rng.uniform(0, 1, (2000, 10)).astype(np.float32)
    cast = project.cast_inputs(x)
    float_out, relu_out = project.emulate(x)
    predicted = project.predict(x)
    assert np.array_equal(predicted[0], float_out) and np.array_equal(predicted[1], relu_out)
    keras_float, keras_relu = model.predict(cast.astype(np.float32), verbose=0)
    assert np.abs(float_out - keras_float).max() <= 2.0 ** -8  # an 18-bit approximation (16-bit scale) of float Keras
    differ = np.any(keras_relu != relu_out, axis=1)
    assert not np.any(differ & ~boundary.flags(graph, [cast])) and differ.mean() <= 0.01
    lines, ok = project.csim(progress=False)
    assert ok, lines


def test_batchnorm_result_for_two_quantizers(tmp_path):
    """A batch normalization whose result two quantizers take (not fused): it is
    held exactly enough (a 40-bit rounding of the exact sum) in a tensor of its
    own, and each quantizer's output equals QKeras's but for flagged samples."""
    import tf_keras as keras
    from qkeras import QActivation, quantized_bits, quantized_relu

    keras.utils.set_random_seed(3)
    x_in = keras.layers.Input((16,))
    bn = keras.layers.BatchNormalization(name="bn")(QActivation(quantized_bits(16, 4), name="xq")(x_in))
    model = keras.Model(x_in, [QActivation(quantized_relu(4, 1), name="r")(bn),
                               QActivation(quantized_bits(6, 2), name="q")(bn)])
    rng = np.random.default_rng(0)
    model.get_layer("bn").set_weights([rng.uniform(0.5, 2, 16), rng.uniform(-1, 1, 16), rng.uniform(-1, 1, 16),
                                       rng.uniform(0.2, 3, 16)])
    project = hlsflow.convert(model, tmp_path / "prj", io_type="io_stream")
    node, t = project.graph.node("bn"), project.graph.tensors["bn"]
    assert node.attrs["step_input"] and t.exact and t.type.width == 40
    x = rng.normal(0, 4, (5000, 16)).astype(np.float32)
    emulated, predicted, reference = project.emulate(x), project.predict(x), model.predict(x, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(predicted, emulated))
    differ = np.any(reference[0] != emulated[0], axis=1) | np.any(reference[1] != emulated[1], axis=1)
    flags = boundary.flags(project.graph, [project.cast_inputs(x)])
    assert flags.mean() <= 0.01 and not np.any(differ & ~flags)


def test_batchnorm_before_step_quantizers(tmp_path):
    """A batch normalization whose result a QActivation(binary), (ternary) or
    (binary_tanh, a QKeras quantizer written as a function) takes (hls4ml's
    test_binary_cnn): between quantizers, though those become comparisons (op
    "step") only after the batch normalization is typed; each output equals
    QKeras's but for flagged samples."""
    import tf_keras as keras
    from qkeras import QActivation, QConv2D, quantized_bits

    kinds = ("binary", "ternary", "binary_tanh")
    keras.utils.set_random_seed(5)
    x_in = keras.layers.Input((6, 6, 2))
    conv = QConv2D(4, 3, kernel_quantizer="binary", bias_quantizer=quantized_bits(5, 2), name="conv")(
        QActivation(quantized_bits(8, 3), name="xq")(x_in))
    outputs = [QActivation(kind, name=kind)(keras.layers.BatchNormalization(name=f"bn_{kind}")(conv))
               for kind in kinds]
    model = keras.Model(x_in, outputs)
    rng = np.random.default_rng(2)
    for kind in kinds:
        model.get_layer(f"bn_{kind}").set_weights([rng.uniform(0.5, 2, 4), rng.uniform(-1, 1, 4),
                                                   rng.uniform(-1, 1, 4), rng.uniform(0.2, 3, 4)])
    project = hlsflow.convert(model, tmp_path / "prj")
    graph = project.graph
    for kind in kinds:
        assert graph.node(f"bn_{kind}").attrs.get("between_quantizers") and graph.node(kind).op == "step"
        assert graph.tensors[kind].exact
    x = rng.normal(0, 3, (3000, 6, 6, 2)).astype(np.float32)
    emulated, predicted, reference = project.emulate(x), project.predict(x), model.predict(x, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(predicted, emulated))
    differ = np.any([np.any((r != e).reshape(len(x), -1), axis=1) for r, e in zip(reference, emulated)], axis=0)
    flags = boundary.flags(graph, [project.cast_inputs(x)])
    assert differ.mean() <= 0.01 and not np.any(differ & ~flags), (differ.mean(), np.sum(differ & ~flags))
