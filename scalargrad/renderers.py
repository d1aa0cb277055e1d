"""Turning DOT source into a picture, and saving it: finding a Graphviz renderer and running it.

The lookup order is `SCALARGRAD_DOT=/path/to/dot`, then the `graphviz-pure` renderer
installed with scalargrad (found through its distribution's files, not PATH, so pipx and
non-activated virtualenvs work), then a system `dot` on PATH. `SCALARGRAD_DOT=none` turns
rendering off. When nothing can render, `save` writes the DOT source next to the requested
file. This module knows DOT text and files, not graphs: `scalargrad.dot` builds the graph.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from scalargrad.errors import NoRendererError, OutputError, RenderError, UsageError

RENDER_TIMEOUT = 600  # seconds; Graphviz on thousands of nodes is slow but finishes
# A PNG is a bitmap: without a cap, 521 nodes asked for a 23 GB image. Scale it down to
# at most this many inches a side (SVG is never capped).
PNG_SIZE = "150,150"
PNG_LARGE = 100  # a PNG of more value nodes than this is megabytes: say so

ENV_RENDERER = "SCALARGRAD_DOT"
BUNDLED = "graphviz-pure"

# -o extension -> format given to `dot -T`; "html" is scalargrad's own page (scalargrad.page),
# which holds an SVG rendered here
EXTENSIONS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".gv": "dot", ".dot": "dot", ".html": "html"}
FORMATS = ("svg", "png", "pdf", "dot", "html")
FORMAT_NAMES = {"svg": "SVG", "png": "PNG", "pdf": "PDF", "dot": "DOT source", "html": "interactive HTML page"}


# -- finding a renderer ----------------------------------------------------------------------
@dataclass(frozen=True)
class Renderer:
    path: str
    origin: str  # how it was found, for messages


def bundled_executable() -> tuple[str, str] | None:
    """The graphviz-pure executable installed with scalargrad, and its version, or None.

    Found through the distribution's file list: it sits in the environment's bin/ (or
    Scripts\\) even when that folder is not on PATH (pipx, a virtualenv not activated).
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(BUNDLED)
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name in (BUNDLED, BUNDLED + ".exe") and file.parent.name in ("bin", "Scripts"):
            path = Path(dist.locate_file(file)).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return str(path), dist.version
    return None


@dataclass
class Lookup:
    renderers: list[Renderer]  # to try, in order
    seen: list[str]  # what the lookup found missing, for the "no renderer" message
    problems: list[str]  # a SCALARGRAD_DOT that cannot be used: worth a warning


def find_renderers() -> Lookup:
    """The renderers to try: SCALARGRAD_DOT, then the bundled graphviz-pure, then `dot` on PATH."""
    found: list[Renderer] = []
    seen: list[str] = []
    problems: list[str] = []
    explicit = os.environ.get(ENV_RENDERER, "").strip()
    if explicit.lower() == "none":
        return Lookup([], [f"{ENV_RENDERER}=none turns rendering off"], [])
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            found.append(Renderer(str(path), f"{ENV_RENDERER}={explicit}"))
        else:
            what = "is not an executable file" if path.exists() else "does not exist"
            seen.append(f"{ENV_RENDERER}={explicit} {what}")
            problems.append(f"{ENV_RENDERER}={explicit} {what}; looking for another renderer")
    else:
        seen.append(f"{ENV_RENDERER} is not set")
    bundled = bundled_executable()
    if bundled is not None:
        found.append(Renderer(bundled[0], f"{BUNDLED} {bundled[1]}"))
    else:
        seen.append(f"{BUNDLED} is not installed")
    system = shutil.which("dot")
    if system is not None:
        found.append(Renderer(system, "Graphviz dot on PATH"))
    else:
        seen.append("no `dot` on PATH")
    unique: list[Renderer] = []
    for renderer in found:
        if all(os.path.realpath(r.path) != os.path.realpath(renderer.path) for r in unique):
            unique.append(renderer)
    return Lookup(unique, seen, problems)


INSTALL_HINT = (
    f"install a renderer: `pip install {BUNDLED}` (wheels for Linux x86_64/aarch64, macOS, Windows), "
    f"or Graphviz from your package manager or graphviz.org; or point {ENV_RENDERER} at a `dot` program"
)


def render(source: str, fmt: str, lookup: Lookup | None = None) -> tuple[bytes, Renderer]:
    """Run DOT `source` through the first renderer that can write `fmt` (svg, png, pdf).

    Raises NoRendererError when none is found or none knows the format, RenderError
    when one fails.
    """
    import subprocess

    lookup = lookup or find_renderers()
    if not lookup.renderers:
        raise NoRendererError(
            f"no Graphviz renderer found to write {FORMAT_NAMES[fmt]} ({'; '.join(lookup.seen)})", hint=INSTALL_HINT
        )
    lacking = []
    for renderer in lookup.renderers:
        try:
            size = [f"-Gsize={PNG_SIZE}"] if fmt == "png" else []
            proc = subprocess.run([renderer.path, f"-T{fmt}", *size], input=source.encode("utf-8"),
                                  capture_output=True, timeout=RENDER_TIMEOUT)
        except OSError as error:
            raise RenderError(f"cannot run the renderer {renderer.path} ({renderer.origin}): {error.strerror}",
                              hint=INSTALL_HINT) from None
        except subprocess.TimeoutExpired:
            raise RenderError(f"the renderer {renderer.origin} took more than {RENDER_TIMEOUT} s",
                              hint="draw part of the graph with --focus NAME --depth K") from None
        errors = proc.stderr.decode("utf-8", "replace")
        if proc.returncode == 0 and proc.stdout:
            return proc.stdout, renderer
        if re.search(rf'format:?\s*"?{fmt}"?\s+not recognized', errors, re.IGNORECASE):
            known = re.search(r"use one of:?\s*(.*)", errors, re.IGNORECASE)
            formats = [f for f in FORMATS if known and re.search(rf"\b{f}\b", known.group(1))]
            lacking.append(f"{renderer.origin} writes {', '.join(formats) or 'other formats'}")
            continue
        raise RenderError(
            f"the renderer {renderer.origin} failed (exit code {proc.returncode}): {summarise(errors)}",
            hint=f"the renderer is {renderer.path}; set {ENV_RENDERER} to use another, "
            "or write the DOT source with -o graph.gv",
        )
    raise NoRendererError(
        f"no renderer here can write {FORMAT_NAMES[fmt]} ({'; '.join(lacking)})",
        hint=f"write SVG instead (-o graph.svg: it scales and prints well), or install Graphviz from your "
             f"package manager or graphviz.org (it writes {FORMAT_NAMES[fmt]}) and point {ENV_RENDERER} at its `dot`",
    )


