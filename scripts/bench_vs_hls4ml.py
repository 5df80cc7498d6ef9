"""Build and predict times of hlsflow vs hls4ml on the same models and inputs,
and hlsflow's build scaling on wide dense models.

Each measurement runs in its own process with its own build cache. The headline
build figure is hlsflow's build of a new model on a cache warmed by a
different model (WARMED_BY: what every build after a machine's first sees,
e.g. in a sweep); beside it hlsflow is timed fully cold (its one-time
precompiled ap_types header and compiled templates built inside the timed
build), with only those one-time artifacts present, and rebuilding the same
model (its csim library already cached: convert plus a cache hit).
Predict and emulate times are the median of up to 7 calls, as many as start
within 3 s, and every figure is the median of up to 3 such runs, as many as
start within 60 s of build time: the same rules for both tools. hls4ml (a dev dependency) needs two shims to run on tf-keras models with numpy 2, applied in its worker
and announced: `sys.modules["keras"] = tf_keras` (it otherwise picks its
Keras-3 parser) and `np.product = np.prod`.

    python scripts/bench_vs_hls4ml.py [--models jet,digits_cnn,mnist_cnn,dense100] [--n 2000] [--runs 3]
    python scripts/bench_vs_hls4ml.py --scaling

The example models are read from ../shared/models/example-models/keras, or
from the folder HLSFLOW_EXAMPLE_MODELS names.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # before anything imports TensorFlow
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HLSFLOW_EXAMPLE_MODELS", REPO.parent / "shared" / "models" / "example-models" / "keras"))
MODELS = {
    "jet": "qkeras_3layer",  # jet-tagging MLP 16-64-32-32-5, 6-bit QKeras
    "digits_cnn": None,  # scripts/digits_models.py's CNN (with a depthwise conv), trained and quantized W8A8 here
    "mnist_cnn": "qkeras_mnist_cnn",
    "dense100": "KERAS_dense_16x100x100x100x100x100x5",
}
# the different model whose build warms the cache before each model's headline build
WARMED_BY = {"jet": "dense100", "digits_cnn": "jet", "mnist_cnn": "jet", "dense100": "jet"}
SCALING = ["KERAS_dense_16x100x100x100x100x100x5", "KERAS_dense_16x200x200x200x200x200x5",
           "KERAS_dense_16x500x500x500x500x500x5"]


def load(path):
    import hlsflow

    return hlsflow.load_model(path)


def inputs(model, n):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.normal(0, 2, (n,) + tuple(model.input_shape[1:])).astype("float32")


def make_digits_cnn(out):
    """Train the digits CNN, quantize it (W8A8) and save it as an .h5: the model both tools convert."""
    sys.path.insert(0, str(REPO / "scripts"))
    import digits_models
    import hlsflow

    model, (x_train, _, _, _) = digits_models.trained(digits_models.cnn)
    qmodel = hlsflow.quantize(model, samples=x_train[:512])
    qmodel.save(out)
    return {"path": out}


def warm_machine():
    """hlsflow's one-time artifacts of a machine: the precompiled ap_types header and the compiled templates."""
    from hlsflow.backend import csim, writer

    csim.precompiled_header(csim._compiler())
    env = writer._environment()
    for name in env.list_templates(filter_func=lambda name: name.endswith(".j2")):
        env.get_template(name)
    return {}


def timed(call, x, most=7, budget=3.0):
    """Seconds of call(x): the median of up to `most` calls, as many as start
    within `budget` s (at least one); the same rule for both tools."""
    times = []
    while len(times) < most and sum(times) < budget:
        start = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def worker_hlsflow(path, n, out):
    import hlsflow

    model = load(path)
    x = inputs(model, n)
    start = time.perf_counter()
    project = hlsflow.convert(model, Path(out) / "prj")
    project.compile(progress=False)
    build = time.perf_counter() - start
    return {"build": build, "predict": timed(project.predict, x), "emulate": timed(project.emulate, x),
            **_peak_memory()}


