"""One way for every benchmark to report a figure beside the tool a user would otherwise use.

A benchmark calls :func:`emit` for each comparison.  It prints a line for people
and, when ``bench/run`` drives it (``BENCH_ROWS`` names a file), appends the row
as JSON so that ``bench/run`` can print one table of every benchmark.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any], *, repeat: int = 1) -> float:
    """The best wall-clock time of ``repeat`` calls of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def format_ratio(ratio: float | None) -> str:
    """How many times faster releasetool is (below 1: slower), with useful precision."""
    if ratio is None:
        return "-"
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.3f}x"


def emit(benchmark: str, ours: float, other_tool: str | None = None, other: float | None = None, *,
         unit: str = "s", note: str = "") -> None:
    """Report ``ours`` (and the other tool's figure on the same input, when there is one)."""
    ratio = (other / ours) if other is not None and ours > 0 else None
    line = f"{benchmark}: releasetool {ours:.4f} {unit}"
    if other is not None:
        line += f"; {other_tool} {other:.4f} {unit}; ratio {format_ratio(ratio)}"
    if note:
        line += f" ({note})"
    print(line, flush=True)
    rows_file = os.environ.get("BENCH_ROWS")
    if rows_file:
        row = {"benchmark": benchmark, "ours": ours, "other_tool": other_tool, "other": other,
               "ratio": ratio, "unit": unit, "note": note}
        with open(rows_file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
