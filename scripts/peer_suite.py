"""hls4ml 1.3.0's own pytest suite, re-created in tests/peer, run with hlsflow
AND with hls4ml on the same cases; prints a table per tool and test file and
writes every item's result as JSON.

    python scripts/peer_suite.py [--tool hlsflow|hls4ml|both] [--only TEXT ...]
                                 [--json out.json] [--timeout 600] [--jobs 1]

hlsflow is judged as tests/peer/judge.py says (issue 17: QKeras cases
bit-exact, float cases calibrated and with the test's stated precision).
hls4ml runs with the Vitis backend and the test's own config
(config_from_keras_model with its granularity and default precision, its
per-layer settings), `compile()` + `predict`, judged by the test's own
assertion; it needs two shims on tf-keras models with numpy 2:
sys.modules["keras"] = tf_keras and np.product = np.prod.

Each tool runs in worker subprocesses, one per test file, fed one item at a
time: an item that crashes its worker or exceeds --timeout is recorded as an
error and a fresh worker takes the next. --only keeps the items whose id
contains one of the given texts (or matches it as a glob with * or ?).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

VERDICTS = ("bit-exact", "close", "mismatch", "error", "unsupported")
STARTUP_SECONDS = 120  # a worker's first item also waits for TensorFlow (and hls4ml) to import
UNSUPPORTED_WORDS = ("unsupported", "not supported", "not yet supported", "not implemented")


# -- items ---------------------------------------------------------------------------
def all_items(tool: str) -> list:
    """(tool, item id, case, io type, mode) for every item a tool runs."""
    from peer import cases

    if tool == "hlsflow":
        return [("hlsflow", i.id, i.case, i.io_type, i.mode) for i in cases.items()]
    out = []
    for case in cases.CASES:  # the same io types as hlsflow (QKeras cases in both)
        for io in (cases.IO_TYPES if case.quantized else case.io_types):
            out.append(("hls4ml", f"{case.id}-{io.removeprefix('io_')}-hls4ml", case, io, "own"))
    return out


def matches(item_id: str, patterns) -> bool:
    if not patterns:
        return True
    for p in patterns:
        if any(c in p for c in "*?"):  # a glob whose only wildcards are * and ? (ids contain brackets)
            regex = ".*".join(".".join(map(re.escape, part.split("?"))) for part in p.split("*"))
            if re.fullmatch(regex, item_id):
                return True
        elif p in item_id:
            return True
    return False


# -- worker side ---------------------------------------------------------------------
def worker(tool: str, results: Path, workdir: Path) -> None:
    """Run the item ids read from stdin, appending one JSON line per result to `results`."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    by_id = {i[1]: i for i in all_items(tool)}
    for line in sys.stdin:
        item_id = line.strip()
        if not item_id:
            continue
        _, _, case, io_type, mode = by_id[item_id]
        where = Path(tempfile.mkdtemp(prefix="item-", dir=workdir))
        try:
            if tool == "hlsflow":
                from peer import cases, judge

                result = judge.run_hlsflow(cases.Item(case, io_type, mode), where).to_json()
            else:
                result = run_hls4ml(case, io_type, item_id, where)
        finally:
            shutil.rmtree(where, ignore_errors=True)
        with open(results, "a") as f:
            f.write(json.dumps(result) + "\n")


def _hls4ml():
    import numpy as np
    import tf_keras

    sys.modules["keras"] = tf_keras  # shim 1: hls4ml's Keras-2 parser for tf-keras models
    np.product = np.prod  # shim 2: hls4ml 1.3.0 calls np.product (removed in numpy 2)
    import hls4ml

    return hls4ml


def hls4ml_config(case, model, hls4ml) -> dict:
    """The config the hls4ml test builds, for the Vitis backend."""
    strategy = {"latency": "Latency", "resource": "Resource"}[case.strategy]
    if case.granularity == "manual":
        config = {"Model": {"Precision": case.precision, "ReuseFactor": case.reuse_factor, "Strategy": strategy},
                  "LayerName": {}}
    else:
        config = hls4ml.utils.config_from_keras_model(model, granularity=case.granularity,
                                                      default_precision=case.precision, backend="Vitis",
                                                      default_reuse_factor=case.reuse_factor)
        config["Model"]["Strategy"] = strategy
    config["Model"].update(case.hls4ml_model)
    layers = config.setdefault("LayerName", {})
    for name, entry in case.layer_precision.items():
        target = layers.setdefault(name, {})
        if isinstance(entry, str) or not isinstance(target.get("Precision"), dict):
            target["Precision"] = entry if isinstance(entry, str) else dict(entry)
        else:
            target["Precision"].update(entry)
    for name, entry in case.hls4ml_layers.items():
        target = layers.setdefault(name, {})
        for key, value in entry.items():
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                target[key].update(value)
            else:
                target[key] = value
    return config


