"""Backprop by hand, graded (`scalargrad quiz`): exercises, answers, growing hints, a summary.

A `Quiz` asks for the gradient of every node the output depends on (numbers in the program
have none), in the order the backward pass finds them or in any order. A right answer is one
within the tolerance; each wrong one gets the next hint: the rule to use, then the chain-rule
product with the factors known so far filled in, then the answer. The hints are explain's
words (`scalargrad.explain`); this module keeps the score. The interactive run and the graded
file of answers (`--answers`) both go through `Quiz.attempt`, so they grade alike.

`exercise(seed, level)` writes a program to practise on, its inputs' values in the program:
random.Random(seed) alone decides it, so a seed gives the same exercise, byte for byte, on
every machine and every Python.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from scalargrad.engine import Value
from scalargrad.errors import InputError, UsageError
from scalargrad.ops import CONST, OPS
from scalargrad.program import Program
from scalargrad.render import Report, fixed, number, ref_json

SCHEMA = "scalargrad.quiz/1"
ORDERS = ("backward", "free")
LEVELS = {1: "+ and *", 2: "functions", 3: "shared nodes and tanh neurons"}
DEFAULT_TOLERANCE = 1e-3  # |answer - gradient| <= tolerance * max(1, |gradient|)
HINTS = ("rule", "product", "answer")  # what each wrong answer brings, in turn; the third gives the answer away
GRADES = {"first": "right first time", "hinted": "right with hints", "given": "answer given",
          "open": "not right yet"}
DECIMALS = 4  # as explain and the lecture print numbers


# -- exercises ---------------------------------------------------------------------------------
INPUT_NAMES = "abcfkmpqrsuvw"
STEP_NAMES = "edghjt"


def exercise(seed: int, level: int) -> str:
    """A program to practise on at `level` (1: + and *; 2: functions; 3: shared nodes and tanh
    neurons), its inputs' values given in it, made by random.Random(seed) alone. A draw whose
    numbers leave a domain or grow past what a person works with by hand is drawn again."""
    from scalargrad.errors import ScalarGradError
    from scalargrad.language import parse

    check_level(level)
    rng = random.Random(seed)
    while True:
        text = _neuron(rng) if level == 3 else _chain(rng, level)
        try:
            program = parse(text)
            program.run({})
        except ScalarGradError:
            continue
        if all(abs(node.grad) < 1e3 and abs(node.data) < 1e3 for node in program.nodes):
            return text


def _chain(rng: random.Random, level: int) -> str:
    """The lecture's shape: two inputs combined, then each step the result and a new input; at
    level 2 one step goes through a function."""
    steps = rng.randint(2, 3)
    names = rng.sample(INPUT_NAMES, steps + 1)
    lines = [f"{name} = {_small(rng, level)}" for name in names]
    current = f"{names[0]} {rng.choice('*+')} {names[1]}"
    function_at = rng.randrange(steps) if level == 2 else -1
    for i in range(steps):
        name = "L" if i == steps - 1 else STEP_NAMES[i]
        if i == function_at:
            current = rng.choice(["tanh({})", "exp({})", "({})**2", "1 / ({})"]).format(current)
        lines.append(f"{name} = {current}")
        if i < steps - 1:
            new = names[i + 2]
            current = f"{name} {rng.choice('*+-')} {new}" if rng.random() < 0.8 else f"{new} * {name}"
    return "\n".join(lines) + "\n"


def _small(rng: random.Random, level: int) -> str:
    """A value a person can work with: a small whole number (level 1), else one decimal, never 0."""
    if level == 1:
        return str(rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5]))
    return str(rng.choice([k for k in range(-15, 16) if k]) / 10)


def _neuron(rng: random.Random) -> str:
    """A tanh neuron (the lecture's), then a loss that reads a node twice."""
    values = {"x1": rng.choice([-2, -1, 1, 2]), "x2": rng.choice([-1, 0, 1]),
              "w1": _small(rng, 2), "w2": _small(rng, 2), "b": _small(rng, 2)}
    lines = [f"{name} = {value}" for name, value in values.items()]
    lines += ["n = x1*w1 + x2*w2 + b", "o = tanh(n)"]
    lines.append("L = " + rng.choice(["o * o", "o * w1 + o", "(o + x1) * o", "o * w1", "n * o", "o * (o - 1)"]))
    return "\n".join(lines) + "\n"


def check_level(level: int) -> int:
    if level not in LEVELS:
        raise UsageError(f"--level must be 1, 2 or 3, not {level}",
                         hint="1: + and *; 2: functions; 3: shared nodes and tanh neurons")
    return level


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise UsageError(f"--order takes backward or free, not `{order}`",
                         hint="backward asks in the order the backward pass finds each gradient; free lets you choose")
    return order


def check_tolerance(tolerance: float) -> float:
    if not (0 < tolerance < 1):
        raise UsageError(f"--tolerance must be above 0 and below 1, not {tolerance:g}",
                         hint=f"an answer is right within tolerance * max(1, |gradient|); the default is {DEFAULT_TOLERANCE:g}")
    return tolerance


# -- the quiz ----------------------------------------------------------------------------------
@dataclass
class Question:
    node: Value
    id: int
    label: str
    grad: float
    attempts: list[float | None] = field(default_factory=list)  # None: a hint asked for (`?`)
    hints: list[str] = field(default_factory=list)  # shown, in turn
    grade: str = "open"  # first, hinted, given, open

    @property
    def done(self) -> bool:
        return self.grade != "open"

    @property
    def grade_text(self) -> str:
        """The grade in words; an open question says whether it was tried, and how many hints it had."""
        if self.grade == "open" and not self.attempts:
            return "not answered"
        if self.grade == "open" and self.hints:
            return f"not right yet ({len(self.hints)} hint{'s' * (len(self.hints) != 1)} shown)"
        return GRADES[self.grade]


@dataclass(frozen=True)
class Feedback:
    """What an attempt brought: right or not, and the hint (its kind and text) if not."""

    right: bool
    question: Question
    kind: str = ""  # rule, product, answer
    hint: str = ""


class Quiz:
    """The gradients of `of` in `program` (evaluated) to find by hand, and the score so far."""

    def __init__(self, program: Program, of: Value | None = None, order: str = "backward",
                 tolerance: float = DEFAULT_TOLERANCE):
        from scalargrad.explain import explain

        self.program, self.of = program, of or program.output
        self.order, self.tolerance = check_order(order), check_tolerance(tolerance)
        self.items = {item.id: item for item in explain(program, self.of)}  # runs the backward pass
        upstream = program.upstream(self.of)
        nodes = [node for node in reversed(program.nodes[: program.node_id(self.of) + 1])
                 if id(node) in upstream and node._op != CONST]
        self.questions = [Question(node, program.node_id(node), program.label(node), node.grad) for node in nodes]
        self.by_id = {q.id: q for q in self.questions}

    def question(self, key: str) -> Question:
        """The question about the node a person names: a name, an id (`3`, `[3]`), or the text of an
        unnamed node as the table shows it (`a*b + c`)."""
        same = [q for q in self.questions if q.label == " ".join(key.split()) and not self.program.is_named(q.node)]
        if len(same) == 1 and key.strip() not in self.program.names:
            return same[0]
        node = self.program.node(key)
        found = self.by_id.get(self.program.node_id(node))
        if found is None:
            label = self.program.label(node)
            why = ("a number in the program, not a variable: it gets no gradient" if node._op == CONST
                   else f"{self.program.label(self.of)} does not depend on it")
            raise UsageError(f"`{label}` has no gradient to find: {why}",
                             hint=f"the nodes to answer: {', '.join(q.label for q in self.questions[:12])}")
        return found

    def next_open(self) -> Question | None:
        return next((q for q in self.questions if not q.done), None)

    def right(self, question: Question, value: float) -> bool:
        return abs(value - question.grad) <= self.tolerance * max(1.0, abs(question.grad))

    def attempt(self, question: Question, value: float) -> Feedback:
        """Grade one answer: right, or the next hint (the third gives the answer and closes the question)."""
        if question.done:
            raise UsageError(f"`{question.label}` is answered already", hint="answer each node once")
        question.attempts.append(value)
        if self.right(question, value):
            question.grade = "first" if not question.hints else "hinted"
            return Feedback(True, question)
        return self._next_hint(question)

    def ask_hint(self, question: Question) -> Feedback:
        """The next hint without an answer (`?`, null in a file): it counts as a wrong answer would."""
        if question.done:
            raise UsageError(f"`{question.label}` is answered already", hint="answer each node once")
        question.attempts.append(None)
        return self._next_hint(question)

    def _next_hint(self, question: Question) -> Feedback:
        kind = HINTS[len(question.hints)]
        question.hints.append(self.hint(question, kind))
        if kind == "answer":
            question.grade = "given"
        return Feedback(False, question, kind, question.hints[-1])

    def known(self, node_id: int) -> bool:
        """Whether the learner has the gradient of node `node_id` (answered, or given)."""
        question = self.by_id.get(node_id)
        return question is not None and question.done

    def summary(self) -> dict[str, int]:
        counts = {grade: 0 for grade in GRADES}
        for q in self.questions:
            counts[q.grade] += 1
        return counts

    def hint(self, question: Question, kind: str) -> str:
        return hint_text(self, question, kind)


# -- hints, in explain's words --------------------------------------------------------------------
def hint_text(quiz: Quiz, question: Question, kind: str) -> str:
    """The rule to use; the chain-rule product with the factors known so far; the answer."""
    from scalargrad.explain import d, equation

    item = quiz.items[question.id]
    of_label = quiz.program.label(quiz.of)
    top = f"{d(of_label)}/{d(item.label)}"
    if item.status == "seed":
        if kind == "answer":
            return f"{top} = 1: the backward pass starts here"
        if kind == "product":
            return f"{top}: nudging {item.label} by h changes {item.label} by h, so the ratio is a number you know"
        return f"{item.label} is the node differentiated: the backward pass starts with {top}"
    if kind == "rule":
        uses = len(item.terms)
        lead = (f"{item.label} is used {_times(uses)}: {top} = "
                + (f"the sum of {uses} shares, one per use, each " if uses > 1 else "")
                + f"{d(of_label)}/duser * duser/{d(item.label)}")
        return "; ".join([lead, *(rule_of(item, t, of_label) for t in item.terms)])
    if kind == "answer":
        return equation(of_label, item, DECIMALS)
    return product_text(quiz, item, of_label)


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def rule_of(item, term, of_label: str) -> str:
    """`via e = a*b: de/da = y = b, as * swaps in the other factor`."""
    from scalargrad.explain import d, local_formula, local_name

    where = term.consumer_text if term.consumer_label == term.consumer_text \
        else f"{term.consumer_label} = {term.consumer_text}"
    twice = sum(1 for t in item.terms if t.consumer_id == term.consumer_id) > 1
    role = f" ({item.label} as {term.operand})" if twice else ""
    return (f"via {where}{role}: {local_name(term, of_label)}/{d(item.label)} = {local_formula(term)} "
            f"({term.phrase})")


def product_text(quiz: Quiz, item, of_label: str) -> str:
    """`dL/da = dL/de * de/da = (-2.0000)(b = -3.0000)`: the gradients of the users the learner
    has found filled in, the others left to find (`dL/de = ?, not found yet`)."""
    from scalargrad.explain import d, factor, local_name

    top = d(of_label)
    symbolic = " + ".join(f"{top}/{d(t.consumer_label)} * {local_name(t, of_label)}/{d(item.label)}" for t in item.terms)
    numeric = []
    for t in item.terms:
        grad = (fixed(t.consumer_grad, DECIMALS) if quiz.known(t.consumer_id)
                else f"{top}/{d(t.consumer_label)} = ?, not found yet")
        numeric.append(f"({grad})({factor(t, DECIMALS)})")
    return f"{top}/{d(item.label)} = {symbolic} = {' + '.join(numeric)}"


# -- a file of answers ---------------------------------------------------------------------------
def read_answers(path: str, quiz: Quiz) -> list[tuple[Question, list[float | None]]]:
    """The answers of a JSON file: {"a": 6, "b": [1, -4], "[3]": -2}, each node's attempts in the
    order given. Every key and number is checked before any is graded."""
    from scalargrad.data import finite, strict_json
    from scalargrad.files import read_text_file

    name = "the answers file" if path == "-" else f"the answers file {path}"
    example = 'write a JSON object of answers, e.g. {"a": 6, "b": [1, -4]}'
    try:
        text = read_text_file(path, name, error=InputError, hint=example,
                              kind_hint="give a regular file of answers, or - for standard input")
    except FileNotFoundError:
        raise InputError(f"{name} does not exist", hint=f"check the path; {example}") from None
    try:
        document = strict_json(text)
    except ValueError as error:
        raise InputError(f"{name} is not JSON: {error}", hint='write a JSON object, e.g. {"a": 6, "b": [1, -4]}') from None
    if isinstance(document, dict) and isinstance(document.get("answers"), dict):
        document = document["answers"]  # a document that holds more (a teacher's own fields)
    if not isinstance(document, dict):
        kind = {list: "a list", str: "text", bool: "true or false", type(None): "null"}.get(type(document), "a number")
        raise InputError(f"{name} must hold a JSON object of answers, not {kind}",
                         hint='{"a": 6, "b": [1, -4]}: a node (name or id) and its answer, or its answers in turn')
    answers = []
    for key, value in document.items():
        attempts = value if isinstance(value, list) else [value]
        numbers = [None if x is None else finite(x) for x in attempts]  # null: a hint asked for, as `?`
        if not attempts or any(n is None and x is not None for n, x in zip(numbers, attempts)):
            raise InputError(f"{name}: the answer for `{key}` must be a number or a list of numbers in turn, "
                             f"not {clip_json(value)}", hint='{"a": 6, "b": [1, -4]}')
        try:
            question = quiz.question(str(key))
        except UsageError as error:
            raise InputError(f"{name}: {error.message}", hint=error.hint) from None
        answers.append((question, numbers))
    return answers


def clip_json(value: object) -> str:
    import json

    from scalargrad.errors import clip

    return clip(json.dumps(value), 40)


def grade(quiz: Quiz, answers: Sequence[tuple[Question, list[float | None]]]) -> None:
    """Grade each node's attempts as the interactive quiz would: in the backward order (`backward`:
    the file's order does not matter) or in the file's order (`free`). Attempts after the
    question is closed (right, or its answer given) are not graded."""
    if quiz.order == "backward":
        position = {q.id: i for i, q in enumerate(quiz.questions)}
        answers = sorted(answers, key=lambda pair: position[pair[0].id])
    for question, attempts in answers:
        for value in attempts:
            if question.done:
                break
            if value is None:
                quiz.ask_hint(question)
            else:
                quiz.attempt(question, value)


# -- the report ----------------------------------------------------------------------------------
@dataclass
class QuizReport(Report):
    """The exercise (gradients hidden), or with `graded` each node's answers, grade and hints and the summary."""

    quiz: Quiz
    graded: bool = False
    seed: int | None = None
    level: int | None = None
    interrupted: bool = False
    asking: bool = False  # shown before the questions at the terminal
    warnings: list[str] = field(default_factory=list)

    def title(self) -> str:
        program, of = self.quiz.program, self.quiz.of
        made = f"exercise {self.seed} of level {self.level} ({LEVELS[self.level]})" if self.level else "quiz"
        return f"{made}: the gradients of {program.label(of)} = {number(of.data, self.precision)}"

    def sections(self) -> list:
        from scalargrad.render import Lines, Table

        quiz, p = self.quiz, self.precision
        program = quiz.program
        source = Lines()
        for line in program.source.strip().splitlines():
            source.add(("  " + line, "bold"))
        columns = ["id", "node", "op", "data", "grad"] + (["answers", "grade"] if self.graded else [])
        table = Table(columns, title=self.title(), right={"id", "data", "grad"}, key="node")
        for node in program.nodes:
            question = quiz.by_id.get(program.node_id(node))
            if question is None and program.kind(node) != "const":
                continue
            row = [str(program.node_id(node)), program.label(node), op_symbol(node), number(node.data, p)]
            if question is None:
                row.append("")
            elif self.graded:
                row.append(number(question.grad, p) if question.done else "?")
            else:
                row.append("?")
            if self.graded:
                answers = ", ".join("?" if a is None else number(a, p) for a in question.attempts) if question else ""
                row += [answers, question.grade_text if question else ""]
            table.add(*row, style="bold" if node is quiz.of else "")
        if self.graded:
            table.notes.append(self.summary_line())
        elif not self.asking:
            table.notes.append(self.how_to_answer())
        return [source, table]

    def summary_line(self) -> str:
        counts = self.quiz.summary()
        head = "stopped (Ctrl-C); so far: " if self.interrupted else ""
        return head + ", ".join(f"{GRADES[g]} {counts[g]}" for g in GRADES) + f" (of {len(self.quiz.questions)})"

    def how_to_answer(self) -> str:
        order = ("in backward order, the output first" if self.quiz.order == "backward" else "in any order")
        count = len(self.quiz.questions)
        these = "this gradient" if count == 1 else f"these {count} gradients"
        return (f"find {these} by hand, {order}: in a terminal the quiz asks for each; or grade a file of answers "
                "with --answers answers.json")

    def to_json(self) -> dict:
        quiz = self.quiz
        program = quiz.program
        document = {
            "schema": SCHEMA,
            "program": program.source,
            "seed": self.seed,
            "level": self.level,
            "order": quiz.order,
            "tolerance": quiz.tolerance,
            "output": ref_json(program, program.output),
            "of": ref_json(program, quiz.of),
            "nodes": [{"id": i, "label": program.label(node), "op": op_symbol(node) or None, "data": node.data}
                      for i, node in enumerate(program.nodes)],
            "questions": [question_json(q, self.graded) for q in quiz.questions],
        }
        if self.graded:
            document["summary"] = {**quiz.summary(), "total": len(quiz.questions)}
            document["interrupted"] = self.interrupted
        document["warnings"] = self.warnings
        return document


def question_json(question: Question, graded: bool) -> dict:
    out = {"id": question.id, "label": question.label}
    if graded:
        out.update(grad=question.grad, attempts=question.attempts, grade=question.grade,
                   hints=[{"kind": kind, "text": text} for kind, text in zip(HINTS, question.hints)])
    return out


def op_symbol(node: Value) -> str:
    if node._op == CONST:
        return "const"
    return OPS[node._op].symbol if node._prev else ""


# -- what the command runs -------------------------------------------------------------------------
def start(program: Program, values: Mapping[str, float] | None = None, of: Value | None = None,
          order: str = "backward", tolerance: float = DEFAULT_TOLERANCE) -> Quiz:
    """A quiz on `program` at `values` (default: the program's own)."""
    program.evaluate(dict(values or {}), of)
    return Quiz(program, of, order, tolerance)


def generated(seed: int, level: int, order: str = "backward", tolerance: float = DEFAULT_TOLERANCE) -> Quiz:
    from scalargrad.language import parse

    return start(parse(exercise(seed, level)), order=order, tolerance=tolerance)


# -- the quiz at the terminal ----------------------------------------------------------------------
def interactive(quiz: Quiz, report: QuizReport, say: Callable, ask: Callable[[str], str]) -> QuizReport:
    """Ask for each gradient at the terminal (`ask(prompt) -> line`, `say(*pieces)`), grading as it goes;
    Ctrl-C stops with the summary so far (exit 130), end of input (Ctrl-D) with the summary."""
    if quiz.order == "backward":
        say(("Type each gradient (a number), in the order the backward pass finds them; ? for a hint.", "dim"))
    else:
        say(("Type `node = gradient`, a node by name or id, in any order; `? node` for a hint.", "dim"))
    report.graded = True
    try:
        while quiz.next_open() is not None:
            line = ask(prompt_for(quiz))
            turn(quiz, line, say)
    except KeyboardInterrupt:
        say("")
        report.interrupted = True
        report.exit_code = 130
    except EOFError:
        say("")
    return report


def prompt_for(quiz: Quiz) -> str:
    from scalargrad.explain import grad_of

    if quiz.order == "free":
        return "node = gradient: "
    question = quiz.next_open()
    return f"[{question.id}] {grad_of(question.label)} = "


def turn(quiz: Quiz, line: str, say: Callable) -> None:
    """One line typed: an answer, or a request for a hint; anything else is said so, not graded."""
    from scalargrad.errors import ScalarGradError

    try:
        question, value = parse_line(quiz, line)
        feedback = quiz.ask_hint(question) if value is None else quiz.attempt(question, value)
    except ScalarGradError as error:
        say((error.message, "yellow"), *([("; " + error.hint, "dim")] if error.hint else []))
        return
    from scalargrad.explain import grad_of

    if feedback.right:
        say(("right", "bold green"), f": {grad_of(feedback.question.label)} = {number(feedback.question.grad, 6)}")
    elif feedback.kind == "answer":
        say(("the answer", "bold yellow"), f": {feedback.hint}")
    else:
        head = "not quite, hint" if value is not None else "hint"
        say((f"{head} {len(feedback.question.hints)} of 3 ({feedback.kind})", "bold yellow"), f": {feedback.hint}")


def parse_line(quiz: Quiz, line: str) -> tuple[Question, float | None]:
    """`6`, `?` (backward order); `a = 6`, `[3] = -2`, `? a` (free order). None: a hint asked for."""
    from scalargrad.data import parse_number

    text = line.strip()
    if quiz.order == "backward":
        question = quiz.next_open()
        return question, None if text in ("?", "") else parse_number(text, "the answer")
    if text.startswith("?"):
        return quiz.question(text[1:].strip() or "?"), None
    key, equals, value = text.rpartition("=")
    if not equals or not key.strip():
        raise UsageError(f"write the node, `=` and its gradient, not `{text}`", hint="as in: a = 6, or [3] = -2")
    return quiz.question(key.strip()), parse_number(value, f"the answer for {key.strip()}")


def graded_report(report: QuizReport, path: str) -> QuizReport:
    """The report with the answers of the file at `path` graded."""
    grade(report.quiz, read_answers(path, report.quiz))
    report.graded = True
    return report


def no_level(level: int | None) -> None:
    if level is not None:
        raise UsageError("--level makes a generated exercise: give it without a program",
                         hint="scalargrad quiz --seed 3 --level 2; or leave --level out to practise on your program")


# -- a printable worksheet -------------------------------------------------------------------------
MAX_SHEET = 100  # exercises on one sheet
SHEET_STYLE = """
body { font-family: Georgia, serif; max-width: 48em; margin: 2em auto; color: #111; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
pre { font-size: 1.05em; background: #f6f6f6; padding: .5em 1em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #999; padding: .25em .8em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } td.blank { min-width: 8em; }
.exercise { break-inside: avoid; page-break-inside: avoid; }
.key { break-before: page; page-break-before: always; }
@media print { body { margin: 0; } }
"""


def sheet_exercises(seed: int, level: int, count: int) -> list[Quiz]:
    if not 1 <= count <= MAX_SHEET:
        raise UsageError(f"--count must be from 1 to {MAX_SHEET}, not {count}", hint="a sheet of 10 is a lesson's worth")
    return [generated(seed + k, level) for k in range(count)]


def sheet_html(quizzes: Sequence[Quiz], seed: int, level: int) -> str:
    """The worksheet: each exercise (its program, a table of its nodes with the gradients to fill in),
    then on a page of its own the answer key. Text only (no script), every value escaped."""
    from html import escape

    parts = ["<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
             f"<title>Backprop by hand: level {level}</title>\n<style>{SHEET_STYLE}</style>\n</head>\n<body>\n",
             f"<h1>Backprop by hand: {len(quizzes)} exercises, level {level} ({escape(LEVELS[level])})</h1>\n",
             "<p>Fill in every gradient of the output with respect to each node, from the output back.</p>\n"]
    for k, quiz in enumerate(quizzes):
        parts.append(sheet_exercise(quiz, k + 1, seed + k, level, key=False))
    parts.append("<section class=\"key\">\n<h1>Answer key</h1>\n")
    for k, quiz in enumerate(quizzes):
        parts.append(sheet_exercise(quiz, k + 1, seed + k, level, key=True))
    parts.append("</section>\n</body>\n</html>\n")
    return "".join(parts)


def sheet_exercise(quiz: Quiz, number_: int, seed: int, level: int, key: bool) -> str:
    from html import escape

    program = quiz.program
    rows = []
    for q in sorted(quiz.questions, key=lambda q: q.id):
        grad = (f'<td class="num" data-grad="{q.grad!r}">{fixed(q.grad, DECIMALS)}</td>' if key
                else '<td class="blank"></td>')
        rows.append(f"<tr><td class=\"num\">{q.id}</td><td>{escape(q.label)}</td>"
                    f"<td class=\"num\">{fixed(q.node.data, DECIMALS)}</td>{grad}</tr>")
    replay = f"scalargrad quiz --seed {seed} --level {level}"
    return (f"<div class=\"exercise\" data-seed=\"{seed}\">\n<h2>Exercise {number_}</h2>\n"
            f"<pre>{escape(program.source.strip())}</pre>\n"
            "<table>\n<tr><th>id</th><th>node</th><th>data</th><th>grad</th></tr>\n" + "\n".join(rows)
            + f"\n</table>\n<p><small>{escape(replay)}</small></p>\n</div>\n")


def write_sheet(path: str, seed: int, level: int, count: int, program_given: bool = False) -> str:
    """Write the worksheet of `count` exercises (seeds seed, seed + 1, ...) to `path`; what was written, in words."""
    from scalargrad.files import write_atomically

    if program_given:
        raise UsageError("--sheet makes generated exercises: give it without a program",
                         hint=f"scalargrad quiz --sheet {path} --count 10 --seed 1 --level 2")
    check_level(level)
    quizzes = sheet_exercises(seed, level, count)
    text = sheet_html(quizzes, seed, level).encode("utf-8")
    write_atomically(path, lambda stream: stream.write(text), "the worksheet", stdout=True)
    return (f"wrote {'the worksheet' if path == '-' else path}: {count} exercise{'s' * (count > 1)} of level {level} (seeds {seed} to {seed + count - 1}) "
            "and their answer key, on a page of its own")
