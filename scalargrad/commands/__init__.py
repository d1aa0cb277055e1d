"""The command layer: one small module per command, each a thin Typer function that turns
options into one call of a core function and hands the result to `render.emit`.

`shared` declares what the commands have in common (the program and input options, the
output options, the edge where errors become messages). Every other module here is a
command: a function named like the module, and `ORDER`, its place in `scalargrad --help`
(the order of a session's work). `scalargrad.cli` finds them with `discover`, so adding a
command is adding its module here (and its core module and docs page), nothing else.
"""

import importlib
import pkgutil


def discover() -> list:
    """The command functions of this package, in workflow order."""
    modules = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)
               if info.name != "shared"]
    return [getattr(module, module.__name__.rsplit(".", 1)[1]) for module in sorted(modules, key=lambda m: m.ORDER)]