def summarise(stderr: str, limit: int = 300) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = " / ".join(lines[:3]) or "no message"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- writing ---------------------------------------------------------------------------------
def choose_format(output: str | None, fmt: str | None, terminal: bool = False) -> str:
    """The format to write: --format if given, else from the -o extension (SVG on stdout).
    Checks, before any work, that a file `output` can be written, and that a picture is not
    about to be written to a `terminal`."""
    if output is not None and output != "-":
        from scalargrad.files import check_writable

        check_writable(output)
    fmt = _format(output, fmt)
    if terminal and fmt != "dot":
        raise UsageError(f"not writing {FORMAT_NAMES[fmt]} to the terminal",
                         hint="give a file with -o graph.svg (or -o graph.html for a page to explore), "
                              "or --format dot to read the DOT source")
    return fmt


def _format(output: str | None, fmt: str | None) -> str:
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        fmt = "dot" if fmt == "gv" else fmt
        if fmt not in FORMATS:
            raise UsageError(f"unknown format `{fmt}`", hint="use svg, png, pdf, dot or html")
    if output is None or output == "-":
        return fmt or "svg"
    suffix = Path(output).suffix.lower()
    from_name = EXTENSIONS.get(suffix)
    if fmt is None:
        if from_name is None:
            known = " ".join(EXTENSIONS)
            what = f"the extension `{suffix}`" if suffix else "a name with no extension"
            raise UsageError(f"cannot tell the format of {output}: {what} is not one of {known}",
                             hint="name the file graph.svg, graph.png, graph.pdf, graph.gv or graph.html, or add --format")
        return from_name
    if from_name is not None and from_name != fmt:
        raise UsageError(f"--format {fmt} does not match the extension of {output}",
                         hint="drop --format, or change the file name")
    return fmt


def write_stdout(source: str, fmt: str, lookup: Lookup | None) -> None:
    """The DOT source, or the picture rendered from it, on standard output."""
    import sys

    if fmt == "dot":
        data = source.encode("utf-8")
    else:
        try:
            data, _renderer = render(source, fmt, lookup)
        except NoRendererError as error:
            error.hint = "--format dot writes the DOT source to standard output; " + error.hint
            raise
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise
    except OSError as failure:
        raise OutputError(f"cannot write the output: {failure.strerror or failure}",
                          hint="write it somewhere with room, or to a file with -o graph.svg") from None


def write_atomic(path: Path, produce: Callable[[], bytes]) -> None:
    """Write `produce()` to `path` by the output-path rule (`files.write_atomically`): a file
    through a temporary file beside it and a rename (if anything fails, an existing file at
    `path` is untouched), a named pipe or device straight in. The path is checked first, so
    an unwritable one fails before any rendering."""
    from scalargrad.files import write_atomically

    write_atomically(path, lambda stream: stream.write(produce()), "the picture")


def fallback_path(path: Path) -> Path:
    """Where the DOT source goes when `path` cannot be rendered: beside it, never over a user's file."""
    return path.with_name(path.name + ".gv")


def save(source: str, path: Path, fmt: str, lookup: Lookup | None = None) -> Renderer | None:
    """Write DOT `source` to `path` as `fmt`; returns the renderer used (None for DOT).

    When no renderer can write `fmt`, the DOT source is written to `fallback_path(path)`
    and the NoRendererError says where and how to render it later; a named pipe or a device
    gets no file beside it: the error says to write DOT there instead.
    """
    if fmt == "dot":
        write_atomic(path, lambda: source.encode("utf-8"))
        return None
    used: list[Renderer] = []

    def rendered() -> bytes:
        data, renderer = render(source, fmt, lookup)
        used.append(renderer)
        return data

    try:
        write_atomic(path, rendered)
    except NoRendererError as error:
        from scalargrad.files import destination

        if destination(path).streamed:  # /dev/null.gv, or a file beside a pipe, is no place for it
            error.hint = "--format dot writes the DOT source there; " + error.hint
            raise
        spare = fallback_path(path)
        write_atomic(spare, lambda: source.encode("utf-8"))
        raise NoRendererError(
            f"{error.message}; wrote the DOT source to {spare} instead",
            hint=f"render it later with `dot -T{fmt} {spare} -o {path}`; {error.hint}",
        ) from None
    return used[0]
