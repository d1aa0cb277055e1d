"""Many outputs, many inputs: the Jacobian d(output)/d(input) (`scalargrad jacobian`), in forward
or reverse mode with every pass counted, and one JVP or VJP.

Forward mode runs one tangent pass per input (`passes.tangents`), each a column of the matrix;
reverse mode one adjoint pass per output (`passes.adjoints`), each a row. A pass visits the
nodes its seed reaches between the chosen inputs and outputs, and counts them as it goes.
Before any pass runs, `passes.reach` counts the visits each mode would take; `auto` runs the
cheaper and says why. That is the whole trade-off of automatic differentiation, measured: a
loss of many parameters (one output) is one backward pass, a curve of one input is one forward
pass.

    >>> from scalargrad import parse
    >>> report = jacobian(parse("u = x*y; v = x + y"), {"x": 2, "y": 3})
    >>> report.matrix, report.mode, report.measured
    ([[3.0, 2.0], [1.0, 1.0]], 'reverse', Cost(passes=2, visits=6))
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import IO, Callable, Mapping, Sequence

from scalargrad import budget
from scalargrad.engine import Value
from scalargrad.errors import DomainError, UsageError
from scalargrad.hessian import chosen_inputs
from scalargrad.ops import CONST, LEAF
from scalargrad.passes import Active, active_part, adjoints, reach, tangents
from scalargrad.program import Program
from scalargrad.render import Report, Table, number, ref_json

SCHEMA = "scalargrad.jacobian/1"
MODES = ("forward", "reverse", "auto")
MATRIX_LIMIT = 12  # columns shown as a matrix; past it, a row per input (transposed), then the largest entries
ROWS_SHOWN = 60  # rows of the transposed table before the rest is left to --json and --csv
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Cost:
    """A mode's work: its passes and the node visits they take in all."""

    passes: int
    visits: int


def named_outputs(program: Program) -> list[Value]:
    """The program's named outputs: every named node that no other node reads (a result nothing
    uses further, `accuracy` beside the loss), and the output (the last statement), in program
    order. Inputs and constants are not outputs."""
    read = {id(parent) for node in program.nodes for parent in node._prev}
    outputs = [node for name, node in program.names.items() if program.is_named(node)
               and node._op not in (LEAF, CONST) and id(node) not in read and node is not program.output]
    outputs.append(program.output)
    return sorted(outputs, key=program.node_id)


def chosen_outputs(program: Program, of: Sequence[str] | None) -> list[Value]:
    """The nodes differentiated: `of` (names or ids, each once), else the named outputs."""
    if of is None:
        return named_outputs(program)
    nodes = [program.node(name) for name in of]
    if len({id(node) for node in nodes}) != len(nodes):
        raise UsageError("--of names a node twice", hint="give each output once: --of u,v")
    return nodes


def choose(mode: str, forward: Cost, reverse: Cost) -> tuple[str, str]:
    """The mode to run and why: `auto` takes the one with fewer node visits (fewer passes at a tie,
    reverse at a full tie: its passes are the gradients `grad` shows)."""
    _check_mode(mode)
    if mode != "auto":
        return mode, f"asked for with --mode {mode}"
    pick = "forward" if (forward.visits, forward.passes) < (reverse.visits, reverse.passes) else "reverse"
    chosen, other = (forward, reverse) if pick == "forward" else (reverse, forward)
    if (chosen.visits, chosen.passes) == (other.visits, other.passes):
        return pick, (f"a tie ({chosen.visits:,} node visits in {_cost_text(chosen, pick)} either way), and reverse "
                      "mode's passes are the gradients `grad` shows")
    verb = "takes" if chosen.passes == 1 else "take"
    if chosen.visits == other.visits:
        return pick, (f"{_cost_text(chosen, pick)} {verb} as many node visits ({chosen.visits:,}) as "
                      f"{_cost_text(other, _other(pick))}, in fewer passes")
    return pick, (f"{_cost_text(chosen, pick)} {verb} fewer node visits than {_cost_text(other, _other(pick))} "
                  f"({chosen.visits:,} against {other.visits:,})")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise UsageError(f"--mode must be forward, reverse or auto, not `{mode}`", hint="--mode auto picks the cheaper")


