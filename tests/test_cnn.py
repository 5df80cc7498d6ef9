"""Convolutional networks and graphs: every spatial, merge and reshaping layer
in QKeras and Keras form gives the same bits in the emulator, csim and Keras,
on inputs that include values far outside the input range."""

import numpy as np
import pytest

import hlsflow
from conftest import check_outputs_bit_exact, example_model, make_csim, stress_inputs

N = 1000


def _qb(bits=4, integer=0):
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, alpha=1)


def layer_zoo(seed=0):
    """Two inputs (2D image, 1D sequence) and one output per layer under test."""
    import tf_keras as keras
    from qkeras import (QActivation, QConv1D, QConv2D, QDepthwiseConv2D, QSeparableConv1D, QSeparableConv2D,
                        quantized_bits, quantized_relu)

    L = keras.layers
    keras.utils.set_random_seed(seed)
    img, seq = L.Input((9, 10, 3), name="img"), L.Input((12, 4), name="seq")
    q = QActivation(quantized_bits(8, 2), name="img_q")(img)
    s = QActivation(quantized_bits(7, 3), name="seq_q")(seq)
    conv = dict(kernel_quantizer=_qb(), bias_quantizer=_qb())
    pw = QActivation(quantized_bits(6, 2), name="pw_q")(QConv2D(3, 1, **conv, name="pw")(q))
    outs = [
        QActivation(quantized_relu(6, 2), name="conv_s2_q")(QConv2D(4, 3, strides=2, padding="same", **conv,
                                                                    name="conv_s2")(q)),
        QConv2D(3, (3, 2), dilation_rate=2, activation="relu", **conv, name="conv_d2")(q),
        QDepthwiseConv2D(3, depth_multiplier=2, padding="same", depthwise_quantizer=_qb(), bias_quantizer=_qb(),
                         name="dw")(q),
        QActivation(quantized_bits(6, 3), name="sep_q")(
            QSeparableConv2D(5, 3, depthwise_quantizer=_qb(), pointwise_quantizer=_qb(), bias_quantizer=_qb(),
                             name="sep")(q)),
        L.MaxPooling2D(3, strides=2, padding="same", name="maxp")(q),
        QActivation(quantized_bits(8, 2), name="avgp_q")(L.AveragePooling2D(3, strides=2, padding="same",
                                                                             name="avgp")(q)),
        L.AveragePooling2D(2, name="avgp2")(q),
        QActivation(quantized_bits(10, 2), name="gap_q")(L.GlobalAveragePooling2D(name="gap")(q)),
        L.GlobalMaxPooling2D(name="gmp")(q),
        L.UpSampling2D((2, 1), name="up")(L.Cropping2D(((0, 2), (1, 1)), name="crop")(
            L.ZeroPadding2D(((1, 0), (2, 1)), name="zpad")(q))),
        L.Permute((2, 1, 3), name="perm")(q),
        L.Reshape((30, 9), name="reshape")(q),
        L.Add(name="add")([q, pw]), L.Subtract(name="sub")([q, pw]), L.Multiply(name="mul")([q, pw]),
        L.Maximum(name="max")([q, pw]), L.Minimum(name="min")([q, pw]), L.Average(name="avg")([q, pw]),
        L.Concatenate(name="cat")([q, pw]), L.Concatenate(axis=1, name="cat1")([q, pw]),
        L.LeakyReLU(0.25, name="leaky")(q), L.ThresholdedReLU(0.5, name="thr")(q),
        # 1D
        QConv1D(3, 3, padding="causal", dilation_rate=2, **conv, name="conv1d")(s),
        QConv1D(2, 4, strides=3, padding="same", activation="relu", **conv, name="conv1d_s3")(s),
        L.DepthwiseConv1D(3, depth_multiplier=2, name="dw1d")(s),
        QSeparableConv1D(3, 3, padding="same", depthwise_quantizer=_qb(), pointwise_quantizer=_qb(),
                         bias_quantizer=_qb(), name="sep1d")(s),
        L.MaxPooling1D(2, name="maxp1d")(s),
        QActivation(quantized_bits(8, 3), name="avgp1d_q")(L.AveragePooling1D(3, padding="same", name="avgp1d")(s)),
        L.GlobalMaxPooling1D(name="gmp1d")(s),
        QActivation(quantized_bits(8, 3), name="gap1d_q")(L.GlobalAveragePooling1D(name="gap1d")(s)),
        L.UpSampling1D(2, name="up1d")(L.Cropping1D((2, 1), name="crop1d")(L.ZeroPadding1D((1, 3), name="zpad1d")(s))),
    ]
    model = keras.Model([img, seq], outs, name="layer_zoo")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.uniform(-1, 1, layer.bias.shape))
    # the float depthwise kernel: values on a 1/8 grid keep Keras's float32 sums exact
    dw1d = model.get_layer("dw1d")
    dw1d.depthwise_kernel.assign(np.round(dw1d.depthwise_kernel.numpy() * 8) / 8)
    dw1d.bias.assign(np.round(dw1d.bias.numpy() * 8) / 8)
    return model


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    model = layer_zoo()
    return model, hlsflow.convert(model, tmp_path_factory.mktemp("zoo") / "prj")


