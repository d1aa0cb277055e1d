"""The chain rule written out: how each node's gradient comes about, and the backward pass
step by step.

For every node, dL/dnode is the sum, over the nodes that use it (its consumers), of
dL/dconsumer * dconsumer/dnode. The local derivative dconsumer/dnode, its formula and its
phrase come from the op table (`scalargrad.ops`); this module only arranges them.

    >>> from scalargrad import parse
    >>> from scalargrad.explain import explain
    >>> program = parse("e = a*b; d = e + c; L = d * f")
    >>> program.evaluate({"a": 2, "b": -3, "c": 10, "f": -2})
    >>> a = explain(program, nodes=[program.names["a"]])[0]
    >>> [(t.consumer_label, t.formula_named, t.local, t.consumer_grad, t.product) for t in a.terms]
    [('e', 'b', -3.0, -2.0, 6.0)]

The terms are listed in the order the backward pass adds them, and their sum is computed
in that order too, so it equals the engine's gradient to the last bit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

from scalargrad.engine import Value
from scalargrad.ops import ATOM as _ATOM
from scalargrad.ops import CONST, OPERAND_NAMES, OPS, substitute
from scalargrad.program import Program
from scalargrad.render import Report, fixed



@dataclass(frozen=True)
class Term:
    """One consumer's share of a node's gradient: dL/dconsumer * dconsumer/dnode."""

    consumer_id: int
    consumer_label: str  # bound name, else source text
    consumer_text: str  # source text of the consumer's expression
    symbol: str  # the consumer's op, as the tables show it
    operand: str  # which operand of the consumer the node is: "x" or "y"
    formula: str  # dconsumer/doperand from the op table, in x and y
    formula_named: str  # the same formula with the operands' labels in place of x and y
    local: float  # its value
    consumer_grad: float  # dL/dconsumer
    product: float  # consumer_grad * local (0 when consumer_grad is 0, as in the engine)
    phrase: str  # what the op does to the gradient, from the op table
    kink: bool  # the op is not differentiable here; `local` is the table's convention


@dataclass(frozen=True)
class NodeExplanation:
    """How the gradient of `of` with respect to one node comes about."""

    id: int
    label: str
    name: str | None
    kind: str  # "input", "const" or "op"
    data: float
    grad: float
    status: str  # "seed" (the node differentiated), "chain", "const", "unreached"
    terms: tuple[Term, ...]
    sum: float  # the terms added in backward order; equals grad for a "chain" node


@dataclass(frozen=True)
class Step:
    """One line of the backward pass.

    kind "seed": `of` gets gradient 1. kind "visit": the pass reaches `node`; its gradient
    is complete because every consumer came earlier. kind "pass": `node` adds
    `term.product` to the gradient of `target`, which goes from `before` to `after`.
    """

    kind: str
    node_id: int
    node_label: str
    node_grad: float
    target_id: int | None = None
    target_label: str | None = None
    term: Term | None = None
    before: float = 0.0
    after: float = 0.0
    leaf: bool = False  # a "visit" of a node without operands
    number: int = 0  # position among the seed and the accumulations (visits have none)


def _terms_in_backward_order(program: Program, of: Value) -> Iterator[tuple[Value, Value | None, int, float]]:
    """(consumer, operand, position, local) in the order the backward pass adds them;
    (node, None, -1, 0.0) when the pass reaches a node. Constants are not variables and
    get no terms, as in the engine."""
    reached = program.upstream(of)
    for node in reversed(program.nodes[: program.node_id(of) + 1]):
        if id(node) not in reached or node._op == CONST:
            continue
        yield node, None, -1, 0.0
        prev = node._prev
        if not prev:
            continue
        local = OPS[node._op].local(node.data, *(p.data for p in prev))
        for position, (operand, d) in enumerate(zip(prev, local)):
            if operand._op != CONST:
                yield node, operand, position, d


def _term(program: Program, consumer: Value, position: int, local: float) -> Term:
    op = OPS[consumer._op]
    prev = consumer._prev
    g = consumer.grad
    formula = op.formulas[position]
    labels = {OPERAND_NAMES[i]: program.label(p) for i, p in enumerate(prev)}
    return Term(
        consumer_id=program.node_id(consumer),
        consumer_label=program.label(consumer),
        consumer_text=program.text(consumer),
        symbol=op.symbol,
        operand=OPERAND_NAMES[position],
        formula=formula,
        formula_named=substitute(formula, labels),
        local=local,
        consumer_grad=g,
        product=g * local if g != 0.0 else 0.0,
        phrase=op.phrase,
        kink=bool(op.kink and op.kink(*(p.data for p in prev))),
    )


def explain(program: Program, of: Value | None = None, nodes: Iterable[Value] | None = None) -> list[NodeExplanation]:
    """How d of / d node comes about for each of `nodes` (default: every node), in program order.

    The program must have been evaluated (`program.evaluate(values)`); the gradients of
    `of` (default: the output) are computed here.
    """
    of = of or program.output
    program.backward(of)
    chosen = list(program.nodes if nodes is None else nodes)
    chosen = [node for node in chosen if program.computed(node)]  # not: it reads an input that has no value
    wanted = {id(node) for node in chosen}
    terms: dict[int, list[Term]] = {id(node): [] for node in chosen}
    for consumer, operand, position, local in _terms_in_backward_order(program, of):
        if operand is not None and id(operand) in wanted:
            terms[id(operand)].append(_term(program, consumer, position, local))
    reached = program.upstream(of)
    result = []
    for node in sorted(chosen, key=program.node_id):
        kind = program.kind(node)
        if kind == "const":
            status = "const"
        elif node is of:
            status = "seed"
        elif id(node) in reached:
            status = "chain"
        else:
            status = "unreached"
        total = 0.0
        for term in terms[id(node)]:
            total += term.product
        if status == "seed":
            total = 1.0
        result.append(NodeExplanation(
            id=program.node_id(node),
            label=program.label(node),
            name=node.label if program.is_named(node) else None,
            kind=kind,
            data=node.data,
            grad=0.0 if kind == "const" else node.grad,
            status=status,
            terms=tuple(terms[id(node)]),
            sum=total,
        ))
    return result


def count_steps(program: Program, of: Value | None = None) -> int:
    """How many steps `backward_steps` has, without labelling any node."""
    of = of or program.output
    return 1 + sum(1 for consumer, operand, _, _ in _terms_in_backward_order(program, of)
                   if operand is not None or consumer is not of)


def backward_steps(program: Program, of: Value | None = None, limit: int | None = None) -> list[Step]:
    """The backward pass of `of` (default: the output) as it runs: reverse topological order,
    each node visited once its gradient is complete, then each accumulation into its operands.
    At most `limit` steps (labels of long programs cost time).

    The program must have been evaluated; the gradients are computed here.
    """
    of = of or program.output
    program.backward(of)
    running: dict[int, float] = {id(of): 1.0}
    steps = [Step("seed", program.node_id(of), program.label(of), 1.0, before=0.0, after=1.0, number=1)]
    number = 1
    for consumer, operand, position, local in _terms_in_backward_order(program, of):
        if limit is not None and len(steps) >= limit:
            break
        if operand is None:
            if consumer is not of:  # the seed already says that its gradient is 1
                steps.append(Step("visit", program.node_id(consumer), program.label(consumer), consumer.grad,
                                  leaf=not consumer._prev))
            continue
        term = _term(program, consumer, position, local)
        before = running.get(id(operand), 0.0)
        after = before + term.product
        running[id(operand)] = after
        number += 1
        steps.append(Step("pass", term.consumer_id, term.consumer_label, consumer.grad,
                          program.node_id(operand), program.label(operand), term, before, after, number=number))
    return steps


# -- text -----------------------------------------------------------------------------------
def d(label: str) -> str:
    """`d` followed by a label, parenthesised when it is not a single name: da, d(a*b)."""
    return f"d{label}" if _ATOM.fullmatch(label) else f"d({label})"


def factor(term: Term, decimals: int) -> str:
    """The local derivative as the explanation shows it: `b = -3.0000`, or `1.0000`."""
    value = fixed(term.local, decimals)
    return value if is_number(term.formula_named) else f"{term.formula_named} = {value}"


def is_number(text: str) -> bool:
    """True when a named formula is just a number (`1`), shown without `= value` after it."""
    try:
        float(text)
    except ValueError:
        return False
    return True


Parts = tuple[str, list[tuple[str, str]]]  # a line's head and its rows (lead, text): see render.Hanging


def one_line(parts: Parts) -> str:
    """The parts of a line as one line, as render.Hanging joins them: head, then a space,
    lead and text per row."""
    head, rows = parts
    return " ".join([head, *(lead + text for lead, text in rows)])


def equation(of_label: str, item: NodeExplanation, decimals: int) -> str:
    """`dL/da = dL/de * de/da = (-2.0000)(b = -3.0000) = 6.0000`."""
    return one_line(equation_parts(of_label, item, decimals))


def equation_parts(of_label: str, item: NodeExplanation, decimals: int) -> Parts:
    """The equation as `dL/da` and its rows (`= `, `dL/de * de/da`), (`= `, `(-2.0000)(b = -3.0000)`),
    (`= `, `6.0000`), a row per term of a sum: in a narrow terminal each row goes on a line of its own."""
    top = d(of_label)
    left = f"{top}/{d(item.label)}"
    if item.status == "seed":
        return left, [("= ", "1 (the backward pass starts here)")]
    if item.status == "const":
        return "a number in the program, not a variable:", [("", "it gets no gradient")]
    if item.status == "unreached":
        return f"{of_label} does not depend on {item.label}:", [("", f"{left} = 0")]
    symbolic = [f"{top}/{d(t.consumer_label)} * {local_name(t, of_label)}/{d(item.label)}" for t in item.terms]
    numeric = [f"({fixed(t.consumer_grad, decimals)})({factor(t, decimals)})" for t in item.terms]
    return left, [*sum_rows(symbolic), *sum_rows(numeric), ("= ", fixed(item.sum, decimals))]


def sum_rows(terms: Sequence[str]) -> list[tuple[str, str]]:
    """`= t1 + t2 + ...` as rows: a term per row when the line is broken."""
    return [("+ " if i else "= ", term) for i, term in enumerate(terms)]


def local_name(term: Term, of_label: str) -> str:
    """The top of a local derivative: d(consumer). Where the consumer is the node differentiated
    itself, its expression (`d(d * f)`), so that `dL/dL * dL/dd` does not read as circular."""
    if term.consumer_label == of_label and term.consumer_text != of_label:
        return d(term.consumer_text)
    return d(term.consumer_label)


def term_note(item: NodeExplanation, term: Term, decimals: int) -> str:
    """`via d = e + c: dd/dc = 1; + passes the gradient through unchanged`."""
    return one_line(term_note_parts(item, term, decimals))


def term_note_parts(item: NodeExplanation, term: Term, decimals: int) -> Parts:
    """The `via` line as `via` and its rows: where the term comes from with the local
    derivative, what the op does to the gradient, and a kink's note."""
    where = term.consumer_text if term.consumer_label == term.consumer_text \
        else f"{term.consumer_label} = {term.consumer_text}"
    twice = sum(1 for t in item.terms if t.consumer_id == term.consumer_id) > 1
    role = f" ({item.label} as {term.operand})" if twice else ""
    local = f"{d(term.consumer_label)}/{d(item.label)} = {local_formula(term)}"
    rows = [("", f"{where}{role}: {local};"), ("", term.phrase)]
    if term.kink:
        value = fixed(term.local, decimals)
        rows.append(("", f"(not differentiable at this point: the table's value {value} is used)"))
    return "via", rows


