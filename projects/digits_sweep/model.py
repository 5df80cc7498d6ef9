"""Train the float digits MLP of scripts/digits_models.py (a few seconds on a CPU).

Usage: python model.py OUT_DIR -> OUT_DIR/model.h5, x_test.npy, y_test.npy (the
labelled set of the sweep) and x_calibration.npy (512 training inputs for PTQ).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import digits_models  # noqa: E402  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import numpy as np  # noqa: E402


def main(out_dir: str) -> None:
    model, (x_train, _, x_test, y_test) = digits_models.trained(digits_models.mlp)
    print(f"digits_mlp (float): test accuracy {digits_models.accuracy(model, x_test, y_test) / 100:.4f}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.h5")
    np.save(out / "x_test.npy", x_test)
    np.save(out / "y_test.npy", y_test)
    np.save(out / "x_calibration.npy", x_train[:512])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build")