def test_layer_zoo_bit_exact(zoo):
    model, project = zoo
    rng = np.random.default_rng(5)
    xs = [stress_inputs(rng, N, (9, 10, 3), 4), stress_inputs(rng, N, (12, 4), 8)]
    assert all(project.graph.tensors[t].exact for t in project.graph.outputs)
    check_outputs_bit_exact(model, project, xs)


def test_layer_zoomake_csim(zoo):
    _, project = zoo
    code, output = make_csim(project.directory)
    assert code == 0 and "csim: 200/200 bit-exact" in output, output


def test_average_pooling_states_its_rounding(zoo):
    _, project = zoo
    node = project.graph.node("avgp")
    assert "half to even" in node.attrs["rounding"]
    assert str(project.graph.tensors["avgp_q"].type) == "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"


@pytest.fixture(scope="module")
def mnist_cnn(tmp_path_factory):
    model = hlsflow.load_model(example_model("qkeras_mnist_cnn"))
    return model, hlsflow.convert(model, tmp_path_factory.mktemp("mnist_cnn") / "prj")


def test_mnist_cnn_bit_exact(mnist_cnn):
    from conftest import check_bit_exact

    model, project = mnist_cnn
    x = stress_inputs(np.random.default_rng(2), N, (28, 28, 1), 2)
    check_bit_exact(model, project, x)
    code, output = make_csim(project.directory)
    assert code == 0 and "csim: 200/200 bit-exact (logits, C only)" in output, output


@pytest.mark.parametrize("name", ["KERAS_conv1d_small", "KERAS_conv2d_model", "jetTagger_Conv2D_Small",
                                  "jetTagger_Conv2D_Small_NoBatchNorm"])
def test_float_example_cnnmake_csim(name, tmp_path):
    project = hlsflow.convert(hlsflow.load_model(example_model(name)), tmp_path / name)
    code, output = make_csim(project.directory)
    assert code == 0 and "argmax agreement" in output, output


def test_batchnorm_folds_into_float_conv_else_scale_shift():
    import tf_keras as keras
    from qkeras import QActivation, QConv2D, quantized_bits

    from hlsflow.frontend.keras import to_graph
    from hlsflow.passes import run_passes

    L = keras.layers
    x = L.Input((6, 6, 2))
    a = L.BatchNormalization(name="bn_float")(L.Conv2D(3, 3, name="conv")(x))
    b = L.BatchNormalization(name="bn_q")(QConv2D(3, 3, kernel_quantizer=_qb(), bias_quantizer=_qb(), name="qconv")(x))
    b = QActivation(quantized_bits(8, 3), name="b_q")(b)
    graph = run_passes(to_graph(keras.Model(x, [a, b])))
    ops = {n.name: n.op for n in graph.nodes}
    assert "bn_float" not in ops and ops["bn_q"] == "scale_shift"
    assert not graph.tensors["bn_float"].exact
    # between quantizers: computed exactly enough that only float32 boundary cases differ (test_batchnorm.py)
    assert graph.tensors["b_q"].exact and graph.node("bn_q").attrs["between_quantizers"]


@pytest.fixture(scope="module")
def zoo_stream(tmp_path_factory, zoo):
    model, _ = zoo
    return model, hlsflow.convert(model, tmp_path_factory.mktemp("zoo_stream") / "prj", io_type="io_stream")


