"""The Python API on a trained model (model.py's, or one you bring): convert
with calibration samples, run the C++ (csim) and the numpy emulator, compare
with Keras.

Usage: python api.py BUILD_DIR   (reads BUILD_DIR/model.h5 and test_inputs.npy,
writes BUILD_DIR/api_project)
"""
import hlsflow  # first, before TensorFlow: QKeras needs tf-keras (see README)

import sys
from pathlib import Path

import numpy as np


def main(build: str) -> int:
    build = Path(build)
    model = hlsflow.load_model(build / "model.h5")  # or any Keras/QKeras model object
    x = np.load(build / "test_inputs.npy")
    project = hlsflow.convert(model, build / "api_project", samples=x, force=True)
    csim = project.predict(x)  # g++-compiled firmware (cached in the build cache: `hlsflow cache`)
    same = np.array_equal(csim, project.emulate(x))  # the numpy emulator gives the same bits
    logits = np.array_equal(project.predict(x, logits=True), project.emulate(x, logits=True))
    keras = model.predict(x, verbose=0)
    agree = np.mean(csim.argmax(1) == keras.argmax(1))
    print(f"api: csim == emulator: {same}; logits bit-exact with the emulator: {logits}; "
          f"argmax agreement with Keras {agree:.1%}; project in {project.directory}")
    return 0 if same and logits and agree == 1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build"))
