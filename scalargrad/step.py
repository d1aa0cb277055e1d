"""Nudging the inputs along the gradient: the end of the micrograd lecture, as an optimiser.

One step is what the lecture does by hand: backward, then every input moves by
`lr * grad` (`a.data += 0.01 * a.grad`), then a forward pass. `run_steps` repeats it on
the parsed program, never re-parsing, and records the output after every step.

    >>> from scalargrad import parse
    >>> report = run_steps(parse("L = (a*b + c) * f"), {"a": 2, "b": -3, "c": 10, "f": -2})
    >>> report.before, round(report.after, 9)
    (-8.0, -7.286496)
    >>> {name: round(x, 9) for name, x in report.final.items()}
    {'a': 2.06, 'b': -3.04, 'c': 9.98, 'f': -1.96}
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, Sequence

from scalargrad.engine import Value
from scalargrad.errors import DomainError, UsageError
from scalargrad.optimizers import LearningRate, Optimizer, State, check_state, choose, learning_rate, update
from scalargrad.program import Program
from scalargrad.render import Report, Table, number


def exact_sum(terms: Iterable[float]) -> float:
    """`math.fsum`, also where a partial sum passes the largest float (terms near 1e308: fsum
    raises "intermediate overflow"): summed scaled down by 2**-64, which is exact, then scaled
    back, giving inf only when the sum itself is beyond a float. nan where +inf meets -inf."""
    terms = list(terms)
    try:
        return math.fsum(terms)
    except OverflowError:
        scaled = math.fsum(math.ldexp(term, -64) for term in terms)
        return math.ldexp(scaled, 64) if abs(scaled) < math.ldexp(1.0, 1024 - 64) else math.copysign(math.inf, scaled)
    except ValueError:  # inf + -inf
        return math.nan

if TYPE_CHECKING:
    from scalargrad.session import SessionUse

DEFAULT_LR = 0.01
# A step "disagrees badly" with its first-order prediction (sum of grad * change in x)
# when the output moved the wrong way or more than twice as far as predicted (ratio of the change
# to the prediction above 1 + DISAGREEMENT, or below -WRONG_WAY): then the
# straight-line picture behind gradient steps no longer holds, the learning rate is too
# large. (On a parabola, the step that lands exactly on the minimum is off by half.)
DISAGREEMENT = 1.0
# A step across a kink (relu, abs) may stall or go a hair the wrong way with a fine rate: the
# wrong way counts when it is more than a tenth of the predicted change (WRONG_WAY), or more
# than a hundredth of the output itself (WRONG_WAY_OF_OUTPUT: a loss that rises by 1% counts,
# however large the prediction was).
WRONG_WAY = 0.1
WRONG_WAY_OF_OUTPUT = 0.01


@dataclass
class StepReport(Report):
    """What happened to the inputs and the output over the steps."""

    output: str  # what a person calls the output node: its name, else its text
    lr: float
    descend: bool
    steps: int
    frozen: list[str]
    start: dict[str, float]  # every input's value before the first step
    final: dict[str, float]  # every input's value after the last step (the --save file)
    grads: dict[str, float]  # the gradient of each input used by the last step
    history: list[float]  # the output before step 1 (history[0]) and after each step
    predicted: list[float]  # the first-order prediction of each step's change of the output
    disagreements: list[int] = field(default_factory=list)  # steps far from their prediction
    warnings: list[str] = field(default_factory=list)  # for the JSON document: loading, then advice
    every: int | None = None  # show the output every `every` steps (default: about 10 rows)
    turned: str = ""  # set when this step turns against the session's last one
    interrupted: bool = False  # Ctrl-C stopped it after `steps` of the `requested` steps
    requested: int = 0
    unsaved: str = ""  # why a step in a session could not be saved there
    arrays: dict = field(default_factory=dict)  # the program's arrays: name -> (shape, element names)
    lr_text: str = ""  # the --lr expression when the rate depends on the step number k
    rates: list[float] = field(default_factory=list)  # the learning rate of each step
    optimizer: Optimizer = field(default_factory=Optimizer)
    zero_grad: bool = True  # False: gradients add up over the steps (--no-zero-grad)
    state: State = field(default_factory=State)  # the optimiser's state after the last step
    notes: list[str] = field(default_factory=list)  # to say on stderr: the optimiser was switched
    watch: dict[str, list[float]] = field(default_factory=dict)  # watched name -> value before step 1 and after each

    @property
    def before(self) -> float:
        return self.history[0]

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else 0  # the shell's code for Ctrl-C

    @property
    def shown_arrays(self) -> dict:
        """The arrays shown one row each (none with --all: every element is a row)."""
        return {} if self.show_all else self.arrays

    @property
    def after(self) -> float:
        return self.history[-1]

    @property
    def change(self) -> float:
        return self.after - self.before

    @property
    def predicted_change(self) -> float:
        """The first-order predictions of the steps, added up (one step: sum of grad * dx)."""
        return exact_sum(self.predicted)

    def num(self, x: float) -> str:
        return number(x, self.precision)

    def sections(self) -> list:
        """The history (several steps), the inputs, the output."""
        inputs = inputs_table(self)
        tables = [inputs] if inputs.rows or not self.shown_arrays else []
        tables += [arrays_table(self)] if self.shown_arrays else []
        many = self.steps > 1 or (self.watch and self.steps)
        return [*([history_table(self)] if many else []), *tables, summary_table(self)]

    def to_json(self) -> dict:
        return step_json(self)

    def advice(self) -> list[str]:
        """Warnings about the steps themselves: a change of direction, nothing moved, or a
        learning rate too large."""
        turned = [message for message in (self.turned, self.unsaved) if message]
        if self.interrupted:
            kept = "kept" if self.steps else "nothing changed"
            turned.append(f"interrupted after {self.steps} of {self.requested} steps ({kept})")
        if self.steps and not self.start:
            return [*turned, "the program has no inputs: nothing moves"]
        if self.steps and len(self.frozen) == len(self.start):
            return [*turned, "every input is frozen: nothing moves"]
        if not self.disagreements:
            return turned
        first = self.disagreements[0]
        actual = self.history[first] - self.history[first - 1]
        more = len(self.disagreements) - 1
        also = f" (and {more} later step{'s' if more > 1 else ''})" if more else ""
        moved = (f"step {first}{also} changed {self.output} by {actual:.6g} where the first-order prediction "
                 f"(sum of grad * change in x) was {self.predicted[first - 1]:.6g}")
        if not self.zero_grad:  # the summed gradients, not the rate, took it there
            return [*turned, f"{moved}: with --no-zero-grad the gradients add up over the steps, so each step moves "
                             "by the sum of all the gradients so far, which still points where the inputs used to be; "
                             "without --no-zero-grad each step follows its own gradient"]
        return [*turned, f"{moved}: the learning rate is too large for this program here; try --lr "
                + (f"\"({self.lr_text}) / 10\"" if self.lr_text else f"{self.lr / 10:g}")]


def check_freeze(program: Program, freeze: Iterable[str]) -> list[str]:
    """The frozen names, each an input of the program, else a UsageError that says why."""
    names = list(freeze)
    for name in names:
        program.input(name, "freeze")
    return names


def check_lr(lr: float | str | LearningRate) -> LearningRate:
    """`--lr` as a `LearningRate`: a positive number, or an expression of the step number `k`."""
    return learning_rate(lr)


def check_outputs(plot: str | os.PathLike | None, save: str | os.PathLike | None) -> None:
    """`--plot` and `--save`, before any work: matplotlib installed, each file writable."""
    if plot is not None:
        from scalargrad.plot import ready_to_plot

        ready_to_plot(plot)
    if save is not None:
        from scalargrad.files import check_writable

        check_writable(save, "--save")


def check_watch(program: Program, watch: Iterable[str]) -> dict[str, Value]:
    """The watched names (an array stands for its elements), each a node of the program."""
    nodes: dict[str, Value] = {}
    for name in watch:
        labels = program.arrays[name][1] if name in program.arrays else [name]
        nodes.update({label: program.node(label) for label in labels})
    return nodes


def check_steps(program: Program, steps: int) -> None:
    """Refuse a number of steps below 0, or more steps than the size budget allows for this
    program (each step evaluates every node), before any work."""
    from scalargrad import budget

    if steps < 0:
        raise UsageError(f"the number of steps must be 0 or more, not {steps}")
    nodes = len(program.nodes)
    budget.check_work(steps * nodes, f"{steps:,} steps of a {nodes:,}-node graph are",
                      way_around="take fewer --steps (a session continues where the last run stopped)")


def run_steps(
    program: Program | str,
    values: Mapping[str, float],
    *,
    lr: float | str | LearningRate = DEFAULT_LR,
    steps: int = 1,
    descend: bool = False,
    freeze: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
    optimizer: Optimizer | str | None = None,
    given: Mapping[str, float] | None = None,
    state: State | Mapping | None = None,
    zero_grad: bool = True,
    watch: Iterable[str] = (),
    every: int | None = None,
    warnings: Sequence[str] = (),
) -> StepReport:
    """Repeat `steps` times: backward, move every input not frozen by the `optimizer` (plain
    `lr * grad` by default; against the gradient with `descend`), forward. The program is
    parsed once (a string is parsed here). `lr` may be an expression of the step number `k`,
    evaluated step by step; `state` continues an optimiser (a `State`, or its saved JSON),
    and without `optimizer` its own; `given` sets the optimiser's settings by option
    (`{"--beta1": 0.8}`, see `optimizers.choose`); `zero_grad=False` adds each step's
    gradient to the sum of the previous ones, as a training loop without `zero_grad()`.
    `every` is how often the table shows the output; `warnings` those of loading the inputs.

    Raises DomainError, naming the step, when a value leaves an operation's domain or stops
    being finite; `progress(k)` is called after step k. Ctrl-C stops at the end of the step
    under way: the report holds the steps taken and says `interrupted`.
    """
    if isinstance(program, str):
        from scalargrad.language import parse

        program = parse(program)
    rate = check_lr(lr)
    check_steps(program, steps)
    frozen = check_freeze(program, freeze)
    saved = state.to_json() if isinstance(state, State) else state
    check_state(saved, program.inputs)
    chosen, switched = choose(optimizer, given, saved)
    state = State.from_json(saved, chosen, not zero_grad)
    start, first_rate = state.t, rate.first(state.t, steps)  # k counts on from the steps the state took
    watched = check_watch(program, watch)
    program.evaluate(values)  # the values as given: an error here is not any step's fault
    current = {name: node.data for name, node in program.inputs.items()}
    report = StepReport(output=program.label(program.output), lr=first_rate, descend=descend, steps=steps,
                        requested=steps, frozen=frozen, start=dict(current), final=current,
                        grads={name: 0.0 for name in program.inputs}, history=[program.output.data], predicted=[],
                        lr_text="" if rate.constant is not None else rate.text, optimizer=chosen,
                        zero_grad=zero_grad, state=state, notes=[switched] if switched else [],
                        watch={name: [node.data] for name, node in watched.items()}, every=every,
                        warnings=list(warnings), arrays=dict(program.arrays))
    moving = [(name, node) for name, node in program.inputs.items() if name not in frozen]
    _steps(program, moving, report, rate, start, watched, progress)
    return report


def _steps(program: Program, moving: list[tuple[str, Value]], report: StepReport, rate: LearningRate, start: int,
           watched: Mapping[str, Value], progress: Callable[[int], None] | None) -> None:
    """Take the report's steps, the rate of each evaluated at its k (`start` for the first)."""
    with _ctrl_c_between_steps() as pressed:
        for k in range(1, report.steps + 1):
            try:
                _one_step(program, moving, report, k, rate.at(start + k - 1, start), watched)
                if progress is not None:
                    progress(k)
            except DomainError as error:
                raise _at_step(error, k, report.steps, report.history,
                               report.rates[-1] if report.rates else report.lr) from None
            except KeyboardInterrupt:  # raised by the step itself (a host's own handler): it did not complete
                report.interrupted = True
            if report.interrupted or pressed():
                report.interrupted, report.steps = True, len(report.history) - 1
                return


