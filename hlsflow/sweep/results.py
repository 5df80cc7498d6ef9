"""A sweep's directory: one JSON line per point (appended as points finish, so
a stopped sweep keeps what it did), the same as CSV, the points in flight,
and the fingerprint of the model and data that a resume must match.

    DIR/points.jsonl   one record per point: key, status ("ok" or "failed"), the knobs,
                       the figures (FIGURES) or the one-line error
    DIR/points.csv     the same records as a table
    DIR/running.json   points being evaluated now: host and pid of the worker, since when
    DIR/sweep.json     digests of the model, samples, labels and calibration set
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

from hlsflow.errors import OptionError

FIGURES = ("accuracy", "rows", "lut", "dsp", "bram18k", "latency", "latency_ns", "ii", "ebops",
           "spot_rows", "spot_emulated_accuracy", "spot_csim_accuracy", "spot_bit_exact_rows",
           "synth_latency", "synth_ii", "synth_clock_estimated", "synth_lut", "synth_dsp", "synth_ff", "synth_bram18k",
           "time_quantize", "time_convert", "time_emulate", "time_csim", "time_synthesis", "seconds")
TRAILER = ("host", "finished", "error")


def write_atomic(path: Path, text: str) -> None:
    """Replace path's content in one step (readers never see half a file)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Results:
    """The records of a sweep directory."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.lines = self.directory / "points.jsonl"
        self.running = self.directory / "running.json"

    def load(self) -> dict[str, dict]:
        """key -> the latest record of each point (a torn last line, from a killed driver, is skipped)."""
        records = {}
        if self.lines.is_file():
            for line in self.lines.read_text().splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                records[record["key"]] = record
        return records

    def append(self, record: dict) -> None:
        with open(self.lines, "a") as f:
            f.write(json.dumps(record) + "\n")

    def write_running(self, entries: dict) -> None:
        write_atomic(self.running, json.dumps(entries, indent=1) + "\n")

    def finish(self, knobs: list[str]) -> list[dict]:
        """Rewrite points.jsonl with one line per point (the latest) and write points.csv; the records."""
        records = list(self.load().values())
        write_atomic(self.lines, "".join(json.dumps(r) + "\n" for r in records))
        columns = ["key", "status"] + list(knobs)
        columns += [k for k in FIGURES if any(k in r for r in records)]
        columns += [k for r in records for k in r if k not in columns and k not in TRAILER]
        columns = list(dict.fromkeys(columns)) + list(TRAILER)
        with open(self.directory / "points.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(records)
        if self.running.is_file():
            self.running.unlink()
        return records

    def check_fingerprint(self, fingerprint: dict) -> None:
        """The first run writes sweep.json; later runs in the directory must sweep the same model and data."""
        path = self.directory / "sweep.json"
        if not path.is_file():
            write_atomic(path, json.dumps(fingerprint, indent=1) + "\n")
            return
        stored = json.loads(path.read_text())
        for name, value in fingerprint.items():
            if stored.get(name) != value:
                raise OptionError(f"{self.directory}: holds a sweep with other {name} ({path}); "
                                  "resume with the same inputs or use a new output directory")
