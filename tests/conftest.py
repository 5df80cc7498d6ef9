"""Shared fixtures: TensorFlow with legacy Keras, a per-session build cache,
models built in the tests and the ../shared example-models corpus."""
import os
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_MODELS = REPO.parent / "shared" / "models" / "example-models" / "keras"


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
