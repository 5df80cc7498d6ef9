"""Design-space sweeps on Ray Tune: the search space (space.py), one point
(point.py: quantize -> convert -> emulate -> report -> csim spot-check ->
synthesis), the Tune driver (runner.py), the records (results.py) and the
Pareto fronts (pareto.py).

This module stays light (Ray and TensorFlow load when a sweep runs), and
hlsflow/__init__.py imports `sweep` from it, so that `hlsflow.sweep` is the
function below rather than this package.
"""


def sweep(model, samples, labels, space, output_dir, *, weights=None, calibration=None, search="grid", points=None,
          seed=0, cpus_per_point=1, spot_check=32, synthesis=True, address=None, cpus=None, progress=True):
    """Evaluate the points of `space` on Ray and write the results to output_dir.

    model: a float or QKeras model file (.h5, .keras, .json with `weights`).
    samples, labels: the labelled set (arrays or .npy/.npz paths; labels as class
    indices or one-hot rows); accuracy is the bit-exact emulator's on all of it.
    space: a YAML file or dict of knob values (see hlsflow.sweep.space).
    calibration: inputs for PTQ and for calibrating float tensors (default: the
    first 1024 samples). search: "grid", "random" or "optuna" (the last two
    evaluate `points` points, drawn with `seed`). cpus_per_point: Ray's CPU
    request per point. spot_check: rows compared between csim (g++) and the
    emulator per point (0: g++ never runs). synthesis: run vitis_hls C
    synthesis per point when it is on the worker's PATH. address: an existing
    Ray cluster ("auto", "ray://host:10001", ...); default a local instance
    with `cpus` CPUs (default: all).

    Rerunning with the same output_dir resumes: finished points are skipped,
    failed ones are tried again. Returns a SweepResult (records, Pareto fronts).
    """
    from hlsflow.sweep.runner import run

    return run(model, samples, labels, space, output_dir, weights=weights, calibration=calibration, search=search,
               points=points, seed=seed, cpus_per_point=cpus_per_point, spot_check=spot_check, synthesis=synthesis,
               address=address, cpus=cpus, progress=progress)
