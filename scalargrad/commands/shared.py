"""What every command shares: options declared once, and the edge where errors become words.

`program_command` gives a command the program and input options (`--file`, `--set`,
`--bindings`, `--seed`, `--session`, `--no-session`, `--budget`, and `--NAME VALUE` for inputs) and hands it a
`scalargrad.inputs.Request` instead; `user_errors` turns a `ScalarGradError` into a short
message on stderr and its exit code, never a traceback. Typer is imported here and in the
command modules only.
"""

import contextlib
import functools
import gc
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from scalargrad.errors import ScalarGradError
from scalargrad.render import DEFAULT_PRECISION, View

# Inputs are given as --NAME VALUE, so program commands accept options they do not declare.
PROGRAM_SETTINGS = {
    "context_settings": {"allow_extra_args": True, "ignore_unknown_options": True},
    "options_metavar": "[OPTIONS] [PROGRAM | -] [--NAME VALUE]...",
    "epilog": "Inputs: --NAME VALUE or --NAME=VALUE for each input the program reads (negative numbers and "
              "1e-3 are fine); --set NAME=VALUE for a name that is also an option; --bindings FILE for a JSON "
              "object of values. Without a PROGRAM, the command continues the session (scalargrad session).",
}

FileOption = Annotated[
    Optional[Path], typer.Option("--file", "-f", metavar="PATH", help="Read the program from a file (`-` reads stdin).",
                                show_default=False)
]
SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", metavar="NAME=VALUE",
                 help="Give an input a value as NAME=VALUE (for names such as `json` that are options).",
                 show_default=False),
]
BindingsOption = Annotated[
    Optional[list[str]],
    typer.Option("--bindings", metavar="FILE", help="A JSON file of input values, e.g. {\"a\": 2}; `-` reads stdin. A "
                 "FILE.csv gives data columns instead; give both as --bindings values.json --bindings data.csv.",
                 show_default=False),
]
SessionOption = Annotated[
    Optional[Path],
    typer.Option("--session", metavar="PATH", show_default=False,
                 help="The session file to continue and save (default: $SCALARGRAD_SESSION, "
                      "else .scalargrad/session.json in the current folder)."),
]
SeedOption = Annotated[
    Optional[int],
    typer.Option("--seed", metavar="N", show_default=False,
                 help="Seed of the initialisers (uniform, normal): the parameters' starting values "
                      "(default: 0). A session keeps the values it has."),
]
BudgetOption = Annotated[
    Optional[int],
    typer.Option("--budget", metavar="NODES", min=1, show_default=False,
                 help="The size budget: the most nodes a graph may have, and a thousand times that in node "
                      "evaluations for repeated work (steps, points, passes). Default: $SCALARGRAD_BUDGET, "
                      "else 2,000,000."),
]
NoSessionOption = Annotated[
    bool, typer.Option("--no-session", help="Neither continue nor save a session: use only what is given.")
]
PrecisionOption = Annotated[
    int, typer.Option("--precision", metavar="DIGITS", min=1, max=17, help="Significant digits shown in tables.")
]

# The output formats beside the table, each an option and a `write_<format>` method of the
# report (scalargrad.render.Report). Adding a format: a line here and that method.
FORMATS = {
    "json": "Print one JSON object instead of a table.",
    "csv": "Print CSV instead of a table.",
    "latex": "Print LaTeX instead of text.",
}
OfOption = Annotated[
    Optional[str],
    typer.Option("--of", metavar="NODE", help="Differentiate this node (a name or an id) instead of the output.",
                 show_default=False),
]

_BEFORE = {"file": FileOption, "set_": SetOption, "bindings": BindingsOption, "seed": SeedOption}
_AFTER = {"session": SessionOption, "no_session": NoSessionOption, "budget": BudgetOption}


