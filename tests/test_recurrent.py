"""Recurrent layers: QSimpleRNN, QLSTM and QGRU (return_sequences both ways,
go_backwards, reset_after both ways, QBidirectional, TimeDistributed(QDense))
give the same bits in QKeras, the emulator and csim, in both io types, on
inputs that drive the states into saturation; float SimpleRNN/LSTM/GRU/
Bidirectional models calibrated from samples stay within the error targets."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import hlsflow
from conftest import check_outputs_bit_exact, make_csim, stress_inputs
from hlsflow.emulate import emulate
from hlsflow.errors import OptionError, UnsupportedError

N = 1000
STEPS, FEATURES = 8, 3
FLOAT32_EXACT_BITS = 24  # Keras computes the cells in float32: exact while every intermediate fits 24 bits
EXAMPLES = int(os.environ.get("HLSFLOW_SOAK", "4"))


def _keras():
    """tf-keras with the TensorFlow names QKeras's QSimpleRNN/QGRU need (hlsflow restores them)."""
    from hlsflow.frontend.tf_setup import import_keras

    return import_keras()[1]


def _qb(bits, integer=0):
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, alpha=1)


def widest(graph) -> int:
    """The widest value a recurrent node computes (sums, gates, carry, output)."""
    widths = [graph.tensors[n.outputs[0]].type.width for n in graph.nodes if n.op == "recurrent"]
    for n in graph.nodes:
        if n.op == "recurrent":
            widths += [t.width for k, t in n.attrs.items() if k.endswith("_type") and "index" not in k]
    return max(widths)


def _random_biases(model, rng):
    for layer in model.layers:
        for w in layer.weights:
            if "bias" in w.name:
                w.assign(rng.uniform(-1, 1, w.shape))


def recurrent_zoo(seed=0):
    """One quantized input, one output per recurrent form under test."""
    keras = _keras()
    from qkeras import QActivation, QBidirectional, QDense, QGRU, QLSTM, QSimpleRNN, quantized_bits

    L = keras.layers
    keras.utils.set_random_seed(seed)
    seq = L.Input((STEPS, FEATURES), name="seq")
    q = QActivation(quantized_bits(6, 2), name="seq_q")(seq)
    kw = dict(kernel_quantizer=_qb(4), recurrent_quantizer=_qb(4), bias_quantizer=_qb(4))
    outs = [
        QSimpleRNN(4, state_quantizer=_qb(4), **kw, name="srnn")(q),
        QSimpleRNN(3, activation="quantized_tanh(6)", return_sequences=True, go_backwards=True, **kw,
                   name="srnn_seq")(q),
        QLSTM(3, state_quantizer=_qb(5, 1), return_sequences=True, **kw, name="lstm_seq")(q),
        QLSTM(3, state_quantizer=_qb(5, 1), activation="quantized_tanh(5,use_real_tanh=True)",
              recurrent_activation="quantized_sigmoid(5)", go_backwards=True, **kw, name="lstm")(q),
        QGRU(3, state_quantizer=_qb(4), **kw, name="gru")(q),
        QGRU(3, state_quantizer=_qb(4), reset_after=True, return_sequences=True, **kw, name="gru_after")(q),
        QBidirectional(QLSTM(2, state_quantizer=_qb(5, 1), return_sequences=True, **kw), name="bidi")(q),
        L.TimeDistributed(QDense(3, kernel_quantizer=_qb(4), bias_quantizer=_qb(4)), name="td")(q),
    ]
    model = keras.Model(seq, outs, name="recurrent_zoo")
    _random_biases(model, np.random.default_rng(seed))
    return model


@pytest.fixture(scope="module")
def zoo():
    return recurrent_zoo()


@pytest.fixture(scope="module")
def inputs():
    return stress_inputs(np.random.default_rng(1), N, (STEPS, FEATURES), 4)


@pytest.fixture(scope="module", params=["io_parallel", "io_stream"])
def zoo_project(request, zoo, tmp_path_factory):
    return hlsflow.convert(zoo, tmp_path_factory.mktemp("rnn") / "prj", io_type=request.param)