def local_formula(term: Term) -> str:
    """The table's formula, then the same with the operands' names: `y = b`. When the program
    itself has names x or y, the table's x and y would read as those: the named form only."""
    if term.formula_named == term.formula:
        return term.formula
    if re.search(r"\b[xy]\b", f"{term.formula_named} {term.consumer_text}"):
        return term.formula_named
    return f"{term.formula} = {term.formula_named}"


def heading_parts(program: Program, of: Value, decimals: int) -> Parts:
    """What the explanation is of, then the rule it applies (a row, on a line of its own when narrow)."""
    top = d(program.label(of))
    return (f"how each gradient of {program.label(of)} = {fixed(of.data, decimals)} comes about (chain rule):",
            [("", f"{top}/dnode = sum over the nodes that use it of {top}/duser * duser/dnode")])


def styled(parts: Parts, style: str = "") -> tuple[list, list]:
    """A line's parts as render.Lines.add_hanging takes them, all in one style."""
    head, rows = parts
    return [(head, style)], [(lead, [(text, style)]) for lead, text in rows]


def node_rows(item: NodeExplanation, decimals: int) -> list:
    """The rows of a node's first line, after its `[id]`: `a = 2.0000`, then `grad 6.0000   (input)`."""
    rows = [("", [(item.label, "bold cyan"), f" = {fixed(item.data, decimals)}"])]
    grad = [] if item.kind == "const" else [(f"grad {fixed(item.grad, decimals)}", "bold")]
    kind = {"input": "(input)", "const": "(number)"}.get(item.kind)
    if kind:
        grad += [("   " if grad else "", ""), (kind, "dim")]
    return rows + [("  ", grad)] if grad else rows