@contextlib.contextmanager
def _ctrl_c_between_steps() -> Iterator[Callable[[], bool]]:
    """Ctrl-C during the steps only raises a flag, read after each step: the run stops at the
    end of the step under way, never halfway through one's bookkeeping or between two steps
    where nothing catches it. Only in the main thread and where Python's own handler is in
    place (a host with its own keeps it, and its KeyboardInterrupt is caught in the step)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield lambda: False
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: pressed.append(number))
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous)


def _one_step(program: Program, moving: list[tuple[str, Value]], report: StepReport, k: int, lr: float,
              watched: Mapping[str, Value]) -> None:
    """Step k: backward, move the inputs in `moving`, forward; recorded in `report` only once
    it is complete, so an interruption midway leaves the report at step k - 1."""
    current, state = report.final, report.state
    program.backward()
    grads = {name: node.grad for name, node in program.inputs.items()}
    used = grads
    if state.accumulated is not None:  # --no-zero-grad: this step's gradient adds to the sum so far
        used = {name: state.accumulated.get(name, 0.0) + grad for name, grad in grads.items()}
        if not math.isfinite(sum(used.values())):  # kept in the session, frozen inputs' sums too
            name = next((name for name, grad in used.items() if not math.isfinite(grad)), next(iter(used)))
            raise DomainError(f"the gradient of `{name}` summed over the steps (--no-zero-grad) is no longer "
                              f"a finite number ({used[name]:g})")
    falling = used if report.descend else {name: -grad for name, grad in used.items()}
    new, after = update(report.optimizer, state, current, falling, [name for name, _ in moving], lr)
    prediction = []
    for name, node in moving:
        if not math.isfinite(new[name]):
            raise DomainError(f"input `{name}` is no longer a finite number "
                              f"({current[name]:g} + {new[name] - current[name]:g})")
        prediction.append(node.grad * (new[name] - current[name]))
    program.evaluate(new)
    if state.accumulated is not None:
        after.accumulated = used
    report.predicted.append(exact_sum(prediction))
    report.history.append(program.output.data)
    report.final, report.grads, report.state = new, used, after
    report.rates.append(lr)
    for name, node in watched.items():
        report.watch[name].append(node.data)
    if _disagrees(report.history[-2], report.history[-1], report.predicted[-1]):
        report.disagreements.append(k)


def _disagrees(before: float, after: float, predicted: float) -> bool:
    # Predictions lost in rounding (at a minimum, or all inputs frozen) say nothing.
    if abs(predicted) <= 1e-12 * (1.0 + abs(before)):
        return False
    ratio = (after - before) / predicted  # 1: as predicted; 0: did not move; below 0: the wrong way
    if ratio >= 0:
        return ratio > 1.0 + DISAGREEMENT
    return ratio < -WRONG_WAY or abs(after - before) > WRONG_WAY_OF_OUTPUT * abs(before)


def _at_step(error: DomainError, k: int, steps: int, history: list[float], lr: float) -> DomainError:
    """The same located error, saying at which step it happened and what to do."""
    where = f"step {k}" + (f" of {steps}" if steps > 1 else "")
    last = f" (the output was {history[-1]:.6g} before it)" if len(history) > 1 else ""
    diverging = "finite" in error.message or (k > 1 and abs(history[-1]) > abs(history[0]))
    if diverging:
        hint = f"the steps are diverging: a smaller learning rate such as --lr {lr / 10:g} may help"
    else:
        hint = f"take smaller steps (--lr {lr / 10:g}), or --freeze the input that leaves the domain"
    located = DomainError(f"{where}: {error.message}{last}", hint=hint, source=error.source, places=error.places)
    located.node = error.node
    located.step = k
    return located


# -- saving --------------------------------------------------------------------------------
def values_json(values: Mapping[str, float]) -> str:
    """The input values in the format --bindings reads: a JSON object name -> number, an
    array as a nested list of its shape."""
    from scalargrad.data import nest

    return json.dumps(nest(values), indent=2) + "\n"


def save_values(path: str | os.PathLike, values: Mapping[str, float]) -> None:
    """Write the values for `--bindings`, atomically (an existing file is replaced whole)."""
    from scalargrad.files import write_text_atomically

    write_text_atomically(path, values_json(values), "the values file")


# -- in a session --------------------------------------------------------------------------
def take_steps(program: Program, values: Mapping[str, float], *, origin: Mapping[str, str] | None = None,
               session: SessionUse | None = None, lr: float | str | LearningRate = DEFAULT_LR, steps: int = 1,
               descend: bool = False, freeze: Iterable[str] = (), data: dict | None = None, **options) -> StepReport:
    """`run_steps` (the further `options` are its own), and with an active `session`, under
    its lock from the values and optimiser state saved there now, saving the new values, the
    optimiser's state and a history entry (so steps run at the same time add up).
    The report's `advice()` starts with a note when this step turns the other way than the
    session's last one. `data`: the data file it trains on (`inputs.Loaded.data_record()`),
    saved as the session's."""
    check_steps(program, steps)  # before the lock: a refused run waits for no one
    options.update(lr=lr, steps=steps, descend=descend, freeze=check_freeze(program, freeze))
    if session is None or not session.active:
        report = run_steps(program, values, **options)
        report.warnings.extend(report.advice())
        return report
    from scalargrad import session as sessions
    from scalargrad.errors import SessionWriteError

    history = session.session.history if session.used and session.session else []
    done: list[StepReport] = []

    def run(start: dict[str, float], state: dict | None) -> StepReport:
        check_state(state, program.inputs, session.path)  # a damaged state: the session's words, nothing saved
        done.append(run_steps(program, start, state=state, **options))
        return done[-1]

    try:
        report = sessions.run_step(session.path, program=program.source, values=values, origin=origin or {},
                                   run=run, outcome=lambda report: (report.final, history_entry(report),
                                                                    report.state.to_json()), data=data)
    except SessionWriteError as error:  # a read-only folder, a full disk: the step stands, unsaved
        report = done[-1] if done else run_steps(program, values, **options)
        report.unsaved = f"the session was not saved: {error.message}"
    if history and bool(history[-1].get("descend")) != descend:
        was, now = ("descended", "ascends") if not descend else ("ascended", "descends")
        report.turned = (f"the last step in this session {was}; this one {now}"
                         + (" (add --descend to keep descending)" if not descend else ""))
    report.warnings.extend(report.advice())
    return report