def run_hls4ml(case, io_type: str, item_id: str, workdir: Path) -> dict:
    import numpy as np

    from peer import judge

    start = time.time()
    try:
        hls4ml = _hls4ml()
        model, xs = case.model(), case.data()
        config = hls4ml_config(case, model, hls4ml)
        if case.from_h5:  # as the test: hls4ml's own .h5 reader
            model.save(workdir / "model.h5")
            full = hls4ml.utils.config.create_config(output_dir=str(workdir / "prj"))
            full.update(KerasH5=str(workdir / "model.h5"), Backend="Vitis", IOType=io_type, HLSConfig=config)
            hls_model = hls4ml.converters.keras_v2_to_hls(full)
        else:
            hls_model = hls4ml.converters.convert_from_keras_model(
                model, hls_config=config, output_dir=str(workdir / "prj"), backend="Vitis", io_type=io_type,
                **case.hls4ml_kwargs)
        hls_model.compile()
        arrays = [np.ascontiguousarray(x) for x in xs]
        predicted = judge.as_list(hls_model.predict(arrays[0] if len(arrays) == 1 else arrays))
        reference = judge.keras_predict(model, [x.astype(np.float32) for x in arrays])
        predicted = [np.asarray(p, np.float64).reshape(r.shape) for p, r in zip(predicted, reference)]
        if case.xnor:  # the test's own mapping of hls4ml's 0/1 binary values
            predicted = [np.where(p == 0, -1, 1) for p in predicted]
        if all(np.array_equal(p, r) for p, r in zip(predicted, reference)):
            verdict, ok, detail = "bit-exact", True, "equal to Keras"
        else:
            ok, detail = judge.tolerance_check(case.tolerance, predicted, reference)
            verdict = "close" if ok else "mismatch"
    except Exception as exc:  # noqa: BLE001 -- every failure is a verdict
        text = judge._one_line(exc)
        verdict, ok, detail = ("unsupported" if any(w in text.lower() for w in UNSUPPORTED_WORDS) else "error",
                               False, text)
    except BaseException as exc:  # pytest.skip: example model corpus absent
        if type(exc).__name__ != "Skipped":
            raise
        verdict, ok, detail = "skipped", False, str(exc)
    return {"item": item_id, "verdict": verdict, "passed": ok, "detail": detail,
            "seconds": round(time.time() - start, 2)}