def step_rows(steps: Sequence[Step], decimals: int) -> list[tuple[str, ...]]:
    """(step, node, grad, accumulation, local derivative) for each step, as text."""
    rows = []
    for step in steps:
        grad = fixed(step.node_grad, decimals)
        if step.kind == "seed":
            rows.append((str(step.number), step.node_label, grad,
                         f"{grad_of(step.node_label)} = 1 (seed: {d(step.node_label)}/{d(step.node_label)})", ""))
        elif step.kind == "visit":
            then = "an input: nothing to pass on" if step.leaf else "passes it on"
            rows.append(("", step.node_label, grad, f"complete; {then}", ""))
        elif step.term is not None:
            term = step.term
            accumulation = (f"{grad_of(step.target_label or '')} += {fixed(term.consumer_grad, decimals)} * "
                            f"{fixed(term.local, decimals)} -> {fixed(step.after, decimals)}")
            local = f"{d(step.node_label)}/{d(step.target_label or '')} = {local_formula(term)}"
            rows.append((str(step.number), step.node_label, grad, accumulation, local))
    return rows


def grad_of(label: str) -> str:
    """`a.grad`, or `(a*b).grad` for a label that is not a single name."""
    return f"{label}.grad" if _ATOM.fullmatch(label) else f"({label}).grad"