def worker_hls4ml(path, n, out):
    import numpy as np
    import qkeras  # noqa: F401  (imported before the shim below)
    import tf_keras

    sys.modules["keras"] = tf_keras  # shim 1: keep hls4ml on its Keras-2 parser for tf-keras models
    np.product = np.prod  # shim 2: hls4ml 1.3.0 still calls np.product (removed in numpy 2)
    import hls4ml

    model = load(path)
    x = inputs(model, n)
    start = time.perf_counter()
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(Path(out) / "prj"),
                                                           backend="Vitis", io_type="io_parallel")
    hls_model.compile()
    build = time.perf_counter() - start
    return {"build": build, "predict": timed(hls_model.predict, x)}


def _peak_memory():
    """Peak resident memory in GB of this process, and of the largest g++ when
    HLSFLOW_BENCH_MEMLOG names the log of the compiler wrapper (see scaling())."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    log = Path(os.environ.get("HLSFLOW_BENCH_MEMLOG", "/nonexistent"))
    kbytes = [int(line) for line in log.read_text().split()] if log.is_file() else [0]
    return {"python_gb": own, "compiler_gb": max(kbytes) / 2**20}


def run_worker(tool, path, n, warm=False, measure_compiler=False, before=None):
    """Run one worker in a new process with an empty cache, after warm_machine() in
    another one with `warm`, and after an hlsflow build of the model at `before`
    (in another process, same cache) when given."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, HLSFLOW_CACHE_DIR=str(Path(tmp) / "cache"), PYTHONPATH=str(REPO))
        if measure_compiler and Path("/usr/bin/time").is_file():  # each g++ through GNU time, which logs its peak memory
            wrapper = Path(tmp) / "g++"
            wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/time -a -o {tmp}/memlog -f %M g++ "$@"\n')
            wrapper.chmod(0o755)
            env.update(CXX=str(wrapper), HLSFLOW_BENCH_MEMLOG=f"{tmp}/memlog")
        command = [sys.executable, __file__, "--path", str(path), "--n", str(n), "--out", tmp, "--worker"]
        if warm:
            subprocess.run(command + ["warm"], capture_output=True, env=env, check=True)
        if before is not None:
            first = [sys.executable, __file__, "--path", str(before), "--n", "1", "--out", str(Path(tmp) / "before"),
                     "--worker", "hlsflow"]
            subprocess.run(first, capture_output=True, env=env, check=True)
        result = subprocess.run(command + [tool], capture_output=True, text=True, env=env)
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        if result.returncode != 0 or not lines:
            return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1][:120]}
        return json.loads(lines[-1])


def repeated(tool, path, n, runs=3, warm=False, before=None, budget=60.0):
    """Each figure's median over up to `runs` worker runs, as many as start
    within `budget` s of build time (at least one); the same rule for both tools."""
    done = []
    while len(done) < runs and sum(r["build"] for r in done) < budget:
        r = run_worker(tool, path, n, warm, before=before)
        if "error" in r:
            return r
        done.append(r)
    return {key: statistics.median(r[key] for r in done) for key in done[0]}


def model_path(name, tmp):
    """The model file of a benchmark name (the digits CNN is trained and quantized once, into tmp)."""
    if MODELS[name] is None:
        made = Path(tmp) / f"{name}.h5"
        if not made.is_file():
            r = run_worker("digits_cnn", made, 0)
            if "error" in r:
                raise RuntimeError(f"{name} could not be made: {r['error']}")
        return made
    path = SHARED / f"{MODELS[name]}.json"
    if not path.is_file():
        raise RuntimeError(f"skipped: {MODELS[name]} not in {SHARED}")
    return path