def program_command(extra: str | None = None):
    """Decorate `func(request, **own_options)` into a Typer command with the shared program
    and input options; `extra` names what positionals after the program are, if allowed.
    `func` may return an exit code."""

    def decorate(func):
        own = [p for name, p in inspect.signature(func, eval_str=True).parameters.items() if name != "request"]

        @functools.wraps(func)
        def command(ctx: typer.Context, **options):
            from scalargrad.inputs import Request

            shared = {name: options.pop(name) for name in (*_BEFORE, *_AFTER)}
            request = Request(
                command=ctx.info_name or func.__name__, args=list(ctx.args), file=shared["file"],
                sets=shared["set_"] or [], bindings=shared["bindings"], seed=shared["seed"], session=shared["session"],
                no_session=shared["no_session"], options=option_names(ctx.command),
                flags=option_names(ctx.command, flags_only=True), others=other_options(ctx), extra=extra,
            )
            from scalargrad import budget

            with user_errors(), budget.limit(shared["budget"]):
                code = func(request, **options)
            if code:  # e.g. 1 from check: a gradient is wrong
                raise typer.Exit(code)

        def parameter(name, annotation, default):
            return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)

        params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
                  *(parameter(name, kind, None) for name, kind in _BEFORE.items()),
                  *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own),
                  parameter("session", SessionOption, None), parameter("no_session", NoSessionOption, False),
                  parameter("budget", BudgetOption, None)]
        command.__signature__ = inspect.Signature(params)
        command.settings = PROGRAM_SETTINGS
        command.__annotations__ = {p.name: p.annotation for p in params}
        del command.__wrapped__  # Typer must read the signature above, not func's
        return command

    return decorate


@dataclass(frozen=True)
class Shown:
    """How the command's report will be shown, for the command that must know before it has
    one (a progress bar is for a person at a table only)."""

    format: str = "table"
    view: View = View()

    @property
    def for_a_person(self) -> bool:
        return self.format == "table"


def output(*formats: str, precision: bool = True, show_all: str = ""):
    """Declare a command's output options once, and show the Report it returns.

    Every command gets `--json`; `formats` adds others (`"csv"`, `"latex"`, from FORMATS);
    `precision` adds `--precision DIGITS`, and `show_all` (its help) adds `--all`. The command
    function returns its report (or None, having shown what it had to), and may take a
    parameter `shown: Shown` to know the format and view before it has one. The report is
    written by `render.emit`, and the command exits with `report.exit_code`."""
    chosen_formats = ("json", *formats)

    def decorate(func):
        own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "shown"]
        wants_shown = "shown" in inspect.signature(func).parameters

        @functools.wraps(func)
        def command(*args, **options):
            from scalargrad.errors import UsageError
            from scalargrad.render import emit

            with user_errors():
                given = [name for name in chosen_formats if options.pop(f"{name}_", False)]
                if len(given) > 1:
                    raise UsageError(f"give --{given[0]} or --{given[1]}, not both: each is a whole output")
                shown = Shown(given[0] if given else "table",
                              View(options.pop("precision") if precision else DEFAULT_PRECISION,
                                   options.pop("all_") if show_all else False))
                report = func(*args, **options, **({"shown": shown} if wants_shown else {}))
                if report is not None:
                    emit(report, shown.format, shown.view)
            return 0 if report is None else report.exit_code

        extra = [_keyword(f"{name}_", Annotated[bool, typer.Option(f"--{name}", help=FORMATS[name])], False)
                 for name in chosen_formats]
        if precision:
            extra.append(_keyword("precision", PrecisionOption, DEFAULT_PRECISION))
        if show_all:
            extra.append(_keyword("all_", Annotated[bool, typer.Option("--all", help=show_all)], False))
        command.__signature__ = inspect.Signature([*own, *extra])
        command.__annotations__ = {p.name: p.annotation for p in [*own, *extra]}
        return command

    return decorate


def _keyword(name: str, annotation, default) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def option_names(command, flags_only: bool = False) -> tuple[str, ...]:
    """The long options of a command, without their dashes: `steps`, `json`, ... (with
    `flags_only`, those that take no value: `json`, `all`, ...)."""
    return tuple(opt[2:] for param in command.params for opt in param.opts
                 if opt.startswith("--") and (getattr(param, "is_flag", False) or not flags_only))


