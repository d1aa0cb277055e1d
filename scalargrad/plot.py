"""Charts of the output over the steps: a unicode sparkline for the terminal, and a real
chart (SVG or PNG) drawn with matplotlib, an optional extra: `pip install 'scalargrad[plot]'`.

matplotlib is imported only here, only when a chart file is asked for, with the Agg
backend (no window, no display needed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from scalargrad.errors import UsageError

FORMATS = {".svg": "svg", ".png": "png"}
BARS = "▁▂▃▄▅▆▇█"
INSTALL_HINT = "install the plotting extra: pip install 'scalargrad[plot]' (or pip install matplotlib)"


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """At most `width` bars, low to high, sampled evenly from first to last value."""
    if not values:
        return ""
    if len(values) > width:
        last = len(values) - 1
        values = [values[round(i * last / (width - 1))] for i in range(width)]
    low, high = min(values), max(values)
    if high - low <= 1e-12 * max(abs(low), abs(high), 1e-300):
        return BARS[len(BARS) // 2] * len(values)
    scale = (len(BARS) - 1) / (high - low)
    return "".join(BARS[round((v - low) * scale)] for v in values)


def plot_format(path: str | os.PathLike) -> str:
    """The chart format named by the file's extension; anything else is a usage error."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"--plot writes .svg or .png files, not `{Path(path).name}`",
                         hint="name the chart curve.svg or curve.png")
    return FORMATS[suffix]


def require_matplotlib() -> None:
    """Fail early, with what to install, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib, which is not installed", hint=INSTALL_HINT) from None


def plot_history(path: str | os.PathLike, history: Sequence[float], *, output: str, title: str) -> None:
    """Draw the output value against the step number into `path` (.svg or .png), atomically."""
    fmt = plot_format(path)
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("--plot needs matplotlib, which is not installed", hint=INSTALL_HINT) from None
    from scalargrad.files import write_atomically

    figure = Figure(figsize=(7, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    steps = range(len(history))
    axes.plot(steps, history, color="tab:blue", linewidth=1.5, marker="o" if len(history) <= 30 else None,
              markersize=3)
    axes.set_xlabel("step")
    axes.set_ylabel(output)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.xaxis.get_major_locator().set_params(integer=True)

    def write(stream) -> None:
        # No date and a fixed id salt: the same run gives the same SVG file.
        metadata = {"Date": None} if fmt == "svg" else {}
        with matplotlib.rc_context({"svg.hashsalt": "scalargrad", "svg.fonttype": "path"}):
            figure.savefig(stream, format=fmt, metadata=metadata)

    write_atomically(path, write, "the chart")
