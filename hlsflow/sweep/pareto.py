"""Pareto fronts of a sweep: accuracy (higher is better) against a cost (lower
is better: estimated LUTs, latency), as a text table and a PNG plot."""
from __future__ import annotations

from pathlib import Path

COSTS = {"lut": "estimated LUTs", "latency": "estimated latency (cycles)"}


def front(records: list[dict], cost: str) -> list[dict]:
    """The successful points no other point beats on both accuracy and `cost`
    (ties: the first in record order), by increasing cost."""
    ok = [r for r in records if r.get("status") == "ok"]
    ranked = sorted(enumerate(ok), key=lambda ir: (ir[1][cost], -ir[1]["accuracy"], ir[0]))
    chosen, best = [], None
    for _, r in ranked:
        if best is None or r["accuracy"] > best:
            chosen.append(r)
            best = r["accuracy"]
    return chosen


def beating(points: list[dict], baseline: dict, cost: str = "lut") -> list[dict]:
    """The points strictly better than `baseline` on both accuracy and cost."""
    return [r for r in points if r["accuracy"] > baseline["accuracy"] and r[cost] < baseline[cost]]


def _knob_text(record: dict, knobs: list[str]) -> str:
    return " ".join(f"{k}={record[k]}" for k in knobs if record.get(k) is not None)


def table(records: list[dict], knobs: list[str], baseline_key: str | None = None) -> str:
    """Both fronts as aligned text, then how the baseline (if any) compares with the LUT front."""
    lines = []
    for cost, meaning in COSTS.items():
        points = front(records, cost)
        lines.append(f"Pareto front: accuracy vs {meaning} ({len(points)} of "
                     f"{sum(r.get('status') == 'ok' for r in records)} points)")
        rows = [("accuracy", "LUT", "DSP", "latency", "II", "point", "")]
        rows += [(f"{r['accuracy']:.4f}", str(r["lut"]), str(r["dsp"]), str(r["latency"]), str(r["ii"]), r["key"],
                  _knob_text(r, knobs)) for r in points]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines += ["  " + "  ".join(c.rjust(w) if i < 5 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
                  for row in rows]
        lines.append("")
    if baseline_key is not None:
        lines.append(baseline_line(records, knobs, baseline_key))
    return "\n".join(lines).rstrip() + "\n"


def baseline_line(records: list[dict], knobs: list[str], baseline_key: str) -> str:
    """Whether some front point beats the hand-chosen baseline on both accuracy and estimated LUTs."""
    base = next((r for r in records if r["key"] == baseline_key), None)
    if base is None or base.get("status") != "ok":
        why = "was not evaluated" if base is None else f"failed: {base.get('error')}"
        return f"baseline {baseline_key}: {why}"
    better = beating(front(records, "lut"), base)
    head = f"baseline {base['key']} ({_knob_text(base, knobs)}): accuracy {base['accuracy']:.4f}, {base['lut']} LUT"
    if not better:
        return f"{head}; no point beats it on both accuracy and estimated LUTs"
    best = max(better, key=lambda r: (r["accuracy"], -r["lut"]))
    return (f"{head}; {len(better)} front point(s) beat it on both accuracy and estimated LUTs, e.g. {best['key']} "
            f"({_knob_text(best, knobs)}): accuracy {best['accuracy']:.4f}, {best['lut']} LUT")


def plot(records: list[dict], path: Path, title: str, baseline_key: str | None = None) -> None:
    """A PNG with one panel per cost: every successful point, the front as a line, the baseline as a star."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in records if r.get("status") == "ok"]
    fig, axes = plt.subplots(1, len(COSTS), figsize=(6 * len(COSTS), 4.6))
    for ax, (cost, meaning) in zip(axes, COSTS.items()):
        ax.scatter([r[cost] for r in ok], [r["accuracy"] for r in ok], s=18, color="#9aa7b8", label="points")
        points = front(records, cost)
        ax.step([r[cost] for r in points], [r["accuracy"] for r in points], where="post", color="#c0392b")
        ax.scatter([r[cost] for r in points], [r["accuracy"] for r in points], s=30, color="#c0392b",
                   label="Pareto front", zorder=3)
        base = next((r for r in ok if r["key"] == baseline_key), None)
        if base is not None:
            ax.scatter([base[cost]], [base["accuracy"]], marker="*", s=220, color="#f1c40f", edgecolor="black",
                       label="baseline", zorder=4)
        ax.set_xlabel(meaning)
        ax.set_ylabel("accuracy (emulated hardware)")
        ax.grid(color="#dddddd", linewidth=0.6)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"{title}: {len(ok)} points")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
