"""The estimate of convolutions, pooling and the other non-dense layers, and
the reuse-factor rule for convolutions. No g++ builds: estimates are read off
the IR."""
import numpy as np
import pytest

from conftest import EXAMPLE_MODELS, example_model
from hlsflow.backend.report import estimate, format_report
from hlsflow.errors import OptionError


def _graph(model, config=None):
    from hlsflow.frontend.keras import to_graph
    from hlsflow.passes import run_passes

    return run_passes(to_graph(model), config)


def _conv_model(kind, quantizer, padding="same", zero_fraction=0.0):
    """6x5x2 input, 3x3 kernel, 4 output channels (depthwise: 2), 8-bit quantized input."""
    import tf_keras as keras
    from qkeras import QActivation, QConv2D, QDepthwiseConv2D, QSeparableConv2D, quantized_bits

    keras.utils.set_random_seed(4)
    if kind == "conv":
        layer = QConv2D(4, 3, padding=padding, kernel_quantizer=quantizer, use_bias=False, name="c")
    elif kind == "depthwise":
        layer = QDepthwiseConv2D(3, padding=padding, depthwise_quantizer=quantizer, use_bias=False, name="c")
    else:
        layer = QSeparableConv2D(4, 3, padding=padding, depthwise_quantizer=quantizer, pointwise_quantizer=quantizer,
                                 use_bias=False, name="c")
    model = keras.Sequential([keras.layers.InputLayer((6, 5, 2)), QActivation(quantized_bits(8, 3, alpha=1)), layer])
    if zero_fraction:
        w = layer.get_weights()
        w = [np.where(np.random.default_rng(0).random(v.shape) < zero_fraction, 0, v) for v in w]
        layer.set_weights(w)
    return model


def _rows(graph, io_type="io_parallel"):
    return {r["layer"]: r for r in estimate(graph, 5.0, io_type)["rows"]}


def test_conv_multiplications_counted_by_hand():
    from qkeras import quantized_bits

    graph = _graph(_conv_model("conv", quantized_bits(8, 0, alpha=1)))
    row = _rows(graph)["c"]
    # 'same' padding: kernel rows reach 5, 6, 5 of the 6 output rows, columns 4, 5, 4 of the 5;
    # each tap multiplies 2 input channels into 4 filters
    assert row["multiplications"] == (5 + 6 + 5) * (4 + 5 + 4) * 2 * 4 == 1664
    assert row["weight_bits"] == 3 * 3 * 2 * 4 * 8
    stream = _rows(graph, "io_stream")["c"]
    assert stream["multiplications"] == 1664  # the same work per inference ...
    built = stream["lut_multipliers"] + stream["dsp"]  # ... on one circuit per nonzero weight
    assert 0 < built <= 72 and row["lut_multipliers"] + row["dsp"] > 10 * built
    valid = _rows(_graph(_conv_model("conv", quantized_bits(8, 0, alpha=1), padding="valid")))["c"]
    assert valid["multiplications"] == 4 * 3 * 9 * 2 * 4


@pytest.mark.parametrize("kind", ["conv", "depthwise", "separable"])
@pytest.mark.parametrize("quantizer", ["binary(alpha=1)", "ternary(alpha=1)", "quantized_po2(4)"])
def test_binary_ternary_po2_conv_weights_need_no_multipliers(kind, quantizer):
    from qkeras.quantizers import get_quantizer

    rows = [r for r in estimate(_graph(_conv_model(kind, get_quantizer(quantizer))), 5.0)["rows"] if r["op"] == "conv"]
    assert rows and sum(r["multiplications"] for r in rows) > 0
    for r in rows:
        assert r["lut_multipliers"] == r["dsp"] == 0, r
        assert r["zero"] + r["shift_or_add"] == r["multiplications"]


def test_pruned_conv_weights_are_counted_as_zero():
    from qkeras import quantized_bits

    graph = _graph(_conv_model("conv", quantized_bits(8, 0, alpha=1), padding="valid", zero_fraction=0.6))
    w = graph.node("c").params["weight"]
    row = _rows(graph)["c"]
    assert row["zero"] == int(np.sum(w == 0)) * 4 * 3 > 0  # each weight at all 4 x 3 output pixels


def test_reuse_factor_on_a_conv_is_rejected():
    from qkeras import quantized_bits

    model = _conv_model("conv", quantized_bits(8, 0, alpha=1))
    with pytest.raises(OptionError, match=r"^layer 'c': convolutions are always unrolled .*reuse factor 1"):
        _graph(model, {"layers": {"c": {"reuse_factor": 2}}})
    with pytest.raises(OptionError, match="layer 'c'"):
        _graph(model, {"layers": {"c": {"strategy": "resource"}}})
    node = _graph(model, {"reuse_factor": 4}).node("c")  # the model-wide default leaves convolutions alone
    assert node.attrs["reuse_factor"] == 1 and node.attrs["strategy"] == "latency"


def test_max_pooling_comparisons_by_hand():
    import tf_keras as keras
    from qkeras import QActivation, quantized_bits

    model = keras.Sequential([keras.layers.InputLayer((4, 4, 3)), QActivation(quantized_bits(8, 3, alpha=1)),
                              keras.layers.MaxPooling2D(2, name="p")])
    graph = _graph(model)
    row = _rows(graph)["p"]
    assert row["adders"] == (4 - 1) * 2 * 2 * 3 and row["multiplications"] == 0 and row["latency"] >= 1
    stream = _rows(graph, "io_stream")["p"]
    assert stream["adders"] == (4 - 1) * 3  # one window, every channel
    assert stream["latency"] == 4 * 4 * 3 + 2 * 2 * 3 + 1  # reads, writes, comparison cycle


def test_report_of_the_mnist_cnn():
    import hlsflow

    path = example_model("qkeras_mnist_cnn")
    graph = _graph(hlsflow.load_model(path, EXAMPLE_MODELS / "qkeras_mnist_cnn_weights.h5"))
    graph.meta["project"] = {"part": "xcvu9p-flga2104-2L-e"}
    parallel, stream = estimate(graph, 5.0, "io_parallel"), estimate(graph, 5.0, "io_stream")
    rows = {r["layer"]: r for r in parallel["rows"]}
    assert rows["q_conv2d"]["multiplications"] == 26 * 26 * 3 * 3 * 1 * 16
    assert rows["q_conv2d_1"]["multiplications"] == 11 * 11 * 3 * 3 * 16 * 16
    assert rows["q_dense"]["multiplications"] == 400 * 10
    assert {r["op"] for r in parallel["rows"]} >= {"conv", "pool", "reshape", "dense", "softmax"}
    assert parallel["total"]["multiplications"] == stream["total"]["multiplications"] == 97344 + 278784 + 4000
    text = format_report(parallel)
    assert "does not fit" in text and "--io stream" in text  # every kernel repeated at each pixel
    streamed = {r["layer"]: r for r in stream["rows"]}
    # the slowest process: the first pooling reads 26 x 26 x 16 values and writes 13 x 13 x 16
    assert stream["total"]["ii"] == streamed["max_pooling2d"]["ii"] == 26 * 26 * 16 + 13 * 13 * 16 + 1
    assert stream["total"]["ii"] < stream["total"]["latency"] < sum(r["latency"] for r in stream["rows"])
    assert stream["total"]["lut"] < parallel["total"]["lut"] / 20
    assert "does not fit" not in format_report(stream)
