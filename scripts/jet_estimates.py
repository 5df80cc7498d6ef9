"""hlsflow's estimates for the jet-tagging MLP 16-64-32-32-5 in the configurations
docs/estimates.md compares with published synthesis results: the trained 6-bit
QKeras model (qkeras_3layer) and the float model (KERAS_3layer, dense and 70%
pruned) at ap_fixed<16,6>, on a VU9P at 5 ns. Writes the projects under OUT and
runs `hlsflow report` on each.

    python scripts/jet_estimates.py [OUT] [--reuse 1,2,4]
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"
KERAS = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "example-models" / "keras"
PART, CLOCK = "xcvu9p-flga2104-2L-e", 5.0
FIXED16 = "ap_fixed<16,6>"


def configs(reuse):
    wide = {name: {"weight_type": FIXED16, "bias_type": FIXED16, "output_type": FIXED16, "reuse_factor": reuse}
            for name in ("fc1_relu", "fc2_relu", "fc3_relu", "output_softmax")}
    return {
        f"q6_rf{reuse}": ("qkeras_3layer.json", "qkeras_3layer_weights.h5", {"reuse_factor": reuse}),
        f"fixed16_rf{reuse}": ("KERAS_3layer.json", "KERAS_3layer_weights.h5", {"layers": wide}),
        f"fixed16_pruned70_rf{reuse}": ("KERAS_3layer.json", "KERAS_3layer_70pruned_retrained_weights.h5",
                                        {"layers": wide}),
    }


def main():
    import hlsflow

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="build/jet_estimates")
    parser.add_argument("--reuse", default="1")
    args = parser.parse_args()
    for reuse in map(int, args.reuse.split(",")):
        for name, (model, weights, config) in configs(reuse).items():
            directory = Path(args.out) / name
            hlsflow.convert(str(KERAS / model), directory, weights=str(KERAS / weights), config=config, part=PART,
                            clock_period=CLOCK, force=True)
            print(f"== {name}", flush=True)
            subprocess.run([sys.executable, "-m", "hlsflow", "report", str(directory)], check=True)


if __name__ == "__main__":
    main()
