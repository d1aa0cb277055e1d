"""`scalargrad step`: nudge the inputs along the gradient, once or many times."""

import functools
import inspect
from pathlib import Path
from typing import Annotated, Optional

import typer

from scalargrad import optimizers
from scalargrad.commands.shared import Shown, load, note, output, progress_bar, program_command, warn

ORDER = 30  # place in `scalargrad --help`

LrOption = Annotated[str, typer.Option("--lr", metavar="RATE", help="Learning rate: each input moves by lr * its gradient; "
                                       "may be an expression of the step number k, e.g. \"1.0 - 0.9*k/100\".")]
StepsOption = Annotated[int, typer.Option("--steps", metavar="N", min=1, help="How many steps to take.")]
DescendOption = Annotated[
    bool, typer.Option("--descend", help="Move against the gradient (x -= lr * grad) to make the output fall.")
]
FreezeOption = Annotated[
    Optional[list[str]],
    typer.Option("--freeze", metavar="NAME,...",
                 help="Keep these inputs fixed, e.g. --freeze x,y (data, not weights).", show_default=False),
]
EveryOption = Annotated[
    Optional[int], typer.Option("--every", metavar="K", min=1, help="Show the output every K steps (default: about 10 rows).",
                                show_default=False)
]
PlotOption = Annotated[
    Optional[Path], typer.Option("--plot", metavar="PATH", help="Draw the output over the steps into a .svg or .png file "
                                 "(needs: pip install 'scalargrad\\[plot]').", show_default=False)
]
WatchOption = Annotated[
    Optional[list[str]], typer.Option("--watch", metavar="NAME,...", help="Show these named values at every shown step "
                                      "(a column each; JSON: `watch`).", show_default=False)
]
NoZeroGradOption = Annotated[bool, typer.Option("--no-zero-grad", help="Let gradients add up over the steps, as a "
                                                "training loop that forgets zero_grad() (a bug, on purpose).")]
OptimizerOption = Annotated[Optional[str], typer.Option("--optimizer", metavar="NAME", show_default=False, help=(
    f"How the inputs move: {', '.join(optimizers.NAMES)} (docs/step.md); default: the session's, else sgd."))]


def with_settings(func):
    """An option per setting in the optimisers' table (--momentum, --beta1, ...), handed to
    `func` as `given`, {option: value} of those given: a new optimiser needs no edit here."""
    names = {setting.flag: setting.flag[2:].replace("-", "_") for setting in optimizers.SETTINGS}
    options = [inspect.Parameter(names[setting.flag], inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                 annotation=Annotated[Optional[float], typer.Option(setting.flag, metavar="X", help=(
                                     f"{setting.help} Default {setting.default:g}."), show_default=False)])
               for setting in optimizers.SETTINGS]
    params = list(inspect.signature(func).parameters.values())
    at = [param.name for param in params].index("given")

    @functools.wraps(func)
    def command(request, **chosen):
        given = {flag: chosen.pop(name) for flag, name in names.items()}
        return func(request, given={flag: value for flag, value in given.items() if value is not None}, **chosen)

    command.__signature__ = inspect.Signature(params[:at] + options + params[at + 1:])
    return command


SaveOption = Annotated[
    Optional[Path], typer.Option("--save", metavar="PATH", help="Write the new input values as JSON, for --bindings.",
                                 show_default=False)
]


@program_command()
@output(show_all="Show every element of every array.")
@with_settings
def step(
    request,
    lr: LrOption = "0.01",
    steps: StepsOption = 1,
    descend: DescendOption = False,
    freeze: FreezeOption = None,
    every: EveryOption = None,
    plot: PlotOption = None,
    save: SaveOption = None,
    watch: WatchOption = None,
    no_zero_grad: NoZeroGradOption = False,
    optimizer: OptimizerOption = None,
    given: dict = None,  # the optimiser's settings given: one option each, from the table (with_settings)
    shown: Shown = Shown(),
):
    """Nudge the inputs along the gradient and run the program again, once or many times.

    Example: scalargrad step "L = (a*b + c) * f" --a 2 --b -3 --c 10 --f -2 --lr 0.01
    Without a program, nudges the session's values and saves them: scalargrad step --lr 0.01
    """
    from scalargrad import step as stepping
    from scalargrad.arguments import name_list

    rate = stepping.check_lr(lr)
    optimizers.check_choice(optimizer, given)  # a wrong name or setting, before any work
    stepping.check_outputs(plot, save)
    loaded = load(request)
    output, trained = loaded.program, loaded.data_record()  # the bar shows the output after each step
    with progress_bar("stepping", not shown.for_a_person) as bar:
        report = stepping.take_steps(loaded.program, loaded.values, origin=loaded.origin, session=loaded.session,
                                     data=trained, lr=rate, steps=steps, descend=descend,
                                     freeze=name_list(freeze, "--freeze", output.arrays), optimizer=optimizer,
                                     given=given, zero_grad=not no_zero_grad, watch=name_list(watch, "--watch", output.arrays),
                                     every=every, warnings=loaded.warnings,
                                     progress=lambda k: bar(k, steps, f"stepping: {output.label(output.output)} = {output.output.data:.6g}"))
    for message in report.notes:
        note(message)
    if stepping.follows_data(loaded.session, trained, report):
        note(f"the session's data file is now {loaded.data.path}: the steps trained on it")
    if save is not None:
        stepping.save_values(save, report.final)
    if plot is not None:
        note(stepping.draw(plot, report))
    for message in report.warnings[len(loaded.warnings):]:  # the advice on the steps (loading's were shown)
        warn(message)
    return report