def _other(mode: str) -> str:
    return "reverse" if mode == "forward" else "forward"


def _cost_text(cost: Cost, mode: str) -> str:
    kind = "forward" if mode == "forward" else "backward"
    return f"{cost.passes:,} {kind} pass{'es' * (cost.passes != 1)}"


def _part(program: Program, outputs: Sequence[Value], names: Sequence[str]) -> tuple[Active, list[Value]]:
    inputs = [program.inputs[name] for name in names]
    return active_part(program, outputs, inputs, second=False), inputs


def jacobian(program: Program, values: Mapping[str, float], of: Sequence[str] | None = None,
             wrt: Sequence[str] | None = None, mode: str = "auto", *, warnings: list[str] | None = None,
             progress: Progress | None = None) -> JacobianReport:
    """Run `program` at `values` and compute d(of)/d(wrt) (default: the named outputs over every
    input) in `mode`: forward (a pass per input), reverse (a pass per output) or auto (whichever
    visits fewer nodes, counted first). The work is checked against the budget before it starts."""
    _check_mode(mode)
    outputs = chosen_outputs(program, of)
    names = chosen_inputs(program, wrt)
    if not names:
        raise UsageError("the program has no inputs: there is nothing to differentiate by",
                         hint="a Jacobian needs inputs: names the program reads but never assigns")
    program.evaluate(values)
    part, inputs = _part(program, outputs, names)
    in_places = [part.place(node) for node in inputs]
    out_places = [part.place(node) for node in outputs]
    visits = reach(part, [k for k in in_places if k is not None], [k for k in out_places if k is not None])
    costs = {"forward": Cost(len(inputs), visits[0]), "reverse": Cost(len(outputs), visits[1])}
    chosen, why = choose(mode, costs["forward"], costs["reverse"])
    budget.check_work(costs[chosen].visits + len(outputs) * len(inputs),
                      f"the Jacobian of {len(outputs):,} output{'s' * (len(outputs) != 1)} over {len(inputs):,} "
                      f"input{'s' * (len(inputs) != 1)} in {chosen} mode ({_cost_text(costs[chosen], chosen)} over a "
                      f"{len(part.order):,}-node part of the graph) is",
                      way_around="choose fewer inputs with --wrt or fewer outputs with --of")
    run = _forward if chosen == "forward" else _reverse
    matrix, measured = run(part, in_places, out_places, progress)
    _check_finite(program, outputs, matrix)
    return JacobianReport(program, outputs, names, matrix, chosen, why, measured, costs, mode == "auto",
                          warnings=list(warnings or []))


def _forward(part: Active, in_places: list, out_places: list, progress: Progress | None):
    """A tangent pass per input: column j of the matrix."""
    matrix = [[0.0] * len(in_places) for _ in out_places]
    visits = 0
    for j, seed in enumerate(in_places):
        if seed is not None:
            tangent, seen = tangents(part, {seed: 1.0})
            visits += seen
            for i, k in enumerate(out_places):
                if k is not None and tangent[k] is not None:
                    matrix[i][j] = tangent[k] + 0.0
        if progress is not None:
            progress(j + 1, len(in_places))
    return matrix, Cost(len(in_places), visits)


def _reverse(part: Active, in_places: list, out_places: list, progress: Progress | None):
    """An adjoint pass per output: row i of the matrix."""
    matrix = []
    visits = 0
    for i, seed in enumerate(out_places):
        row = [0.0] * len(in_places)
        if seed is not None:
            adjoint, seen = adjoints(part, {seed: 1.0})
            visits += seen
            row = [adjoint[k] + 0.0 if k is not None and adjoint[k] is not None else 0.0 for k in in_places]
        matrix.append(row)
        if progress is not None:
            progress(i + 1, len(out_places))
    return matrix, Cost(len(out_places), visits)


