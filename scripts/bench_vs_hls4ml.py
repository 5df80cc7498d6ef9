"""Build and predict times of hlsflow vs hls4ml on the same models and inputs.

Each tool runs in its own process with a cold build cache; the script prints
a table with the ratios. hls4ml (a dev dependency) needs two shims to run on
tf-keras models with numpy 2, applied in its worker and announced:
`sys.modules["keras"] = tf_keras` (it otherwise picks its Keras-3 parser) and
`np.product = np.prod`.

    python scripts/bench_vs_hls4ml.py [--models jet,dense100] [--n 2000]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # before anything imports TensorFlow
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "models" / "example-models" / "keras"
MODELS = {
    "jet": "qkeras_3layer",  # jet-tagging MLP 16-64-32-32-5, 6-bit QKeras
    "mnist_cnn": "qkeras_mnist_cnn",
    "dense100": "KERAS_dense_16x100x100x100x100x100x5",
}


def load(name):
    import hlsflow

    return hlsflow.load_model(SHARED / f"{MODELS[name]}.json")


def inputs(model, n):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.normal(0, 2, (n,) + tuple(model.input_shape[1:])).astype("float32")


def worker_hlsflow(name, n, out):
    import hlsflow

    model = load(name)
    x = inputs(model, n)
    start = time.perf_counter()
    project = hlsflow.convert(model, Path(out) / "prj")
    project.compile(progress=False)
    build = time.perf_counter() - start
    start = time.perf_counter()
    project.predict(x)
    predict = time.perf_counter() - start
    start = time.perf_counter()
    project.emulate(x)
    emulate = time.perf_counter() - start
    return {"build": build, "predict": predict, "emulate": emulate}


def worker_hls4ml(name, n, out):
    import numpy as np
    import qkeras  # noqa: F401  (imported before the shim below)
    import tf_keras

    sys.modules["keras"] = tf_keras  # shim 1: keep hls4ml on its Keras-2 parser for tf-keras models
    np.product = np.prod  # shim 2: hls4ml 1.3.0 still calls np.product (removed in numpy 2)
    import hls4ml

    model = load(name)
    x = inputs(model, n)
    start = time.perf_counter()
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(Path(out) / "prj"),
                                                           backend="Vitis", io_type="io_parallel")
    hls_model.compile()
    build = time.perf_counter() - start
    start = time.perf_counter()
    hls_model.predict(x)
    predict = time.perf_counter() - start
    return {"build": build, "predict": predict}


def run_worker(tool, name, n):
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, HLSFLOW_CACHE_DIR=str(Path(tmp) / "cache"), PYTHONPATH=str(REPO))
        result = subprocess.run([sys.executable, __file__, "--worker", tool, "--models", name, "--n", str(n),
                                 "--out", tmp], capture_output=True, text=True, env=env)
        lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
        if result.returncode != 0 or not lines:
            return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1][:120]}
        return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="jet,dense100")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--worker", choices=["hlsflow", "hls4ml"])
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.worker:
        work = worker_hlsflow if args.worker == "hlsflow" else worker_hls4ml
        print(json.dumps(work(args.models, args.n, args.out)))
        return
    print("hls4ml runs with shims: sys.modules['keras'] = tf_keras; np.product = np.prod")
    print(f"{'model':<10} {'tool':<8} {'build s':>8} {'predict s':>10} {'emulate s':>10}")
    for name in args.models.split(","):
        if not (SHARED / f"{MODELS[name]}.json").is_file():
            print(f"{name:<10} skipped: {MODELS[name]} not in {SHARED}")
            continue
        ours, theirs = run_worker("hlsflow", name, args.n), run_worker("hls4ml", name, args.n)
        for tool, r in (("hlsflow", ours), ("hls4ml", theirs)):
            if "error" in r:
                print(f"{name:<10} {tool:<8} error: {r['error']}")
            else:
                print(f"{name:<10} {tool:<8} {r['build']:8.2f} {r['predict']:10.3f} {r.get('emulate', float('nan')):10.3f}")
        if "error" not in ours and "error" not in theirs:
            print(f"{name:<10} ratios: build {ours['build'] / theirs['build']:.2f}x hls4ml's, "
                  f"predict {theirs['predict'] / ours['predict']:.1f}x faster, "
                  f"emulate {theirs['predict'] / ours['emulate']:.1f}x faster than hls4ml predict")


if __name__ == "__main__":
    main()