def other_options(ctx: typer.Context) -> dict[str, str]:
    """Every other command's options -> those commands, for "that is an option of step"."""
    siblings = ctx.parent.command.commands.items() if ctx.parent else ()
    owners: dict[str, list[str]] = {}
    for other, command in siblings:
        if other != ctx.info_name:
            for name in option_names(command):
                owners.setdefault(name, []).append(other)
    return {name: ", ".join(commands) for name, commands in owners.items()}


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a library error into a message on stderr and an exit code, never a traceback."""
    from scalargrad.errors import OutputError

    try:
        yield
        flush_stdout()  # a reader that went away, or a full disk, shows up here, not at exit
    except ScalarGradError as error:
        print(error.format(), file=sys.stderr)
        if isinstance(error, OutputError):
            _silence_stdout()
        raise typer.Exit(error.exit_code) from None
    except BrokenPipeError:
        # `scalargrad grad ... | head`: the reader has what it wanted; not an error.
        _silence_stdout()
        raise typer.Exit(0) from None
    except KeyboardInterrupt as stop:
        # Ctrl-C: a command that can keep what it did so far (step) catches it itself
        what = stop.args[0] if isinstance(stop, Interrupted) else "stopped before the result"
        print(f"interrupted: {what} (Ctrl-C)", file=sys.stderr)
        raise typer.Exit(130) from None
    except MemoryError:
        print("error: out of memory\nhint: the program or its data is too large for this machine's memory; "
              "try a smaller one", file=sys.stderr)
        raise typer.Exit(2) from None


def flush_stdout() -> None:
    from scalargrad.errors import OutputError

    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as failure:
        raise OutputError(f"cannot write the output: {failure.strerror or failure}",
                          hint="write it somewhere with room (or to a file with -o or >)") from None


def _silence_stdout() -> None:
    """Point stdout at the null device, so the flush at exit has nothing left to fail on."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def warn(message: str) -> None:
    from scalargrad.errors import printable

    print(f"warning: {printable(message, keep=chr(10))}", file=sys.stderr)


def note(message: str, prefix: str = "note: ") -> None:
    from scalargrad.errors import printable

    print(f"{prefix}{printable(message, keep=chr(10))}", file=sys.stderr)