# -- JSON -----------------------------------------------------------------------------------
def term_json(term: Term) -> dict:
    return {
        "consumer": {"id": term.consumer_id, "label": term.consumer_label, "text": term.consumer_text,
                     "op": term.symbol},
        "operand": term.operand,
        "formula": term.formula,
        "formula_named": term.formula_named,
        "local": term.local,
        "consumer_grad": term.consumer_grad,
        "product": term.product,
        "phrase": term.phrase,
        "kink": term.kink,
    }


def explanation_json(item: NodeExplanation) -> dict:
    return {
        "id": item.id,
        "label": item.label,
        "name": item.name,
        "kind": item.kind,
        "data": item.data,
        "grad": None if item.kind == "const" else item.grad,
        "status": item.status,
        "terms": [term_json(t) for t in item.terms],
        "sum": None if item.kind == "const" else item.sum,
    }


def step_json(step: Step) -> dict:
    out = {"kind": step.kind, "number": step.number or None, "node": {"id": step.node_id, "label": step.node_label, "grad": step.node_grad}}
    if step.term is not None:
        out["target"] = {"id": step.target_id, "label": step.target_label}
        out["term"] = term_json(step.term)
        out["before"] = step.before
        out["after"] = step.after
    return out


def report(program: Program, of: Value | None = None, nodes: Sequence[Value] | None = None, *, trace: bool = False,
           show_all: bool = False, complete: bool = False, decimals: int = 4, warnings: Sequence[str] = ()) -> Report:
    """What `scalargrad explain` shows, for an evaluated program: the chain rule per node
    (default: every node, or the named ones of a big program unless `show_all`), or with
    `trace` the backward pass step by step. `complete` (for JSON) leaves nothing out."""
    result = _report(program, of or program.output, nodes, trace, show_all, complete, decimals)
    result.warnings = list(warnings)
    return result


def chosen_nodes(program: Program, of: Value, texts: Iterable[str]) -> list[Value] | None:
    """The nodes named by `texts` (names or ids), each once, in order; None for none. A node
    that was not computed (it reads an input that has no value) is an error that says so."""
    chosen: list[Value] = []
    for text in texts:
        node = program.node(text)
        if not program.computed(node):  # it reads an input that has no value, which --of NODE does not read
            from scalargrad.errors import UsageError
            from scalargrad.gradients import no_value

            raise UsageError(f"cannot explain `{program.label(node)}`: it reads {no_value(program, of)}",
                             hint="give the inputs it reads a value, or explain the nodes that the --of node reads")
        if all(node is not other for other in chosen):
            chosen.append(node)
    return chosen or None