def test_zoo_is_bit_exact(zoo, zoo_project, inputs):
    graph = zoo_project.graph
    assert widest(graph) <= FLOAT32_EXACT_BITS, "the zoo must stay where Keras's float32 is exact"
    assert all(graph.tensors[t].exact for t in graph.outputs)
    assert sorted(n.attrs["cell"] for n in graph.nodes if n.op == "recurrent") == \
        ["gru", "gru", "lstm", "lstm", "lstm", "lstm", "simple", "simple"]
    check_outputs_bit_exact(zoo, zoo_project, inputs)


def test_states_saturate(zoo, zoo_project, inputs):
    """The inputs drive the states beyond their state quantizers' range (which then saturate)."""
    from hlsflow.frontend.sequence import record_internals

    states = record_internals(zoo, zoo_project.graph, zoo_project.cast_inputs(inputs).astype(np.float32))
    for key, bound in (("srnn/output_type", 0.875), ("lstm_seq/carry_type", 1.875), ("gru/output_type", 0.875)):
        beyond = np.mean(np.abs(states[key]) > bound)
        assert 0.01 < beyond, f"{key}: only {beyond:.2%} of the states saturate"


def test_make_csim(zoo_project):
    code, output = make_csim(zoo_project.directory)
    assert code == 0, output
    assert "csim: 200/200 bit-exact" in output


def test_reuse_factor_and_unrolled_time_give_the_same_bits(tmp_path):
    keras = _keras()
    from qkeras import QActivation, QGRU, QLSTM, quantized_bits

    keras.utils.set_random_seed(3)
    seq = keras.layers.Input((5, 3))
    q = QActivation(quantized_bits(6, 2))(seq)
    kw = dict(kernel_quantizer=_qb(4), recurrent_quantizer=_qb(4), bias_quantizer=_qb(4), state_quantizer=_qb(5, 1))
    model = keras.Model(seq, [QLSTM(3, return_sequences=True, name="lstm", **kw)(q), QGRU(6, name="gru", **kw)(q)])
    _random_biases(model, np.random.default_rng(3))
    config = {"layers": {"lstm": {"reuse_factor": 3, "unroll_time": True}, "gru": {"reuse_factor": 9}}}
    project = hlsflow.convert(model, tmp_path / "prj", config=config)
    lstm, gru = (project.graph.node(n) for n in ("lstm", "gru"))
    assert (lstm.attrs["reuse_factor"], lstm.attrs["unroll_time"], gru.attrs["reuse_factor"]) == (3, True, 9)
    check_outputs_bit_exact(model, project, stress_inputs(np.random.default_rng(4), 500, (5, 3), 4))
    with pytest.warns(UserWarning, match="'gru': reuse factor 4 does not divide its 18 multiplications per kernel "
                                         "block; using 3"):
        graph = hlsflow.project.typed_graph(model, config={"layers": {"gru": {"reuse_factor": 4}}})[1]
    assert graph.node("gru").attrs["reuse_factor"] == 3


def test_report_counts_both_kernels_over_the_steps(zoo_project):
    from hlsflow.backend.report import estimate

    result = estimate(zoo_project.graph, 5.0, "io_parallel")
    row = next(r for r in result["rows"] if r["layer"] == "lstm_seq")
    node = zoo_project.graph.node("lstm_seq")
    kernels = node.params["weight"].size + node.params["recurrent_weight"].size
    assert row["multiplications"] == STEPS * (kernels + 3 * node.attrs["units"])
    # a time loop: a step per clock (reuse factor 1), each waiting for the last step's cell
    assert row["clocks"] >= STEPS and row["depth"] >= STEPS and row["latency"] == row["ii"]


