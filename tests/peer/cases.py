"""The cases of hls4ml 1.3.0's test/pytest suite, re-created for hlsflow.

Each Case is one hls4ml parametrization: the model (tf-keras or QKeras, built
here from reading the hls4ml test, not copied), its inputs (the test's
generator, seeded; fetched data sets are replaced by random data of the same
per-sample shape), the io types the test runs, the precision config it sets
and the assertion it makes (its tolerance). An Item is one case, one io type
and one way of judging hlsflow (see judge.py):

    exact       a QKeras case: csim == emulator == Keras, bit for bit
    calibrated  a float case converted with its inputs as calibration samples
    stated      a float case converted with the hls4ml test's own precision

Collapsed dimensions: hls4ml's backend (hlsflow's csim is the same for Vitis
and Vivado; hls4ml is run with Vitis) and the strategy / reuse factor of
layers hlsflow always unrolls (convolutions, pooling, activations); a dense
layer's strategy and reuse factor stay. A QKeras case runs in both io types
even where the hls4ml test runs one (issue 17: every QKeras case bit-exact in
both). Not ported: PyTorch/ONNX/HGQ/oneAPI/Catapult/Quartus-only tests and
tests that only check parsed attributes or backend configuration
(test_pointwise_config, test_resource_unrolled_parsing, test_softmax_skipped,
test_repack_precision, test_rnn_parsing, test_layernorm_parsing); where a test
also asserts hls4ml's internal layer attributes, only its numerical assertion
is ported.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

HLS4ML_DEFAULT = "ap_fixed<16,6>"  # hls4ml's default precision where a test sets none
IO_TYPES = ("io_parallel", "io_stream")
PARALLEL, STREAM = ("io_parallel",), ("io_stream",)


# -- tolerances: the hls4ml test's own assertion ------------------------------------
@dataclass(frozen=True)
class Tolerance:
    """kind: allclose (|a - d| <= atol + rtol |d|, d the `reference` side, as
    np.testing.assert_allclose(actual, desired) in the test), equal, argmax
    (agreement along the last axis >= limit), mae (< limit), wrong (fraction of
    differing values < limit, or <= with inclusive)."""
    kind: str
    rtol: float = 0.0
    atol: float = 0.0
    limit: float = 0.0
    reference: str = "keras"  # "keras" or "tool": whose values scale rtol
    inclusive: bool = False

    def __str__(self):
        if self.kind == "allclose":
            scaled = ", rtol of tool" if self.reference == "tool" else ""
            return f"allclose(rtol={self.rtol:g}, atol={self.atol:g}{scaled})"
        if self.kind == "equal":
            return "equal"
        sign = "<=" if self.inclusive else "<"
        return {"argmax": f"argmax agreement >= {self.limit:g}", "mae": f"mean |error| < {self.limit:g}",
                "wrong": f"differing values {sign} {self.limit:g}"}[self.kind]


def allclose(rtol=1e-7, atol=0.0, reference="keras"):
    return Tolerance("allclose", rtol=rtol, atol=atol, reference=reference)


EQUAL = Tolerance("equal")


def argmax(limit):
    return Tolerance("argmax", limit=limit)


# -- inputs ----------------------------------------------------------------------
@dataclass(frozen=True)
class Inputs:
    """A seeded input generator: rng -> list of arrays (one per model input)."""
    generate: Callable
    text: str

    def __call__(self, rng):
        return [np.asarray(a, np.float64) for a in self.generate(rng)]


def _grid(x, bits):
    return np.round(x * 2.0 ** bits) * 2.0 ** -bits


def rand(*shape, shift=0.0, grid=None, inputs=1):
    """np.random.rand(*shape) - shift, rounded to 2**-grid if given, for each input."""
    def generate(rng):
        xs = [rng.random(shape) - shift for _ in range(inputs)]
        return [x if grid is None else _grid(x, grid) for x in xs]
    text = f"rand{shape}" + (f" - {shift:g}" if shift else "") + (f" on a 2^-{grid} grid" if grid else "")
    return Inputs(generate, text + (f" x{inputs} inputs" if inputs > 1 else ""))


def normal(*shape, std=1.0, clip=None, grid=None):
    def generate(rng):
        x = rng.normal(0, std, shape)
        x = x if clip is None else np.clip(x, *clip)
        return [x if grid is None else _grid(x, grid)]
    return Inputs(generate, f"normal(0, {std:g}, {shape})" + (f" clipped to {clip}" if clip else ""))


def integers(low, high, *shape, inputs=1):
    return Inputs(lambda rng: [rng.integers(low, high, shape).astype(np.float64) for _ in range(inputs)],
                  f"randint({low}, {high}, {shape})" + (f" x{inputs} inputs" if inputs > 1 else ""))


# -- the case --------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Case:
    """One hls4ml parametrization. precision: the test's default precision
    (Model Precision); layer_precision: its per-layer precisions by Keras layer
    name ({"result"/"weight"/"bias": type} or one type for all of a layer's);
    hls4ml_layers / hls4ml_model: hls4ml-only settings (tables, strategies);
    granularity: of hls4ml's config_from_keras_model, or "manual" for a config
    dict the test writes itself."""
    file: str
    test: str
    param: str
    build: Callable
    inputs: Inputs
    io_types: tuple
    tolerance: Tolerance
    quantized: bool = False
    precision: str = HLS4ML_DEFAULT
    layer_precision: dict = field(default_factory=dict)
    hls4ml_layers: dict = field(default_factory=dict)
    hls4ml_model: dict = field(default_factory=dict)  # hls4ml-only Model settings
    granularity: str = "model"
    strategy: str = "latency"
    reuse_factor: int = 1
    layer_reuse: dict = field(default_factory=dict)  # dense layers' own reuse factors
    hls4ml_kwargs: dict = field(default_factory=dict)  # extra convert_from_keras_model arguments
    xnor: bool = False  # hls4ml returns binary values as 0/1; its test maps 0 -> -1
    from_h5: bool = False  # the test converts a saved .h5 file
    issue: int = 17  # 15: sequence layers
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.file}.{self.test}" + (f"[{self.param}]" if self.param else "")

    @property
    def seed(self) -> int:
        """Per hls4ml test function: its module fixtures share data across parametrizations."""
        return zlib.crc32(f"{self.file}.{self.test}".encode())

    def model(self):
        """The Keras model, built once per process with seeded initializers."""
        if self.id not in _MODELS:
            _keras().utils.set_random_seed(self.seed % 2**31)
            _MODELS[self.id] = self.build()
        return _MODELS[self.id]

    def data(self) -> list:
        """The case's inputs (one array per model input), generated once per process."""
        if self.id not in _DATA:
            _DATA[self.id] = self.inputs(np.random.default_rng(self.seed))
        return _DATA[self.id]

    def describe(self) -> dict:
        """What the case records, for the peer suite's JSON."""
        return {"case": self.id, "file": self.file, "hls4ml_io": list(self.io_types), "quantized": self.quantized,
                "inputs": self.inputs.text, "precision": self.precision, "layer_precision": self.layer_precision,
                "strategy": self.strategy, "reuse_factor": self.reuse_factor, "tolerance": str(self.tolerance),
                "issue": self.issue, "note": self.note}


_MODELS: dict = {}
_DATA: dict = {}


@dataclass(frozen=True)
class Item:
    case: Case
    io_type: str
    mode: str  # exact | calibrated | stated

    @property
    def id(self) -> str:
        return f"{self.case.id}-{self.io_type.removeprefix('io_')}-{self.mode}"


def items() -> list:
    """Every (case, io type, mode): QKeras cases judged exact in both io types,
    float cases calibrated and stated in the io types their test runs."""
    out = []
    for case in CASES:
        if case.quantized:
            out += [Item(case, io, "exact") for io in IO_TYPES]
        else:
            out += [Item(case, io, mode) for io in case.io_types for mode in ("calibrated", "stated")]
    return out


def _keras():
    from hlsflow.frontend.tf_setup import import_keras

    return import_keras()[1]


def _qkeras():
    _keras()
    import qkeras

    return qkeras


def _example(name):
    """An example model of ../shared (skips the case when the corpus is absent)."""
    from conftest import example_model

    import hlsflow

    return hlsflow.load_model(example_model(name))


CASES: list = []


def case(file, test, param, build, inputs, io_types, tolerance, **kw):
    CASES.append(Case(file, test, param, build, inputs, tuple(io_types), tolerance, **kw))


# -- test_qkeras.py --------------------------------------------------------------
def _jet_model():
    return _example("qkeras_3layer")


for _strategy in ("latency", "resource"):
    case("qkeras", "accuracy", _strategy, _jet_model, normal(20000, 16), PARALLEL, argmax(0.99), quantized=True,
         granularity="name", strategy=_strategy,
         hls4ml_layers={"softmax": {"exp_table_t": "ap_fixed<18,8>", "inv_table_t": "ap_fixed<18,4>"}},
         note="jet data set (openml) replaced by standard-normal features; the test's 'accuracy within 1% of "
              "QKeras on the labels' becomes argmax agreement with QKeras >= 99%")


def _single_dense(bits, alpha):
    def build():
        K, Q = _keras(), _qkeras()
        return K.Sequential([
            Q.QActivation(Q.quantized_bits(bits, 0, alpha=1), input_shape=(16,), name="inp_quant"),
            Q.QDense(16, name="fc1", kernel_quantizer=Q.quantized_bits(bits, 0, alpha=alpha),
                     bias_quantizer=Q.quantized_bits(bits, 0, alpha=1), kernel_initializer="lecun_uniform"),
            Q.QActivation(Q.quantized_relu(bits, 0), name="relu1")])
    return build


for _bits, _alpha in ((4, 1), (4, "auto_po2")):
    case("qkeras", "single_dense_activation_exact", f"{_bits}-{_alpha}", _single_dense(_bits, _alpha), rand(100, 16),
         IO_TYPES, EQUAL if _alpha == 1 else allclose(rtol=1.0, atol=2.0 ** -_bits, reference="tool"),
         quantized=True, granularity="name", hls4ml_kwargs={"bit_exact": _alpha == 1})


def _lone_quantizer(quantizer):
    def build():
        K, Q = _keras(), _qkeras()
        return K.Sequential([Q.QActivation(quantizer, input_shape=(1,), name="quantizer")])
    return build


for _q in ("quantized_tanh(8)", "quantized_sigmoid(5)", "quantized_sigmoid(7, use_real_sigmoid=True)"):
    case("qkeras", "quantizer_special", _q.replace(" ", ""), _lone_quantizer(_q), rand(1000, 1, grid=10), IO_TYPES,
         allclose(rtol=1e-2, atol=0.02, reference="tool"), quantized=True, granularity="name")


def _btnn(kernel, bias, activation, batchnorm):
    def build():
        K, Q = _keras(), _qkeras()
        model = K.Sequential([Q.QDense(10, input_shape=(10,), kernel_quantizer=kernel, bias_quantizer=bias,
                                       name="dense")])
        if batchnorm:
            model.add(K.layers.BatchNormalization(name="bn"))
        model.add(Q.QActivation(activation))
        return model
    return build


for _no, _kernel, _act, _bn, _xnor in (
        (1, "ternary(alpha=1)", "binary_tanh", False, False),
        (2, "binary()", "binary_tanh", False, True),
        (3, "ternary(alpha='auto')", "binary()", True, True),
        (4, "ternary(alpha='auto')", "ternary", True, False),
        (5, "ternary(alpha='auto')", "ternary(threshold=0.2)", True, False),
        (6, "ternary(alpha='auto')", "ternary(threshold=0.8)", True, False),
        (7, "binary()", "binary()", False, True)):
    case("qkeras", "btnn", f"{_no}-{_kernel}-{_act}{'-bn' if _bn else ''}".replace("'", ""),
         _btnn(_kernel, "quantized_bits(5, 2)", _act, _bn), rand(100, 10), IO_TYPES, Tolerance("wrong", limit=0.005),
         quantized=True, granularity="name", xnor=_xnor)

for _q in ("quantized_bits(8, 0)", "quantized_bits(8, 4)", "quantized_bits(4, 2)", "quantized_bits(4, 0)",
           "quantized_bits(10, 0)", "quantized_relu(4)", "quantized_relu(4, 2)", "quantized_relu(8)",
           "quantized_relu(8, 4)", "quantized_relu(10)", "quantized_relu(10, 5)"):
    case("qkeras", "quantizer", _q.replace(" ", ""), _lone_quantizer(_q), rand(1000, 1, grid=10), IO_TYPES, EQUAL,
         quantized=True, granularity="name")

for _q in ("quantized_relu(4, negative_slope=0.5)", "quantized_relu(8, 4, negative_slope=1.0)",
           "quantized_relu(10, 2, negative_slope=0.25)"):
    case("qkeras", "relu_negative_slope", _q.replace(" ", ""), _lone_quantizer(_q),
         Inputs(lambda rng: [_grid(-rng.random((1000, 1)), 10)], "-rand(1000, 1) on a 2^-10 grid"), IO_TYPES,
         allclose(rtol=1e-5), quantized=True, granularity="name")


def _qactivation_kwarg(weight, activation):
    def build():
        K, Q = _keras(), _qkeras()
        inputs = K.layers.Input(shape=(10,))
        outputs = Q.QDense(10, activation=activation, name="qdense", kernel_quantizer=weight, bias_quantizer=weight,
                           kernel_initializer="lecun_uniform")(inputs)
        return K.Model(inputs, outputs)
    return build


for _w, _a, _bits in (("binary", "binary", None), ("ternary", "ternary", None),
                      ("quantized_bits(4, 0, alpha=1)", "quantized_relu(2, 0)", 2),
                      ("quantized_bits(4, 0, alpha=1)", "quantized_relu(4, 0)", 4),
                      ("quantized_bits(4, 0, alpha=1)", "quantized_relu(8, 0)", 8)):
    case("qkeras", "qactivation_kwarg", f"{_w}-{_a}".replace(" ", ""), _qactivation_kwarg(_w, _a),
         rand(100, 10, grid=10), PARALLEL,
         Tolerance("wrong", limit=0.005, inclusive=True) if _bits is None
         else allclose(rtol=1.0, atol=2.0 ** -(_bits - 1), reference="tool"),
         quantized=True, granularity="name", xnor=_a == "binary")


def _quantizer_parsing():
    K, Q = _keras(), _qkeras()
    return K.Sequential([Q.QDense(8, input_shape=(10,), kernel_quantizer=None, kernel_initializer="ones",
                                  bias_quantizer=None, bias_initializer="zeros", activation="quantized_relu(8, 0)")])


case("qkeras", "quantizer_parsing", "", _quantizer_parsing, rand(100, 10, grid=10), IO_TYPES, EQUAL, quantized=True,
     granularity="name", precision="fixed<24,8>")


def _qconv2dbn():
    from qkeras.qconv2d_batchnorm import QConv2DBatchnorm

    K = _keras()
    return K.Sequential([QConv2DBatchnorm(
        4, kernel_size=(3, 3), input_shape=(8, 8, 1), kernel_quantizer="quantized_bits(8, 0, alpha=1)",
        kernel_initializer="ones", bias_quantizer="quantized_bits(8, 0, alpha=1)", bias_initializer="zeros",
        activation="quantized_relu(8, 0)")])


case("qkeras", "qconv2dbn", "", _qconv2dbn, rand(100, 8, 8, 1, grid=10), IO_TYPES, EQUAL, quantized=True,
     granularity="name", precision="fixed<24,8>")


def _qdepthwiseconv2d():
    K, Q = _keras(), _qkeras()
    return K.Sequential([Q.QDepthwiseConv2D(
        kernel_size=(3, 3), input_shape=(32, 32, 3), depthwise_quantizer="quantized_bits(6, 0, alpha=1)",
        bias_quantizer="quantized_bits(4, 0, alpha=1)", bias_initializer="he_normal",
        activation="quantized_relu(3, 0)")])


case("qkeras", "qdepthwiseconv2d", "", _qdepthwiseconv2d, rand(10, 32, 32, 3, grid=10), STREAM,
     allclose(rtol=1e-2, atol=0.01, reference="tool"), quantized=True, granularity="name", precision="fixed<24,8>")


def _po2_bit_width():
    K, Q = _keras(), _qkeras()
    model = K.Sequential([Q.QDense(6, input_shape=(26,), name="dense",
                                   kernel_quantizer=Q.quantized_po2(18, max_value=2 ** 20))])
    weights = model.layers[0].get_weights()
    weights[0] = 2 ** 18 * np.random.default_rng(26).random((26, 6))
    model.layers[0].set_weights(weights)
    return model


for _strategy in ("latency", "resource"):
    case("qkeras", "quantised_po2_bit_width", _strategy, _po2_bit_width, rand(100, 26), IO_TYPES, allclose(rtol=2e-2),
         quantized=True, granularity="name", precision="ap_fixed<64,32>", strategy=_strategy)


def _qlstm():
    K, Q = _keras(), _qkeras()
    bits = "quantized_bits(8, 0, alpha=1)"
    return K.Sequential([Q.QLSTM(4, input_shape=(5, 2), kernel_quantizer=bits, recurrent_quantizer=bits,
                                 bias_quantizer=bits, state_quantizer=bits, activation="tanh",
                                 recurrent_activation="sigmoid")])


# test_qsimplernn and test_qgru are not ported: QKeras 0.9's QSimpleRNN/QGRU cells call
# tf.nest.is_sequence, which TensorFlow 2.21 no longer has, so Keras itself cannot run them.
case("qkeras", "qlstm", "", _qlstm,
     Inputs(lambda rng: [np.stack([np.linspace(-0.5, 0.5, 5)] * 2, axis=1).reshape(1, 5, 2)],
            "linspace(-0.5, 0.5, 5) twice, one sample"),
     PARALLEL, allclose(atol=0.1, reference="tool"), quantized=True, granularity="name", precision="ap_fixed<8,1>",
     issue=15)


def _qsepconv(rank):
    def build():
        K, Q = _keras(), _qkeras()
        shape, layer = ((13, 20), Q.QSeparableConv1D) if rank == 1 else ((13, 21, 20), Q.QSeparableConv2D)
        x_in = K.layers.Input(shape, name="input_layer")
        q = Q.quantized_bits(8, 3, alpha=1)
        x = layer(5, 3, depthwise_quantizer=q, pointwise_quantizer=q, bias_quantizer=q, name="qsepconv_1")(x_in)
        return K.Model(inputs=x_in, outputs=x)
    return build


def _quantized_inputs(*shape):
    def generate(rng):
        return [_qkeras().quantized_bits(8, 0, alpha=1)(rng.random(shape)).numpy()]
    return Inputs(generate, f"quantized_bits(8, 0, alpha=1)(rand{shape})")


for _rank, _shape in ((1, (100, 13, 20)), (2, (100, 13, 21, 20))):
    case("qkeras", f"qseparableconv{_rank}d", "", _qsepconv(_rank), _quantized_inputs(*_shape), STREAM, EQUAL,
         quantized=True, granularity="name", precision="fixed<23,7>",
         layer_precision={"input_layer": {"result": "fixed<8,1>"}},
         hls4ml_layers={"qsepconv_1": {"Precision": {"dw_output": "fixed<15,4>"}}})


# -- test_cnn_mnist_qkeras.py ----------------------------------------------------
for _strategy in ("resource", "latency"):  # the test runs both io types with each
    case("cnn_mnist_qkeras", "accuracy", _strategy, lambda: _example("qkeras_mnist_cnn"), rand(1000, 28, 28, 1),
         IO_TYPES, argmax(0.99), quantized=True, granularity="name", strategy=_strategy,
         hls4ml_layers={"softmax": {"Strategy": "Stable"}},
         note="MNIST replaced by uniform random images; the test's 'accuracy within 1% of Keras on the labels' "
              "becomes argmax agreement with Keras >= 99%")


# -- test_activations.py ---------------------------------------------------------
def _activation_model(name, shape):
    def build():
        K = _keras()
        L = K.layers
        layer = {"relu": lambda: L.ReLU(), "leaky_relu": lambda: L.LeakyReLU(alpha=1.5),
                 "leaky_relu_act": lambda: L.Activation("leaky_relu"),
                 "threshold_relu": lambda: L.ThresholdedReLU(theta=0.75), "elu": lambda: L.ELU(alpha=1.25),
                 "selu": lambda: L.Activation("selu"),
                 "prelu": lambda: L.PReLU(alpha_initializer=K.initializers.constant(0.25)),
                 "softplus": lambda: L.Activation("softplus"), "softsign": lambda: L.Activation("softsign"),
                 "tanh": lambda: L.Activation("tanh"), "sigmoid": lambda: L.Activation("sigmoid"),
                 "hard_sigmoid": lambda: L.Activation("hard_sigmoid")}[name]()
        inputs = L.Input(shape=shape)
        return K.Model(inputs=inputs, outputs=layer(inputs))
    return build


for _name in ("relu", "leaky_relu", "leaky_relu_act", "threshold_relu", "elu", "selu", "prelu", "softplus", "softsign",
              "tanh", "sigmoid", "hard_sigmoid"):
    for _shape, _io in (((8,), IO_TYPES), ((8, 8, 3), STREAM)):
        if _name == "prelu" and len(_shape) == 3:
            continue  # the test skips it
        case("activations", "activations", f"{_name}-{'x'.join(map(str, _shape))}", _activation_model(_name, _shape),
             rand(1000, *_shape, shift=0.5), _io, allclose(rtol=2e-2, atol=2e-2), granularity="name")


# -- test_keras_api.py -----------------------------------------------------------
def _api_dense():
    K = _keras()
    return K.Sequential([
        K.layers.Dense(2, input_shape=(1,), name="Dense", kernel_initializer=K.initializers.RandomUniform(1, 10),
                       bias_initializer="zeros"),
        K.layers.Activation(activation="elu", name="Activation")])


case("keras_api", "dense", "", _api_dense, rand(100, 1), IO_TYPES, allclose(rtol=1e-2, atol=0.01))


def _api_activation(name):
    def build():
        K = _keras()
        L = K.layers
        activation = {"relu": lambda: L.Activation("relu", name="relu"), "leaky_relu": lambda: L.LeakyReLU(alpha=1.0),
                      "elu": lambda: L.ELU(alpha=1.0), "prelu": lambda: L.PReLU(alpha_initializer="zeros"),
                      "sigmoid": lambda: L.Activation("sigmoid", name="sigmoid")}[name]()
        return K.Sequential([L.Dense(64, input_shape=(1,), name="Dense", kernel_initializer="lecun_uniform"),
                             activation])
    return build


for _name in ("relu", "leaky_relu", "elu", "prelu", "sigmoid"):
    case("keras_api", "activations", _name, _api_activation(_name), rand(100, 1), IO_TYPES,
         allclose(rtol=1e-2, atol=0.01))


def _api_conv(rank, padding):
    def build():
        K = _keras()
        if rank == 1:
            return K.Sequential([
                K.layers.Conv1D(filters=32, kernel_size=3, strides=1, padding=padding, activation="relu",
                                input_shape=(128, 4), kernel_initializer="normal", use_bias=False),
                K.layers.Activation(activation="relu")])
        return K.Sequential([K.layers.Conv2D(filters=32, kernel_size=(4, 4), strides=(4, 4), padding=padding,
                                             input_shape=(28, 28, 3), kernel_initializer="normal", use_bias=False)])
    return build


for _padding in ("same", "valid"):
    case("keras_api", "conv1d", _padding, _api_conv(1, _padding), rand(10, 128, 4), IO_TYPES,
         allclose(rtol=0, atol=5e-2))
    case("keras_api", "conv2d", _padding, _api_conv(2, _padding), rand(100, 28, 28, 3), IO_TYPES,
         allclose(rtol=0, atol=5e-2))


def _api_depthwise(rank):
    def build():
        K = _keras()
        if rank == 2:
            return K.Sequential([K.layers.DepthwiseConv2D(kernel_size=(3, 3), input_shape=(32, 32, 3))])
        return K.Sequential([K.layers.DepthwiseConv1D(kernel_size=3, input_shape=(32, 3))])
    return build


case("keras_api", "depthwise2d", "", _api_depthwise(2), rand(10, 32, 32, 3, grid=10), STREAM,
     allclose(rtol=1e-2, atol=0.01, reference="tool"), granularity="name", precision="fixed<32,12>")
case("keras_api", "depthwise1d", "", _api_depthwise(1), rand(10, 32, 3, grid=10), STREAM,
     allclose(rtol=1e-2, atol=0.01, reference="tool"), granularity="name")


def _api_pooling(kind, padding):
    def build():
        K = _keras()
        shape = (18, 15, 3) if kind.endswith("2D") else (121, 3)
        return K.Sequential([getattr(K.layers, kind)(padding=padding, input_shape=shape)])
    return build


for _kind in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
    for _padding in ("same", "valid"):
        case("keras_api", "pooling", f"{_kind}-{_padding}", _api_pooling(_kind, _padding),
             rand(100, *((18, 15, 3) if _kind.endswith("2D") else (121, 3))), PARALLEL, allclose(rtol=0, atol=3e-2))


# -- test_merge.py ---------------------------------------------------------------
def _merge(kind, swap):
    def build():
        K = _keras()
        in1 = K.layers.Input(shape=(10, 10, 3), name="inp1")
        in2 = K.layers.Input(shape=(10, 10, 3), name="inp2")
        out = getattr(K.layers, kind)()([in2, in1] if swap else [in1, in2])
        return K.Model(inputs=[in1, in2], outputs=out)
    return build


for _kind in ("Add", "Average", "Maximum", "Minimum", "Multiply", "Subtract"):
    for _swap in (True, False):
        case("merge", "merge", f"{_kind}-{'swapped' if _swap else 'in_order'}", _merge(_kind, _swap),
             rand(100, 10, 10, 3, inputs=2), IO_TYPES, allclose(rtol=0, atol=0.001), granularity="manual",
             precision="fixed<32,16>", layer_precision={"inp2": "fixed<32,15>"})


def _two_inputs(shape1, shape2, make):
    def build():
        K = _keras()
        in1, in2 = K.layers.Input(shape=shape1), K.layers.Input(shape=shape2)
        return K.Model(inputs=[in1, in2], outputs=make(K)([in1, in2]))
    return build


def _two_rand(shape1, shape2):
    return Inputs(lambda rng: [rng.random((100,) + shape1), rng.random((100,) + shape2)],
                  f"rand(100, {shape1}), rand(100, {shape2})")


case("merge", "dot", "axes1", _two_inputs((10,), (10,), lambda K: K.layers.Dot(axes=1)), rand(100, 10, inputs=2),
     PARALLEL, allclose(rtol=0, atol=0.001), precision="ap_fixed<32,16>")
case("merge", "concatenate1d", "", _two_inputs((10,), (8,), lambda K: K.layers.Concatenate()),
     _two_rand((10,), (8,)), IO_TYPES, allclose(rtol=0, atol=0.001), precision="ap_fixed<32,16>")
for _axis in (1, 2):
    _s1, _s2 = [10, 3], [10, 4]
    _s1.insert(_axis - 1, _s1.pop(1))
    _s2.insert(_axis - 1, _s2.pop(1))
    case("merge", "concatenate2d", f"axis{_axis}",
         _two_inputs(tuple(_s1), tuple(_s2), lambda K, a=_axis: K.layers.Concatenate(axis=a)),
         _two_rand(tuple(_s1), tuple(_s2)), IO_TYPES, allclose(rtol=0, atol=0.001), precision="ap_fixed<32,16>")
for _axis in (1, 2, 3):
    _s1, _s2 = [10, 10, 3], [10, 10, 4]
    _s1.insert(_axis - 1, _s1.pop(2))
    _s2.insert(_axis - 1, _s2.pop(2))
    case("merge", "concatenate3d", f"axis{_axis}",
         _two_inputs(tuple(_s1), tuple(_s2), lambda K, a=_axis: K.layers.Concatenate(axis=a)),
         _two_rand(tuple(_s1), tuple(_s2)), IO_TYPES, allclose(rtol=0, atol=0.001), precision="ap_fixed<32,16>")


# -- test_pooling.py -------------------------------------------------------------
def _pooling(rank, kind, padding, strides):
    def build():
        K = _keras()
        if rank == 1:
            shape = (124, 5)
            if kind == "avg":
                layer = K.layers.AveragePooling1D(pool_size=3, input_shape=shape, padding=padding, strides=strides)
            else:  # the test gives MaxPooling1D no strides
                layer = K.layers.MaxPooling1D(pool_size=3, input_shape=shape, padding=padding)
        else:
            shape = (124, 124, 5)
            layer = {"avg": K.layers.AveragePooling2D, "max": K.layers.MaxPooling2D}[kind](
                input_shape=shape, padding=padding, strides=strides)
        return K.Sequential([layer])
    return build


for _rank in (1, 2):
    for _kind, _padding, _strides, _io in (
            ("max", "valid", None, IO_TYPES), ("max", "same", None, PARALLEL), ("avg", "valid", None, IO_TYPES),
            ("avg", "same", None, PARALLEL), ("max", "same", 4 if _rank == 1 else (4, 2), PARALLEL),
            ("avg", "valid", 1 if _rank == 1 else (1, 3), PARALLEL)):
        # test_pool{1,2}d runs these in io_parallel; test_pool{1,2}d_stream the two 'valid' ones in io_stream
        _param = f"{_kind}-{_padding}" + (f"-strides{_strides if _rank == 1 else ''.join(map(str, _strides))}"
                                          if _strides else "")
        case("pooling", f"pool{_rank}d", _param, _pooling(_rank, _kind, _padding, _strides),
             rand(100, *((124, 5) if _rank == 1 else (124, 124, 5))), _io, allclose(rtol=0, atol=5e-3),
             granularity="name", precision="ap_fixed<32,9>")


# -- test_globalpooling.py -------------------------------------------------------
def _global_pooling(rank, kind, keepdims):
    def build():
        K = _keras()
        name = f"Global{'Average' if kind == 'avg' else 'Max'}Pooling{rank}D"
        shape = (18, 6) if rank == 1 else (18, 18, 6)
        return K.Sequential([getattr(K.layers, name)(input_shape=shape, keepdims=keepdims)])
    return build


for _rank in (1, 2):
    for _kind in ("max", "avg"):
        for _keepdims in (True, False):
            case("globalpooling", f"global_pool{_rank}d", f"{_kind}-keepdims{_keepdims}",
                 _global_pooling(_rank, _kind, _keepdims), rand(100, *((18, 6) if _rank == 1 else (18, 18, 6))),
                 IO_TYPES, allclose(rtol=0, atol=5e-3), granularity="name", precision="ap_fixed<32,9>")


# -- test_sepconv1d/2d.py, test_depthconv1d/2d.py --------------------------------
def _sep_or_depth(kind, rank, padding, stride, kernel):
    def build():
        K = _keras()
        shape = (16, 4) if rank == 1 else (16, 16, 3)
        name = f"{'Separable' if kind == 'sepconv' else 'Depthwise'}Conv{rank}D"
        kw = dict(kernel_size=kernel, strides=stride, padding=padding, input_shape=shape, kernel_initializer="normal",
                  use_bias=False, data_format="channels_last")
        if kind == "sepconv":
            kw["filters"] = 8
        return K.Sequential([getattr(K.layers, name)(**kw)])
    return build


for _kind in ("sepconv", "depthconv"):
    for _rank in (1, 2):
        for _padding in ("same", "valid"):
            for _stride in (1, 2):
                for _kernel in (2, 3):
                    # the tests' reuse factors and strategies only shape hls4ml's streaming
                    # convolution; hlsflow unrolls convolutions, so one case per model
                    case(f"{_kind}{_rank}d", f"{_kind}{_rank}d", f"{_padding}-s{_stride}-k{_kernel}",
                         _sep_or_depth(_kind, _rank, _padding, (_stride,) * _rank, (_kernel,) * _rank),
                         rand(100, *((16, 4) if _rank == 1 else (16, 16, 3))), IO_TYPES,
                         allclose(rtol=0, atol=0.001), precision="ap_fixed<32,8>",
                         granularity="name" if (_kind, _rank) == ("sepconv", 2) else "model")


# -- test_softmax.py -------------------------------------------------------------
def _softmax_data(*shape):
    def generate(rng):
        d = rng.normal(0, 2, shape)
        # the test's `randint(0, 1, shape) < 0.05` is true everywhere: every entry becomes d * 5 + 10
        return [np.clip(d * 5 + 10, -32, 31)]
    return Inputs(generate, f"clip(normal(0, 2, {shape}) * 5 + 10, -32, 31)")


def _lone_activation(activation, shape):
    def build():
        K = _keras()
        return K.Sequential([K.layers.Activation(input_shape=shape, activation=activation, name=activation)])
    return build


for _in_bits, _shape, _table, _accum, _io in (
        ("16,6", (8,), "18,8", False, IO_TYPES), ("16,6", (8,), "18,8", True, IO_TYPES),
        ("16,6", (8,), "9,6", False, IO_TYPES), ("9,6", (8,), "18,8", False, IO_TYPES),
        ("16,6", (8, 8, 3), "18,8", False, STREAM)):
    _table_t = f"fixed<{_table}, RND, SAT>"
    _softmax = {"Strategy": "stable", "inv_table_t": _table_t, "exp_table_t": _table_t, "accum_t": _table_t,
                "inv_inp_t": _table_t}
    if _accum:
        _w, _i = map(int, _in_bits.split(","))
        _softmax.update(accum_t=f"fixed<{_w + 3},{_i + 3}>", inv_inp_t=f"fixed<{_w + 2},{_i + 2}>")
    case("softmax", "softmax", f"in{_in_bits}-{'x'.join(map(str, _shape))}-table{_table}{'-accum' if _accum else ''}",
         _lone_activation("softmax", _shape), _softmax_data(5000, *_shape), _io, argmax(0.98), granularity="name",
         layer_precision={"softmax_input": {"result": f"fixed<{_in_bits}>"}}, hls4ml_layers={"softmax": _softmax},
         note="strategies stable/latency/argmax collapsed to hls4ml's default 'stable'")


# -- test_softsign.py ------------------------------------------------------------
for _shape, _io in (((8,), IO_TYPES), ((8, 8, 3), STREAM)):
    case("softsign", "softsign", "x".join(map(str, _shape)), _lone_activation("softsign", _shape),
         rand(1000, *_shape, grid=10), _io, argmax(0.96), granularity="name", precision="fixed<20,4>",
         hls4ml_layers={"softsign": {"table_t": "fixed<20,4>", "table_size": 2048}})


# -- test_batchnorm.py -----------------------------------------------------------
def _batchnorm(affine):
    def build():
        K = _keras()
        return K.Sequential([K.layers.BatchNormalization(input_shape=(16,), center=affine, scale=affine)])
    return build


for _affine in (True, False):
    case("batchnorm", "batchnorm", f"center_scale{_affine}", _batchnorm(_affine), rand(100, 16), IO_TYPES,
         allclose(rtol=0, atol=5e-3), granularity="name", precision="fixed<32,1>")


# -- test_binary_cnn.py ----------------------------------------------------------
def _binary_cnn():
    K, Q = _keras(), _qkeras()
    L, l2 = K.layers, K.regularizers.l2
    x_in = L.Input(shape=(28, 28, 1))
    x = Q.QConv2D(4, (3, 3), kernel_quantizer="binary", name="conv2d_1", kernel_regularizer=l2(0.0001), use_bias=True,
                  bias_quantizer="quantized_bits(5,2)")(x_in)
    x = Q.QBatchNormalization()(x)
    x = Q.QActivation("binary", name="act1")(x)
    x = Q.QConv2D(8, (3, 3), kernel_quantizer="binary", name="conv2d_2", kernel_regularizer=l2(0.0001),
                  use_bias=False)(x)
    x = Q.QBatchNormalization()(x)
    x = Q.QActivation("binary", name="act2")(x)
    x = L.MaxPooling2D(pool_size=(2, 2))(x)
    x = Q.QConv2D(8, (3, 3), kernel_quantizer="binary", name="conv2d_3", kernel_regularizer=l2(0.0001),
                  use_bias=False)(x)
    x = Q.QBatchNormalization()(x)
    x = Q.QActivation("binary", name="act3")(x)
    x = L.MaxPooling2D(pool_size=(2, 2))(x)
    x = L.Flatten()(x)
    x = Q.QDense(10, kernel_quantizer="binary", name="q_dense_6", use_bias=False)(x)
    x = Q.QBatchNormalization()(x)
    x = Q.QActivation("binary_tanh", name="act4")(x)
    x = Q.QDense(10, kernel_quantizer="binary", activation="linear", name="q_dense_7", use_bias=False)(x)
    return K.Model(inputs=x_in, outputs=x)


for _strategy in ("resource", "latency"):
    case("binary_cnn", "binary_cnn", _strategy, _binary_cnn, rand(100, 28, 28, 1, grid=10), IO_TYPES,
         allclose(rtol=1e-2, atol=0.01), quantized=True, granularity="name", precision="fixed<32,12>",
         strategy=_strategy, layer_reuse={"q_dense_6": 2000, "q_dense_7": 100} if _strategy == "resource" else {},
         hls4ml_layers={"conv2d_1": {"ReuseFactor": 9}, "conv2d_2": {"ReuseFactor": 36},
                        "conv2d_3": {"ReuseFactor": 72}, "q_dense_6": {"ReuseFactor": 2000},
                        "q_dense_7": {"ReuseFactor": 100}})


# -- test_transpose_concat.py ----------------------------------------------------
def _transpose_concat():
    K = _keras()
    L = K.layers
    inp = L.Input(shape=(2, 3), name="input_1")
    x = L.Permute((2, 1))(inp)
    y = L.Concatenate(axis=1)([x, x])
    x = L.Activation("relu", name="relu")(x)
    out = L.Concatenate(axis=1)([x, y])
    return K.Model(inputs=inp, outputs=out)


def _highdim_permute():
    K = _keras()
    inp = K.layers.Input(shape=(2, 3, 4, 5, 6), name="input_1")
    return K.Model(inputs=inp, outputs=K.layers.Permute((3, 5, 4, 1, 2))(inp))


case("transpose_concat", "accuracy", "", _transpose_concat, rand(100, 2, 3), IO_TYPES, allclose(rtol=0, atol=1e-4),
     granularity="name", precision="ap_fixed<16,3,AP_RND_CONV,AP_SAT>", layer_precision={"relu": "ap_ufixed<17,3>"})
case("transpose_concat", "highdim_permute", "", _highdim_permute,
     Inputs(lambda rng: [rng.integers(-128, 127, (100, 2, 3, 4, 5, 6)) / 128],
            "randint(-128, 127, (100, 2, 3, 4, 5, 6)) / 128"),
     IO_TYPES, EQUAL)


# -- test_multi_dense.py ---------------------------------------------------------
def _multi_dense(shape):
    def build():
        K = _keras()
        return K.Sequential([K.layers.Dense(7, input_shape=shape, activation="relu"),
                             K.layers.Dense(2, activation="relu")])
    return build


for _shape in ((4, 3), (4, 1), (2, 3, 2), (1, 3, 1)):
    for _strategy in ("latency", "resource"):
        case("multi_dense", "multi_dense", f"{'x'.join(map(str, _shape))}-{_strategy}", _multi_dense(_shape),
             rand(100, *_shape, grid=10), IO_TYPES, allclose(rtol=1e-2, atol=0.01), granularity="name",
             strategy=_strategy)


# -- test_conv1d.py --------------------------------------------------------------
for _strategy in ("resource", "latency"):
    case("conv1d", "accuracy", _strategy, lambda: _example("KERAS_conv1d_small"), rand(1000, 10, 4), IO_TYPES,
         Tolerance("mae", limit=9e-3), granularity="manual", precision="ap_fixed<16,3,AP_RND_CONV,AP_SAT>",
         strategy=_strategy,
         layer_precision={"fc1_relu": {"weight": "ap_fixed<16,3>", "result": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"},
                          "output_softmax": {"weight": "ap_fixed<16,6>",
                                             "result": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"}},
         hls4ml_layers={"output_softmax_softmax": {"Strategy": "Stable"}},
         note="the test gives Vitis ac_fixed types (it checks for 'Vivado' only); the ap_fixed ones are meant")


# -- test_cropping.py, test_zeropadding.py, test_upsampling.py -------------------
def _reshaping(kind, rank):
    def build():
        K = _keras()
        L = K.layers
        if rank == 1:
            shape, layer = (8, 4), {"cropping": lambda: L.Cropping1D(cropping=(3, 4), input_shape=(8, 4)),
                                    "zeropadding": lambda: L.ZeroPadding1D(padding=(3, 4), input_shape=(8, 4)),
                                    "upsampling": lambda: L.UpSampling1D(size=2, input_shape=(8, 4))}[kind]
        else:
            layer = {"cropping": lambda: L.Cropping2D(cropping=((1, 2), (3, 4)), input_shape=(6, 8, 4)),
                     "zeropadding": lambda: L.ZeroPadding2D(padding=((1, 2), (3, 4)), input_shape=(6, 8, 4)),
                     "upsampling": lambda: L.UpSampling2D(size=(2, 2), input_shape=(6, 8, 4))}[kind]
        return K.Sequential([layer()])
    return build


for _kind in ("cropping", "zeropadding", "upsampling"):
    for _rank in (1, 2):
        case(_kind, _kind, f"{_rank}d", _reshaping(_kind, _rank), rand(100, *((8, 4) if _rank == 1 else (6, 8, 4))),
             IO_TYPES, allclose(rtol=0, atol=5e-3), granularity="name", precision="ap_fixed<32,1>")


# -- test_reshape.py -------------------------------------------------------------
def _reshape():
    K = _keras()
    L = K.layers
    return K.Sequential([L.Input(shape=(10,)), L.Dense(10 * 3), L.Reshape((10, 3)), L.ReLU()])


case("reshape", "reshape_parallel", "", _reshape, rand(20, 10), IO_TYPES, allclose(atol=0.02, reference="tool"),
     precision="fixed<32,16>")


# -- test_pointwiseconv.py -------------------------------------------------------
def _pointwise(rank, padding, strides):
    def build():
        K = _keras()
        if rank == 1:
            return K.Sequential([K.layers.Conv1D(filters=32, kernel_size=(1,), strides=strides, padding=padding,
                                                 input_shape=(28, 3), kernel_initializer="normal", use_bias=False,
                                                 name="pointwise1d")])
        return K.Sequential([K.layers.Conv2D(filters=32, kernel_size=(1, 1), strides=strides, padding=padding,
                                             input_shape=(28, 28, 3), kernel_initializer="normal", use_bias=False,
                                             name="pointwise2d")])
    return build


for _rank in (1, 2):
    for _padding in ("same", "valid"):
        for _stride in (1, 2):
            case("pointwiseconv", f"pointwiseconv{_rank}d", f"{_padding}-s{_stride}",
                 _pointwise(_rank, _padding, (_stride,) * _rank), rand(100, *((28, 3) if _rank == 1 else (28, 28, 3))),
                 IO_TYPES, allclose(rtol=0, atol=0.001), precision="fixed<32,16>" if _rank == 1 else "fixed<32,9>",
                 granularity="name" if _rank == 1 else "model")


# -- test_causalpadding.py -------------------------------------------------------
def _causal():
    K = _keras()
    return K.Sequential([K.layers.Conv1D(1, 5, padding="causal", input_shape=(100, 1))])


case("causalpadding", "causalpadding", "", _causal, integers(0, 10, 1, 100, 1), IO_TYPES, allclose(rtol=0, atol=5e-3),
     granularity="name", precision="ap_fixed<32,16>")


# -- test_clone_flatten.py -------------------------------------------------------
def _clone_flatten():
    K = _keras()
    L = K.layers
    inp = L.Input(shape=(2, 3), name="input_1")
    return K.Model(inputs=inp, outputs=L.Concatenate(axis=1)([L.Flatten()(inp), L.Flatten()(inp)]))


case("clone_flatten", "accuracy", "", _clone_flatten, integers(-5, 5, 1, 2, 3), STREAM, EQUAL, granularity="name",
     precision="ap_int<6>")


# -- test_stream_clone.py --------------------------------------------------------
def _multi_clone():
    K = _keras()
    L = K.layers
    inp = L.Input(shape=(10,))
    a = L.Dense(10, name="dense_5_copies")(inp)
    b, c, d, e, f, g = (L.Dense(10)(inp) for _ in range(6))
    ab = L.Add(name="add_4_copies")([a, b])
    ac, ad, ae, af, ag = (L.Add()([a, t]) for t in (c, d, e, f, g))
    abac = L.Add(name="add_3_copies")([ab, ac])
    abad, abae, abaf, abag = (L.Add()([ab, t]) for t in (ad, ae, af, ag))
    abacabad = L.Add(name="add_2_copies")([abac, abad])
    abacabae, abacabaf, abacabag = (L.Add()([abac, t]) for t in (abae, abaf, abag))
    x16e, x16f, x16g = (L.Add()([abacabad, t]) for t in (abacabae, abacabaf, abacabag))
    x32f, x32g = L.Add()([x16e, x16f]), L.Add()([x16e, x16g])
    return K.Model(inp, L.Add()([x32f, x32g]))


def _clone_inheritance():
    K = _keras()
    L = K.layers
    inp = L.Input(shape=(10,), name="inp")
    return K.Model(inp, L.Add(name="out")([L.Dense(10, name="x")(inp), L.Dense(10, name="y")(inp)]))


_clone_data = normal(100, 10, std=0.2, clip=(-2, 2), grid=21)
case("stream_clone", "multi_clone", "", _multi_clone, _clone_data, STREAM,
     allclose(rtol=0, atol=1e-4, reference="tool"), granularity="name", precision="fixed<24,3>")
case("stream_clone", "clone_precision_inheritance", "", _clone_inheritance, _clone_data, STREAM,
     allclose(rtol=0, atol=1e-5, reference="tool"), granularity="manual", precision="fixed<1,0>",
     layer_precision={name: "fixed<32,5>" for name in ("inp", "x", "x_linear", "y", "y_linear", "out")})


# -- test_repack_stream.py -------------------------------------------------------
def _repack():
    K = _keras()
    L = K.layers
    inp1, inp2 = L.Input(shape=(4,), name="inp1"), L.Input(shape=(4,), name="inp2")
    r1, r2 = L.Reshape((2, 2), name="reshape1")(inp1), L.Reshape((2, 2), name="reshape2")(inp2)
    return K.Model([inp1, inp2], L.Concatenate(name="concat")([r1, r2]))


case("repack_stream", "repack", "", _repack, integers(0, 2 ** 8, 100, 4, inputs=2), STREAM, EQUAL,
     granularity="manual", precision="ap_ufixed<8,8>",
     note="the test compares with numpy's concatenation of the inputs, which is Keras's output")


# -- test_multiout_network.py ----------------------------------------------------
def _multi_output():
    K = _keras()
    inp = K.layers.Input(shape=(10,))
    return K.Model(inp, [K.layers.Dense(10, name="dense1")(inp), K.layers.Dense(10, name="dense2")(inp)])


def _multi_output_corner():
    K = _keras()
    L = K.layers
    in1, in2 = L.Input(shape=(24, 8)), L.Input(shape=(16,))
    out1 = L.Flatten()(L.Conv1D(1, 3)(in1))
    out2 = L.Add()([L.Dense(16, activation="relu")(out1), in2])
    out3 = L.Dense(2)(out1)
    out4 = L.Flatten()(L.Dense(2)(out2))
    return K.Model(inputs=[in1, in2], outputs=[out1, out2, out3, out4])


case("multiout_network", "multi_output_nn", "", _multi_output, normal(1000, 10, clip=(-16, 15)), IO_TYPES,
     allclose(rtol=0, atol=1e-5, reference="tool"), granularity="manual", precision="fixed<32,5>")
for _strategy in ("latency", "resource"):
    case("multiout_network", "multi_output_nn_corner_cases", _strategy, _multi_output_corner,
         Inputs(lambda rng: [np.clip(rng.normal(0, 1, (1000, 24, 8)), -16, 15),
                             np.clip(rng.normal(0, 1, (1000, 16)), -16, 15)],
                "normal(0, 1, (1000, 24, 8)), normal(0, 1, (1000, 16)), clipped to (-16, 15)"),
         IO_TYPES, allclose(rtol=0, atol=1e-5, reference="tool"), granularity="manual", precision="fixed<32,5>",
         strategy=_strategy)


# -- test_bit_exact_zeropadding.py (HGQ2 in hls4ml; here the same structure in QKeras) --
def _quantized_zeropadding(rank):
    def build():
        K, Q = _keras(), _qkeras()
        L = K.layers
        q = Q.quantized_bits(9, 4, alpha=1)  # HGQ2's QuantizerConfigScope(f0=4, i0=4): sign + 4 + 4 bits
        conv = Q.QConv1D if rank == 1 else Q.QConv2D
        inp = L.Input((16, 8) if rank == 1 else (8, 8, 4))
        x = Q.QActivation(q, name="c0_input")(inp)
        x = conv(4 if rank == 1 else 8, 1, kernel_quantizer=q, bias_quantizer=q, name="c0")(x)
        x = L.ZeroPadding1D(padding=(2, 0))(x) if rank == 1 else L.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
        x = Q.QActivation(q, name="c1_input")(x)
        out = conv(4 if rank == 1 else 8, 3, padding="valid", kernel_quantizer=q, bias_quantizer=q, name="c1")(x)
        return K.Model(inp, out)
    return build


for _rank, _shape in ((1, (1000, 16, 8)), (2, (500, 8, 8, 4))):
    case("bit_exact_zeropadding", f"bit_exact_zeropadding{_rank}d", "", _quantized_zeropadding(_rank),
         Inputs(lambda rng, s=_shape: [rng.standard_normal(s)], f"standard_normal({_shape})"), PARALLEL, EQUAL,
         quantized=True, granularity="name", hls4ml_kwargs={"bit_exact": True},
         note="HGQ2 QConv layers with 4 integer and 4 fractional bits become QKeras quantized_bits(9, 4) on "
              "each convolution's input, kernel and bias; hls4ml gets its bit-exact flow")


# -- test_conv1d_narrow.py, test_conv2d_narrow.py --------------------------------
def _narrow(rank):
    def build():
        K = _keras()
        if rank == 1:
            return K.Sequential([K.layers.Conv1D(5, 9, input_shape=(11, 3))])
        return K.Sequential([K.layers.Conv2D(5, (4, 4), input_shape=(5, 5, 3))])
    return build


for _rank in (1, 2):
    case(f"conv{_rank}d_narrow", "narrow", "", _narrow(_rank), rand(10, *((11, 3) if _rank == 1 else (5, 5, 3))),
         IO_TYPES, allclose(atol=0.05, reference="tool"),
         note="strategies and Encoded/LineBuffer implementations collapsed (hls4ml-only choices)")


# -- test_dense_unrolled.py ------------------------------------------------------
def _unrolled_dense():
    K = _keras()
    return K.Sequential([K.layers.Dense(12, input_shape=(16,), kernel_initializer="lecun_uniform",
                                        bias_initializer="lecun_uniform", name="dense")])


def _unrolled_conv(dim):
    def build():
        K = _keras()
        conv = K.layers.Conv1D if dim == 1 else K.layers.Conv2D
        return K.Sequential([conv(4, (3,) * dim, input_shape=(8,) * dim + (3,), kernel_initializer="lecun_uniform",
                                  bias_initializer="lecun_uniform"),
                             K.layers.Flatten(),
                             K.layers.Dense(1, kernel_initializer="lecun_uniform", bias_initializer="lecun_uniform")])
    return build


for _rf in (1, 2, 4, 8, 16, 32, 48, 64, 96, 192):
    case("dense_unrolled", "resource_unrolled_dense", f"rf{_rf}", _unrolled_dense, rand(100, 16), IO_TYPES,
         allclose(rtol=0, atol=1e-2), precision="ac_fixed<32, 16>", strategy="resource", reuse_factor=_rf,
         hls4ml_model={"Strategy": "ResourceUnrolled"})
for _dim in (1, 2):
    for _rf in (1, 3, 9, 27, 54, 108):
        case("dense_unrolled", "resource_unrolled_streaming_conv", f"{_dim}d-rf{_rf}", _unrolled_conv(_dim),
             rand(100, *((8,) * _dim + (3,))), STREAM, allclose(rtol=0, atol=1e-2), precision="ac_fixed<32, 16>",
             strategy="resource", reuse_factor=_rf, hls4ml_model={"Strategy": "ResourceUnrolled"})


# -- test_keras_nested_model.py --------------------------------------------------
def _nested():
    K = _keras()
    L = K.layers
    seq_sub = K.Sequential(name="seq_sub")
    seq_sub.add(L.Dense(5, activation="linear", input_shape=(5,), name="seq_sub_dense_1"))
    seq_sub.add(L.Dense(3, activation="linear", name="seq_sub_dense_2"))
    fun_input = L.Input(shape=(8,), name="fun_input")
    fun_x = L.Dense(6, activation="linear", name="fun_sub_dense_2")(
        L.Dense(7, activation="linear", name="fun_sub_dense_1")(fun_input))
    fun_sub = K.Model(inputs=fun_input, outputs=fun_x, name="fun_sub")
    inp = L.Input(shape=(15,), name="model_input")
    x = seq_sub(L.Dense(5, activation="linear", name="fun_first_dense")(inp))
    x = fun_sub(L.Dense(8, activation="linear", name="fun_middle_dense")(x))
    return K.Model(inputs=inp, outputs=L.Dense(4, activation="linear", name="fun_last_dense")(x), name="fun_model")


def _sub_nested():
    K = _keras()
    L = K.layers

    def dense(n, name, **kw):
        return L.Dense(n, activation="linear", name=name, **kw)

    def functional(n_in, name, prefix, sizes):
        inp = L.Input(shape=(n_in,), name=f"{prefix}_input")
        x = dense(sizes[1], f"{prefix}_sub_dense_2")(dense(sizes[0], f"{prefix}_sub_dense_1")(inp))
        return K.Model(inputs=inp, outputs=x, name=name)

    def sequential(n_in, name, prefix, sizes):
        model = K.Sequential(name=name)
        model.add(dense(sizes[0], f"{prefix}_sub_dense_1", input_shape=(n_in,)))
        model.add(dense(sizes[1], f"{prefix}_sub_dense_2"))
        return model

    fun_input = L.Input(shape=(10,), name="fun_input")
    x = sequential(5, "fun_model_seq_sub", "fun_seq", (5, 3))(dense(5, "fun_first_dense")(fun_input))
    x = functional(8, "fun_model_fun_sub", "fun_fun", (7, 6))(dense(8, "fun_middle_dense")(x))
    fun_model = K.Model(inputs=fun_input, outputs=dense(4, "fun_last_dense")(x), name="fun_model")
    seq_model = K.Sequential(name="seq_model")
    seq_model.add(dense(2, "seq_first_dense", input_shape=(6,)))
    seq_model.add(functional(2, "seq_model_fun_sub", "seq_fun", (9, 3)))
    seq_model.add(dense(2, "seq_middle_dense"))
    seq_model.add(sequential(2, "seq_model_seq_sub", "seq_seq", (5, 7)))
    seq_model.add(dense(2, "seq_last_dense"))
    model = K.Sequential()
    model.add(dense(10, "first_dense", input_shape=(15,)))
    model.add(fun_model)
    model.add(dense(6, "middle_dense"))
    model.add(seq_model)
    model.add(dense(4, "last_dense"))
    return model


case("keras_nested_model", "nested_model", "", _nested, rand(20, 15), IO_TYPES,
     allclose(rtol=1e-2, atol=0.02, reference="tool"), precision="fixed<24,12>")
case("keras_nested_model", "sub_nested_model", "", _sub_nested, rand(20, 15), IO_TYPES,
     allclose(rtol=1e-2, atol=0.02, reference="tool"), precision="fixed<24,12>")


# -- sequence layers (issue 15) --------------------------------------------------
# test_dense_unrolled.py: recurrent layers with the resource-unrolled strategy
def _unrolled_rnn(kind):
    def build():
        K = _keras()
        init = dict(kernel_initializer="lecun_uniform", recurrent_initializer="lecun_uniform",
                    bias_initializer="lecun_uniform")
        return K.Sequential([getattr(K.layers, kind)(units=8, input_shape=(12, 8), return_sequences=False,
                                                    name=kind.lower(), **init)])
    return build


for _kind in ("LSTM", "GRU"):
    for _rf in (1, 4, 32, 128):
        case("dense_unrolled", "resource_unrolled_rnn", f"{_kind}-rf{_rf}", _unrolled_rnn(_kind),
             rand(50, 12, 8, shift=0.5, grid=16), IO_TYPES, allclose(rtol=0, atol=5e-2), granularity="name",
             precision="ap_fixed<32,16>", layer_reuse={_kind.lower(): _rf}, strategy="resource",
             hls4ml_layers={_kind.lower(): {"Strategy": "ResourceUnrolled", "ReuseFactor": _rf}}, issue=15,
             note="hls4ml's static True/False collapsed (an hls4ml implementation choice)")


# test_rnn.py
def _rnn(kind, return_sequences):
    def build():
        K = _keras()
        L = K.layers
        init = dict(kernel_initializer="lecun_uniform", recurrent_initializer="lecun_uniform",
                    bias_initializer="lecun_uniform", return_sequences=return_sequences)
        if kind == "Bidirectional":
            layer = L.Bidirectional(L.LSTM(units=15, **init), backward_layer=L.GRU(units=17, go_backwards=True, **init),
                                    name=kind)
        else:
            layer = getattr(L, kind)(units=32, name=kind, **init)
        return K.Sequential([L.Input(shape=(12, 8)), layer])
    return build


for _kind, _io in (("SimpleRNN", PARALLEL), ("LSTM", IO_TYPES), ("GRU", IO_TYPES), ("Bidirectional", PARALLEL)):
    for _seq in (True, False):
        case("rnn", "rnn_accuracy", f"{_kind}-return_sequences{_seq}", _rnn(_kind, _seq),
             rand(50, 12, 8, shift=0.5), _io, allclose(rtol=0, atol=5e-2), granularity="name",
             precision="ap_fixed<32,16>", issue=15, note="hls4ml's static and strategy choices collapsed")


# test_time_distributed.py
def _time_distributed(kind):
    def build():
        K = _keras()
        L = K.layers
        if kind == "layer":
            inputs = L.Input(shape=(5, 10, 10, 3))
            x = L.TimeDistributed(L.Conv2D(4, (3, 3), kernel_initializer="ones", use_bias=False))(inputs)
            return K.Model(inputs, L.TimeDistributed(L.MaxPooling2D((2, 2)))(x))
        if kind == "layer_lstm":
            inputs = L.Input(shape=(8, 8))
            return K.Model(inputs, L.TimeDistributed(L.Dense(1))(L.LSTM(4, return_sequences=True)(inputs)))
        nested = K.Sequential([L.Conv2D(4, (3, 3), kernel_initializer="ones", use_bias=False), L.MaxPooling2D((2, 2))])
        return K.Sequential([L.Input(shape=(5, 10, 10, 3), batch_size=32), L.TimeDistributed(nested)])
    return build


for _kind, _data, _precision, _atol in (("layer", integers(0, 5, 10, 5, 10, 10, 3), "fixed<10,8>", 1e-2),
                                        ("layer_lstm", rand(10, 8, 8, shift=0.5), "fixed<32,16>", 5e-2),
                                        ("model", integers(0, 5, 10, 5, 10, 10, 3), "fixed<10,8>", 1e-2)):
    for _h5 in (True, False):
        case("time_distributed", f"time_distributed_{_kind}", f"h5{_h5}", _time_distributed(_kind), _data, PARALLEL,
             allclose(rtol=0, atol=_atol), precision=_precision, from_h5=_h5, issue=15)


# test_embed.py
def _embedding():
    K = _keras()
    inputs = K.layers.Input(shape=(100,), name="embedding_input")
    return K.Model(inputs=inputs, outputs=K.layers.Embedding(13, 8, input_length=100, name="embedding")(inputs))


case("embed", "embedding_accuracy", "", _embedding, integers(0, 10, 32, 100), IO_TYPES, allclose(rtol=0, atol=1e-3),
     granularity="name", layer_precision={"embedding_input": {"result": "ap_uint<4>"}}, issue=15)


# test_layernorm.py
def _layernorm():
    K = _keras()
    layer = K.layers.LayerNormalization(input_shape=(10, 8))
    model = K.Sequential([layer])
    rng = np.random.default_rng(0)
    layer.set_weights([rng.normal(1.0, 0.1, size=(8,)), rng.normal(0.0, 0.1, size=(8,))])
    return model


case("layernorm", "layernorm_accuracy", "", _layernorm, rand(100, 10, 8), PARALLEL, allclose(rtol=0, atol=5e-2),
     granularity="name", issue=15)


# test_einsum_dense.py (Keras 3 in hls4ml; tf-keras has the same EinsumDense)
def _einsum_dense(equation, input_shape, output_shape, bias_axes):
    def build():
        K = _keras()
        model = K.Sequential([K.layers.Input(input_shape), K.layers.EinsumDense(
            equation, output_shape=output_shape, bias_axes=bias_axes, name="einsum_dense")])
        if bias_axes is not None:
            layer = model.get_layer("einsum_dense")
            layer.bias.assign(np.random.default_rng(1).random(layer.bias.shape))
        return model
    return build


for _eq, _in, _out, _bias in (("bi,j->bij", (8,), (8, 7), None), ("bi,j->bij", (8,), (8, 7), "i"),
                              ("bi,j->bij", (8,), (8, 7), "j"), ("bi,io->bo", (8,), 7, None),
                              ("...i,oi->...o", (4, 3), (5,), None),
                              ("...abcd,bcde->...aeb", (5, 4, 3, 2), (5, 6, 4), None),
                              ("...abcd,bcde->...aeb", (5, 4, 3, 2), (5, 6, 4), "aeb"),
                              ("...abcd,bcde->...aeb", (5, 4, 3, 2), (5, 6, 4), "ab"),
                              ("...abcd,bcde->...aeb", (5, 4, 3, 2), (5, 6, 4), "a")):
    case("einsum_dense", "einsum_dense", f"{_eq}-bias_{_bias}", _einsum_dense(_eq, _in, _out, _bias),
         rand(1000, *_in), PARALLEL, allclose(rtol=0, atol=2e-6), granularity="manual", precision="ap_fixed<32,8>",
         issue=15)
