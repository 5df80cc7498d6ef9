"""The estimate of convolutions, pooling and the other non-dense layers, and
the reuse- and parallelization-factor rules. No g++ builds: estimates are read
off the IR."""
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


WHOLE = {"parallelization_factor": 10 ** 6}  # every conv/pool computes all its pixels at once


def test_conv_multiplications_counted_by_hand():
    from qkeras import quantized_bits

    model = _conv_model("conv", quantized_bits(8, 0, alpha=1))
    row = _rows(_graph(model, WHOLE))["c"]
    # 'same' padding: kernel rows reach 5, 6, 5 of the 6 output rows, columns 4, 5, 4 of the 5;
    # each tap multiplies 2 input channels into 4 filters
    assert row["multiplications"] == (5 + 6 + 5) * (4 + 5 + 4) * 2 * 4 == 1664
    assert row["weight_bits"] == 3 * 3 * 2 * 4 * 8
    for io_type, pf in (("io_stream", 1), ("io_parallel", 1), ("io_parallel", 5)):
        graph = _graph(model, {"parallelization_factor": pf})
        scanned = _rows(graph, io_type)["c"]
        assert scanned["multiplications"] == 1664  # the same work per inference ...
        built = scanned["lut_multipliers"] + scanned["dsp"]  # ... on one circuit per nonzero weight and pixel at once
        assert 0 < built <= 72 * pf and row["lut_multipliers"] + row["dsp"] > 10 * built / pf
        single = built if pf == 1 else single
    assert built == 5 * single
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


def test_reuse_factor_and_strategy_apply_to_convolutions():
    """Every weighted layer folds: the reuse factor must divide the kernel's
    products per output pixel (and group); the model-wide default applies."""
    from qkeras import quantized_bits

    model = _conv_model("conv", quantized_bits(8, 0, alpha=1))  # 3 x 3 x 2 taps into 4 filters: 72 products
    node = _graph(model, {"reuse_factor": 4}).node("c")
    assert node.attrs["reuse_factor"] == 4 and node.attrs["strategy"] == "resource"
    assert _graph(model, {"layers": {"c": {"strategy": "resource"}}}).node("c").attrs["reuse_factor"] == 1
    # one that does not divide them: the nearest that does (4 and 6 are equally near 5: the smaller)
    graph = _graph(model, {"layers": {"c": {"reuse_factor": 5}}})
    assert graph.node("c").attrs["reuse_factor"] == 4
    assert graph.meta["reuse_replaced"] == [("c", 5, 4, "its 72 kernel multiplications per output pixel")]
    depthwise = _conv_model("depthwise", quantized_bits(8, 0, alpha=1))  # 9 taps, 1 filter per group
    graph = _graph(depthwise, {"reuse_factor": 7})
    assert graph.node("c").attrs["reuse_factor"] == 9
    assert graph.meta["reuse_replaced"] == [("c", 7, 9, "its 9 kernel multiplications per output pixel and group")]


def test_parallelization_factor_rules():
    from qkeras import quantized_bits

    model = _conv_model("conv", quantized_bits(8, 0, alpha=1))  # 6 x 5 output pixels
    pf = {n: _graph(model, {"parallelization_factor": n}).node("c").attrs["parallelization_factor"]
          for n in (1, 3, 5, 7, 30, 1000)}
    assert pf == {1: 1, 3: 3, 5: 5, 7: 5, 30: 30, 1000: 30}  # clipped to a row, or the whole layer
    with pytest.raises(OptionError, match="layer 'c': parallelization factor 7 is neither at most its output width 5"):
        _graph(model, {"layers": {"c": {"parallelization_factor": 7}}})
    folded = _graph(model, {"reuse_factor": 2, "parallelization_factor": 1000}).node("c")
    assert folded.attrs["parallelization_factor"] == 5  # a folded kernel scans rows
    with pytest.raises(OptionError, match="parallelization factor 0 must be a positive integer"):
        _graph(model, {"parallelization_factor": 0})


def test_max_pooling_comparisons_by_hand():
    import tf_keras as keras
    from qkeras import QActivation, quantized_bits

    model = keras.Sequential([keras.layers.InputLayer((4, 4, 3)), QActivation(quantized_bits(8, 3, alpha=1)),
                              keras.layers.MaxPooling2D(2, name="p")])
    graph = _graph(model, WHOLE)
    row = _rows(graph)["p"]
    assert row["adders"] == (4 - 1) * 2 * 2 * 3 and row["multiplications"] == 0 and row["latency"] >= 1
    stream = _rows(_graph(model), "io_stream")["p"]
    assert stream["adders"] == (4 - 1) * 3  # one window, every channel
    assert stream["clocks"] == 4 * 4 and stream["ii"] == 4 * 4 + stream["depth"]  # one input pixel per clock


def test_report_of_the_mnist_cnn():
    """Fits a VU9P in each io type with the defaults; unrolling every pixel does not;
    io_stream's II is one input pixel per clock (reuse factor clocks per pixel)."""
    import hlsflow

    path = example_model("qkeras_mnist_cnn")
    model = hlsflow.load_model(path, EXAMPLE_MODELS / "qkeras_mnist_cnn_weights.h5")

    def report(io_type, config=None):
        graph = _graph(model, config)
        graph.meta["project"] = {"part": "xcvu9p-flga2104-2L-e"}
        return estimate(graph, 5.0, io_type)

    parallel, stream, whole = report("io_parallel"), report("io_stream"), report("io_parallel", WHOLE)
    rows = {r["layer"]: r for r in whole["rows"]}
    assert rows["q_conv2d"]["multiplications"] == 26 * 26 * 3 * 3 * 1 * 16
    assert rows["q_conv2d_1"]["multiplications"] == 11 * 11 * 3 * 3 * 16 * 16
    assert rows["q_dense"]["multiplications"] == 400 * 10
    assert {r["op"] for r in whole["rows"]} >= {"conv", "pool", "reshape", "dense", "softmax"}
    for result in (parallel, stream):
        assert result["total"]["multiplications"] == whole["total"]["multiplications"] == 97344 + 278784 + 4000
        text = format_report(result)
        assert "does not fit" not in text and "of xcvu9p" in text, text
        assert result["total"]["lut"] < whole["total"]["lut"] / 20
    assert "does not fit" in format_report(whole)  # every kernel repeated at each pixel
    streamed = {r["layer"]: r for r in stream["rows"]}
    # the slowest process: the first convolution scans 28 x 28 input pixels, one per clock
    assert stream["total"]["ii"] == streamed["q_conv2d"]["ii"] == 28 * 28 + streamed["q_conv2d"]["depth"]
    assert stream["total"]["ii"] < stream["total"]["latency"] < sum(r["latency"] for r in stream["rows"])
    folded = report("io_stream", {"reuse_factor": 4})
    assert 28 * 28 * 4 <= folded["total"]["ii"] <= 2 * 28 * 28 * 4  # within 2x of one pixel per 4 clocks
    rowwise = report("io_parallel", {"parallelization_factor": 26})
    assert rowwise["total"]["ii"] < parallel["total"]["ii"] / 10  # 26 output pixels of a row per clock
