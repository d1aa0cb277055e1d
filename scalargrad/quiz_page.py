"""The quiz as a page (`scalargrad dot -o quiz.html --quiz`): backprop by hand, graded in the browser.

One self-contained HTML file, as the explorable page is (`scalargrad.page`), that fetches
nothing: the lecture's picture with every gradient drawn as `grad ?`, a table whose gradient
cells are input boxes, and a script (`scalargrad/web/quiz.js`) that grades each answer.

The grading is the terminal quiz's (`scalargrad.quiz`), not a second copy of it. The page asks
in backward order, the output first; in that order every gradient a hint can name is known
when it is asked, so each question's three hints are fixed: they are made here, by
`Quiz.hint`, in explain's words, and the script only compares a number with the gradient
within the same tolerance (|answer - gradient| <= T * max(1, |gradient|)) and shows the next
hint. In any order (the page's box for `--order free`) the product hint depends on which users'
gradients are found: it is sent in pieces (`product_pieces`) that the script joins. The gradients and hints are in the page's data block (a JSON `<script>` that is never
shown); none is in the picture or in any text of the page until the learner has found it or
been given it. All text the user wrote reaches the page as JSON set with textContent, or as
text Graphviz escaped inside the SVG.

    >>> from scalargrad import parse
    >>> from scalargrad.quiz import start
    >>> data = quiz_data(start(parse("L = a * b"), {"a": 2, "b": -3}))
    >>> [(q["prompt"], q["grad"]) for q in data["questions"]]
    [('[2] L.grad', 1.0), ('[1] b.grad', 2.0), ('[0] a.grad', -3.0)]
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from scalargrad.engine import Value
from scalargrad.errors import NoRendererError, UsageError
from scalargrad.program import Program
from scalargrad.quiz import DEFAULT_TOLERANCE, GRADES, HINTS, Quiz, op_symbol

SCHEMA = "scalargrad.quiz-page/1"
MAX_QUESTIONS = 1000  # gradients asked by hand on one page: past this, no one answers them all
# `grad ?` as wide as `grad -0.0000` (no-break spaces), the same for every node: room for the
# gradient once found, and no width that tells one gradient from another
UNKNOWN = "grad ?".center(len("grad -0.0000"), "\u00a0")
PICTURE_NODES = 500  # value nodes drawn; past this the page has the table only (dot's --max-nodes)


@dataclass
class QuizPage:
    """A written (or built) quiz page: its HTML and what it asks."""

    html: str
    nodes: int
    questions: int
    pictured: int  # value nodes in the picture; 0 when the page has the table only
    renderer: object = None
    warnings: list[str] = field(default_factory=list)

    def wrote(self, output: str) -> str:
        how = f"drawn with {self.renderer.origin}" if self.renderer else "listed in a table"
        return f"wrote {output}: quiz page of {self.questions:,} gradients to find, {how}"


def quiz_data(quiz: Quiz) -> dict:
    """What the page's script needs: the nodes as the terminal's table shows them, and per
    question (in backward order) its prompt, its gradient, the words of a right answer and its
    three hints. The hints are `Quiz.hint`'s, asked of a quiz in which every earlier question
    is answered, as it is when the page asks this one."""
    from scalargrad.explain import grad_of
    from scalargrad.render import fixed, number

    program, decimals = quiz.program, 4
    questions = []
    for question in quiz.questions:  # backward order: every user of a node comes before it
        hints = [quiz.hint(question, kind) for kind in HINTS]
        question.grade = "first"  # known from here on, as it is in the page once this is answered
        questions.append({"id": question.id, "label": question.label, "prompt": f"[{question.id}] {grad_of(question.label)}",
                          "grad": question.grad, "shown": fixed(question.grad, decimals),
                          "right": f"{grad_of(question.label)} = {number(question.grad, 6)}", "hints": hints,
                          "product": product_pieces(quiz, question)})
    for question in quiz.questions:
        question.grade = "open"
    asked = {q.id for q in quiz.questions}
    nodes = [{"id": i, "label": program.label(node), "op": op_symbol(node), "data": fixed(node.data, decimals),
              "asked": i in asked}
             for i, node in enumerate(program.nodes) if i in asked or node._op == "const"]
    return {"schema": SCHEMA, "source": program.source, "of": program.node_id(quiz.of),
            "of_label": program.label(quiz.of), "of_data": number(quiz.of.data, 6),
            "tolerance": quiz.tolerance, "kinds": list(HINTS), "grades": GRADES,
            "nodes": nodes, "questions": questions}


def product_pieces(quiz: Quiz, question) -> list | None:
    """The product hint in pieces, for answers in any order, where it fills in only the users'
    gradients found so far (as `quiz.product_text` words it): [head, [[user id, its gradient
    found, not found yet, local factor], ...]]; None where it names no user (the seed)."""
    from scalargrad.explain import d, factor, local_name
    from scalargrad.quiz import DECIMALS
    from scalargrad.render import fixed

    item = quiz.items[question.id]
    if item.status == "seed":
        return None
    of_label = quiz.program.label(quiz.of)
    top = d(of_label)
    symbolic = " + ".join(f"{top}/{d(t.consumer_label)} * {local_name(t, of_label)}/{d(item.label)}" for t in item.terms)
    head = f"{top}/{d(item.label)} = {symbolic} = "
    return [head, [[t.consumer_id, fixed(t.consumer_grad, DECIMALS), f"{top}/{d(t.consumer_label)} = ?, not found yet",
                    factor(t, DECIMALS)] for t in item.terms]]


# -- the picture --------------------------------------------------------------------------------
def picture_source(program: Program, of: Value, asked: set[int], cluster: bool = False) -> str:
    """The lecture's picture (plain: no colour, which would give a gradient's sign away), the
    gradient of each node `asked` (ids) drawn `grad ?` (UNKNOWN), the others none (numbers, and
    with --of the nodes `of` does not depend on), the SVG elements named as the page's (`n4`)."""
    from scalargrad.dot import draw_dot, record_text
    from scalargrad.render import fixed

    graph = draw_dot(program, of=of, plain=True, cluster=cluster, grad=False, ids=True)
    for i, node in enumerate(program.nodes):
        if i in asked:
            label = "{ " + " | ".join([record_text(program.label(node)), f"data {fixed(node.data)}", UNKNOWN]) + " }"
            graph.node(f"n{i}", label=label)  # a node named again: its label, set last, wins
    return graph.source


