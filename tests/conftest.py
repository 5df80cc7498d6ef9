"""Shared fixtures: TensorFlow with legacy Keras, a per-session build cache,
models built in the tests and the ../shared example-models corpus."""
import os
import subprocess
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# HLSFLOW_EXAMPLE_MODELS: the corpus where it is not beside the repository (a git worktree elsewhere)
EXAMPLE_MODELS = Path(os.environ.get("HLSFLOW_EXAMPLE_MODELS", REPO.parent / "shared" / "models" / "example-models" / "keras"))


@pytest.fixture(scope="session", autouse=True)
def build_cache(tmp_path_factory):
    """Compiled csim libraries are cached per test session unless HLSFLOW_CACHE_DIR is set."""
    if "HLSFLOW_CACHE_DIR" not in os.environ:
        os.environ["HLSFLOW_CACHE_DIR"] = str(tmp_path_factory.mktemp("hlsflow-cache"))
    return Path(os.environ["HLSFLOW_CACHE_DIR"])


def example_model(name: str) -> Path:
    """Path of a ../shared example model's json; skips when the corpus is absent."""
    path = EXAMPLE_MODELS / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path} not present (../shared/models/example-models is optional)")
    return path


def make_csim(directory):
    """(exit code, output) of `make csim` in a generated project."""
    result = subprocess.run(["make", "-s", "-C", str(directory), "csim"], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def stress_inputs(rng, n, shape, spread):
    """Inputs that are mostly within +-spread, with a fifth far outside (up to 20x)."""
    x = rng.normal(0, spread / 2, (n,) + tuple(shape))
    far = rng.random(x.shape) < 0.2
    x[far] *= rng.uniform(2, 20, far.sum()) * 2
    return x.astype(np.float32)


def jet_tagger_mlp(seed=0):
    """The jet-tagging MLP shape 16-64-32-32-5: 6-bit weights, quantized_relu, softmax."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    keras.utils.set_random_seed(seed)
    layers = [keras.layers.InputLayer((16,), name="inputs")]
    for i, units in enumerate((64, 32, 32), 1):
        layers += [QDense(units, kernel_quantizer=quantized_bits(6, 0, alpha=1),
                          bias_quantizer=quantized_bits(6, 0, alpha=1), name=f"fc{i}"),
                   QActivation(quantized_relu(6, 0), name=f"relu{i}")]
    layers += [QDense(5, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
                      name="output"),
               keras.layers.Activation("softmax", name="softmax")]
    model = keras.Sequential(layers, name="jet_tagger")
    # biases start at zero: give them values so they matter
    for layer in model.layers:
        if hasattr(layer, "bias") and layer.bias is not None:
            layer.bias.assign(np.random.default_rng(seed).uniform(-0.5, 0.5, layer.bias.shape))
    return model


def keras_inputs(project, xs):
    """What Keras is given: raw values where the model quantizes its input itself, else the cast values."""
    quantized = set(project.graph.meta.get("quantized_inputs", []))
    cast = cast_list(project, xs)
    return [np.asarray(x, np.float32) if name in quantized else c.astype(np.float32)
            for name, x, c in zip(project.graph.inputs, xs, cast)]


def cast_list(project, xs):
    cast = project.cast_inputs(xs)
    return cast if isinstance(cast, list) else [cast]


def check_outputs_bit_exact(model, project, xs):
    """predict == emulate on every output, and == Keras on every exact output."""
    xs = xs if isinstance(xs, list) else [xs]
    keras_x = keras_inputs(project, xs)
    reference = model.predict(keras_x if len(keras_x) > 1 else keras_x[0], verbose=0)
    reference = reference if isinstance(reference, list) else [reference]
    as_list = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
    emulated, predicted = as_list(project.emulate(xs)), as_list(project.predict(xs))
    for name, ref, emu, pred in zip(project.graph.outputs, reference, emulated, predicted):
        assert np.array_equal(emu, pred), f"{name}: emulator and csim disagree"
        if project.graph.tensors[name].exact:
            bad = np.flatnonzero(np.any(pred.reshape(len(pred), -1) != ref.reshape(len(ref), -1), axis=1))
            assert bad.size == 0, f"{name}: {bad.size}/{len(pred)} inputs differ from Keras"


def check_bit_exact(model, project, x):
    """Logits from predict and emulate equal Keras's, bit for bit, on every input."""
    from hlsflow.project import keras_logits

    graph = project.graph
    quantized_input = bool(graph.meta.get("quantized_inputs"))
    keras_x = x if quantized_input else project.cast_inputs(x)
    reference = keras_logits(model, [keras_x.astype(np.float32)])
    emulated = project.emulate(x, logits=True).reshape(len(x), -1)
    predicted = project.predict(x, logits=True)
    assert np.array_equal(emulated, predicted), "emulator and csim disagree"
    mismatched = np.flatnonzero(np.any(predicted != reference, axis=1))
    assert mismatched.size == 0, f"{mismatched.size}/{len(x)} inputs differ from Keras, e.g. #{mismatched[:3]}"
    probabilities = project.predict(x)
    assert np.array_equal(probabilities, project.emulate(x))
    keras_probabilities = model.predict(keras_x.astype(np.float32), verbose=0)
    assert np.max(np.abs(probabilities - keras_probabilities)) < 0.02
