"""Property-based tests: random small QKeras models give the same bits in
QKeras, the emulator and the g++ csim. The per-run budget is a few models;
HLSFLOW_SOAK=N runs N (e.g. HLSFLOW_SOAK=500 for a soak)."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import hlsflow
from conftest import stress_inputs

EXAMPLES = int(os.environ.get("HLSFLOW_SOAK", "4"))
FLOAT32_EXACT_BITS = 24  # Keras sums in float32: exact while accumulators fit in 24 bits


@st.composite
def quantizer_specs(draw, kind):
    if kind == "weight":
        return draw(st.one_of(
            st.builds(lambda b, i: f"quantized_bits({b},{i},alpha=1)", st.integers(2, 8), st.integers(0, 2)),
            st.builds(lambda b: f"quantized_po2({b})", st.integers(3, 5)),
            st.just("ternary(alpha=1)"), st.just("binary(alpha=1)")))
    if kind == "bias":
        return draw(st.builds(lambda b, i: f"quantized_bits({b},{i},alpha=1)", st.integers(2, 10), st.integers(0, 3)))
    return draw(st.one_of(
        st.builds(lambda b, i: f"quantized_relu({b},{i})", st.integers(2, 8), st.integers(0, 3)),
        st.builds(lambda b, i, k, s: f"quantized_bits({b},{i},{s},keep_negative={k},alpha=1)", st.integers(3, 10),
                  st.integers(0, 4), st.booleans(), st.integers(0, 1))))


@st.composite
def model_specs(draw):
    return {
        "inputs": draw(st.integers(1, 12)),
        "input_quantizer": draw(st.one_of(st.none(), quantizer_specs("activation"))),
        "layers": draw(st.lists(st.fixed_dictionaries({
            "units": st.integers(1, 12), "kernel": quantizer_specs("weight"),
            "bias": st.one_of(st.none(), quantizer_specs("bias")), "relu": st.booleans(),
            "activation": st.one_of(st.none(), quantizer_specs("activation"))}), min_size=1, max_size=3)),
        "seed": draw(st.integers(0, 2 ** 16)),
    }


def build(spec):
    import tf_keras as keras
    from qkeras import QActivation, QDense
    from qkeras.quantizers import get_quantizer

    keras.utils.set_random_seed(spec["seed"])
    layers = [keras.layers.InputLayer((spec["inputs"],))]
    if spec["input_quantizer"]:
        layers.append(QActivation(get_quantizer(spec["input_quantizer"])))
    for layer in spec["layers"]:
        layers.append(QDense(layer["units"], kernel_quantizer=get_quantizer(layer["kernel"]),
                             bias_quantizer=get_quantizer(layer["bias"]) if layer["bias"] else None,
                             use_bias=layer["bias"] is not None, activation="relu" if layer["relu"] else None))
        if layer["activation"]:
            layers.append(QActivation(get_quantizer(layer["activation"])))
    model = keras.Sequential(layers)
    rng = np.random.default_rng(spec["seed"])
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.normal(0, 0.5, layer.bias.shape))
    return model


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("HLSFLOW_SOAK"),
          suppress_health_check=list(HealthCheck))
@given(spec=model_specs())
def test_random_models_are_bit_exact(spec, tmp_path_factory):
    model = build(spec)
    project = hlsflow.convert(model, tmp_path_factory.mktemp("random") / "prj")
    assume(all(n.attrs["accum_type"].width <= FLOAT32_EXACT_BITS for n in project.graph.nodes if n.op == "dense"))
    x = stress_inputs(np.random.default_rng(spec["seed"]), 300, (spec["inputs"],), 8)
    keras_x = x if spec["input_quantizer"] else project.cast_inputs(x).astype(np.float32)
    reference = model.predict(keras_x, verbose=0).astype(np.float64)
    emulated = project.emulate(x)
    assert np.array_equal(emulated, reference), f"emulator != QKeras for {spec}"
    assert np.array_equal(project.predict(x), emulated), f"csim != emulator for {spec}"
