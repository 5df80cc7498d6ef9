"""The picture of `hlsflow profile`: per tensor, the distribution of log2|value|
with the chosen type's range (step to max) drawn behind it."""
from __future__ import annotations

import math

import numpy as np

from hlsflow.errors import OptionError


def profile_plot(rows: list[dict], path, title: str) -> None:
    """Write a PNG: one row per tensor/parameter, a violin of log2|x| over a bar from log2(step) to log2(max)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise OptionError("--plot needs matplotlib (pip install matplotlib)") from exc
    from hlsflow.fixed import FixedType

    fig, ax = plt.subplots(figsize=(11, 0.55 * len(rows) + 1.6))
    types = [FixedType.parse(r["type"]) for r in rows]
    left = min(math.log2(t.step) for t in types) - 4  # smaller values are drawn at this edge
    labels = []
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        t = types[i]
        top = math.log2(max(abs(t.min_value), abs(t.max_value)))
        low = math.log2(t.step)
        ax.barh(y, top - low, left=low, height=0.8, color="#dde6f2", edgecolor="#7f9cc2", zorder=1)
        x = np.abs(r["values"].ravel())
        zeros = float(np.mean(x == 0))
        x = np.maximum(np.log2(x[x > 0]), left)
        if x.size > 1 and np.ptp(x) > 0:
            part = ax.violinplot(x, positions=[y], vert=False, widths=0.75, showextrema=False)
            for body in part["bodies"]:
                body.set(facecolor="#e07b39" if r["overflow"] else "#3a7d44", alpha=0.75, zorder=2)
        if x.size:
            ax.plot([x.max()], [y], "|", color="black", markersize=12, zorder=3)
        labels.append(f"{r['tensor']}  {r['type'].replace(',AP_RND_CONV,AP_SAT', '')}"
                      + (f"  ({zeros:.0%} zeros)" if zeros >= 0.01 else "")
                      + (f"  ⚠ {r['overflow']} overflow" if r["overflow"] else ""))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels[::-1], fontsize=9)
    ax.set_xlim(left - 0.5, None)
    ax.set_xlabel("log2 |value|\nblue bar: chosen type, from its step to its max;  violin: values on the samples "
                  "(smaller ones at the left edge);  |: largest")
    ax.set_title(f"{title}: value distributions and chosen fixed-point types")
    ax.grid(axis="x", color="#cccccc", linewidth=0.5, zorder=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
