"""Train a QKeras MLP on scikit-learn's 8x8 digits (a few seconds on a CPU).

Usage: python model.py OUT_DIR  -> OUT_DIR/model.h5 and OUT_DIR/test_inputs.npy

Your own QKeras script works the same way: `import hlsflow` first, before
TensorFlow, QKeras or Keras (it sets TF_USE_LEGACY_KERAS=1, which QKeras needs).
"""
import hlsflow  # noqa: F401  (first: QKeras needs tf-keras as tf.keras)

import os
import sys
import warnings
from pathlib import Path

import numpy as np

from hlsflow.progress import track

EPOCHS = 30
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # fewer TensorFlow start-up lines


def build_model():
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    return keras.Sequential([
        keras.layers.InputLayer((64,), name="pixels"),
        QActivation(quantized_bits(8, 5, keep_negative=False, alpha=1), name="input_quant"),
        QDense(32, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
               name="fc1"),
        QActivation(quantized_relu(6, 2), name="relu1"),
        QDense(16, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
               name="fc2"),
        QActivation(quantized_relu(6, 2), name="relu2"),
        QDense(10, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
               name="logits"),
        keras.layers.Activation("softmax", name="softmax"),
    ], name="digits_mlp")


def main(out_dir: str) -> None:
    import tf_keras as keras
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    keras.utils.set_random_seed(0)
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for _ in track(range(EPOCHS), "training the digits MLP (epochs)"):
        model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"digits_mlp: test accuracy {accuracy:.3f}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # tf-keras's notes on HDF5 being legacy and on QKeras quantizers
        warnings.simplefilter("ignore", UserWarning)
        model.save(out / "model.h5")
    np.save(out / "test_inputs.npy", x_test.astype(np.float32))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build")
