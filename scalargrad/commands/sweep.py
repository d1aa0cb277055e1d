"""`scalargrad sweep`: the output and every input's gradient over a range or a grid of points."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from scalargrad.commands.shared import Shown, load, note, output, program_command, progress_bar, warn

ORDER = 35  # place in `scalargrad --help`


@program_command()
@output("csv", show_all="Show every point, however many.")
def sweep(
    request,
    points: Annotated[Optional[Path], typer.Option("--points", metavar="CSV", show_default=False,
                                                   help="Sweep the points of a CSV file whose header names inputs.")] = None,
    at: Annotated[Optional[float], typer.Option("--at", metavar="X", show_default=False,
                                                help="Show (and draw) the tangent at this value of the one swept input.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", metavar="FILE", show_default=False,
                                                 help="Draw the curve (one range) or a map with gradient arrows (two) "
                                                      "into FILE.svg or FILE.png (needs matplotlib).")] = None,
    of: Annotated[Optional[str], typer.Option("--of", metavar="NODE", show_default=False,
                                              help="Sweep this node (a name, an element such as W\\[0, 1], or an id) "
                                                   "instead of the output.")] = None,
    marks: Annotated[Optional[Path], typer.Option("--marks", metavar="CSV", show_default=False,
                                                  help="Draw these points on the map of two inputs (columns: the two "
                                                       "inputs and a label), with the line where the output is 0.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="CSV", show_default=False,
                                                   help="Write every point as CSV into FILE "
                                                        "(`-`: standard output, as --csv).")] = None,
    shown: Shown = Shown(),
):
    """Evaluate the program and its gradients at many points at once.

    Give an input a range START:STOP:STEP (several ranges make a grid), or --points FILE.csv.
    Example: scalargrad sweep "y = 3*x**2 - 4*x + 5" --x -5:5:0.25 --at 3 --plot slope.svg
    """
    from scalargrad import sweep as sweeps
    from scalargrad.files import write_atomically

    to_stdout = _outputs(shown, output, plot, marks)
    columns = sweeps.read_points(points) if points is not None else None
    request.of = of  # the inputs that node does not read need no value
    request.ranges, request.points = True, columns  # each swept input's value: its range's start, its first point
    loaded = load(request)
    with progress_bar("sweeping", not shown.for_a_person or to_stdout) as bar:
        report = sweeps.sweep(loaded.program, loaded.values, ranges=loaded.ranges, points=columns, at=at, of=of,
                              origin=loaded.origin, warnings=loaded.warnings, progress=bar)
    for message in report.warnings[len(loaded.warnings):]:  # the sweep's own (loading's were shown)
        warn(message)
    if plot is not None:
        sweeps.draw(report, plot, marks)
        note(f"wrote {plot}: {report.output_label} over {' and '.join(report.swept)}"
             + (f", with the points of {marks}" if marks is not None else ""))
    if to_stdout:  # -o -: the CSV on standard output, as --csv
        report.write_csv(sys.stdout)
        return None
    if output is not None:
        write_atomically(output, lambda stream: report.write_csv(_text(stream)), "the CSV file")
        note(f"wrote {report.size:,} points to {output}")
    return report


def _outputs(shown: Shown, output: Optional[Path], plot: Optional[Path], marks: Optional[Path]) -> bool:
    """Before any work: the files to write can be written, and the options agree. Whether
    `-o -` asks for the CSV on standard output, as --csv does."""
    from scalargrad.errors import UsageError
    from scalargrad.files import check_writable
    from scalargrad.plot import plot_format

    to_stdout = output is not None and str(output) == "-"
    if to_stdout and shown.format != "table":
        raise UsageError(f"-o - writes the CSV to standard output, where --{shown.format} would go too",
                         hint="drop one of them, or give -o a file name")
    if output is not None and not to_stdout:
        check_writable(output, "-o")
    if plot is not None:
        check_writable(plot, "--plot")
        plot_format(plot)
    elif marks is not None:
        raise UsageError("--marks draws points on the --plot of two inputs", hint="add --plot FILE.png")
    return to_stdout


def _text(stream):
    import io

    return io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
