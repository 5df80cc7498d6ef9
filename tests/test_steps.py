"""Quantized activations on wide inputs (issue 17, class 5): monotone step
functions become comparisons with thresholds found from Keras, exact at any
input width; narrow inputs keep the table where it is cheaper."""
import numpy as np
import pytest

import hlsflow
from conftest import check_outputs_bit_exact, make_csim
from hlsflow.emulate import emulate
from hlsflow.errors import UnsupportedError
from hlsflow.fixed import FixedType
from hlsflow.steps import find_steps

IO_TYPES = ["io_parallel", "io_stream"]


def _step_quantizers():
    from qkeras.quantizers import (binary, quantized_bits, quantized_po2, quantized_relu, quantized_relu_po2,
                                   quantized_sigmoid, quantized_tanh, ternary)
    return [binary(alpha=1), binary(use_01=True), ternary(alpha=1), ternary(threshold=0.5, alpha=1),
            quantized_tanh(3), quantized_tanh(4, symmetric=True), quantized_sigmoid(4), quantized_po2(4),
            quantized_relu_po2(4), quantized_bits(1, 0, alpha=1), quantized_relu(3, 1, use_sigmoid=1)]


def _keras_function(quantizer):
    import tensorflow as tf
    return lambda x: np.asarray(quantizer(tf.constant(np.asarray(x, np.float32))), np.float64)


def test_steps_equal_keras_on_every_value():
    t = FixedType(12, 4, True)
    x = np.arange(-2 ** 11, 2 ** 11) * t.step
    for quantizer in _step_quantizers():
        f = _keras_function(quantizer)
        thresholds, levels = find_steps(f, t)
        assert len(levels) == len(thresholds) + 1 <= 16
        assert np.array_equal(levels[np.searchsorted(thresholds, x, side="right")], f(x)), quantizer


def test_a_function_that_is_not_monotone_has_no_steps():
    from qkeras.quantizers import quantized_hswish
    assert find_steps(_keras_function(quantized_hswish(4, 2)), FixedType(12, 4, True)) is None


def _dense_then_activations(in_bits, weight_bits, inputs):
    """One QDense feeding every step quantizer (one output each)."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits

    keras.utils.set_random_seed(3)
    inp = keras.Input((inputs,), name="x")
    q = QActivation(quantized_bits(in_bits, 3, alpha=1), name="q")(inp)
    dense = QDense(10, kernel_quantizer=quantized_bits(weight_bits, 0, alpha=1),
                   bias_quantizer=quantized_bits(weight_bits, 0, alpha=1), name="dense")(q)
    model = keras.Model(inp, [QActivation(qz, name=f"act{k}")(dense) for k, qz in enumerate(_step_quantizers())])
    model.get_layer("dense").bias.assign(np.random.default_rng(0).uniform(-1, 1, 10))
    return model


@pytest.fixture(scope="module")
def activations_model():
    return _dense_then_activations(8, 6, 12)


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_step_activations_after_a_dense_are_bit_exact(activations_model, io_type, tmp_path):
    """hls4ml's test_qkeras cases: binary, ternary, quantized_tanh/sigmoid, po2 ...
    right after a QDense (a 16-bit input: comparisons are far cheaper than
    tables of 65,536 entries), in csim, the emulator and `make csim`."""
    project = hlsflow.convert(activations_model, tmp_path / "prj", io_type=io_type)
    assert {n.op for n in project.graph.nodes} == {"dense", "step"}
    x = np.random.default_rng(1).uniform(-8, 8, (500, 12)).astype(np.float32)
    check_outputs_bit_exact(activations_model, project, [x])
    code, out = make_csim(tmp_path / "prj")
    assert code == 0 and "bit-exact" in out, out


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_step_activations_on_a_30_bit_input(io_type, tmp_path):
    """A 30-bit accumulator (refused as a table before): csim equals the
    emulator, and both equal QKeras on every unit whose float32 sum in Keras is
    exact (elsewhere Keras rounded the sum it quantizes)."""
    import tf_keras as keras

    model = _dense_then_activations(14, 12, 16)
    project = hlsflow.convert(model, tmp_path / "prj", io_type=io_type)
    assert project.graph.tensors["dense"].type.width >= 28
    x = np.random.default_rng(2).uniform(-8, 8, (400, 16)).astype(np.float32)
    emulated, predicted = project.emulate(x), project.predict(x)
    for emu, pred in zip(emulated, predicted):
        assert np.array_equal(emu, pred)
    keras_x = project.cast_inputs(x).astype(np.float32)
    keras_dense = keras.Model(model.inputs, model.get_layer("dense").output).predict(keras_x, verbose=0)
    exact_dense = emulate(project.graph, x, tensors=["dense"])["dense"]
    same = keras_dense == exact_dense  # the units where Keras's float32 sum is exact
    assert same.mean() > 0.2
    for ref, emu in zip(model.predict(keras_x, verbose=0), emulated):
        assert np.array_equal(ref[same], emu[same])


def test_narrow_inputs_keep_the_cheaper_table(tmp_path):
    import tf_keras as keras
    from qkeras import QActivation, quantized_bits, quantized_tanh

    inp = keras.Input((6,), name="x")
    q = QActivation(quantized_bits(5, 2, alpha=1), name="q")(inp)
    model = keras.Model(inp, QActivation(quantized_tanh(3), name="tanh")(q))
    project = hlsflow.convert(model, tmp_path / "prj")
    assert [n.op for n in project.graph.nodes] == ["table"]
    check_outputs_bit_exact(model, project, [np.random.default_rng(0).uniform(-5, 5, (200, 6)).astype(np.float32)])


def test_batch_dependent_activation_quantizers_are_refused_in_one_line(tmp_path):
    import tf_keras as keras
    from qkeras import QActivation
    from qkeras.quantizers import binary

    inp = keras.Input((6,), name="x")
    model = keras.Model(inp, QActivation(binary(alpha="auto"), name="sign")(inp))
    with pytest.raises(UnsupportedError, match=r"layer 'sign'.*alpha='auto'"):
        hlsflow.convert(model, tmp_path / "prj")
