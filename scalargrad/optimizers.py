"""How `step` moves the inputs: the learning rate (a number, or an expression of the step
number `k` in the scalargrad language) and the optimiser (`sgd`, `momentum`, `adam`) with
its state, which a session keeps so that a continued `step` continues the optimiser.

Every optimiser minimises: it is given the gradient of what falls (the output's gradient
with `--descend`, its negative without, as PyTorch's `maximize=True`). Formulas as PyTorch
writes them (`torch.optim.SGD` with dampening 0 and no Nesterov, `torch.optim.Adam` with
amsgrad and weight decay off), per input x with gradient g at step t = 1, 2, ...:

    sgd       x <- x - lr * g
    momentum  b <- momentum * b + g        (b = 0 before the first step, so b_1 = g)
              x <- x - lr * b
    adam      m <- beta1 * m + (1 - beta1) * g
              v <- beta2 * v + (1 - beta2) * g**2
              x <- x - lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    >>> rate = learning_rate("1.0 - 0.9*k/100")
    >>> [rate.at(k) for k in (0, 50, 100)]
    [1.0, 0.55, 0.1]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Mapping

from scalargrad.errors import DomainError, ScalarGradError, UsageError, did_you_mean, place_at
from scalargrad.session import OPTIMIZERS

LR_HINT = "give --lr a positive number such as 0.01, or an expression of the step number k such as \"0.1 / (1 + k)\""


# -- the learning rate -----------------------------------------------------------------------
@dataclass
class LearningRate:
    """A constant rate, or a tiny program whose only input is `k` (0 at the first step)."""

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


# -- the optimisers --------------------------------------------------------------------------
@dataclass(frozen=True)
class Optimizer:
    """Which optimiser, with its hyper-parameters (PyTorch's defaults)."""

    name: str = "sgd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            close = did_you_mean(self.name, OPTIMIZERS)
            raise UsageError(f"there is no optimizer `{self.name}`" + (f"; did you mean `{close}`?" if close else ""),
                             hint=f"choose one of {', '.join(OPTIMIZERS)}")
        for option, value in (("--momentum", self.momentum), ("--beta1", self.beta1), ("--beta2", self.beta2)):
            if not 0 <= value < 1:
                raise UsageError(f"{option} must be at least 0 and less than 1, not {value:g}",
                                 hint=f"{option} 0.9 is the usual choice" if option != "--beta2" else "--beta2 0.999 is usual")
        if not (math.isfinite(self.eps) and self.eps > 0):
            raise UsageError(f"--adam-eps must be a small positive number, not {self.eps:g}", hint="--adam-eps 1e-8")


@dataclass
class State:
    """What an optimiser remembers between steps: the steps taken (`t`, and the `k` of the
    next step), momentum's velocities, Adam's moments, and with --no-zero-grad the gradient
    summed so far. Saved in the session as `to_json()`."""

    optimizer: str = "sgd"
    t: int = 0
    velocity: dict[str, float] = field(default_factory=dict)
    m: dict[str, float] = field(default_factory=dict)
    v: dict[str, float] = field(default_factory=dict)
    accumulated: dict[str, float] | None = None

    def to_json(self) -> dict:
        state: dict = {"name": self.optimizer, "t": self.t}
        for key in ("velocity", "m", "v"):
            if getattr(self, key):
                state[key] = dict(getattr(self, key))
        if self.accumulated is not None:
            state["accumulated"] = dict(self.accumulated)
        return state

    @classmethod
    def from_json(cls, saved: Mapping | None, optimizer: str, accumulate: bool) -> "State":
        """The saved state when it belongs to `optimizer` (else a fresh one); the summed
        gradient only when this run accumulates too."""
        if not saved or saved.get("name") != optimizer:
            return cls(optimizer, accumulated={} if accumulate else None)
        return cls(optimizer, int(saved.get("t", 0)), dict(saved.get("velocity", {})), dict(saved.get("m", {})),
                   dict(saved.get("v", {})), dict(saved.get("accumulated", {})) if accumulate else None)


def update(optimizer: Optimizer, state: State, current: Mapping[str, float], grads: Mapping[str, float],
           names: list[str], lr: float) -> tuple[dict[str, float], State]:
    """One step: the new value of each input in `names` (the rest unchanged) and the new state.
    `grads` is the gradient of what falls. Neither `current` nor `state` is changed, so an
    interruption midway leaves both as they were."""
    new = dict(current)
    t = state.t + 1
    after = State(state.optimizer, t, dict(state.velocity), dict(state.m), dict(state.v), state.accumulated)
    if optimizer.name == "sgd":
        for name in names:
            new[name] = current[name] - lr * grads[name]
    elif optimizer.name == "momentum":
        for name in names:
            b = optimizer.momentum * state.velocity.get(name, 0.0) + grads[name]
            after.velocity[name] = b
            new[name] = current[name] - lr * b
    else:
        beta1, beta2 = optimizer.beta1, optimizer.beta2
        correction1, correction2 = 1 - beta1**t, 1 - beta2**t
        for name in names:
            g = grads[name]
            m = beta1 * state.m.get(name, 0.0) + (1 - beta1) * g
            v = beta2 * state.v.get(name, 0.0) + (1 - beta2) * g * g
            after.m[name], after.v[name] = m, v
            new[name] = current[name] - lr * (m / correction1) / (math.sqrt(v / correction2) + optimizer.eps)
    return new, after
