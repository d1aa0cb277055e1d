"""The command layer: one small module per command, each a thin Typer function that turns
options into one call of a core function and hands the result to `render.emit`.

`shared` declares what the commands have in common (the program and input options, the
output options, the edge where errors become messages); `scalargrad.cli` assembles them
into the `scalargrad` command.
"""