def compare(names, n, tmp, runs):
    print("hls4ml runs with shims: sys.modules['keras'] = tf_keras; np.product = np.prod")
    print("build = convert + compile to a runnable csim. hlsflow 'new model': on a cache warmed by a different "
          "model's build (WARMED_BY); 'machine': only the one-time precompiled header and compiled templates "
          "present; 'cold': empty cache; 'rebuild': the same model again (csim library cached); hls4ml: empty cache")
    print(f"each figure: median of up to {runs} runs (within 60 s of builds); predict/emulate: median of up to 7 "
          "calls (within 3 s)")
    print(f"{'model':<11} {'tool':<20} {'build s':>8} {'predict s':>10} {'emulate s':>10}")
    for name in names:
        try:
            path, other = model_path(name, tmp), model_path(WARMED_BY[name], tmp)
        except RuntimeError as exc:
            print(f"{name:<11} {exc}")
            continue
        figures = {"hlsflow new model": repeated("hlsflow", path, n, runs, before=other),
                   "hlsflow rebuild": repeated("hlsflow", path, n, runs, before=path),
                   "hlsflow machine": repeated("hlsflow", path, n, runs, warm=True),
                   "hlsflow cold": repeated("hlsflow", path, n, runs),
                   "hls4ml": repeated("hls4ml", path, n, runs)}
        for tool, r in figures.items():
            if "error" in r:
                print(f"{name:<11} {tool:<20} error: {r['error']}")
            else:
                print(f"{name:<11} {tool:<20} {r['build']:8.2f} {r['predict']:10.3f} "
                      f"{r.get('emulate', float('nan')):10.3f}")
        if not any("error" in r for r in figures.values()):
            theirs = figures["hls4ml"]["build"]
            ratio = {tool: figures[tool]["build"] / theirs for tool in figures}
            print(f"{name:<11} build vs hls4ml: new model (cache warmed by {WARMED_BY[name]}) "
                  f"{ratio['hlsflow new model']:.2f}x; rebuild {ratio['hlsflow rebuild']:.2f}x, "
                  f"machine {ratio['hlsflow machine']:.2f}x, cold {ratio['hlsflow cold']:.2f}x; "
                  f"predict {figures['hls4ml']['predict'] / figures['hlsflow new model']['predict']:.1f}x faster, "
                  f"emulate {figures['hls4ml']['predict'] / figures['hlsflow new model']['emulate']:.1f}x faster "
                  f"than hls4ml predict")


def scaling(n):
    import h5py

    print("hlsflow build (convert + compile, empty build cache, one-time artifacts present) of wide dense models")
    print(f"at most {os.cpu_count()} g++ run at once, beside the Python process")
    print(f"{'model':<38} {'params':>9} {'build s':>8} {'s/10k params':>13} {'python GB':>10} {'g++ GB':>7}")
    for name in SCALING:
        weights = SHARED / f"{name}_weights.h5"
        if not weights.is_file():
            print(f"{name:<38} skipped: not in {SHARED}")
            continue
        with h5py.File(weights, "r") as f:
            params = sum(d.size for d in _datasets(f))
        r = run_worker("hlsflow", SHARED / f"{name}.json", n, warm=True, measure_compiler=True)
        if "error" in r:
            print(f"{name:<38} error: {r['error']}")
            continue
        print(f"{name:<38} {params:9d} {r['build']:8.2f} {r['build'] / params * 1e4:13.3f} "
              f"{r['python_gb']:10.2f} {r['compiler_gb']:7.2f}")


def _datasets(group):
    import h5py

    for item in group.values():
        yield from (_datasets(item) if isinstance(item, h5py.Group) else [item])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3, help="most runs per figure (default 3; the median is shown)")
    parser.add_argument("--scaling", action="store_true", help="hlsflow build time and memory on wide dense models")
    parser.add_argument("--worker", choices=["hlsflow", "hls4ml", "digits_cnn", "warm"])
    parser.add_argument("--path")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.worker == "digits_cnn":
        print(json.dumps(make_digits_cnn(args.path)))
    elif args.worker == "warm":
        print(json.dumps(warm_machine()))
    elif args.worker:
        work = worker_hlsflow if args.worker == "hlsflow" else worker_hls4ml
        print(json.dumps(work(args.path, args.n, args.out)))
    elif args.scaling:
        scaling(200)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            compare(args.models.split(","), args.n, tmp, args.runs)


if __name__ == "__main__":
    main()
