"""Charts of the output over the steps: a unicode sparkline for the terminal, and a real
chart (SVG or PNG) drawn with matplotlib, an optional extra: `pip install 'scalargrad[plot]'`;
and the sweep's charts: a curve with its tangent, or a heat map with gradient arrows.

matplotlib is imported only here, only when a chart file is asked for, with the Agg
backend (no window, no display needed).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

from scalargrad.errors import UsageError

FORMATS = {".svg": "svg", ".png": "png"}
BARS = "▁▂▃▄▅▆▇█"
INSTALL_HINT = ("install the plotting extra: pip install 'scalargrad[plot]', or from a clone of scalargrad "
                "pip install '.[plot]' (or pip install matplotlib)")


# Okabe and Ito's colours, told apart with any colour vision (and each label has its own marker)
MARK_COLOURS = ["#E69F00", "#0072B2", "#F0E442", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
LOG_SPAN = 100.0  # a chart is drawn on a log scale when its positive values span more than this factor


def log_scale(values: Sequence[float]) -> bool:
    """Whether to draw `values` on a log scale: all positive, spanning more than two decades
    (a loss falling from 36 to 1e-6 would otherwise be one bar high, then flat)."""
    return bool(values) and min(values) > 0 and max(values) > LOG_SPAN * min(values)


def sparkline(values: Sequence[float], width: int = 40, log: bool = False) -> str:
    """At most `width` bars, low to high, sampled evenly from first to last value; with `log`,
    bar heights follow log10 of the (positive) values."""
    if not values:
        return ""
    if len(values) > width:
        last = len(values) - 1
        values = [values[round(i * last / (width - 1))] for i in range(width)]
    if log:
        values = [math.log10(v) for v in values]
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


def ready_to_plot(path: str | os.PathLike) -> None:
    """Before any work: `--plot PATH` names a format matplotlib writes, matplotlib is there,
    and PATH can be written; else a usage error that says what to do."""
    from scalargrad.files import check_writable

    check_writable(path, "--plot")
    plot_format(path)
    require_matplotlib()


def plot_history(path: str | os.PathLike, history: Sequence[float], *, output: str, title: str) -> None:
    """Draw the output value against the step number into `path` (.svg or .png), atomically."""
    figure, axes = _figure(path)
    steps = range(len(history))
    axes.plot(steps, history, color="tab:blue", linewidth=1.5, marker="o" if len(history) <= 30 else None,
              markersize=3)
    axes.set_xlabel("step")
    if log_scale(history):
        axes.set_yscale("log")
        output += " (log scale)"
    axes.set_ylabel(output)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.xaxis.get_major_locator().set_params(integer=True)
    _save(figure, path)


def plot_curve(path: str | os.PathLike, xs, ys, *, x_name: str, y_name: str, title: str,
               tangent: tuple[float, float, float] | None = None) -> None:
    """The output over one swept input, and the tangent (x, y, slope) if given, into `path`."""
    figure, axes = _figure(path)
    axes.plot(xs, ys, color="tab:blue", linewidth=1.8, label=y_name)
    if tangent is not None:
        x0, y0, slope = tangent
        axes.plot(xs, [y0 + slope * (x - x0) for x in xs], color="tab:orange", linewidth=1.3, linestyle="--",
                  label=f"tangent at {x_name} = {x0:g}: slope {slope:.6g}")
        axes.plot([x0], [y0], "o", color="tab:orange", markersize=6)
        finite = [y for y in ys if y == y]
        if finite:  # the tangent runs off far beyond the curve: keep the curve in view
            low, high = min(finite), max(finite)
            pad = 0.08 * (high - low or 1.0)
            axes.set_ylim(low - pad, high + pad)
    axes.set_xlabel(x_name)
    axes.set_ylabel(y_name)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    _save(figure, path)


def plot_map(path: str | os.PathLike, grid_x, grid_y, values, grad_x, grad_y, *, names: tuple[str, str],
             output: str, title: str, arrows: int = 20, marks: dict[str, list[float]] | None = None) -> None:
    """The output over two swept inputs as a heat map with contour lines, and its gradient as
    arrows on a subgrid of at most `arrows` x `arrows` points. Arguments are 2-D arrays.
    With `marks` (columns: the two inputs, then optionally a label), a classifier's picture
    instead: the two sides of 0 in two colours, the line where the output is 0, and the
    points coloured by label (no arrows)."""
    figure, axes = _figure(path, size=(7, 5.5))
    if marks is not None:
        filled = _sides_of_zero(axes, grid_x, grid_y, values, output)
        _marks(axes, names, marks)
    else:
        filled = axes.contourf(grid_x, grid_y, values, levels=30, cmap="viridis")
        axes.contour(grid_x, grid_y, values, levels=10, colors="white", linewidths=0.5, alpha=0.6, linestyles="solid")
        every_x = max(1, len(grid_x) // arrows)
        every_y = max(1, len(grid_x[0]) // arrows)
        sub = (slice(None, None, every_x), slice(None, None, every_y))
        axes.quiver(grid_x[sub], grid_y[sub], grad_x[sub], grad_y[sub], color="white", alpha=0.9, angles="xy",
                    label=f"gradient of {output}")
    figure.colorbar(filled, ax=axes, label=output)
    axes.set_xlabel(names[0])
    axes.set_ylabel(names[1])
    axes.set_title(title)
    axes.legend(loc="best", framealpha=0.8)
    _save(figure, path)


def _sides_of_zero(axes, grid_x, grid_y, values, output: str):
    """The map in a diverging colour scale centred at 0 (one hue each side) and the line
    where it is 0: a classifier's decision boundary."""
    from matplotlib.colors import TwoSlopeNorm

    finite = [v for v in values.ravel().tolist() if v == v]
    if not (finite and min(finite) < 0 < max(finite)):
        return axes.contourf(grid_x, grid_y, values, levels=30, cmap="PiYG")
    filled = axes.contourf(grid_x, grid_y, values, levels=30, cmap="PiYG",
                           norm=TwoSlopeNorm(0.0, min(finite), max(finite)))
    axes.contour(grid_x, grid_y, values, levels=[0.0], colors="black", linewidths=2.0)
    axes.plot([], [], color="black", linewidth=2.0, label=f"{output} = 0")  # its entry in the legend
    return filled


