"""Progress on stderr while hlsflow works (rich): a spinner for a step of
unknown length, a bar for counted work, with the elapsed time.

Shown only when stderr is a terminal; in pipes, logs and CI nothing is
printed. Steps nest: each is one line of the same display, removed when it
ends. The display writes to its own copy of the terminal's file descriptor,
so it stays visible while TensorFlow's C++ logging (fd 2) is silenced.
"""
from __future__ import annotations

import contextlib
import os
import sys

_display = None  # the live rich Progress while any step runs


def enabled() -> bool:
    """Whether progress is shown: stderr is a terminal."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


class Step:
    """A running step; `advance` moves its bar (no-op when nothing is shown)."""

    def __init__(self, task=None):
        self._task = task

    def advance(self, amount: float = 1) -> None:
        if self._task is not None and _display is not None:
            _display.advance(self._task, amount)


@contextlib.contextmanager
def step(label: str, total: int | None = None, show: bool = True):
    """Show `label` with a spinner (total None) or a bar of `total` units while
    the block runs (`show=False`: show nothing, as when stderr is no terminal)."""
    global _display
    if not (show and enabled()):
        yield Step()
        return
    if _display is None:
        _display = _start()
    display = _display
    task = display.add_task(label, total=total)
    try:
        yield Step(task)
    finally:
        display.remove_task(task)
        if not display.tasks and display is _display:
            _display = None
            display.stop()
            display.console.file.close()


def track(items, label: str, total: int | None = None):
    """Iterate over `items` with a bar of `total` (default len(items)) steps."""
    total = len(items) if total is None else total
    with step(label, total) as bar:
        for item in items:
            yield item
            bar.advance()


def _start():
    from rich.console import Console
    from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class Count(ProgressColumn):
        """done/total for counted work, nothing for a spinner step."""

        def render(self, task):
            return Text(f"{task.completed:.0f}/{task.total:.0f}" if task.total is not None else "")

    sys.stderr.flush()
    console = Console(file=os.fdopen(os.dup(sys.stderr.fileno()), "w"), stderr=True)
    display = Progress(SpinnerColumn(), TextColumn("hlsflow: {task.description}"), BarColumn(bar_width=24), Count(),
                       TimeElapsedColumn(), console=console, transient=True)
    display.start()
    return display