def _report(program: Program, of: Value, nodes: Sequence[Value] | None, trace: bool, show_all: bool,
            complete: bool, decimals: int) -> Report:
    from scalargrad.render import ROW_LIMIT, select_rows

    if trace:
        limit = None if show_all or complete or nodes is not None else ROW_LIMIT
        steps = backward_steps(program, of, limit)
        if nodes is not None:
            ids = {program.node_id(node) for node in nodes}
            steps = [s for s in steps if (s.target_id if s.kind == "pass" else s.node_id) in ids]
        total = count_steps(program, of) if limit is not None else None
        return TraceReport(program, of, steps, decimals, total)
    notes: list[str | Parts] = []
    summarised = nodes is None and not complete
    if summarised:
        nodes, note = select_rows(program, show_all)
        notes = [note] if note else []
    items = explain(program, of, nodes)  # the backward pass: the arrays' gradients below come from it
    unknown = [node for node in (program.nodes if nodes is None else nodes) if not program.computed(node)]
    if unknown:
        from scalargrad.gradients import not_computed

        notes.append(not_computed(program, unknown, of))
    if summarised and program.arrays and not show_all:
        from scalargrad.render import grads_of, largest

        grads = grads_of(program)
        for name, (shape, labels) in program.arrays.items():
            top = largest(labels, grads) or ["none (data)"]
            rows = [("", f"{element},") for element in top[:-1]] + [("", top[-1])]
            notes.append((f"{name} {shape}: largest |grad|", rows))
    return ExplainReport(program, of, items, decimals, notes)


# -- what the command prints ----------------------------------------------------------------
@dataclass
class ExplainReport(Report):
    """`scalargrad explain`: per node its equation and one note per term."""

    program: Program
    of: Value
    items: Sequence[NodeExplanation]
    decimals: int = 4
    notes: Sequence[str | Parts] = ()  # a note, or an array's line under it (its name, shape and largest |grad|)
    warnings: list[str] = field(default_factory=list)

    def sections(self) -> list:
        from scalargrad.render import Lines

        program, decimals = self.program, self.decimals
        lines = Lines()
        of_label = program.label(self.of)
        lines.add_hanging(*styled(heading_parts(program, self.of, decimals), "bold"))
        for item in self.items:
            lines.add("")
            lines.add_hanging([(f"[{item.id}]", "dim")], node_rows(item, decimals))
            lines.add_hanging(*styled(equation_parts(of_label, item, decimals)), indent=4)
            for term in item.terms:
                lines.add_hanging(*styled(term_note_parts(item, term, decimals), "dim"), indent=6)
        for note in self.notes:
            if isinstance(note, str):
                lines.add("")
                lines.add((note, "dim"))
            else:  # an array's line, under the note it belongs to
                lines.add_hanging(*styled(note, "dim"), indent=2)
        return [lines]

    def to_json(self) -> dict:
        return _document("scalargrad.explain/1", self.program, self.of, self.warnings,
                         rule="d(of)/d(node) = sum, over the consumers of node, of d(of)/d(consumer) * "
                              "d(consumer)/d(node)",
                         nodes=[explanation_json(item) for item in self.items])


@dataclass
class TraceReport(Report):
    """`scalargrad explain --trace`: the backward pass, one row per step; `total` is the
    number of steps of the whole pass when `steps` is only its beginning."""

    program: Program
    of: Value
    steps: Sequence[Step]
    decimals: int = 4
    total: int | None = None
    warnings: list[str] = field(default_factory=list)

    def sections(self) -> list:
        from scalargrad.render import Table

        title = (f"backward pass of {self.program.label(self.of)}, in the order it runs (reverse topological): "
                 "a node passes its gradient on only once every node that uses it has passed theirs, so it is "
                 "complete")
        table = Table(["step", "node", "grad", "accumulation", "local derivative"], title=title,
                      right={"step", "grad"}, hanging=True, text_width=16)  # listed, not in 8-column slivers
        for row, step in zip(step_rows(self.steps, self.decimals), self.steps):
            table.add(*row, style="bold" if step.kind == "seed" else ("dim" if step.kind == "visit" else ""))
        if self.total is not None and len(self.steps) < self.total:
            table.notes.append(f"showing the first {len(self.steps):,} of {self.total:,} steps; --all shows every "
                               "step, --json gives them as data")
        return [table]

    def to_json(self) -> dict:
        return _document("scalargrad.trace/1", self.program, self.of, self.warnings,
                         steps=[step_json(step) for step in self.steps])


def _document(schema: str, program: Program, of: Value, warnings: Sequence[str], **fields) -> dict:
    from scalargrad.render import ref_json

    return {"schema": schema, "output": ref_json(program, program.output), "of": ref_json(program, of),
            **fields, "warnings": list(warnings)}