def picture(program: Program, of: Value, asked: set[int], warnings: list[str], cluster: bool, max_nodes: int,
            lookup=None):
    """The inline SVG, its renderer and the nodes drawn; ("", None, 0) with a warning when the
    graph is too big to lay out or nothing can render it."""
    from scalargrad.page import inline_svg
    from scalargrad.renderers import render

    if len(program.nodes) > max_nodes:
        warnings.append(f"the graph has {len(program.nodes):,} nodes, more than the limit of {max_nodes:,} for a "
                        "picture: the quiz page lists them in a table only (--max-nodes N draws them)")
        return "", None, 0
    try:
        svg, renderer = render(picture_source(program, of, asked, cluster), "svg", lookup)
    except NoRendererError as error:
        warnings.append(f"{error.message}: the quiz page lists the nodes in a table, without the picture")
        return "", None, 0
    return inline_svg(svg), renderer, len(program.nodes)


# -- the page -----------------------------------------------------------------------------------
def build_quiz_page(program: Program, values: Mapping[str, float] | None = None, *, of: Value | None = None,
                    tolerance: float = DEFAULT_TOLERANCE, picture_: bool = True, cluster: bool = False,
                    max_nodes: int = PICTURE_NODES, lookup=None) -> QuizPage:
    """The quiz page of `program` at `values` (default: the inputs' current values), asking for
    the gradients of `of` (default: the output)."""
    from scalargrad.page import afford, json_for_html, web_file
    from scalargrad.session import one_line

    afford(program)
    if values is None:
        values = {name: node.data for name, node in program.inputs.items()}
    program.evaluate(dict(values), of)
    of = of or program.output
    upstream = program.upstream(of)  # counted before the hints are made: explain's words for each
    asked = sum(1 for node in program.nodes if id(node) in upstream and node._op != "const")
    if asked > MAX_QUESTIONS:
        raise UsageError(f"a quiz page asks for each gradient by hand: {asked:,} are too many "
                         f"(at most {MAX_QUESTIONS:,})", hint="quiz a smaller part: --of a node nearer the inputs")
    quiz = Quiz(program, of, "backward", tolerance)
    data = quiz_data(quiz)
    warnings: list[str] = []
    asked = {q.id for q in quiz.questions}
    svg, renderer, pictured = picture(program, quiz.of, asked, warnings, cluster, max_nodes, lookup) if picture_ \
        else ("", None, 0)
    script = web_file("quiz.js")
    if "</script" in script.lower():
        raise UsageError("scalargrad/web/quiz.js holds `</script`, which would end the page's script")
    parts = {"TITLE": html.escape(f"scalargrad quiz: {one_line(program.source, 80)}"), "CSS": web_file("quiz.css"),
             "DATA": json_for_html(data), "JS": script, "SVG": svg}
    text = re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], web_file("quiz.html"))  # one pass
    return QuizPage(text, len(program.nodes), len(quiz.questions), pictured, renderer, warnings)


def write_quiz_page(program: Program, path: str | Path, values: Mapping[str, float] | None = None,
                    **options) -> QuizPage:
    """Build the quiz page (`build_quiz_page`'s options) and write it to `path` atomically (`-`: standard output)."""
    import sys

    from scalargrad.files import check_writable, write_atomically

    if str(path) == "-":
        page = build_quiz_page(program, values, **options)
        sys.stdout.write(page.html)
        return page
    check_writable(path)
    page = build_quiz_page(program, values, **options)
    write_atomically(path, lambda stream: stream.write(page.html.encode("utf-8")), "the quiz page")
    return page


# -- what `dot -o quiz.html --quiz` runs ------------------------------------------------------------
def check_options(fmt: str, *, no_grad: bool, focus: str | None) -> None:
    """Refuse, in words, what `--quiz` does not go with (before the program is read)."""
    if fmt != "html":
        raise UsageError("--quiz makes a page: write it to a file ending in .html", hint="as in: -o quiz.html --quiz")
    if no_grad or focus is not None:
        raise UsageError(f"--quiz asks for every gradient: {'--no-grad' if no_grad else '--focus'} does not go with it",
                         hint="drop one of them; --of NODE quizzes the gradients of another node")


def page_for(loaded, output: str | None, *, of: str | None = None, **options) -> QuizPage:
    """The quiz page of a loaded program (`inputs.Loaded`) at its values, written to `output`
    (`-` or None: standard output). A session's steps and check are not shown: they would give
    the gradients away."""
    program = loaded.program
    return write_quiz_page(program, "-" if output is None else output, loaded.values,
                           of=program.node(of) if of else None, **options)