def _marks(axes, names: tuple[str, str], marks: dict[str, list[float]]) -> None:
    """Points over a map, one colour and marker per label (a colour scale for many labels)."""
    label = next((name for name in marks if name not in names), None)
    groups = sorted(set(marks[label])) if label is not None else [None]
    if len(groups) > 10:  # a continuous label: one colour scale rather than a legend
        axes.scatter(marks[names[0]], marks[names[1]], c=marks[label], cmap="coolwarm", edgecolors="black", s=22)
        return
    styles = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
    for k, group in enumerate(groups):
        chosen = range(len(marks[names[0]])) if group is None else \
            [i for i, value in enumerate(marks[label]) if value == group]
        axes.scatter([marks[names[0]][i] for i in chosen], [marks[names[1]][i] for i in chosen], marker=styles[k],
                     color=MARK_COLOURS[k % len(MARK_COLOURS)], edgecolors="black", s=26,
                     label=f"{label} = {group:g}" if group is not None else "points")


def _figure(path: str | os.PathLike, size: tuple[float, float] = (7, 4)):
    """A matplotlib figure and its axes, off screen (Agg); the file's format checked first."""
    plot_format(path)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("--plot needs matplotlib, which is not installed", hint=INSTALL_HINT) from None
    figure = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _save(figure, path: str | os.PathLike) -> None:
    import matplotlib

    from scalargrad.files import write_atomically

    fmt = plot_format(path)

    def write(stream) -> None:
        # No date and a fixed id salt: the same run gives the same SVG file.
        metadata = {"Date": None} if fmt == "svg" else {}
        with matplotlib.rc_context({"svg.hashsalt": "scalargrad", "svg.fonttype": "path"}):
            figure.savefig(stream, format=fmt, metadata=metadata)

    write_atomically(path, write, "the chart")