# -- parent side ---------------------------------------------------------------------
def run_batch(tool: str, ids: list, timeout: float, workdir: Path, progress) -> list:
    """Feed `ids` to worker subprocesses one at a time; a timeout or crash is an error result."""
    batch_dir = Path(tempfile.mkdtemp(prefix=f"{tool}-", dir=workdir))
    results_path, log_path = batch_dir / "results.jsonl", batch_dir / "worker.log"
    results_path.touch()
    out, pending = [], list(ids)
    while pending:
        with open(log_path, "a") as log:
            proc = subprocess.Popen([sys.executable, __file__, "--worker", tool, "--results", str(results_path),
                                     "--workdir", str(batch_dir)], stdin=subprocess.PIPE, stdout=log,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
        first = True
        while pending:
            item_id = pending.pop(0)
            done = len(out)
            proc.stdin.write(item_id + "\n")
            proc.stdin.flush()
            deadline = time.time() + timeout + (STARTUP_SECONDS if first else 0)
            first = False
            result = None
            while result is None and proc.poll() is None and time.time() < deadline:
                time.sleep(0.2)
                lines = results_path.read_text().splitlines()
                if len(lines) > done:
                    result = json.loads(lines[done])
            if result is None:  # one last look: the worker may have written and exited
                lines = results_path.read_text().splitlines()
                result = json.loads(lines[done]) if len(lines) > done else None
            if result is None:
                code = proc.poll()
                reason = f"timeout after {timeout:g} s" if code is None else f"worker died (exit code {code})"
                _kill(proc)
                result = {"item": item_id, "verdict": "error", "passed": False, "detail": reason,
                          "seconds": timeout if code is None else None}
                with open(results_path, "a") as f:  # keep the file's lines in step with `out`
                    f.write(json.dumps(result) + "\n")
                out.append(result)
                progress(tool, result)
                break
            out.append(result)
            progress(tool, result)
        if proc.poll() is None:
            proc.stdin.close()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                _kill(proc)
    shutil.rmtree(batch_dir, ignore_errors=True)
    return out


def _kill(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def table(rows: dict, title: str) -> str:
    head = f"{'test file':<24}{'items':>6}{'pass':>6}" + "".join(f"{v:>12}" for v in VERDICTS)
    lines = [title, head, "-" * len(head)]
    total = {"items": 0, "pass": 0, **{v: 0 for v in VERDICTS}}
    for name in sorted(rows):
        r = rows[name]
        lines.append(f"{name:<24}{r['items']:>6}{r['pass']:>6}" + "".join(f"{r[v]:>12}" for v in VERDICTS))
        for k in total:
            total[k] += r[k]
    lines.append(f"{'total':<24}{total['items']:>6}{total['pass']:>6}" + "".join(f"{total[v]:>12}" for v in VERDICTS))
    return "\n".join(lines)


def tally(results: list, key) -> dict:
    rows: dict = {}
    for r in results:
        if r["verdict"] == "skipped":
            continue
        row = rows.setdefault(key(r), {"items": 0, "pass": 0, **{v: 0 for v in VERDICTS}})
        row["items"] += 1
        row["pass"] += bool(r["passed"])
        row[r["verdict"]] += 1
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tool", choices=["hlsflow", "hls4ml", "both"], default="both")
    parser.add_argument("--only", nargs="+", metavar="TEXT", help="items whose id contains TEXT (or matches a glob)")
    parser.add_argument("--json", type=Path, help="write every item's result here")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per item (default 600)")
    parser.add_argument("--jobs", type=int, default=1, help="worker subprocesses at a time (default 1)")
    parser.add_argument("--list", action="store_true", help="list the selected items and exit")
    parser.add_argument("--worker", choices=["hlsflow", "hls4ml"], help=argparse.SUPPRESS)
    parser.add_argument("--results", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.results, args.workdir)
        return 0

    from peer.known_failures import KNOWN_FAILURES

    tools = ["hlsflow", "hls4ml"] if args.tool == "both" else [args.tool]
    selected = [i for tool in tools for i in all_items(tool) if matches(i[1], args.only)]
    if args.list:
        print("\n".join(i[1] for i in selected))
        return 0
    meta = {i[1]: {"tool": i[0], "io_type": i[3], "mode": i[4], **i[2].describe()} for i in selected}
    batches: dict = {}
    for tool, item_id, case, _, _ in selected:
        batches.setdefault((tool, case.file), []).append(item_id)
    os.environ.setdefault("HLSFLOW_CACHE_DIR", str(Path(tempfile.gettempdir()) / "hlsflow-peer-cache"))
    lock, done = threading.Lock(), [0]

    def progress(tool, result):
        with lock:
            done[0] += 1
            print(f"[{done[0]}/{len(selected)}] {tool:<7} {result['verdict']:<11} {result['item']}  "
                  f"{result['detail'][:110]}", flush=True)

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="peer-suite-") as workdir:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(run_batch, tool, ids, args.timeout, Path(workdir), progress)
                       for (tool, _), ids in batches.items()]
            results = [r for f in futures for r in f.result()]
    for r in results:
        r.update(meta[r["item"]])
        if r["tool"] == "hlsflow":
            r["known_failure"] = KNOWN_FAILURES.get(r["item"])
    print()
    for tool in tools:
        mine = [r for r in results if r["tool"] == tool]
        print(table(tally(mine, lambda r: r["file"]), f"{tool}: items by hls4ml test file"), "\n")
        if tool == "hlsflow":
            print(table(tally(mine, lambda r: r["mode"]), "hlsflow: items by mode"), "\n")
    skipped = [r["item"] for r in results if r["verdict"] == "skipped"]
    if skipped:
        print(f"skipped (example models absent): {len(skipped)}")
    print(f"{len(results)} items in {time.time() - started:.0f} s")
    if args.json:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        args.json.write_text(json.dumps({"date": datetime.date.today().isoformat(), "commit": commit,
                                         "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
