"""Post-training quantization benchmark on scikit-learn digits: hlsflow.quantize
next to the float model and TFLite's full-integer int8 quantizer, in one run.

Usage: python scripts/ptq_benchmark.py [--quick]
Both models (an MLP and a small CNN with a depthwise conv) are trained here; the
training split is the calibration data of both quantizers; accuracies are on the
450-image test split, in percent.
"""
import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import digits_models as dm  # noqa: E402

import numpy as np  # noqa: E402

SETTINGS = {"W8A8": dict(weight_bits=8, activation_bits=8), "W4A4": dict(weight_bits=4, activation_bits=4),
            "W4A8": dict(weight_bits=4, activation_bits=8)}
TECHNIQUES = {"-": {}, "cle": dict(cle=True), "bias-corr": dict(bias_correction=True), "adaround": dict(adaround=True)}


def tflite_int8_accuracy(model, x_cal, x_test, y_test) -> float:
    """Accuracy of TFLite's full-integer int8 quantization (int8 input and output)."""
    import tensorflow as tf

    def representative():
        for row in x_cal[:512]:
            yield [row[None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero = inp["quantization"]
    hits = 0
    for row, label in zip(x_test, y_test):
        q = np.clip(np.round(row / scale + zero), -128, 127).astype(np.int8)
        interpreter.set_tensor(inp["index"], q[None])
        interpreter.invoke()
        hits += int(np.argmax(interpreter.get_tensor(out["index"])[0]) == label)
    return 100.0 * hits / len(y_test)


def main() -> None:
    import hlsflow

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="W8A8 and W4A4+adaround only")
    args = parser.parse_args()
    for build in (dm.mlp, dm.cnn):
        model, (x_train, y_train, x_test, y_test) = dm.trained(build)
        reference = dm.accuracy(model, x_test, y_test)
        tflite = tflite_int8_accuracy(model, x_train, x_test, y_test)
        print(f"\n{model.name}: float {reference:.2f}%   TFLite int8 {tflite:.2f}% (drop {reference - tflite:+.2f})")
        print(f"  {'setting':<6} {'technique':<10} {'hlsflow':>8} {'drop':>6}  {'seconds':>7}")
        for setting, options in SETTINGS.items():
            for technique, extra in TECHNIQUES.items():
                if args.quick and (setting, technique) not in (("W8A8", "-"), ("W4A4", "adaround")):
                    continue
                start = time.monotonic()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    q = hlsflow.quantize(model, samples=x_train, **options, **extra)
                accuracy = dm.accuracy(q, x_test, y_test)
                seconds = time.monotonic() - start
                print(f"  {setting:<6} {technique:<10} {accuracy:7.2f}% {reference - accuracy:+6.2f}  {seconds:7.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