def follows_data(session: SessionUse | None, trained: dict | None, report: StepReport) -> bool:
    """Whether the steps, saved in a session they continued, trained on another data file
    than the session's (or an edited one), which the session now follows (`take_steps`'s `data`)."""
    return bool(session is not None and session.used and trained and report.steps and not report.unsaved
                and session.session.data != trained)


def history_entry(report: StepReport):
    """The session's history entry for this run (None when no step completed)."""
    from scalargrad.session import StepEntry

    if not report.steps:
        return None
    details: dict = {}
    if report.optimizer.name != "sgd":
        details["optimizer"] = report.optimizer.name
    if not report.zero_grad:
        details["zero_grad"] = False
    if report.lr_text:
        details["lr_expression"] = report.lr_text
    return StepEntry(report.lr, report.before, report.after, report.steps, report.descend, details)


# -- showing -------------------------------------------------------------------------------
def auto_every(steps: int, rows: int = 10) -> int:
    """Show about `rows` rows of the history table."""
    return max(1, steps // rows)


def draw(plot: str | os.PathLike, report: StepReport) -> str:
    """`--plot`: the output over the steps, into the file; returns the note that says so."""
    from scalargrad.plot import plot_history

    plot_history(plot, report.history, output=report.output, title=plot_title(report))
    return f"wrote {plot}: {report.output} over {report.steps:,} step{'s' * (report.steps != 1)}"


def plot_title(report: StepReport) -> str:
    way = "descend" if report.descend else "ascend"
    return f"{report.output} over {report.steps} step{'s' if report.steps > 1 else ''} ({rate_text(report, 6)}, {way})"


def rate_text(report: StepReport, precision: int | None = None) -> str:
    """`lr 0.01`, `lr 1.0 - 0.9*k/100`, `adam (lr 0.001)`, with `, gradients accumulating`."""
    rate = f"lr {report.lr_text or number(report.lr, precision or report.precision)}"
    if report.optimizer.name != "sgd":
        rate = f"{report.optimizer.name} ({rate})"
    return rate + ("" if report.zero_grad else ", gradients accumulating (--no-zero-grad)")


def direction(report: StepReport) -> str:
    if report.descend:
        return f"against the gradient (--descend: {report.output} falls)"
    return f"along the gradient ({report.output} rises)"


def history_table(report: StepReport) -> Table:
    """The output every few steps, with a sparkline of all of them."""
    every = min(report.every or auto_every(report.steps), report.steps)
    shown = list(range(0, report.steps + 1, every))
    if shown[-1] != report.steps:
        shown.append(report.steps)
    watched = [name for name in report.watch if name != report.output]
    table = Table(["step", report.output, "change", *watched],
                  title=f"{report.output} every {every} step{'s' if every > 1 else ''}",
                  right={"step", report.output, "change", *watched})
    previous = None
    for k in shown:
        value = report.history[k]
        table.add(str(k), report.num(value), "" if previous is None else report.num(value - previous),
                  *(report.num(report.watch[name][k]) for name in watched),
                  style="bold" if k in (0, report.steps) else "")
        previous = value
    table.notes.append(f"{report.output} over {report.steps} steps: {sparkline_text(report)}")
    return table


def inputs_table(report: StepReport) -> Table:
    """Each input before and after, with its gradient; a `note` column when any is frozen."""
    num, frozen = report.num, set(report.frozen)
    note = ["note"] if frozen else []
    if report.steps > 1:
        table = Table(["input", "start", "last grad", "final", "change", *note],
                      title=f"inputs after {report.steps} steps of {rate_text(report)}, {direction(report)}",
                      right={"start", "last grad", "final", "change"})
    else:
        table = Table(["input", "before", "grad", "after", "change", *note],
                      title=f"{'one step' if report.steps else 'no step'} of {rate_text(report)}, {direction(report)}",
                      right={"before", "grad", "after", "change"})
    elements = {label for _, labels in report.shown_arrays.values() for label in labels}
    for name, start in report.start.items():
        if name in elements:
            continue
        final = report.final[name]
        table.add(name, num(start), num(report.grads[name]), num(final), num(final - start),
                  *(["frozen" if name in frozen else ""] if frozen else []), style="dim" if name in frozen else "")
    return table


def arrays_table(report: StepReport) -> Table:
    """The arrays of parameters, one row each: the elements that moved most."""
    from scalargrad.render import ARRAYS_NOTE, largest_text

    changes = {name: report.final[name] - start for name, start in report.start.items()}
    table = Table(["array", "shape", "largest |change|"], key="array",
                  title=f"arrays of inputs after {report.steps} step{'s' * (report.steps != 1)} of {rate_text(report)}, "
                        f"{direction(report)}")
    for name, (shape, labels) in report.shown_arrays.items():
        if labels[0] in report.start:
            table.add(name, str(shape), largest_text(labels, changes))
    table.notes.append(ARRAYS_NOTE)
    return table


def summary_table(report: StepReport) -> Table:
    num = report.num
    table = Table(["output", report.output], title="", right={report.output})
    table.add("before", num(report.before))
    table.add("after", num(report.after), style="bold")
    table.add("change", num(report.change))
    table.add("predicted change" if report.steps == 1 else "predicted (sum over steps)", num(report.predicted_change))
    table.notes.append("predicted change: the first-order estimate, sum of grad * change of each input"
                       + (", added over the steps" if report.steps > 1 else ""))
    return table


def sparkline_text(report: StepReport) -> str:
    from scalargrad.plot import log_scale, sparkline

    log = log_scale(report.history)
    return (f"{sparkline(report.history, log=log)}  {number(report.before, 6)} -> {number(report.after, 6)}"
            + ("  (log scale)" if log else ""))


def step_json(report: StepReport) -> dict:
    """The `step --json` document (schema scalargrad.step/2: its maps of values give an array as
    a nested list of its shape, as --bindings reads them)."""
    from scalargrad.data import nest

    frozen = set(report.frozen)
    return {
        "schema": "scalargrad.step/2",
        "output": report.output,
        "lr": report.lr,
        "direction": "descend" if report.descend else "ascend",
        "steps": report.steps,
        "interrupted": report.interrupted,
        "frozen": report.frozen,
        "before": {"output": report.before, "values": nest(report.start)},
        "after": {"output": report.after, "values": nest(report.final)},
        "change": {"actual": report.change, "predicted": report.predicted_change},
        "inputs": {
            name: {"before": report.start[name], "grad": report.grads[name], "after": report.final[name],
                   "frozen": name in frozen}
            for name in report.start
        },
        "history": report.history,
        "watch": report.watch,
        "optimizer": optimizer_json(report),
        "zero_grad": report.zero_grad,
        "lr_expression": report.lr_text or None,
        "rates": report.rates,
        "disagreements": report.disagreements,
        "values": nest(report.final),
        "warnings": report.warnings,
    }


def optimizer_json(report: StepReport) -> dict:
    """The optimiser's name, its hyper-parameters, and `t`, the steps its state has taken."""
    return {"name": report.optimizer.name, **report.optimizer.settings, "t": report.state.t}