def test_layer_zoo_io_stream_same_bits(zoo, zoo_stream):
    model, stream = zoo_stream
    _, parallel = zoo
    rng = np.random.default_rng(6)
    xs = [stress_inputs(rng, N // 2, (9, 10, 3), 4), stress_inputs(rng, N // 2, (12, 4), 8)]
    check_outputs_bit_exact(model, stream, xs)
    for a, b in zip(stream.predict(xs), parallel.predict(xs)):
        assert np.array_equal(a, b)
    cpp = (stream.directory / "firmware" / "layer_zoo.cpp").read_text()
    assert "#pragma HLS DATAFLOW" in cpp and "nnet::conv_pixels" in cpp and "nnet::pool_pixels" in cpp
    code, output = make_csim(stream.directory)
    assert code == 0 and "csim: 200/200 bit-exact" in output, output


def test_mnist_cnn_io_stream_bit_exact(mnist_cnn, tmp_path):
    from conftest import check_bit_exact

    model, parallel = mnist_cnn
    stream = hlsflow.convert(model, tmp_path / "stream", io_type="io_stream")
    x = stress_inputs(np.random.default_rng(3), N // 2, (28, 28, 1), 2)
    check_bit_exact(model, stream, x)
    assert np.array_equal(stream.predict(x, logits=True), parallel.predict(x, logits=True))


def test_conv_batchnorm_layers_fold_like_qkeras(tmp_path):
    """QConv2DBatchnorm / QDepthwiseConv2DBatchnorm: QKeras quantizes the BN-folded
    kernel and bias; the conversion uses those values and is bit-exact."""
    import tf_keras as keras
    from qkeras import QActivation, QConv2DBatchnorm, QDepthwiseConv2DBatchnorm, quantized_bits, quantized_relu

    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.layers.InputLayer((6, 6, 3)), QActivation(quantized_bits(8, 2, alpha=1)),
        QConv2DBatchnorm(4, 3, kernel_quantizer=quantized_bits(6, 0, alpha=1),
                         bias_quantizer=quantized_bits(10, 3, alpha=1), name="conv_bn"),
        QActivation(quantized_relu(6, 2)),
        QDepthwiseConv2DBatchnorm(3, depthwise_quantizer=quantized_bits(6, 0, alpha=1),
                                  bias_quantizer=quantized_bits(10, 3, alpha=1), name="depthwise_bn")])
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if hasattr(layer, "batchnorm"):
            c = layer.batchnorm.gamma.shape[0]
            layer.batchnorm.set_weights([rng.uniform(0.5, 2, c), rng.normal(0, 0.5, c), rng.normal(0, 0.5, c),
                                         rng.uniform(0.5, 2, c)])
    project = hlsflow.convert(model, tmp_path / "bn")
    x = stress_inputs(np.random.default_rng(2), 300, (6, 6, 3), 4)
    reference = model.predict(x, verbose=0).reshape(300, -1)
    assert project.graph.tensors[project.graph.outputs[0]].exact
    assert np.array_equal(project.emulate(x).reshape(300, -1), reference)
    assert np.array_equal(project.predict(x).reshape(300, -1), reference)


@pytest.mark.parametrize("multiplier,scale_axis", [(1, 2), (2, None), (3, 2)])
def test_depthwise_per_channel_po2_scales(multiplier, scale_axis, tmp_path):
    """alpha="auto_po2" on depthwise kernels, scaled per input channel or per
    multiplier: the scales are factored out per output channel, bit-exactly."""
    import tf_keras as keras
    from qkeras import QActivation, QDepthwiseConv2D, quantized_bits

    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.layers.InputLayer((5, 5, 3)), QActivation(quantized_bits(8, 2, alpha=1)),
        QDepthwiseConv2D(3, depth_multiplier=multiplier, bias_quantizer=quantized_bits(8, 3, alpha=1),
                         depthwise_quantizer=quantized_bits(6, 0, alpha="auto_po2", symmetric=1,
                                                            scale_axis=scale_axis))])
    project = hlsflow.convert(model, tmp_path / "dw")
    assert "scale" in project.graph.nodes[0].params
    x = stress_inputs(np.random.default_rng(2), 200, (5, 5, 3), 4)
    reference = model.predict(x, verbose=0).reshape(200, -1)
    assert np.array_equal(project.emulate(x).reshape(200, -1), reference)
    assert np.array_equal(project.predict(x).reshape(200, -1), reference)