def load(request):
    """`inputs.load`, with its notes and warnings printed on stderr."""
    from scalargrad.inputs import load as load_inputs

    loaded = load_inputs(request, prompt=lambda message: print(message, file=sys.stderr))
    # The program's graph lives as long as this process: moved out of the cycle collector's
    # reach, it is not walked again by every collection that the command's own work triggers
    # (a tenth of `grad --json` on a 1e5-node program). Objects made later are collected as usual.
    gc.freeze()
    for message in loaded.notes:
        note(message)
    for message in loaded.warnings:
        warn(message)
    return loaded


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during long work that says what was left unfinished (`user_errors` words it)."""


@contextlib.contextmanager
def progress_bar(description: str, as_json: bool, unfinished: str = ""):
    """A progress bar on stderr for long work, shown only to a person at a terminal. Ctrl-C
    inside it is `interrupted: {unfinished} was not finished (Ctrl-C)` and exit 130, when
    `unfinished` names the work ("the Hessian")."""
    from scalargrad.render import DelayedProgress

    try:
        with DelayedProgress(description, enabled=not as_json and sys.stderr.isatty()) as bar:
            yield bar
    except KeyboardInterrupt as stop:
        if unfinished and not isinstance(stop, Interrupted):
            raise Interrupted(f"{unfinished} was not finished") from None
        raise


# -- the command line parser's own errors, in the same words as everything else -------------------
class ProgramCommand(typer.core.TyperCommand):
    """A command that runs a program: `--NAME -inf` is an input's value, not the short options
    `-i -n -f` (which would take the next word as `--file`)."""

    def parse_args(self, ctx, args):
        from scalargrad.arguments import join_number_values

        declared = {name for param in self.params for name in param.opts}
        return super().parse_args(ctx, join_number_values(args, declared))


PROGRAM_SETTINGS["cls"] = ProgramCommand


class Group(typer.core.TyperGroup):
    """The `scalargrad` group: a usage error of the parser (an unknown command, `--steps 0`, an
    option without its value) is an `error:` and a `hint:` line, never a box."""

    def resolve_command(self, ctx, args):
        from scalargrad.errors import UsageError, clip, did_you_mean

        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            commands = list(self.list_commands(ctx))
            close = did_you_mean(name, commands)
            if close:
                raise UsageError(f"no command `{name}`; did you mean `{close}`?", hint=f"the commands are {', '.join(commands)}")
            raise UsageError(f"no command `{clip(name, 40)}`",
                             hint=f"start with a command, as in: scalargrad grad {_quote(name)} --a 2 ... "
                                  f"(the commands are {', '.join(commands)})")
        return super().resolve_command(ctx, args)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _tolerant_stdout()
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ScalarGradError as error:
            print(error.format(), file=sys.stderr)
            code = error.exit_code
        except typer.TyperException as error:
            code = _show_usage_error(error)
        except SystemExit as stop:  # 1 after the reader closed the pipe (`--help | head`): not an error
            code = 0 if stop.code == 1 and _reader_went_away() else stop.code
        if not standalone_mode:
            return code
        sys.exit(code or 0)


def _tolerant_stdout() -> None:
    """On a stdout whose encoding cannot show every character (LC_ALL=C, PYTHONIOENCODING=ascii),
    show those characters escaped (`\\u2581`) rather than fail halfway: stderr does so already."""
    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower().replace("-", "")
    if not encoding.startswith("utf") and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")


def _reader_went_away() -> bool:
    """Whether stdout was pointed at the null device after a broken pipe (Click and Rich do so)."""
    import os

    if type(sys.stdout).__name__ == "PacifyFlushWrapper":
        return True
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), os.stat(os.devnull))
    except (OSError, ValueError, AttributeError):
        return False


def _show_usage_error(error) -> int:
    """Print a usage error of the parser as scalargrad's own errors look; its exit code."""
    from scalargrad.errors import did_you_mean

    if type(error).__name__ == "NoArgsIsHelpError":  # `scalargrad` alone: the help, as Typer draws it
        from typer import rich_utils

        rich_utils.rich_format_error(error)
        return error.exit_code
    ctx = getattr(error, "ctx", None)
    where = ctx.command_path if ctx is not None else "scalargrad"
    param = getattr(error, "param", None)
    option = getattr(error, "option_name", None) or (param.opts[0] if param is not None and param.opts else None)
    message = error.format_message()
    if "requires an argument" in message and option:
        message, hint = f"`{option}` needs a value", f"write {option} VALUE" + (f"; see {where} --help" if ctx else "")
    elif type(error).__name__ == "NoSuchOption" and option:
        close = did_you_mean(option.lstrip("-"), [o.lstrip("-") for o in getattr(error, "possibilities", None) or ()])
        message = f"unknown option `{option}`" + (f"; did you mean `--{close}`?" if close else "")
        hint = f"see {where} --help"
    elif param is not None and option:
        message, hint = _invalid_value(option, param, error.message), f"see {where} --help"
    else:
        message, hint = _words(message), f"see {where} --help"
    from scalargrad.errors import printable

    print(f"error: {printable(message)}\nhint: {printable(hint)}", file=sys.stderr)
    return 2


def _invalid_value(option: str, param, why: str) -> str:
    """`--steps` must be 1 or more, not 0; `--precision` takes a whole number, not `x`."""
    import re

    given = re.search(r"'([^']*)'|^(\S+) is not in the range", why)
    value = (given.group(1) if given and given.group(1) is not None else given.group(2)) if given else None
    low, high = getattr(param.type, "min", None), getattr(param.type, "max", None)
    if "not in the range" in why and value is not None:
        bounds = (f"from {low} to {high}" if low is not None and high is not None
                  else f"{low} or more" if low is not None else f"{high} or less")
        return f"`{option}` must be {bounds}, not {value}"
    if "not a valid" in why and value is not None:
        kind = "a whole number" if "int" in why else "a number" if "float" in why else "a valid value"
        comma = re.fullmatch(r"([-+]?[0-9]+),([0-9]+)", value)
        dot = f"; use a dot for decimals: {comma.group(1)}.{comma.group(2)}" if comma else ""
        return f"`{option}` takes {kind}, not `{value}`{dot}"
    return f"invalid value for `{option}`: {_words(why)}"


def _words(text: str) -> str:
    """A parser message in scalargrad's style: no capital, no final period, `code` quoted."""
    import re

    text = re.sub(r"'([^']*)'", r"`\1`", text.strip().rstrip("."))
    return text[:1].lower() + text[1:]


def _quote(text: str) -> str:
    from scalargrad.errors import clip

    return '"' + clip(text, 40) + '"' if " " in text or "=" in text else clip(text, 40)
