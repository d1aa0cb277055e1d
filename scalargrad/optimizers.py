"""How `step` moves the inputs: the learning rate (a number, or an expression of the step
number `k` in the scalargrad language) and **the optimiser table**, one row per optimiser,
with its state, which a session keeps so that a continued `step` continues the optimiser.

Every optimiser minimises: it is given the gradient of what falls (the output's gradient
with `--descend`, its negative without, as PyTorch's `maximize=True`). A row (`Row`) holds
an optimiser's name, its settings (hyper-parameters, each with its default and the option
that sets it), the state it keeps per input (and what a saved value of it may be), its
update of the inputs it moves, and the formula and the line of docs/step.md that describe it.
Formulas as PyTorch writes them, per input x with gradient g at step t = 1, 2, ...:

    sgd       x <- x - lr * g                                          torch.optim.SGD
    momentum  b <- momentum * b + g;  x <- x - lr * b                  SGD(momentum=...)
    adam      m <- beta1 * m + (1 - beta1) * g                         torch.optim.Adam
              v <- beta2 * v + (1 - beta2) * g**2
              x <- x - lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)
    rmsprop   v <- alpha * v + (1 - alpha) * g**2                      torch.optim.RMSprop
              x <- x - lr * g / (sqrt(v) + eps)

Adding an optimiser is one row in `ROWS` and one row in docs/step.md: `step` makes an
option of each new setting, the session keeps its state, and both are checked from the
row. Nothing outside this module names an optimiser or a key of its state.

    >>> rate = learning_rate("1.0 - 0.9*k/100")
    >>> [round(rate.at(k), 12) for k in (0, 50, 100)]
    [1.0, 0.55, 0.1]
    >>> optimizer, note = choose("adam", {"--beta1": 0.8})
    >>> optimizer.settings
    {'beta1': 0.8, 'beta2': 0.999, 'eps': 1e-08}
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Mapping

from scalargrad.errors import DomainError, ScalarGradError, UsageError, clip, did_you_mean, place_at

LR_HINT = "give --lr a positive number such as 0.01, or an expression of the step number k such as \"0.1 / (1 + k)\""


# -- the learning rate -----------------------------------------------------------------------
@dataclass
class LearningRate:
    """A constant rate, or a tiny program whose only input is `k` (0 at the first step),
    evaluated step by step (`at`), never for every step up front."""

    text: str
    constant: float | None = None
    program: object = None  # the parsed expression when the rate depends on k

    def at(self, k: int, start: int = 0) -> float:
        """The rate at step number `k` (0-based), a finite positive number, else a UsageError.
        `start`: the k of this run's first step (a session's steps count on), for the hint."""
        if self.constant is not None:
            return self.constant
        try:
            self.program.evaluate({"k": float(k)})
        except DomainError as error:
            raise UsageError(f"--lr at k = {k}: {error.message}", hint=LR_HINT, source=error.source,
                             places=error.places) from None
        rate = self.program.output.data
        if not math.isfinite(rate) or rate <= 0:
            counted = (f"k counts on from the session's {start} steps taken, so this run starts at k = {start}: "
                       f"write the schedule in (k - {start}), or give the program again to start over at k = 0; "
                       if start else "")
            raise UsageError(f"the learning rate `{self.text}` is {rate:g} at k = {k}: it must be a finite, positive "
                             "number at every step", hint=counted + "choose an expression that stays positive over "
                                                                    "the steps")
        return rate

    def first(self, start: int, steps: int) -> float:
        """The rate of a run's first step (k = `start`), checked before any step at the run's
        two ends: a rate that is bad at its last step is reported at the first k where it is
        bad (found then, one k after another). A rate bad only in between is found at its step."""
        rate = self.at(start, start)
        if self.constant is None and steps > 1:
            try:
                self.at(start + steps - 1, start)
            except UsageError:
                for k in range(start + 1, start + steps):
                    self.at(k, start)  # raises at the first bad k
        return rate

    def __str__(self) -> str:
        return f"{self.constant:g}" if self.constant is not None else self.text


def learning_rate(value: float | str | LearningRate) -> LearningRate:
    """`--lr` as given: a number, or text in the scalargrad language (parsed, never evaluated
    as Python) that may read the step number `k` and nothing else."""
    if isinstance(value, LearningRate):
        return value
    if not isinstance(value, str):
        return LearningRate(f"{value:g}", constant=_positive(float(value)))
    comma = re.fullmatch(r"\s*([-+]?[0-9]+),([0-9]+)\s*", value)
    if comma:
        raise UsageError(f"`--lr` takes a number, not `{value.strip()}`; use a dot for decimals: "
                         f"{comma[1]}.{comma[2]}", hint="see scalargrad step --help")
    if value.isascii():
        try:  # a plain number, `inf` and `nan` included: float() reads numbers, it runs nothing
            return LearningRate(value.strip(), constant=_positive(float(value)))
        except ValueError:
            pass  # an expression
    from scalargrad.language import parse

    try:
        program = parse(value, what="expression")
    except ScalarGradError as error:  # worded for an expression; LR_HINT where the parser has no hint
        raise type(error)(f"in --lr: {error.message}", hint=error.hint or LR_HINT, source=error.source,
                          places=error.places) from None
    others = [name for name in program.inputs if name != "k"]
    if others:
        start, end = program.spans[program.node_id(program.inputs[others[0]])]
        close = did_you_mean(others[0], ["k"])
        raise UsageError(f"the learning rate may read only the step number `k`, not `{others[0]}`"
                         + ("; did you mean `k`?" if close else ""), hint=LR_HINT, source=value,
                         places=(place_at(value, start, width=end - start),))
    if "k" in program.inputs:
        return LearningRate(value.strip(), program=program)
    return LearningRate(value.strip(), constant=_positive(program.output.data))


def _positive(lr: float) -> float:
    if not math.isfinite(lr) or lr <= 0:
        raise UsageError(
            f"the learning rate must be a {'positive' if math.isfinite(lr) else 'finite, positive'} number, not {lr:g}",
            hint="give --lr a small positive number such as 0.01; --descend moves against the gradient",
        )
    return float(lr)


# -- the table's columns ---------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """A hyper-parameter: its name (in JSON and the session), the option that sets it, its
    default (PyTorch's), a help line, and its range: a fraction (0 <= x < 1), else a
    positive number."""

    name: str
    flag: str
    default: float
    help: str
    fraction: bool = True

    def problem(self, value: object) -> str:
        """What is wrong with `value` for this setting, in words, or ""."""
        shown = f"{value:g}" if isinstance(value, float) else _shown(value)
        if self.fraction and not (_finite(value) and 0 <= value < 1):
            return f"must be at least 0 and less than 1, not {shown}"
        if not self.fraction and not (_finite(value) and value > 0):
            return f"must be a small positive number, not {shown}"
        return ""

    def check(self, value: float) -> float:
        """`value` as given with the option, else a UsageError that names the option."""
        problem = self.problem(value)
        if problem:
            usual = " is the usual choice" if self.fraction else ""
            raise UsageError(f"{self.flag} {problem}", hint=f"{self.flag} {self.default:g}{usual}")
        return float(value)


@dataclass(frozen=True)
class Slot:
    """What an optimiser keeps per input between steps, saved in the session as an object
    input name -> number: any finite number, one of 0 or more (`nonnegative`), or the whole
    number of a scale (`exponent`: kept only for the inputs where it is not 0)."""

    name: str
    nonnegative: bool = False
    exponent: bool = False

    def problem(self, value: object) -> str:
        if self.exponent:
            whole = isinstance(value, int) and not isinstance(value, bool)
            return "" if whole and 1 <= value <= _MOST_EXPONENT else \
                f"= {_shown(value)}, not a whole number from 1 to {_MOST_EXPONENT}"
        if not _finite(value):
            return f"= {_shown(value)}, not a finite number"
        if self.nonnegative and value < 0:
            return f"= {value:g}, below 0 (a mean of squares never is)"
        return ""


Update = Callable[[Mapping[str, float], Mapping[str, float], list[str], float, int, dict, Mapping[str, float]],
                  dict[str, float]]


@dataclass(frozen=True)
class Row:
    """One optimiser: `update(x, g, names, lr, t, slots, settings)` is the new value of each
    input in `names` (x and g: input name -> value and gradient) at step t; `slots` holds a
    dict per slot (input name -> value, absent before its first step), updated in place."""

    name: str
    settings: tuple[Setting, ...]
    state: tuple[Slot, ...]
    update: Update
    formula: str  # the update, in docs/step.md's table of optimisers
    doc: str  # which PyTorch optimiser it is, in the same table


# -- the updates -------------------------------------------------------------------------------
_SAFE = 510  # a gradient below 2**510 (about 3.4e153) squares to below 2**1020: no overflow
_SAFE_BELOW = 2.0**_SAFE
_MOST_EXPONENT = 600  # more than any finite gradient needs (2**1024 / 2**510)
_MOST_STEPS = 2**53  # a saved step count that a float still counts exactly (beta**t, k)


def _sgd(x, g, names, lr, t, slots, h) -> dict[str, float]:
    return {name: x[name] - lr * g[name] for name in names}


def _momentum(x, g, names, lr, t, slots, h) -> dict[str, float]:
    b, momentum, new = slots["velocity"], h["momentum"], {}
    for name in names:
        b[name] = momentum * b.get(name, 0.0) + g[name]
        new[name] = x[name] - lr * b[name]
    return new


def _mean_of_squares(slots: dict, name: str, g: float, decay: float) -> tuple[float, int]:
    """`v <- decay * v + (1 - decay) * g**2` (Adam's and RMSprop's v) for any finite g.

    g**2 overflows from |g| = 1.34e154 on. Then g is taken as g / 2**e and v kept as v / 4**e,
    e saved as `v_exponent`; powers of two scale exactly, so the digits are those of the true
    numbers. For every smaller gradient (and a v that needs no scale) e = 0: the plain formula
    (PyTorch's `v.mul_(decay).addcmul_(g, g, value=1 - decay)`, the same bits). Returns v as
    computed (scaled by 4**-e) and e."""
    v, exponents = slots["v"], slots["v_exponent"]
    if abs(g) < _SAFE_BELOW and name not in exponents:
        v[name] = decay * v.get(name, 0.0) + (1 - decay) * g * g
        return v[name], 0
    before = exponents.get(name, 0)
    e = max(before, math.frexp(g)[1] - _SAFE) if abs(g) >= _SAFE_BELOW else before
    g = math.ldexp(g, -e)
    scaled = decay * math.ldexp(v.get(name, 0.0), 2 * (before - e)) + (1 - decay) * g * g
    # The least scale that keeps v, and v over a bias correction (1 - decay**t >= 1 - decay), below 2**1020.
    headroom = 1 - math.frexp(1 - decay)[1]
    kept = max(0, e - (1020 - headroom - math.frexp(scaled)[1]) // 2) if scaled else 0
    v[name] = math.ldexp(scaled, 2 * (e - kept))
    if kept:
        exponents[name] = kept
    else:
        exponents.pop(name, None)
    return scaled, e


def _adam(x, g, names, lr, t, slots, h) -> dict[str, float]:
    beta1, beta2, eps = h["beta1"], h["beta2"], h["eps"]
    correction1, correction2 = 1 - beta1**t, 1 - beta2**t
    m, new = slots["m"], {}
    for name in names:
        m[name] = beta1 * m.get(name, 0.0) + (1 - beta1) * g[name]
        v, e = _mean_of_squares(slots, name, g[name], beta2)
        if e:  # scaled: m and eps as sqrt(v) is, which changes no digit of their ratio
            new[name] = x[name] - lr * (math.ldexp(m[name], -e) / correction1) / (
                math.sqrt(v / correction2) + math.ldexp(eps, -e))
        else:  # the documented formula as written, in this order (every gradient below 1.34e154)
            new[name] = x[name] - lr * (m[name] / correction1) / (math.sqrt(v / correction2) + eps)
    return new


def _rmsprop(x, g, names, lr, t, slots, h) -> dict[str, float]:
    alpha, eps, new = h["alpha"], h["eps"], {}
    for name in names:
        v, e = _mean_of_squares(slots, name, g[name], alpha)
        new[name] = x[name] - lr * math.ldexp(g[name], -e) / (math.sqrt(v) + math.ldexp(eps, -e))
    return new


# -- the table ---------------------------------------------------------------------------------
_MEAN_OF_SQUARES = (Slot("v", nonnegative=True), Slot("v_exponent", exponent=True))

ROWS: dict[str, Row] = {row.name: row for row in (
    Row("sgd", (), (), _sgd, "`x <- x - lr * g`", "the lecture's `p.data += -lr * p.grad`; `torch.optim.SGD`"),
    Row("momentum", (Setting("momentum", "--momentum", 0.9, "momentum's factor: b <- momentum * b + grad."),),
        (Slot("velocity"),), _momentum,
        "`b <- momentum * b + g` (`b` starts at 0, so `b_1 = g`), then `x <- x - lr * b`",
        "`torch.optim.SGD(momentum=M)`, dampening 0, not Nesterov"),
    Row("adam", (Setting("beta1", "--beta1", 0.9, "Adam's decay of the mean of the gradients."),
                 Setting("beta2", "--beta2", 0.999, "Adam's decay of the mean of their squares."),
                 Setting("eps", "--adam-eps", 1e-8, "Adam's epsilon, added to the root of the second moment.",
                         fraction=False)),
        (Slot("m"), *_MEAN_OF_SQUARES), _adam,
        "`m <- beta1 * m + (1 - beta1) * g`, `v <- beta2 * v + (1 - beta2) * g**2`, then "
        "`x <- x - lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)`",
        "`torch.optim.Adam`, amsgrad off, no weight decay"),
    Row("rmsprop", (Setting("alpha", "--rmsprop-alpha", 0.99, "RMSprop's decay of the mean of the squared gradients."),
                    Setting("eps", "--rmsprop-eps", 1e-8, "RMSprop's epsilon, added to the root of that mean.",
                            fraction=False)),
        _MEAN_OF_SQUARES, _rmsprop, "`v <- alpha * v + (1 - alpha) * g**2`, then `x <- x - lr * g / (sqrt(v) + eps)`",
        "`torch.optim.RMSprop`, not centered, no momentum, no weight decay"),
)}
NAMES = tuple(ROWS)
# Every setting once per option (two rows may share one): `step` makes an option of each.
SETTINGS = tuple({setting.flag: setting for entry in ROWS.values() for setting in entry.settings}.values())
_ACCUMULATED = Slot("accumulated")  # --no-zero-grad's sum of the gradients so far, whatever the optimiser


def row(name: str) -> Row:
    """The table's row of optimiser `name`, else a UsageError with the names there are."""
    if name not in ROWS:
        close = did_you_mean(name, NAMES)
        raise UsageError(f"there is no optimizer `{name}`" + (f"; did you mean `{close}`?" if close else ""),
                         hint=f"choose one of {', '.join(NAMES)}")
    return ROWS[name]


def check_choice(name: str | None, given: Mapping[str, float]) -> None:
    """What `choose` can check before a session is read: the name, each setting given by its
    option (`{"--beta1": 0.8}`) in its range, and with a name, that each has an effect."""
    flags = {setting.flag: setting for setting in SETTINGS}
    for flag, value in given.items():
        flags[flag].check(value)
    if name is not None:
        choose(name, given)


# -- an optimiser chosen, and its state ---------------------------------------------------------
@dataclass(frozen=True)
class Optimizer:
    """An optimiser of the table with a value for each of its settings (missing ones get
    their defaults): `Optimizer("adam", {"beta1": 0.8})`."""

    name: str = "sgd"
    settings: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        own = {setting.name: setting for setting in row(self.name).settings}
        for key in self.settings:
            if key not in own:
                raise UsageError(f"{self.name} has no setting `{key}`",
                                 hint=f"its settings are {', '.join(own) or 'none'}")
        object.__setattr__(self, "settings", {key: setting.check(self.settings.get(key, setting.default))
                                              for key, setting in own.items()})


def choose(name: str | Optimizer | None = None, given: Mapping[str, float] | None = None,
           saved: Mapping | None = None) -> tuple[Optimizer, str]:
    """This run's optimiser and, when it replaces the saved one, a note saying so.

    The optimiser is `name` (--optimizer; an `Optimizer` is taken as it is), else the saved
    state's (a continued session keeps its optimiser), else sgd. Each setting is as `given` by
    its option (`{"--beta1": 0.8}`), else as saved with the same optimiser, else its default.
    A given option that is not a setting of that optimiser would have no effect: a UsageError
    that says which optimiser it sets."""
    kept, given = saved.get("name") if saved else None, dict(given or {})
    chosen = row(name.name if isinstance(name, Optimizer) else name or kept or "sgd")
    flags = {setting.flag for setting in chosen.settings}
    for flag in given:
        if flag not in flags:
            owners = [other.name for other in ROWS.values() if any(s.flag == flag for s in other.settings)]
            whose = " (the session's optimizer)" if name is None and kept else ""
            raise UsageError(f"{flag} has no effect with {chosen.name}{whose}",
                             hint=f"{flag} is a setting of {' and '.join(owners)}: add --optimizer {owners[0]}")
    note = ""
    if kept and kept != chosen.name and saved.get("t"):
        note = (f"the session's optimizer was {kept} ({saved['t']} steps); {chosen.name} starts fresh: its state, "
                "and the k of an --lr expression, start again at 0")
    if isinstance(name, Optimizer):
        return name, note
    before = saved.get("settings", {}) if kept == chosen.name else {}
    return Optimizer(chosen.name, {setting.name: given.get(setting.flag, before.get(setting.name, setting.default))
                                   for setting in chosen.settings}), note


@dataclass
class State:
    """What an optimiser remembers between steps: the steps taken (`t`, and the `k` of the
    next step), its slots per input (momentum's velocities, Adam's moments, ...), and with
    --no-zero-grad the gradient summed so far. Saved in the session as `to_json()`."""

    optimizer: Optimizer = field(default_factory=Optimizer)
    t: int = 0
    slots: dict[str, dict[str, float]] = field(default_factory=dict)  # slot name -> input name -> value
    accumulated: dict[str, float] | None = None

    def to_json(self) -> dict:
        state: dict = {"name": self.optimizer.name, "t": self.t}
        if self.optimizer.settings:
            state["settings"] = dict(self.optimizer.settings)
        state.update({key: dict(values) for key, values in self.slots.items() if values})
        if self.accumulated is not None:
            state["accumulated"] = dict(self.accumulated)
        return state

    @classmethod
    def from_json(cls, saved: Mapping | None, optimizer: Optimizer, accumulate: bool) -> "State":
        """The saved state when it belongs to `optimizer` (else a fresh one); the summed
        gradient only when this run accumulates too. Check `saved` first (`check_state`)."""
        if not saved or saved.get("name") != optimizer.name:
            return cls(optimizer, accumulated={} if accumulate else None)
        slots = {slot.name: dict(saved.get(slot.name, {})) for slot in row(optimizer.name).state}
        return cls(optimizer, saved.get("t", 0), slots, dict(saved.get("accumulated", {})) if accumulate else None)


def update(optimizer: Optimizer, state: State, current: Mapping[str, float], grads: Mapping[str, float],
           names: list[str], lr: float) -> tuple[dict[str, float], State]:
    """One step: the new value of each input in `names` (the rest unchanged) and the new state.
    `grads` is the gradient of what falls. Neither `current` nor `state` is changed, so an
    interruption midway leaves both as they were. A state that would not be finite is a
    DomainError naming the input and why: nothing that is not finite is ever kept."""
    chosen, t = row(optimizer.name), state.t + 1
    slots = {slot.name: dict(state.slots.get(slot.name, {})) for slot in chosen.state}
    new = dict(current)
    new.update(chosen.update(current, grads, names, lr, t, slots, optimizer.settings))
    if not all(math.isfinite(sum(values.values())) for values in slots.values()):  # one pass in C each
        _refuse(chosen, slots, grads, names)
    return new, State(optimizer, t, slots, state.accumulated)


def _refuse(chosen: Row, slots: Mapping[str, dict], grads: Mapping[str, float], names: list[str]) -> None:
    """The DomainError that says which value is no longer finite (a sum of finite ones may overflow: then none)."""
    for name in names:
        if not math.isfinite(grads[name]):
            raise DomainError(f"the gradient that moves `{name}` is no longer a finite number ({grads[name]:g})")
    for key, values in slots.items():
        for name, value in values.items():
            if not math.isfinite(value):
                raise DomainError(f"{chosen.name}'s `{key}` of `{name}` is no longer a finite number ({value:g})")


# -- a saved state, checked ------------------------------------------------------------------------
def check_state(saved: object, inputs: Collection[str], session: Path | None = None) -> None:
    """Refuse a saved state (`State.to_json()`) that this scalargrad cannot continue: a
    SessionError naming the session file, the key and the input when it comes from
    `session`, else a UsageError."""
    problem = state_problem(saved, inputs)
    if not problem:
        return
    if session is None:
        raise UsageError(f"the optimizer state {problem}",
                         hint="give the state a step saved (StepReport.state.to_json())")
    from scalargrad.errors import SessionError
    from scalargrad.session import reset_hint, shown

    raise SessionError(f"session file {shown(session)} is corrupt: its `optimizer` {problem}", hint=reset_hint(session))


def state_problem(saved: object, inputs: Collection[str]) -> str:
    """What is wrong with a saved state, in words, or "": null, or an object with `name` (a
    row of the table), `t` (a whole number of 0 or more), the optional `settings` (the row's,
    each in its range), each of the row's slots and `accumulated` (objects input name ->
    number, each name an input of the program, each number as its slot allows), the row's
    dense slots naming the same inputs (one entry per input moved)."""
    if saved is None:
        return ""
    if not isinstance(saved, dict):
        return "is not a JSON object"
    if saved.get("name") not in ROWS:
        return f"has no `name` among {', '.join(NAMES)} (it has {_shown(saved.get('name'))})"
    chosen, t = ROWS[saved["name"]], saved.get("t")
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= _MOST_STEPS:
        return f"has no `t` (a whole number from 0 to {_MOST_STEPS:,})"
    slots = {slot.name: slot for slot in (*chosen.state, _ACCUMULATED)}
    unknown = [key for key in saved if key not in {"name", "t", "settings", *slots}]
    if unknown:
        return f"has `{unknown[0]}`, which {chosen.name} does not keep"
    return _settings_problem(saved.get("settings", {}), chosen) or _slots_problem(saved, slots, inputs)


def _settings_problem(settings: object, chosen: Row) -> str:
    if not isinstance(settings, dict):
        return "has `settings` that are not a JSON object"
    own = {setting.name: setting for setting in chosen.settings}
    for key, value in settings.items():
        if key not in own:
            return f"has the setting `{key}`, which {chosen.name} does not have"
        problem = own[key].problem(value)
        if problem:
            return f"has the setting `{key}`, which {problem}"
    return ""


def _slots_problem(saved: dict, slots: Mapping[str, Slot], inputs: Collection[str]) -> str:
    for key, slot in slots.items():
        values = saved.get(key, {})
        if not isinstance(values, dict):
            return f"has `{key}` that is not a JSON object (input name -> number)"
        for name, value in values.items():
            if name not in inputs:
                return f"has `{key}` of `{clip(name, 40)}`, which is not an input of the program"
            problem = slot.problem(value)
            if problem:
                return f"has `{key}` of `{name}` {problem}"
    # One entry per input moved: the row's slots name the same inputs (a scale only some of them).
    dense = [key for key, slot in slots.items() if not slot.exponent and slot is not _ACCUMULATED]
    moved = set(saved.get(dense[0], {})) if dense else set()
    for key, slot in slots.items():
        if slot is _ACCUMULATED or key == (dense[0] if dense else None):
            continue
        names = set(saved.get(key, {}))
        odd = sorted(names - moved if slot.exponent else names ^ moved)
        if odd:
            has, lacks = (key, dense[0]) if odd[0] in names else (dense[0], key)
            return f"has `{has}` of `{odd[0]}` but no `{lacks}` of it (each input it moves has one of each)"
    return ""


def _finite(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer of 400 digits
        return False


def _shown(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else f"`{value}`"
    return text if len(text) <= 40 else text[:37] + "..."