@st.composite
def cell_specs(draw):
    cell = draw(st.sampled_from(["simple", "lstm", "gru"]))
    bits = st.integers(2, 5)
    real_tanh = "quantized_tanh(5,use_real_tanh=True)"  # a step function: threshold comparisons
    activation = {"simple": st.sampled_from(["quantized_tanh(4)", "quantized_tanh(6)", "quantized_bits(5,1)",
                                             "quantized_relu(4,1)", "hard_tanh", real_tanh]),
                  "lstm": st.sampled_from(["quantized_tanh(4)", "quantized_tanh(6,symmetric=True)", "hard_tanh",
                                           real_tanh]),
                  "gru": st.sampled_from(["quantized_tanh(4)", "quantized_tanh(7)", "hard_tanh", real_tanh])}[cell]
    return {
        "cell": cell, "units": draw(st.integers(1, 4)), "steps": draw(st.integers(1, 6)),
        "features": draw(st.integers(1, 4)), "input": (draw(st.integers(3, 7)), draw(st.integers(0, 2))),
        "kernel": (draw(bits), draw(st.integers(0, 1))), "recurrent": (draw(bits), draw(st.integers(0, 1))),
        "bias": (draw(st.integers(2, 6)), draw(st.integers(0, 2))),
        "state": draw(st.one_of(st.none(), st.tuples(st.integers(3, 7), st.integers(0, 2)))),
        "activation": draw(activation),
        "recurrent_activation": draw(st.sampled_from(["hard_sigmoid", "quantized_sigmoid(4)", "smooth_sigmoid",
                                                      "quantized_sigmoid(6,symmetric=True)",
                                                      "quantized_sigmoid(4,use_real_sigmoid=True)"])),
        "return_sequences": draw(st.booleans()), "go_backwards": draw(st.booleans()),
        "reset_after": draw(st.booleans()), "seed": draw(st.integers(0, 2 ** 16)),
    }


def build_cell_model(spec):
    keras = _keras()
    from qkeras import QActivation, QGRU, QLSTM, QSimpleRNN, quantized_bits

    keras.utils.set_random_seed(spec["seed"])
    kw = dict(kernel_quantizer=_qb(*spec["kernel"]), recurrent_quantizer=_qb(*spec["recurrent"]),
              bias_quantizer=_qb(*spec["bias"]), state_quantizer=_qb(*spec["state"]) if spec["state"] else None,
              activation=spec["activation"], return_sequences=spec["return_sequences"],
              go_backwards=spec["go_backwards"])
    if spec["cell"] == "simple":
        layer = QSimpleRNN(spec["units"], **kw)
    elif spec["cell"] == "lstm":
        layer = QLSTM(spec["units"], recurrent_activation=spec["recurrent_activation"], **kw)
    else:
        layer = QGRU(spec["units"], recurrent_activation=spec["recurrent_activation"], reset_after=spec["reset_after"],
                     **kw)
    model = keras.Sequential([keras.layers.InputLayer((spec["steps"], spec["features"])),
                              QActivation(quantized_bits(*spec["input"], alpha=1)), layer])
    _random_biases(model, np.random.default_rng(spec["seed"]))
    return model


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("HLSFLOW_SOAK"),
          suppress_health_check=list(HealthCheck))
@given(spec=cell_specs())
@example(spec={"cell": "lstm", "units": 1, "steps": 1, "features": 1, "input": (3, 0), "kernel": (2, 0),
               "recurrent": (2, 0), "bias": (2, 0), "state": None, "activation": "quantized_tanh(4)",
               "recurrent_activation": "hard_sigmoid", "return_sequences": False, "go_backwards": False,
               "reset_after": False, "seed": 0})  # once wrapped: h = o * tanh(c) of the step's own (negative) carry
def test_random_cells_are_bit_exact(spec, tmp_path_factory):
    from hlsflow.project import typed_graph

    model = build_cell_model(spec)
    _, graph = typed_graph(model)
    assume(graph.tensors[graph.outputs[0]].exact and widest(graph) <= FLOAT32_EXACT_BITS)
    project = hlsflow.convert(model, tmp_path_factory.mktemp("cell") / "prj")
    x = stress_inputs(np.random.default_rng(spec["seed"]), 300, (spec["steps"], spec["features"]), 8)
    reference = model.predict(x, verbose=0).astype(np.float64)
    emulated = project.emulate(x)
    assert np.array_equal(emulated, reference), f"emulator != QKeras for {spec}"
    assert np.array_equal(project.predict(x), emulated), f"csim != emulator for {spec}"


