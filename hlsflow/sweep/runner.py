"""Running a sweep on Ray Tune: Tune makes the points (grid, random, or Optuna
when installed) and runs each as a trial with its own CPU request, on an
embedded local Ray instance or an existing cluster (`address`). hlsflow adds
no scheduler: a Tune callback in the driver records each point as it ends,
keeps the list of points in flight and draws the progress bar.

Data reaches the workers through Ray's object store: the labelled set in
chunks (a worker holds one chunk at a time), the model file as bytes, so
the workers need hlsflow installed but no shared file system.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import ray
from ray import tune

from hlsflow.errors import HlsflowError, OptionError
from hlsflow.sweep import pareto
from hlsflow.sweep.results import FIGURES, Results
from hlsflow.sweep.space import Space, load_space, point_key

SEARCHES = ("grid", "random", "optuna")
CHUNK_ROWS = 4096  # rows of the labelled set per object-store chunk (and emulator call)
CALIBRATION_ROWS = 1024  # default calibration set: the first rows of the samples
OBJECTIVES = {"accuracy": "max", "lut": "min", "latency": "min"}  # what Optuna optimizes


@dataclass
class SweepResult:
    """The records of every point in the directory (this run's and earlier ones'),
    and this run's counts of points evaluated (of them failed) and skipped (done before)."""
    directory: Path
    records: list[dict]
    knobs: list[str]
    baseline_key: str | None
    evaluated: int
    failed: int
    skipped: int

    def front(self, cost: str = "lut") -> list[dict]:
        """Pareto front of accuracy against `cost` ("lut" or "latency")."""
        return pareto.front(self.records, cost)


def run(model, samples, labels, space, output_dir, *, weights=None, calibration=None, search: str = "grid",
        points: int | None = None, seed: int = 0, cpus_per_point: float = 1, spot_check: int = 32,
        synthesis: bool = True, address: str | None = None, cpus: int | None = None,
        progress: bool = True) -> SweepResult:
    """See hlsflow.sweep."""
    space = load_space(space)
    _check_options(search, points, space, spot_check, cpus_per_point)
    model_files = _model_files(model, weights)
    x = _array(samples, "--samples", mmap=True)
    y = _labels(labels, len(x))
    calib = np.asarray(x[:CALIBRATION_ROWS] if calibration is None else _array(calibration, "--calibration"),
                       np.float32)
    spot_rows = min(spot_check, len(x))
    results = Results(output_dir)
    results.check_fingerprint({"model": _digest(model_files.values()), "samples": _digest(_row_blocks(x)),
                               "labels": _digest([y.tobytes()]), "calibration": _digest([calib.tobytes()]),
                               "spot_check": spot_rows})
    knobs = list(space.knobs)
    extra = _extra_points(space, search)
    total = (space.size() if search == "grid" else points) + len(extra)

    started_ray = _start_ray(address, cpus, cpus_per_point)
    storage = Path(tempfile.mkdtemp(prefix="hlsflow-tune-"))
    bar = Progress(total, progress)
    try:
        chunks = [ray.put((np.ascontiguousarray(x[i:i + CHUNK_ROWS], np.float32), y[i:i + CHUNK_ROWS]))
                  for i in range(0, len(x), CHUNK_ROWS)]
        spot = (np.asarray(x[:spot_rows], np.float32), y[:spot_rows]) if spot_rows else None
        ledger = Ledger.remote({k: _objectives(r) for k, r in results.load().items() if r["status"] == "ok"})
        trainable = tune.with_parameters(
            evaluate_trial, knobs=knobs, model_files=model_files, model_name=_model_path(model).name,
            calibration=calib, chunks=chunks, spot=spot, synthesis=synthesis, ledger=ledger)
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": cpus_per_point}),
            param_space=_param_space(space, search),
            tune_config=tune.TuneConfig(num_samples=(1 if search == "grid" else points) + len(extra),
                                        search_alg=_search_algorithm(extra, search, seed), reuse_actors=True,
                                        trial_dirname_creator=lambda trial: trial.trial_id),
            run_config=tune.RunConfig(storage_path=str(storage), name="sweep", verbose=0,
                                      callbacks=[Recorder(results, space, bar, ledger)],
                                      failure_config=tune.FailureConfig(max_failures=0)))
        with _quiet_tune():
            tuner.fit()
    finally:
        bar.close()
        shutil.rmtree(storage, ignore_errors=True)
        if started_ray:
            ray.shutdown()
    records = results.finish(knobs)
    baseline = point_key(space.baseline) if space.baseline is not None else None
    (results.directory / "pareto.txt").write_text(pareto.table(records, knobs, baseline))
    pareto.plot(records, results.directory / "pareto.png", f"sweep of {_model_path(model).name}", baseline)
    return SweepResult(results.directory, records, knobs, baseline, bar.done - bar.skipped, bar.failed, bar.skipped)


