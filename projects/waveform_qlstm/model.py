"""Train a QLSTM that tells three noisy waveforms apart (sine, square,
sawtooth, of random frequency and phase; 24 steps) -- seconds on a CPU.

Usage: python model.py OUT_DIR  -> OUT_DIR/model.h5 and OUT_DIR/test_inputs.npy
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

STEPS = 24


def waveforms(n: int, seed: int):
    """(n, STEPS, 1) noisy waveforms and their class: 0 sine, 1 square, 2 sawtooth."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, n)
    cycles = rng.uniform(1.0, 3.0, (n, 1)) * np.arange(STEPS) / STEPS + rng.uniform(0, 1, (n, 1))
    phase = 2 * np.pi * cycles
    wave = np.select([label[:, None] == 0, label[:, None] == 1],
                     [np.sin(phase), np.sign(np.sin(phase))], 2 * (cycles % 1.0) - 1)
    x = rng.uniform(0.5, 1.5, (n, 1)) * wave + rng.normal(0, 0.15, wave.shape)
    return x[..., None].astype(np.float32), label


def build_model():
    import tf_keras as keras
    from qkeras import QActivation, QDense, QLSTM, quantized_bits

    def q(bits, integer):
        return quantized_bits(bits, integer, alpha=1)

    return keras.Sequential([
        keras.layers.InputLayer((STEPS, 1), name="signal"),
        QActivation(q(8, 2), name="signal_quant"),
        QLSTM(8, kernel_quantizer=q(4, 0), recurrent_quantizer=q(4, 0), bias_quantizer=q(4, 0),
              state_quantizer=q(6, 1), name="lstm"),
        QDense(3, kernel_quantizer=q(6, 0), bias_quantizer=q(6, 0), name="logits"),
        keras.layers.Activation("softmax", name="softmax"),
    ], name="waveform_qlstm")


def main(out_dir: str) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    x_train, y_train = waveforms(4000, seed=1)
    x_test, y_test = waveforms(1000, seed=2)
    model = build_model()
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=12, batch_size=64, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"waveform_qlstm: test accuracy {accuracy:.3f}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.h5")
    np.save(out / "test_inputs.npy", x_test)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build")