def _check_finite(program: Program, outputs: Sequence[Value], matrix: list[list[float]]) -> None:
    """An entry that is not finite is the engine's located error for that output's gradient (where
    a local derivative is infinite or undefined, or the gradient leaves the floats), never a number."""
    bad = [output for output, row in zip(outputs, matrix) if not all(x - x == 0 for x in row)]
    if bad:
        raise _not_finite(program, bad)


def _not_finite(program: Program, outputs: Sequence[Value]) -> DomainError:
    for output in outputs:
        try:
            program.backward(output)
        except DomainError as error:
            error.hint = (error.hint + "; " if error.hint else "") + "or leave that input out"
            return error
    return DomainError(f"a derivative of {program.label(outputs[0])} is not finite here",
                       hint="move the inputs, or leave that input out with --wrt")


@dataclass
class JacobianReport(Report):
    program: Program
    outputs: list[Value]
    wrt: list[str]
    matrix: list[list[float]]  # matrix[i][j] = d outputs[i] / d wrt[j]
    mode: str  # the mode that ran
    why: str
    measured: Cost  # counted as the passes ran
    costs: dict[str, Cost]  # counted from the graph before any pass ran
    auto: bool = False  # the mode was chosen by --mode auto
    warnings: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [self.program.label(node) for node in self.outputs]

    def pass_notes(self) -> list[str]:
        mode, other = self.mode, _other(self.mode)
        one = "input" if mode == "forward" else "output"
        notes = [f"{mode} mode: {_cost_text(self.measured, mode)} (one per {one}), {self.measured.visits:,} node visits"]
        unrun = self.costs[other]
        notes.append(f"{other} mode would take {_cost_text(unrun, other)}, {unrun.visits:,} node visits (counted on "
                     "the graph, not run)")
        if self.auto:
            notes.append(f"auto chose {mode}: {self.why}")
        return notes

    def sections(self) -> list:
        labels, p = self.labels, self.precision
        at = ", ".join(f"{name} = {number(self.program.inputs[name].data, p)}" for name in self.wrt) \
            if len(self.wrt) <= 6 else f"the values of its {len(self.wrt):,} inputs"
        title = f"Jacobian of {', '.join(labels[:6])}{', ...' if len(labels) > 6 else ''} at {at}"
        if len(self.wrt) <= MATRIX_LIMIT:
            table = Table(["", *self.wrt], title=title, right=set(self.wrt))
            for label, row in zip(labels, self.matrix):
                table.add(label, *(number(x, p) for x in row))
        elif len(labels) <= MATRIX_LIMIT:
            table = self._transposed(title)
        else:
            table = self._largest(title)
        table.notes.extend(self.pass_notes())
        return [table]

    def _transposed(self, title: str) -> Table:
        """More inputs than fit across: a row per input, a column per output."""
        labels, p = self.labels, self.precision
        table = Table(["input", *labels], title=f"{title} (a row per input)", right=set(labels), key="input")
        for j, name in enumerate(self.wrt[:ROWS_SHOWN]):
            table.add(name, *(number(row[j], p) for row in self.matrix))
        if len(self.wrt) > ROWS_SHOWN:
            table.notes.append(f"{len(self.wrt) - ROWS_SHOWN:,} more inputs: the whole matrix is in --json and --csv")
        return table

    def _largest(self, title: str) -> Table:
        import heapq

        entries = heapq.nlargest(2 * MATRIX_LIMIT, ((i, j) for i, row in enumerate(self.matrix)
                                                   for j, x in enumerate(row) if x != 0),
                                 key=lambda ij: abs(self.matrix[ij[0]][ij[1]]))
        table = Table(["output", "input", "d output / d input"], title=f"{title}: its largest entries",
                      right={"d output / d input"})
        for i, j in entries:
            table.add(self.labels[i], self.wrt[j], number(self.matrix[i][j], self.precision))
        table.notes.append("the whole matrix is in --json and --csv")
        return table

    def to_json(self) -> dict:
        program = self.program
        return {
            "schema": SCHEMA,
            "of": [ref_json(program, node) for node in self.outputs],
            "wrt": self.wrt,
            "at": {name: program.inputs[name].data for name in self.wrt},
            "jacobian": self.matrix,
            "mode": self.mode,
            "auto": self.auto,
            "why": self.why,
            "passes": self.measured.passes,
            "visits": self.measured.visits,
            "costs": {mode: {"passes": cost.passes, "visits": cost.visits} for mode, cost in self.costs.items()},
            "warnings": self.warnings,
        }

    def write_csv(self, stream: IO[str]) -> None:
        """The matrix as CSV: a header `output` and the inputs, then a row per output."""
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["output", *self.wrt])
        for label, row in zip(self.labels, self.matrix):
            writer.writerow([label, *(repr(x) for x in row)])