# -- the trial: one point on a worker ------------------------------------------------
@ray.remote(num_cpus=0)
class Ledger:
    """The objectives of the points already finished (by an earlier run, or
    earlier in this one: random and Optuna searches may draw a point again)."""

    def __init__(self, done: dict):
        self.done = done

    def get(self, key: str):
        return self.done.get(key)

    def put(self, key: str, objectives: dict) -> None:
        self.done[key] = objectives


def _objectives(record: dict) -> dict:
    return {k: record[k] for k in OBJECTIVES}


def evaluate_trial(config, *, knobs, model_files, model_name, calibration, chunks, spot, synthesis, ledger):
    """A Tune trial: report "started" (host, pid), then the point's figures or its
    one-line error (and raise, so that Tune and Optuna count it failed). A point
    already finished reports its recorded objectives at once."""
    from hlsflow.sweep.point import evaluate

    point = {name: config.get(name) for name in knobs}
    key = point_key(point)
    done = ray.get(ledger.get.remote(key))
    if done is not None:
        tune.report({"already_done": True, **done})
        return
    tune.report({"started": True, "host": socket.gethostname(), "pid": os.getpid()})
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hlsflow-point-") as tmp:
        for name, data in model_files.items():
            Path(tmp, name).write_bytes(data)
        weights = next((Path(tmp, n) for n in model_files if n != model_name), None)
        try:
            figures = evaluate(point, Path(tmp, model_name), weights, calibration,
                               lambda: (ray.get(ref) for ref in chunks), spot, synthesis, Path(tmp))
        except Exception as exc:  # any failure of the point is its record, and the sweep goes on
            error = one_line(exc)
            tune.report({"error": error})
            raise PointFailed(error) from None
    tune.report({**figures, "seconds": round(time.monotonic() - start, 3)})


class PointFailed(RuntimeError):
    """A point's evaluation raised (its one-line message was reported first)."""


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text if isinstance(exc, HlsflowError) else f"{type(exc).__name__}: {text}".rstrip(": ")


# -- the driver's view: records, points in flight, progress --------------------------------
class Recorder(tune.Callback):
    """Tune callback in the driver: one record per finished point, the points in flight, the bar."""

    def __init__(self, results: Results, space: Space, bar: "Progress", ledger):
        self.results, self.space, self.bar, self.ledger = results, space, bar, ledger
        self.running: dict[str, dict] = {}

    def _base(self, trial) -> dict:
        point = self.space.point(trial.config)
        return {"key": point_key(point), **point}

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if result.get("started"):
            base = self._base(trial)
            self.running[trial.trial_id] = {"key": base["key"], "point": {k: v for k, v in base.items() if k != "key"},
                                            "host": result["host"], "pid": result["pid"], "since": _now()}
            self.results.write_running({e["key"]: e for e in self.running.values()})
            self.bar.update(running=len(self.running))
        elif result.get("already_done"):
            self.bar.update(skipped=1)

    def on_trial_complete(self, iteration, trials, trial, **info):
        result = trial.last_result
        if result.get("already_done"):
            return
        figures = {k: result[k] for k in FIGURES if k in result}
        record = self._record(trial, "ok", figures)
        self.ledger.put.remote(record["key"], _objectives(record))

    def on_trial_error(self, iteration, trials, trial, **info):
        error = trial.last_result.get("error") or _worker_died(trial, self.running.get(trial.trial_id))
        self._record(trial, "failed", {"error": error})

    def _record(self, trial, status: str, fields: dict) -> dict:
        where = self.running.pop(trial.trial_id, {})
        base = self._base(trial)
        record = {"key": base["key"], "status": status, **{k: v for k, v in base.items() if k != "key"},
                  **fields, "host": where.get("host"), "finished": _now()}
        self.results.append(record)
        self.results.write_running({e["key"]: e for e in self.running.values()})
        self.bar.update(done=1, failed=int(status == "failed"), running=len(self.running))
        return record


