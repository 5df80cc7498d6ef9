"""Activation quantizers other than fixed-point casts (quantized_tanh/sigmoid,
binary, po2, hard sigmoid, float functions) become lookup tables evaluated by
Keras over every input value; po2/binary/ternary weights are QKeras's own
values. Emulator == csim == QKeras, both io types."""
import numpy as np
import pytest

import hlsflow
from conftest import check_outputs_bit_exact, stress_inputs


def quantizer_zoo(seed=0):
    import tf_keras as keras
    from qkeras import (QActivation, QConv1D, QDense, binary, quantized_bits, quantized_po2, quantized_relu_po2,
                        quantized_sigmoid, quantized_tanh, stochastic_binary, ternary)

    L = keras.layers
    keras.utils.set_random_seed(seed)
    x = L.Input((6, 5), name="x")
    q = QActivation(quantized_bits(8, 3), name="xq")(x)
    outs = [QActivation(quantizer, name=name)(q) for name, quantizer in [
        ("tanh", quantized_tanh(6)), ("sigmoid", quantized_sigmoid(6)), ("bin", binary()),
        ("sbin", stochastic_binary()), ("po2", quantized_po2(4)), ("relu_po2", quantized_relu_po2(4)),
        ("qhsig", "hard_sigmoid")]]
    outs += [L.Activation("sigmoid", name="fsig")(q), L.ELU(name="elu")(q),
             QActivation(quantized_bits(6, 2), name="hsig_q")(L.Activation("hard_sigmoid", name="hsig")(q))]
    flat = L.Flatten(name="flat")(q)
    for name, kq in [("d_bin", binary(alpha=1)), ("d_ter", ternary(alpha=1)), ("d_po2", quantized_po2(4)),
                     ("d_auto_po2", quantized_bits(4, 0, alpha="auto_po2"))]:
        outs.append(QDense(3, kernel_quantizer=kq, bias_quantizer=quantized_bits(6, 2), name=name)(flat))
    outs.append(QConv1D(3, 2, kernel_quantizer=quantized_po2(4), bias_quantizer=quantized_bits(6, 2), name="c_po2")(q))
    return keras.Model(x, outs, name="quantizer_zoo")


@pytest.fixture(scope="module")
def model():
    return quantizer_zoo()


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_quantizer_zoo_bit_exact(model, io_type, tmp_path):
    project = hlsflow.convert(model, tmp_path / io_type, io_type=io_type)
    g = project.graph
    assert all(g.tensors[t].exact for t in ("tanh", "sigmoid", "bin", "po2", "relu_po2", "qhsig", "hsig_q"))
    assert not any(g.tensors[t].exact for t in ("fsig", "elu"))
    x = stress_inputs(np.random.default_rng(4), 1000, (6, 5), 8)
    check_outputs_bit_exact(model, project, x)
    lines, ok = project.csim(progress=False)
    assert ok and "csim: 200/200 bit-exact" in lines[0], lines


def test_float_table_over_too_wide_exact_input_is_indexed_by_its_rounding():
    """A float function (no step function: tests/test_steps.py) over an exact input
    wider than table_width: Keras computes it in float, so the table is indexed by
    the input rounded to table_width bits and its output is not claimed exact."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits

    from hlsflow.frontend.keras import to_graph
    from hlsflow.passes import run_passes

    x = keras.layers.Input((16,))
    y = QDense(8, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1))(
        QActivation(quantized_bits(12, 3))(x))
    model = keras.Model(x, keras.layers.Activation("sigmoid", name="wide_sigmoid")(y))
    graph = run_passes(to_graph(model))
    node = graph.node("wide_sigmoid")
    (x_in,), (y_out,) = graph.input_tensors(node), graph.output_tensors(node)
    assert node.op == "table" and x_in.exact and x_in.type.width > 16
    assert node.attrs["index_type"].width == 16 and not y_out.exact