def float_models(seed=0):
    """SimpleRNN, LSTM, GRU and Bidirectional(LSTM) classifiers on one sequence input."""
    keras = _keras()
    L = keras.layers
    keras.utils.set_random_seed(seed)
    seq = L.Input((STEPS, FEATURES), name="seq")
    heads = [L.SimpleRNN(8, name="srnn")(seq), L.LSTM(8, name="lstm")(seq), L.GRU(8, name="gru")(seq),
             L.Bidirectional(L.LSTM(6), name="bidi")(seq)]
    outs = [L.Dense(5, name=f"{h.name.split('/')[0]}_out")(h) for h in heads]
    model = keras.Model(seq, outs, name="float_rnns")
    return model


def test_float_recurrent_models_meet_the_error_targets(tmp_path):
    model = float_models()
    rng = np.random.default_rng(5)
    samples = rng.normal(0, 1, (1000, STEPS, FEATURES)).astype(np.float32)
    project = hlsflow.convert(model, tmp_path / "prj", samples=samples)
    assert "carry_type" in project.graph.meta["chosen"]["lstm"], "the LSTM carry is calibrated"
    reference = model.predict(project.cast_inputs(samples).astype(np.float32), verbose=0)
    predicted = project.predict(samples)
    for name, ref, got in zip(project.graph.outputs, reference, predicted):
        agree = np.mean(ref.argmax(1) == got.argmax(1))
        error = np.abs(ref - got).max() / np.ptp(ref)
        assert agree >= 0.995 and error <= 0.02, f"{name}: argmax agreement {agree:.3f}, error {error:.4f}"
    emulated = project.emulate(samples)
    assert all(np.array_equal(e, p) for e, p in zip(emulated, predicted))
    # the chosen types (hlsflow config) give the same model again (--config)
    from hlsflow.passes.profile import default_config
    from hlsflow.project import typed_graph

    _, again = typed_graph(model, config=default_config(project.graph))
    assert all(np.array_equal(a, b) for a, b in zip(emulate(again, samples), emulated))


def test_unsupported_forms_are_refused(tmp_path):
    keras = _keras()
    from qkeras import QGRU

    L = keras.layers
    stateful = keras.Sequential([L.InputLayer((4, 2)), L.LSTM(3, return_state=False, go_backwards=False)])
    stateful.layers[0].return_state = True
    with pytest.raises(UnsupportedError, match="return_state"):
        hlsflow.convert(stateful, tmp_path / "a")
    gru = keras.Sequential([L.InputLayer((4, 3)), QGRU(3, kernel_quantizer=_qb(4))])
    with pytest.raises(UnsupportedError, match="recurrent_quantizer"):
        hlsflow.convert(gru, tmp_path / "b")
    with pytest.raises(OptionError, match="unroll_time"):
        hlsflow.convert(keras.Sequential([L.InputLayer((4, 2)), L.SimpleRNN(3, name="r")]), tmp_path / "c",
                        config={"layers": {"r": {"unroll_time": "yes"}}})


def test_trained_waveform_qlstm_is_bit_exact(tmp_path):
    """The projects/waveform_qlstm model, briefly trained: trained weights, 24 steps, a softmax head."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("waveform", hlsflow_root() / "projects/waveform_qlstm/model.py")
    waveform = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(waveform)
    keras = _keras()
    keras.utils.set_random_seed(0)
    x, y = waveform.waveforms(1000, seed=1)
    model = waveform.build_model()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    test, _ = waveform.waveforms(1000, seed=2)
    project = hlsflow.convert(model, tmp_path / "prj", samples=test)
    assert widest(project.graph) <= FLOAT32_EXACT_BITS
    from conftest import check_bit_exact

    check_bit_exact(model, project, test)


def hlsflow_root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent


def test_step_functions_are_found_exactly():
    """Threshold comparisons reproduce a quantized function on every input value; a non-monotone one is refused."""
    from hlsflow.fixed import FixedType, representable
    from hlsflow.passes.sequence import step_function

    x = FixedType(12, 4)
    values = representable(x)

    def staircase(v):
        return np.clip(np.round(np.tanh(np.asarray(v) * 0.7) * 16) / 16, -1, 15 / 16)

    thresholds, levels = step_function(staircase, x, "test")
    assert len(levels) == 32 and np.array_equal(levels[np.searchsorted(thresholds, values, side="right")],
                                                staircase(values))
    with pytest.raises(OptionError, match="not"):
        step_function(lambda v: np.round(np.sin(np.asarray(v)) * 4) / 4, x, "test")
