"""scalargrad: see every gradient of a small scalar program, check it, nudge it, draw it.

    >>> from scalargrad import parse
    >>> program = parse("L = (a*b + c) * f")
    >>> program.run({"a": 2, "b": -3, "c": 10, "f": -2})
    >>> program.output.data, program.names["a"].grad
    (-8.0, 6.0)
"""

from scalargrad.engine import Value, backward, forward, topological_order
from scalargrad.errors import (
    DomainError,
    InputError,
    NameUsageError,
    NoRendererError,
    ParseError,
    RenderError,
    ScalarGradError,
    SessionError,
    UsageError,
)
from scalargrad.language import parse
from scalargrad.program import Program

__version__ = "0.1.0"


def _value_svg(value: Value) -> str | None:
    """Jupyter shows a Value as its graph when a Graphviz renderer is available."""
    from scalargrad.dot import svg_or_none  # graphviz is imported only when drawing

    return svg_or_none(value)


def _program_svg(program: Program) -> str | None:
    """Jupyter shows a Program as its graph, with the gradients once it has run."""
    from scalargrad.dot import DEFAULT_MAX_NODES, draw_dot
    from scalargrad.renderers import render

    try:
        graph = draw_dot(program, grad=program.differentiated is not None, of=program.differentiated,
                         max_nodes=DEFAULT_MAX_NODES)
        return render(graph.source, "svg")[0].decode("utf-8")
    except ScalarGradError:
        return None


def _program_html(program: Program) -> str | None:
    """Jupyter shows a Program as the interactive page (`scalargrad dot -o graph.html`), inline."""
    from scalargrad.page import inline_page

    return inline_page(program)


# The package assembles its layers: the engine knows nothing of drawing, so the picture
# of a Value (and of a Program, and its page) is attached here, at the top, rather than
# imported by the engine.
Value._repr_svg_ = _value_svg
Program._repr_svg_ = _program_svg
Program._repr_html_ = _program_html


def __getattr__(name: str):
    # draw_dot imports graphviz: load it on first use so `import scalargrad` stays light.
    if name == "draw_dot":
        from scalargrad.dot import draw_dot

        return draw_dot
    raise AttributeError(f"module 'scalargrad' has no attribute {name!r}")


__all__ = [
    "DomainError",
    "InputError",
    "NameUsageError",
    "NoRendererError",
    "ParseError",
    "RenderError",
    "Program",
    "ScalarGradError",
    "SessionError",
    "UsageError",
    "Value",
    "backward",
    "draw_dot",
    "forward",
    "parse",
    "topological_order",
]