def _worker_died(trial, where: dict | None) -> str:
    """The one-line error of a trial whose worker process went away."""
    detail = "the worker process died"
    if trial.error_file and Path(trial.error_file).is_file():
        lines = [line.strip() for line in Path(trial.error_file).read_text().splitlines()
                 if line.strip() and not line.startswith("Failure #")]
        detail = lines[0] if lines else detail
    who = f" (pid {where['pid']} on {where['host']})" if where else ""
    return f"worker died{who}: {detail}"[:300]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Progress:
    """One line on stderr: points done (of which skipped: finished before), failed, running, and the time left."""

    def __init__(self, total: int, show: bool):
        self.total, self.show, self.start = total, show, time.monotonic()
        self.done = self.failed = self.skipped = self.running = self.width = 0

    def update(self, done: int = 0, failed: int = 0, skipped: int = 0, running: int | None = None) -> None:
        self.done += done + skipped
        self.failed += failed
        self.skipped += skipped
        self.running = self.running if running is None else running
        if self.show:
            line = self.line()
            print("\r" + line.ljust(self.width), end="", file=sys.stderr, flush=True)
            self.width = len(line)

    def line(self) -> str:
        filled = int(24 * self.done / max(self.total, 1))
        evaluated, elapsed = self.done - self.skipped, time.monotonic() - self.start
        left = self.total - self.done
        eta = "" if left <= 0 else f"~{_duration(elapsed / evaluated * left)} left" if evaluated else "~? left"
        skipped = f" ({self.skipped} skipped: done before)" if self.skipped else ""
        return (f"sweep [{'#' * filled}{'.' * (24 - filled)}] {self.done}/{self.total} done{skipped}, "
                f"{self.failed} failed, {self.running} running, {_duration(elapsed)} {eta}").rstrip()

    def close(self) -> None:
        if self.show and (self.done or self.running):
            print(file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# -- set-up ------------------------------------------------------------------------
def _check_options(search: str, points, space: Space, spot_check, cpus_per_point) -> None:
    if not isinstance(spot_check, int) or isinstance(spot_check, bool) or spot_check < 0:
        raise OptionError(f"--spot-check {spot_check!r}: expected a number of rows, 0 or more")
    if not isinstance(cpus_per_point, (int, float)) or cpus_per_point <= 0:
        raise OptionError(f"--cpus-per-point {cpus_per_point!r}: expected a positive number of CPUs")
    if search not in SEARCHES:
        raise OptionError(f"--search {search!r}: expected one of {', '.join(SEARCHES)}")
    if search == "grid" and points is not None:
        raise OptionError("--points: a grid search evaluates every point of the space; --points is for "
                          "--search random|optuna")
    if search != "grid" and (not isinstance(points, int) or points < 1):
        raise OptionError(f"--search {search}: give the number of points to evaluate (--points N)")
    if search == "optuna":
        try:
            import optuna  # noqa: F401
        except ImportError as exc:
            raise OptionError("--search optuna needs Optuna (pip install optuna)") from exc
        outside = [k for k, v in (space.baseline or {}).items() if v not in space.knobs[k]]
        if outside:
            raise OptionError(f"--search optuna: the baseline's {outside[0]} must be one of the space's values")


def _param_space(space: Space, search: str) -> dict:
    make = tune.grid_search if search == "grid" else tune.choice
    return {name: make(values) for name, values in space.knobs.items()}


def _extra_points(space: Space, search: str) -> list[dict]:
    """The baseline, evaluated first, unless a grid search reaches it anyway."""
    if space.baseline is None:
        return []
    if search == "grid" and all(v in space.knobs[k] for k, v in space.baseline.items()):
        return []
    return [space.baseline]


def _search_algorithm(first: list[dict], search: str, seed: int):
    """Tune's variant generator (grid, random) or Optuna, evaluating `first` first
    (each counts as one of Tune's num_samples)."""
    if search == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        return OptunaSearch(metric=list(OBJECTIVES), mode=list(OBJECTIVES.values()), seed=seed,
                            points_to_evaluate=first or None)
    from ray.tune.search.basic_variant import BasicVariantGenerator

    return BasicVariantGenerator(points_to_evaluate=first or None, random_state=seed)


def _start_ray(address: str | None, cpus: int | None, cpus_per_point: float) -> bool:
    """Connect to `address` or start a local Ray instance (unless one is running); True if started here."""
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=address, num_cpus=cpus if address is None else None, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise OptionError(f"--address {address}: cannot connect to Ray ({one_line(exc)})") from exc
        started = True
    available = ray.cluster_resources().get("CPU", 0)
    if cpus_per_point > available:
        if started:
            ray.shutdown()
        raise OptionError(f"--cpus-per-point {cpus_per_point}: the Ray cluster has {available:g} CPUs")
    return started


# Tune settings read from the environment while it runs: the classic reporter, which
# verbose=0 silences; our "started" and "error" reports carry no objectives by design.
TUNE_ENVIRONMENT = {"RAY_AIR_NEW_OUTPUT": "0", "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1"}


@contextlib.contextmanager
def _quiet_tune():
    """Tune's own tables and per-trial tracebacks off (the progress bar and the records say it all)."""
    logger = logging.getLogger("ray.tune")
    level, saved = logger.level, {k: os.environ.get(k) for k in TUNE_ENVIRONMENT}
    logger.setLevel(logging.CRITICAL)
    os.environ.update(TUNE_ENVIRONMENT)
    try:
        yield
    finally:
        logger.setLevel(level)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# -- inputs ------------------------------------------------------------------------
def _model_path(model) -> Path:
    if not isinstance(model, (str, Path)):
        raise OptionError("sweep: the model must be a file (.h5, .keras, or .json with weights); save it first")
    return Path(model)


def _model_files(model, weights) -> dict[str, bytes]:
    """name -> bytes of the model file (and its weights file for .json)."""
    path = _model_path(model)
    if not path.is_file():
        raise OptionError(f"{path}: no such model file")
    files = {path.name: path.read_bytes()}
    if path.suffix.lower() == ".json" or weights:
        w = Path(weights) if weights else path.with_name(path.stem + "_weights.h5")
        if not w.is_file():
            raise OptionError(f"{w}: weights file not found (pass --weights)")
        files[w.name] = w.read_bytes()
    return files


def _array(value, option: str, mmap: bool = False) -> np.ndarray:
    if isinstance(value, (str, Path)):
        from hlsflow.files import load_samples

        if mmap and str(value).endswith(".npy"):
            try:
                return np.load(value, mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise OptionError(f"{option} {value}: not a readable .npy file ({exc})") from exc
        value = load_samples(value, option)
    if isinstance(value, list):
        raise OptionError(f"{option}: one array expected (sweeps take models with one input)")
    array = np.asarray(value) if not isinstance(value, np.memmap) else value
    if array.ndim < 2 or len(array) == 0:
        raise OptionError(f"{option}: expected rows of inputs, got an array of shape {array.shape}")
    return array


def _labels(value, rows: int) -> np.ndarray:
    """Class indices, from indices or one-hot rows."""
    if isinstance(value, (str, Path)):
        from hlsflow.files import load_samples

        value = load_samples(value, "--labels")
    y = np.asarray(value)
    if y.ndim == 2 and y.shape[1] > 1:
        y = np.argmax(y, axis=1)
    y = y.reshape(-1) if y.ndim == 2 else y
    if y.ndim != 1 or len(y) != rows:
        raise OptionError(f"--labels: expected {rows} class labels (one per sample), got shape {np.shape(value)}")
    if not np.all(np.equal(np.mod(y, 1), 0)):
        raise OptionError("--labels: expected integer class indices (or one-hot rows)")
    return y.astype(np.int64)


def _row_blocks(x: np.ndarray):
    for i in range(0, len(x), CHUNK_ROWS):
        yield np.ascontiguousarray(x[i:i + CHUNK_ROWS]).tobytes()


def _digest(blocks) -> str:
    digest = hashlib.sha256()
    for block in blocks:
        digest.update(block)
    return digest.hexdigest()[:16]
