"""The README walk-through from a fresh clone, as a user does it (issue 14):
the example (`make example`), then one's own QKeras model (a script that
imports hlsflow first) and one's own Keras 3 float model (built with `keras`
alone, no TF_USE_LEGACY_KERAS) through convert, csim, report, profile, check
and quantize, each as its own `hlsflow` command. No step prints a traceback;
the quantized model and the QKeras model come out bit-exact."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

QKERAS_SCRIPT = """
import hlsflow  # first, as the README says: QKeras needs tf-keras as tf.keras
import sys
import numpy as np
import tensorflow as tf
from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

out = sys.argv[1]
tf.keras.utils.set_random_seed(0)
bits = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
model = tf.keras.Sequential([
    tf.keras.Input((8, 8, 1), name="image"),
    QActivation(quantized_bits(8, 3, alpha=1), name="input_quant"),
    QConv2D(4, 3, name="conv", **bits),
    QActivation(quantized_relu(6, 2), name="relu"),
    tf.keras.layers.MaxPooling2D(2, name="pool"),
    tf.keras.layers.Flatten(name="flatten"),
    QDense(10, name="logits", **bits),
    tf.keras.layers.Activation("softmax", name="softmax"),
], name="my_qcnn")
model.save(out + "/qcnn.h5")
np.save(out + "/qcnn_samples.npy", np.random.default_rng(0).normal(0, 2, (200, 8, 8, 1)).astype("float32"))
"""

KERAS3_SCRIPT = """
import sys
import numpy as np
import keras  # Keras 3 alone: no hlsflow, no TF_USE_LEGACY_KERAS

assert keras.__version__.startswith("3."), keras.__version__
out = sys.argv[1]
keras.utils.set_random_seed(0)
rng = np.random.default_rng(1)
x = rng.normal(0, 1, (300, 16)).astype("float32")
model = keras.Sequential([
    keras.Input((16,), name="features"),
    keras.layers.Dense(16, activation="relu", name="fc1"),
    keras.layers.Dense(8, activation="relu", name="fc2"),
    keras.layers.Dense(4, activation="softmax", name="out"),
], name="my_mlp")
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x, rng.integers(0, 4, len(x)), epochs=3, verbose=0)
model.save(out + "/mlp.keras")
np.save(out + "/mlp_samples.npy", x)
"""


class User:
    """Runs commands as the user would and keeps what they printed."""

    def __init__(self, cwd):
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}

    def run(self, *command, ok=True):
        result = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=self.cwd, env=self.env)
        shown = result.stdout + result.stderr
        assert "Traceback" not in shown, f"{' '.join(map(str, command))}:\n{shown[-3000:]}"
        if ok:
            assert result.returncode == 0, f"{' '.join(map(str, command))}:\n{shown[-3000:]}"
        return result

    def hlsflow(self, *args, ok=True):
        return self.run(sys.executable, "-m", "hlsflow", *args, ok=ok)


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    return User(tmp_path_factory.mktemp("user"))


def test_the_example(user):
    example = user.cwd / "digits_mlp"
    shutil.copytree(REPO / "projects" / "digits_mlp", example, ignore=shutil.ignore_patterns("build"))
    result = user.run("make", "-C", example, "all", f"PYTHON={sys.executable}")
    assert "csim: 450/450 bit-exact (logits, C only)" in result.stdout
    assert "api: csim == emulator: True; logits bit-exact with the emulator: True" in result.stdout


def test_own_qkeras_model(user):
    (user.cwd / "my_qcnn.py").write_text(QKERAS_SCRIPT)
    user.run(sys.executable, "my_qcnn.py", ".")
    user.hlsflow("convert", "qcnn.h5", "-o", "qcnn_prj", "--samples", "qcnn_samples.npy")
    assert "csim: 200/200 bit-exact (logits, C only)" in user.hlsflow("csim", "qcnn_prj").stdout
    assert "DSP" in user.hlsflow("report", "qcnn_prj").stdout
    user.hlsflow("profile", "qcnn.h5", "--samples", "qcnn_samples.npy", "--plot", "qcnn.png")
    assert (user.cwd / "qcnn.png").is_file()
    assert "check: overflow in 0 tensor(s)" in user.hlsflow("check", "qcnn_prj").stdout
    user.hlsflow("config", "qcnn.h5", "-o", "qcnn.json")
    user.hlsflow("convert", "qcnn.h5", "-o", "qcnn_prj2", "--config", "qcnn.json")


def test_own_keras3_float_model(user):
    (user.cwd / "my_mlp.py").write_text(KERAS3_SCRIPT)
    user.run(sys.executable, "my_mlp.py", ".")
    converted = user.hlsflow("convert", "mlp.keras", "-o", "mlp_prj", "--samples", "mlp_samples.npy")
    assert "calibrated on 300 samples" in converted.stdout
    csim = user.hlsflow("csim", "mlp_prj").stdout  # a float model: max error and argmax agreement
    assert int(re.search(r"argmax agreement (\d+)/300", csim)[1]) >= 297, csim
    assert "DSP" in user.hlsflow("report", "mlp_prj").stdout
    user.hlsflow("profile", "mlp.keras", "--samples", "mlp_samples.npy")
    user.hlsflow("check", "mlp_prj")
    quantized = user.hlsflow("quantize", "mlp.keras", "-w", "8", "-a", "8", "-i", "8", "--samples", "mlp_samples.npy",
                             "-o", "mlp_q.h5")
    assert "wrote mlp_q.h5" in quantized.stdout
    user.hlsflow("convert", "mlp_q.h5", "-o", "mlp_q_prj")
    assert "csim: 200/200 bit-exact (logits, C only)" in user.hlsflow("csim", "mlp_q_prj").stdout
    cache = user.hlsflow("cache").stdout
    assert "build cache" in cache
