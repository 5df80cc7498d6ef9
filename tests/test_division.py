"""Division by a window count (average pooling, the Average merge): the
multiply-and-shift constants of hlsflow/division.py against exact division,
and the generated C++ against the emulator and Keras, including output types
chosen after the type rule ran (calibration, config), which is where csim was
wrong before (issue 17, class 2)."""
import numpy as np
import pytest

import hlsflow
from conftest import make_csim
from hlsflow.division import divider
from hlsflow.errors import OptionError
from hlsflow.fixed import FixedType


def exact_quotient(num: int, den: int) -> int:
    """num / den rounded half to even (Python integers: no bound)."""
    q, r = divmod(num, den)
    return q + (2 * r > den or (2 * r == den and q % 2 == 1))


def expected(n: int, count: int, acc_t, y_t) -> int:
    """The raw output (on y_t's grid) of the raw sum n (on acc_t's grid) / count."""
    f, g = acc_t.fractional, y_t.fractional
    return exact_quotient(n << (g - f), count) if g >= f else exact_quotient(n, count << (f - g))


def by_constants(n: int, count: int, constants: dict) -> int:
    """What nnet::divide computes for a raw sum n (signed) and a count."""
    row = next(r for r in constants["counts"] if r["count"] == count)
    s, magnitude = constants["shift"], abs(n)
    p = magnitude * row["reciprocal"]
    q, low = p >> s, p & ((1 << s) - 1)
    q += low >= row["round_up"] or (row["even"] and low >> (s - 1) & 1 and q & 1)
    return -q if n < 0 else q


CASES = [  # accumulator, output, counts
    (FixedType(10, 4, False), FixedType(8, 2, False, "RND_CONV", "SAT"), [1, 2, 3, 4, 5, 6, 9]),
    (FixedType(12, 5, True), FixedType(14, 3, True, "RND_CONV", "SAT"), [2, 3, 6, 7]),
    (FixedType(9, 9, True), FixedType(6, 1, True, "RND_CONV", "SAT"), [3, 5, 15]),
    (FixedType(13, 4, False), FixedType(10, 0, False, "RND_CONV", "SAT"), [10, 15, 25, 100]),
]


@pytest.mark.parametrize("acc_t, y_t, counts", CASES)
def test_constants_divide_exactly_for_every_sum(acc_t, y_t, counts):
    """Exhaustive: every raw sum the accumulator holds, every count."""
    constants = divider(counts, acc_t, y_t, "test")
    lo, hi = (-(1 << (acc_t.width - 1)), 1 << (acc_t.width - 1)) if acc_t.signed else (0, 1 << acc_t.width)
    for count in counts:
        for n in range(lo, hi):
            assert by_constants(n, count, constants) == expected(n, count, acc_t, y_t), (n, count)


def test_constants_are_exact_at_the_ends_of_wide_sums():
    """40-bit sums: the theorem's bound is tight at the largest numerators."""
    for acc_t, y_t in ((FixedType(40, 20, True), FixedType(24, 8, True, "RND_CONV", "SAT")),
                       (FixedType(40, 20, True), FixedType(30, 2, True, "RND_CONV", "SAT"))):
        _check_ends(acc_t, y_t)


def _check_ends(acc_t, y_t):
    counts = [3, 7, 9, 25, 49, 121]
    constants = divider(counts, acc_t, y_t, "test")
    rng = np.random.default_rng(0)
    top = 1 << 39
    ends = list(range(-top, -top + 2000)) + list(range(top - 2000, top)) + rng.integers(-top, top, 5000).tolist()
    for count in counts:
        for n in ends:
            assert by_constants(n, count, constants) == expected(n, count, acc_t, y_t), (n, count)


def test_too_wide_a_division_is_refused_in_one_line():
    with pytest.raises(OptionError, match="layer 'p'.*64"):
        divider([3], FixedType(60, 30, True), FixedType(40, 2, True, "RND_CONV", "SAT"), "layer 'p'")


def _pool_model(layer, shape, name):
    import tf_keras as keras

    inp = keras.Input(shape, name="x_in")
    return keras.Model(inp, layer(inp), name=name)


def _layers():
    import tf_keras as keras
    L = keras.layers
    return {
        "avg1d_same": (lambda: L.AveragePooling1D(3, strides=2, padding="same"), (11, 2)),
        "avg1d_valid_stride1": (lambda: L.AveragePooling1D(3, strides=1, padding="valid"), (9, 2)),
        "avg2d_same": (lambda: L.AveragePooling2D(3, strides=1, padding="same"), (5, 4, 2)),
        "gap1d_keepdims": (lambda: L.GlobalAveragePooling1D(keepdims=True), (7, 3)),
        "gap2d_keepdims": (lambda: L.GlobalAveragePooling2D(keepdims=True), (3, 5, 2)),
    }


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
@pytest.mark.parametrize("case", ["avg1d_same", "avg1d_valid_stride1", "avg2d_same", "gap1d_keepdims",
                                  "gap2d_keepdims"])
def test_calibrated_average_pooling_csim_equals_emulator(case, io_type, tmp_path):
    """Float models calibrated on unsigned samples, counts that are not powers
    of two (hls4ml's test_pooling/test_globalpooling cases): csim was off by up
    to 400 % of the range while the emulator was right."""
    make, shape = _layers()[case]
    model = _pool_model(make(), shape, case)
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (300, *shape)).astype(np.float32)
    project = hlsflow.convert(model, tmp_path / "prj", io_type=io_type, samples=x)
    assert not project.graph.tensors[project.graph.outputs[0]].type.signed
    assert np.array_equal(project.predict(x), project.emulate(x))
    keras_y = model.predict(x, verbose=0)
    assert np.max(np.abs(project.emulate(x) - keras_y)) <= 0.01 * (keras_y.max() - keras_y.min())


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_quantized_average_pooling_is_bit_exact_on_every_sum(io_type, tmp_path):
    """Every window sum of a 5-bit input reaches the divider (counts 2 and 3 at
    the edges of a 'same' window): csim, emulator, QKeras and `make csim` agree
    bit for bit."""
    import tf_keras as keras
    from qkeras import QActivation, quantized_bits

    inp = keras.Input((3, 2), name="x_in")
    q = QActivation(quantized_bits(5, 2, keep_negative=False), name="q_in")(inp)
    pooled = keras.layers.AveragePooling1D(3, strides=1, padding="same", name="avg")(q)
    out = QActivation(quantized_bits(9, 2, keep_negative=False), name="q_out")(pooled)
    model = keras.Model(inp, out)
    codes = np.arange(32) / 8.0  # every value of ap_ufixed<5,2>
    grid = np.stack(np.meshgrid(codes, codes, codes, indexing="ij"), -1).reshape(-1, 3)
    x = np.stack([grid, grid[::-1]], axis=-1).astype(np.float32)
    project = hlsflow.convert(model, tmp_path / "prj", io_type=io_type)
    expected = model.predict(x, verbose=0)
    assert np.array_equal(project.emulate(x), expected)
    assert np.array_equal(project.predict(x), expected)
    code, out = make_csim(tmp_path / "prj")
    assert code == 0 and "200/200 bit-exact" in out, out