def compute(program: Program, values: Mapping[str, float], *, of: Sequence[str] | None = None,
            wrt: Sequence[str] | None = None, mode: str | None = None, jvp_text: str | None = None,
            vjp_text: str | None = None, warnings: list[str] | None = None,
            progress: Progress | None = None) -> JacobianReport | ProductReport:
    """What `scalargrad jacobian` asks for: the matrix (`mode`, default auto), or with `jvp_text`
    (`x=1, y=0`) one JVP, or with `vjp_text` (`u=1, v=0`) one VJP. Options that do not go
    together are a UsageError that says why."""
    from scalargrad.arguments import vector_option

    product = "--jvp" if jvp_text is not None else "--vjp" if vjp_text is not None else None
    if jvp_text is not None and vjp_text is not None:
        raise UsageError("give --jvp or --vjp, not both", hint="--jvp moves inputs (one forward pass); --vjp weighs "
                                                              "outputs (one backward pass)")
    if product and mode is not None:
        kind = "forward" if product == "--jvp" else "backward"
        raise UsageError(f"--mode does not apply to {product}: it is one {kind} pass",
                         hint=f"leave --mode out, or leave {product} out for the whole matrix")
    if jvp_text is not None:
        if wrt is not None:
            raise UsageError("--wrt does not apply to --jvp: the direction names the inputs it moves",
                             hint='give each input that moves in --jvp: --jvp "x=1, y=0"')
        direction = vector_option(jvp_text, "--jvp", program.arrays, program.inputs, "input")
        return jvp(program, values, direction, of, warnings=warnings)
    if vjp_text is not None:
        if of is not None:
            raise UsageError("--of does not apply to --vjp: the weights name the outputs",
                             hint='give each output a weight in --vjp: --vjp "u=1, v=0"')
        weights = vector_option(vjp_text, "--vjp", program.arrays, program.names, "named node")
        return vjp(program, values, weights, wrt, warnings=warnings)
    return jacobian(program, values, of, wrt, mode or "auto", warnings=warnings, progress=progress)


# -- one product: a JVP (one forward pass) or a VJP (one backward pass) ---------------------------
def jvp(program: Program, values: Mapping[str, float], direction: Mapping[str, float],
        of: Sequence[str] | None = None, *, warnings: list[str] | None = None) -> ProductReport:
    """The directional derivative of each output (`of`, default the named outputs) along
    `direction` ({input: component}; the other inputs do not move): one forward pass, J v."""
    outputs = chosen_outputs(program, of)
    program.evaluate(values)
    names = list(direction)
    part, inputs = _part(program, outputs, names)
    seeds = {part.place(node): float(direction[name]) for name, node in zip(names, inputs) if part.place(node) is not None}
    tangent, visits = tangents(part, seeds)
    result = [_entry(tangent, part.place(node)) for node in outputs]
    _check_finite(program, outputs, [[x] for x in result])
    still = len(program.inputs) - len(names)
    return ProductReport(program, "jvp", dict(direction), [program.label(node) for node in outputs], result,
                         Cost(1, visits), still, warnings=list(warnings or []))


