"""Design-space sweeps on a local 2-CPU Ray instance: a point whose worker is
killed is recorded as failed and the sweep goes on, a rerun resumes (finished
points kept, the failed one completed), emulated accuracy equals csim's on the
spot-checked rows, and a sweep of accuracy and estimates never runs g++."""
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import hlsflow
from hlsflow.errors import OptionError
from hlsflow.sweep import pareto
from hlsflow.sweep.results import Results
from hlsflow.sweep.space import load_space, point_key, settings

FAKE_CSYNTH = """<profile><PerformanceEstimates>
<SummaryOfOverallLatency><Worst-caseLatency>42</Worst-caseLatency><Interval-max>7</Interval-max></SummaryOfOverallLatency>
<SummaryOfTimingAnalysis><EstimatedClockPeriod>4.2</EstimatedClockPeriod></SummaryOfTimingAnalysis>
</PerformanceEstimates><AreaEstimates><Resources><LUT>1234</LUT><DSP>5</DSP><FF>99</FF><BRAM_18K>2</BRAM_18K>
</Resources></AreaEstimates></profile>"""


# -- the search space, the front and the records, without Ray -------------------------------
def test_space_knobs_baseline_and_settings(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("weight_bits: [4, 8]\nio_type: stream\nclock_period: 4\nreuse_factor: [1, 2]\n"
                    "layers:\n  fc1: {weight_bits: [null, 6], reuse_factor: 4}\n  relu1: {activation_bits: 5}\n"
                    "baseline: {weight_bits: 8, reuse_factor: 1, io_type: io_stream, clock_period: 4}\n")
    space = load_space(path)
    assert space.knobs == {"weight_bits": [4, 8], "io_type": ["io_stream"], "clock_period": [4.0],
                           "reuse_factor": [1, 2], "fc1.weight_bits": [None, 6], "fc1.reuse_factor": [4],
                           "relu1.activation_bits": [5]}
    assert space.size() == 8 and space.quantizes
    assert space.baseline == {"weight_bits": 8, "io_type": "io_stream", "clock_period": 4.0, "reuse_factor": 1,
                              "fc1.weight_bits": None, "fc1.reuse_factor": None, "relu1.activation_bits": None}
    point = {"weight_bits": 4, "io_type": "io_stream", "clock_period": 4.0, "reuse_factor": 2, "fc1.weight_bits": 6,
             "fc1.reuse_factor": 4, "relu1.activation_bits": 5}
    assert settings(point) == {
        "bits": {"weight_bits": 4, "activation_bits": 8, "layers": {"fc1": {"weight_bits": 6}, "relu1": {"bits": 5}}},
        "io_type": "io_stream", "clock_period": 4.0, "error_target": None,
        "config": {"reuse_factor": 2, "layers": {"fc1": {"reuse_factor": 4}}}}
    assert point_key(point) == point_key(dict(reversed(point.items()))) != point_key({**point, "reuse_factor": 1})
    assert settings({"reuse_factor": 2, "strategy": None})["bits"] is None  # no bits knob: no PTQ


@pytest.mark.parametrize("text, message", [
    ("weight_bit: [4]", "'weight_bit' is not a knob"),
    ("weight_bits: [4, 40]", "weight_bits: 40 is not an integer from 2 to 16"),
    ("reuse_factor: [1, 1]", "listed twice"),
    ("layers: {fc1: {io_type: stream}}", "layers.fc1.io_type: not a per-layer knob"),
    ("weight_bits: [4]\nbaseline: {reuse_factor: 2}", "baseline sets 'reuse_factor', which is not a knob"),
    ("weight_bits: [4]\nbaseline: {weight_bits: [4, 8]}", "a baseline gives one value"),
    ("weight_bits: [4", "not a readable YAML file"),
])
def test_space_errors_name_the_knob(tmp_path, text, message):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(OptionError, match=message) as info:
        load_space(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_pareto_front_and_baseline():
    def r(key, accuracy, lut, latency, status="ok"):
        return {"key": key, "status": status, "accuracy": accuracy, "lut": lut, "dsp": 0, "latency": latency, "ii": 1}

    records = [r("a", 0.90, 100, 9), r("b", 0.95, 300, 5), r("c", 0.93, 300, 9), r("d", 0.95, 200, 12),
               r("e", 0.80, 50, 20), r("f", 0.99, 10, 1, status="failed"), r("g", 0.90, 100, 9)]
    assert [p["key"] for p in pareto.front(records, "lut")] == ["e", "a", "d"]  # g ties a: the first is kept
    assert [p["key"] for p in pareto.front(records, "latency")] == ["b"]
    assert [p["key"] for p in pareto.beating(pareto.front(records, "lut"), r("x", 0.91, 250, 9))] == ["d"]
    text = pareto.table(records, ["w"], baseline_key="c")
    assert "beat it on both accuracy and estimated LUTs, e.g. d" in text
    assert "no point beats it" in pareto.table(records, ["w"], baseline_key="e")


def test_results_keep_the_latest_record_and_guard_the_inputs(tmp_path):
    results = Results(tmp_path)
    results.append({"key": "k1", "status": "failed", "error": "boom"})
    results.append({"key": "k2", "status": "ok", "accuracy": 0.5})
    results.append({"key": "k1", "status": "ok", "accuracy": 0.7})
    with open(results.lines, "a") as f:
        f.write('{"key": "k3", "sta')  # a driver killed mid-write
    assert {k: r["status"] for k, r in results.load().items()} == {"k1": "ok", "k2": "ok"}
    records = results.finish([])
    assert len(results.lines.read_text().splitlines()) == 2 and len(records) == 2
    results.check_fingerprint({"model": "m1", "labels": "l1"})
    results.check_fingerprint({"model": "m1", "labels": "l1"})
    with pytest.raises(OptionError, match="other model"):
        results.check_fingerprint({"model": "m2", "labels": "l1"})


# -- sweeps on Ray -------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A float MLP 16-24-relu-5-softmax (random weights), 400 inputs labelled by the float model, 200 for calibration."""
    import tf_keras as keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.layers.InputLayer((16,), name="x"),
                              keras.layers.Dense(24, activation="relu", name="fc1"),
                              keras.layers.Dense(5, activation="softmax", name="fc2")], name="tiny")
    rng = np.random.default_rng(0)
    x, calibration = rng.normal(0, 1, (400, 16)).astype(np.float32), rng.normal(0, 1, (200, 16)).astype(np.float32)
    labels = np.argmax(model.predict(x, verbose=0), axis=1)
    folder = tmp_path_factory.mktemp("sweep-data")
    model.save(folder / "tiny.h5")
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", labels)
    return {"model": model, "path": folder / "tiny.h5", "x": folder / "x.npy", "y": folder / "y.npy",
            "calibration": calibration, "labels": labels, "inputs": x}


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local 2-CPU Ray instance whose workers run g++ and a fake vitis_hls through logging wrappers."""
    import ray

    tools = tmp_path_factory.mktemp("tools")
    compiler = shutil.which(os.environ.get("CXX", "g++"))
    (tools / "g++").write_text(f'#!/bin/sh\necho "$@" >> {tools}/gxx.log\nexec {compiler} "$@"\n')
    (tools / "vitis_hls").write_text(f'#!/bin/sh\necho "$PWD $@" >> {tools}/vitis.log\n'
                                     "mkdir -p x_prj/solution1/syn/report\n"
                                     f"cat > x_prj/solution1/syn/report/x_csynth.xml <<'EOF'\n{FAKE_CSYNTH}\nEOF\n")
    for tool in ("g++", "vitis_hls"):
        (tools / tool).chmod(0o755)
    saved = {k: os.environ.get(k) for k in ("CXX", "PATH")}
    os.environ["CXX"] = str(tools / "g++")
    os.environ["PATH"] = f"{tools}:{os.environ['PATH']}"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield {"gxx": tools / "gxx.log", "vitis": tools / "vitis.log"}
    ray.shutdown()
    for k, v in saved.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


def _kill_when_running(directory: Path, key: str, seconds: float = 300):
    """From outside the sweep: once point `key` runs, SIGKILL its worker (pid from
    running.json). Returns the watching thread and the entry it killed (filled in then)."""
    killed = {}

    def watch():
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                entry = json.loads((directory / "running.json").read_text()).get(key)
            except (OSError, ValueError):
                entry = None
            if entry:
                os.kill(entry["pid"], signal.SIGKILL)
                killed.update(entry)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, killed


def test_killed_worker_is_recorded_and_resume_completes_it(data, ray_cluster, tmp_path, monkeypatch):
    from hlsflow.sweep import runner

    monkeypatch.setattr(runner, "CHUNK_ROWS", 128)  # the 400 rows reach the workers in 4 chunks
    out = tmp_path / "sweep"
    # a misspelled layer (fc9): the 2 points that set its knob fail
    space = {"weight_bits": [3, 8], "layers": {"fc9": {"reuse_factor": [None, 2]}}}
    target = point_key({"weight_bits": 3, "fc9.reuse_factor": None})
    options = dict(calibration=data["calibration"], spot_check=16, cpus=2, progress=False)
    watcher, killer = _kill_when_running(out, target)
    first = hlsflow.sweep(data["path"], data["x"], data["y"], space, out, **options)
    watcher.join()
    assert killer, "the target point never ran"
    by_key = {r["key"]: r for r in first.records}
    assert len(by_key) == 4 and (first.evaluated, first.failed, first.skipped) == (4, 3, 0)
    assert by_key[target]["status"] == "failed"
    assert by_key[target]["error"].startswith(f"worker died (pid {killer['pid']} on ")
    for r in first.records:
        if r["fc9.reuse_factor"] == 2:
            assert r["status"] == "failed" and "\n" not in r["error"]
            assert "layers.fc9: no such layer" in r["error"]
    ok = [r for r in first.records if r["status"] == "ok"]
    assert [(r["weight_bits"], r["fc9.reuse_factor"]) for r in ok] == [(8, None)]
    assert not (out / "running.json").exists()
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert len((out / "points.csv").read_text().splitlines()) == 5
    assert _lines(ray_cluster["gxx"]) > 0  # the spot-checks compiled with the logged g++

    second = hlsflow.sweep(data["path"], data["x"], data["y"], space, out, **options)
    again = {r["key"]: r for r in second.records}
    assert (second.evaluated, second.failed, second.skipped) == (3, 2, 1)  # failed points are tried again
    assert len((out / "points.jsonl").read_text().splitlines()) == 4
    assert again[ok[0]["key"]] == ok[0]  # finished: skipped, its record untouched
    assert again[target]["status"] == "ok" and again[target]["rows"] == 400

    for r in (again[ok[0]["key"]], again[target]):
        assert r["spot_rows"] == r["spot_bit_exact_rows"] == 16
        assert r["spot_emulated_accuracy"] == r["spot_csim_accuracy"]
        assert (r["synth_lut"], r["synth_latency"], r["synth_ii"], r["synth_dsp"]) == (1234, 42, 7, 5)
    assert again[ok[0]["key"]]["accuracy"] > again[target]["accuracy"]  # 8-bit weights beat 3-bit ones
    assert "-f build_prj.tcl -tclargs synth" in ray_cluster["vitis"].read_text()

    # the figures are those of the pipeline run by hand: PTQ at 8 bits, calibrated types, the emulator
    from hlsflow.backend.report import estimate
    from hlsflow.emulate import emulate
    from hlsflow.project import typed_graph

    qmodel = hlsflow.quantize(data["model"], weight_bits=8, activation_bits=8, input_weight_bits=8,
                              samples=data["calibration"])
    _, graph = typed_graph(qmodel, data["calibration"], {"reuse_factor": 1})
    expected = np.mean(np.argmax(emulate(graph, data["inputs"]), axis=1) == data["labels"])
    assert again[ok[0]["key"]]["accuracy"] == expected
    assert again[ok[0]["key"]]["lut"] == estimate(graph, 5.0, "io_parallel")["total"]["lut"]


def test_accuracy_and_estimates_only_never_run_gxx(data, ray_cluster, tmp_path):
    compiled, synthesized = _lines(ray_cluster["gxx"]), _lines(ray_cluster["vitis"])
    space = {"weight_bits": [4, 6, 8], "activation_bits": [6, 8], "io_type": ["io_parallel", "io_stream"]}
    result = hlsflow.sweep(data["path"], data["inputs"], data["labels"], space, tmp_path / "sweep",
                           calibration=data["calibration"], search="optuna", points=4, seed=1, spot_check=0,
                           synthesis=False, progress=False)
    assert result.evaluated + result.skipped == 4 and result.failed == 0  # Optuna may draw a point twice
    assert 0 < len(result.records) <= result.evaluated and all(r["status"] == "ok" for r in result.records)
    assert all("spot_rows" not in r and "synth_lut" not in r for r in result.records)
    assert (_lines(ray_cluster["gxx"]), _lines(ray_cluster["vitis"])) == (compiled, synthesized)
    assert result.front("lut") and result.front("latency")


def test_cli_sweep_errors_are_one_line(data, tmp_path):
    import subprocess

    space = tmp_path / "space.yaml"
    space.write_text("weight_bits: [4, 99]\n")
    result = subprocess.run([sys.executable, "-m", "hlsflow", "sweep", str(data["path"]), "--samples", str(data["x"]),
                             "--labels", str(data["y"]), "--space", str(space), "-o", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "weight_bits: 99 is not an integer" in result.stderr
    np.save(tmp_path / "few.npy", data["labels"][:10])
    with pytest.raises(OptionError, match="expected 400 class labels"):
        hlsflow.sweep(data["path"], data["x"], tmp_path / "few.npy", {"reuse_factor": [1]}, tmp_path / "out2")
