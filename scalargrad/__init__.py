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
    ParseError,
    ScalarGradError,
    SessionError,
    UsageError,
)
from scalargrad.language import parse
from scalargrad.program import Program

__version__ = "0.1.0"

__all__ = [
    "DomainError",
    "InputError",
    "NameUsageError",
    "ParseError",
    "Program",
    "ScalarGradError",
    "SessionError",
    "UsageError",
    "Value",
    "backward",
    "forward",
    "parse",
    "topological_order",
]