def vjp(program: Program, values: Mapping[str, float], weights: Mapping[str, float],
        wrt: Sequence[str] | None = None, *, warnings: list[str] | None = None) -> ProductReport:
    """The gradient of sum(weight * output) over the inputs `wrt` (default: every input), for
    `weights` ({output: weight}): one backward pass, v^T J."""
    outputs = [program.node(name) for name in weights]
    program.evaluate(values)
    names = chosen_inputs(program, wrt)
    part, inputs = _part(program, outputs, names)
    seeds: dict[int, float] = {}
    for name, node in zip(weights, outputs):
        k = part.place(node)
        if k is not None:
            seeds[k] = seeds.get(k, 0.0) + float(weights[name])
    adjoint, visits = adjoints(part, seeds)
    result = [_entry(adjoint, part.place(node)) for node in inputs]
    if any(x - x != 0 for x in result):
        raise _not_finite(program, outputs)
    return ProductReport(program, "vjp", dict(weights), names, result, Cost(1, visits), 0, warnings=list(warnings or []))


def _entry(carried: list, k: int | None) -> float:
    return 0.0 if k is None or carried[k] is None else carried[k] + 0.0


@dataclass
class ProductReport(Report):
    """One JVP (`kind` "jvp": each output's derivative along a direction of the inputs) or VJP
    ("vjp": each input's derivative of a weighted sum of outputs)."""

    program: Program
    kind: str
    seeds: dict[str, float]  # the direction (jvp) or the weights (vjp), by element
    labels: list[str]  # the outputs (jvp) or the inputs (vjp)
    result: list[float]
    measured: Cost
    unmoved: int = 0  # inputs the direction leaves out (they do not move)
    warnings: list[str] = field(default_factory=list)

    def sections(self) -> list:
        p = self.precision
        seeds = ", ".join(f"{name} = {number(x, p)}" for name, x in list(self.seeds.items())[:8])
        seeds += ", ..." if len(self.seeds) > 8 else ""
        if self.kind == "jvp":
            table = Table(["output", "value", "along the direction"], right={"value", "along the direction"},
                          title=f"JVP: each output's derivative along {seeds}", key="output")
            for label, x in zip(self.labels, self.result):
                table.add(label, number(self.program.node(label).data, p), number(x, p))
            if self.unmoved:
                table.notes.append("the other input does not move (0 in the direction)" if self.unmoved == 1 else
                                   f"the other {self.unmoved:,} inputs do not move (0 in the direction)")
            table.notes.append(f"one forward pass, {self.measured.visits:,} node visits")
        else:
            terms = [(x, name) for name, x in list(self.seeds.items())[:8]]
            total = "".join(f"{' - ' if x < 0 and k else ' + ' if k else '-' if x < 0 else ''}{number(abs(x), p)}*{name}"
                            for k, (x, name) in enumerate(terms)) + (" + ..." if len(self.seeds) > 8 else "")
            table = Table(["input", "value", "d / d input"], key="input", right={"value", "d / d input"},
                          title=f"VJP: each input's derivative of {total}")
            for label, x in zip(self.labels, self.result):
                table.add(label, number(self.program.inputs[label].data, p), number(x, p))
            table.notes.append(f"one backward pass, {self.measured.visits:,} node visits")
        return [table]

    def write_csv(self, stream: IO[str]) -> None:
        """The product as CSV: a row per output (jvp) or input (vjp)."""
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["output" if self.kind == "jvp" else "input", self.kind])
        for label, x in zip(self.labels, self.result):
            writer.writerow([label, repr(x)])

    def to_json(self) -> dict:
        from scalargrad.data import nest

        seeds = "direction" if self.kind == "jvp" else "weights"
        return {
            "schema": f"scalargrad.{self.kind}/1",
            seeds: nest(self.seeds),
            self.kind: nest(dict(zip(self.labels, self.result))),
            "passes": 1,
            "visits": self.measured.visits,
            "warnings": self.warnings,
        }
