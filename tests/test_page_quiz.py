"""The quiz page (`scalargrad dot -o quiz.html --quiz`, issue 26): graded in headless Chromium.

The references are the terminal quiz (`scalargrad.quiz`): its hints for the same wrong
answers, its words at the terminal for the same lines typed (`quiz.interactive`), its
tolerance rule (`Quiz.right`), and the installed `scalargrad quiz --answers` grading the same
answers. The browser, its launch flags and the no-network guard are tests/test_page.py's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import LECTURE, LECTURE_VALUES, STATEMENTS, run_installed
from scalargrad import parse
from scalargrad import quiz as quizzing
from scalargrad import quiz_page
from scalargrad.errors import UsageError
from test_page import Opened, browser  # noqa: F401  (the module's one Chromium)

LECTURE_INPUTS = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}
# the lecture's gradients in the order the page asks (backward: the output first)
LECTURE_ASKED = [("L", 1.0), ("f", 4.0), ("a*b + c", -2.0), ("c", -2.0), ("a*b", -2.0), ("b", -4.0), ("a", 6.0)]


def lecture_quiz() -> quizzing.Quiz:
    return quizzing.start(parse(LECTURE), LECTURE_INPUTS)


def data_block(text: str) -> dict:
    match = re.search(r'<script type="application/json" id="sq-data">(.*?)</script>', text, re.DOTALL)
    return json.loads(match.group(1))


def without_data(text: str) -> str:
    return re.sub(r'<script type="application/json" id="sq-data">.*?</script>', "", text, flags=re.DOTALL)


# -- the data: the terminal quiz's hints, made in Python ------------------------------------------
def terminal_hints(quiz: quizzing.Quiz) -> list[list[str]]:
    """Each question's hints as the terminal quiz gives them to three wrong answers in turn, in backward order."""
    out = []
    for question in quiz.questions:
        out.append([quiz.attempt(question, question.grad + 1000).hint for _ in range(3)])
    return out


@pytest.mark.parametrize("seed, level", [(None, None)] + [(seed, level) for level in (1, 2, 3) for seed in range(1, 9)])
def test_the_pages_hints_are_the_terminal_quizs(seed, level):
    made = lecture_quiz if seed is None else lambda: quizzing.generated(seed, level)
    data = quiz_page.quiz_data(made())
    assert [q["hints"] for q in data["questions"]] == terminal_hints(made())
    assert [q["id"] for q in data["questions"]] == [q.id for q in made().questions]
    assert all(len(q["hints"]) == 3 for q in data["questions"])


def test_the_lectures_questions_gradients_and_words():
    data = quiz_page.quiz_data(lecture_quiz())
    assert [(q["label"], q["grad"]) for q in data["questions"]] == LECTURE_ASKED
    a = data["questions"][-1]
    assert a["prompt"] == "[0] a.grad" and a["right"] == "a.grad = 6" and a["shown"] == "6.0000"
    assert a["hints"][1] == "dL/da = dL/d(a*b) * d(a*b)/da = (-2.0000)(b = -3.0000)"
    assert a["hints"][2] == "dL/da = dL/d(a*b) * d(a*b)/da = (-2.0000)(b = -3.0000) = 6.0000"
    assert data["tolerance"] == quizzing.DEFAULT_TOLERANCE and data["grades"] == quizzing.GRADES


def test_making_the_data_leaves_the_quiz_unanswered():
    quiz = lecture_quiz()
    quiz_page.quiz_data(quiz)
    assert all(q.grade == "open" and not q.hints and not q.attempts for q in quiz.questions)


def test_no_gradient_is_in_the_pages_text_or_picture_outside_its_data(tmp_path):
    path = tmp_path / "quiz.html"
    page = quiz_page.write_quiz_page(parse(LECTURE), path, LECTURE_INPUTS)
    text = path.read_text(encoding="utf-8")
    shown = without_data(text)
    assert page.pictured == 7 and page.questions == 7
    assert re.findall(r">([^<]*grad[^<]*)<", shown.split("<svg", 1)[1].split("</svg>")[0]) == \
        [quiz_page.UNKNOWN] * 7  # every node's gradient drawn `grad ?`
    assert not re.search(r"grad[ \u00a0]+-?\d", shown)
    assert "fill=\"#" not in shown.split("<svg", 1)[1]  # no colour by gradient: it would tell the sign
    assert data_block(text)["questions"][0]["grad"] == 1.0  # the answers are in the data block only


def test_a_graph_past_the_picture_limit_is_a_table_with_a_warning():
    page = quiz_page.build_quiz_page(parse(LECTURE), LECTURE_INPUTS, max_nodes=5)
    assert page.pictured == 0 and "<svg" not in without_data(page.html).split("<footer>")[0]
    assert "more than the limit of 5 for a picture" in page.warnings[0]


def test_too_many_questions_are_refused_in_words(monkeypatch):
    monkeypatch.setattr(quiz_page, "MAX_QUESTIONS", 6)
    with pytest.raises(UsageError, match="7 are too many"):
        quiz_page.build_quiz_page(parse(LECTURE), LECTURE_INPUTS)


# -- the command ---------------------------------------------------------------------------------
def test_the_command_writes_the_quiz_page(tmp_path):
    path = tmp_path / "quiz.html"
    result = run_installed("dot", LECTURE, *LECTURE_VALUES, "-o", str(path), "--quiz", "--no-session")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(f"wrote {path}: quiz page of 7 gradients to find, drawn with")
    assert data_block(path.read_text(encoding="utf-8"))["questions"][0]["label"] == "L"
    standard = run_installed("dot", LECTURE, *LECTURE_VALUES, "-o", "-", "--format", "html", "--quiz", "--no-session")
    assert standard.exit_code == 0 and data_block(standard.stdout) == data_block(path.read_text(encoding="utf-8"))
    of = run_installed("dot", STATEMENTS, *LECTURE_VALUES, "-o", str(path), "--quiz", "--of", "e", "--no-session")
    assert of.exit_code == 0, of.stderr
    text = path.read_text(encoding="utf-8")
    assert [(q["label"], q["grad"]) for q in data_block(text)["questions"]] == [("e", 1.0), ("b", 2.0), ("a", -3.0)]
    # only the nodes asked have a `grad ?` (c, d, f and L are not what e depends on)
    assert text.count(quiz_page.UNKNOWN) == 3 and ">data 10.0000<" in text


@pytest.mark.parametrize("args, message", [
    (["-o", "quiz.svg"], "--quiz makes a page: write it to a file ending in .html"),
    (["-o", "quiz.html", "--no-grad"], "the page shows gradients"),
    (["-o", "quiz.html", "--focus", "a"], "--quiz asks for every gradient: --focus does not go with it"),
])
def test_what_the_quiz_does_not_go_with_is_refused(tmp_path, args, message):
    result = run_installed("dot", LECTURE, *LECTURE_VALUES, "--quiz", *args, "--no-session", cwd=tmp_path)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failure_leaves_the_file_alone(tmp_path):
    path = tmp_path / "quiz.html"
    path.write_text("old")
    result = run_installed("dot", "y = log(x)", "--x", "-1", "-o", str(path), "--quiz", "--no-session")
    assert result.exit_code != 0 and path.read_text() == "old" and "Traceback" not in result.stderr


# -- in the browser --------------------------------------------------------------------------------
@pytest.fixture
def opened(browser):  # noqa: F811
    tabs: list[tuple[Opened, Path]] = []

    def open_file(path: Path, **size) -> Opened:
        tab = Opened(browser, **size)
        tab.tab.goto(path.as_uri())
        tabs.append((tab, path))
        return tab

    yield open_file
    for tab, path in tabs:
        assert tab.errors == [], tab.errors
        assert tab.requests == [path.as_uri()] and tab.blobs == [], tab.requests  # nothing fetched, no worker
        tab.close()


def write(tmp_path: Path, source: str = LECTURE, values=None, name: str = "quiz.html") -> Path:
    path = tmp_path / name
    quiz_page.write_quiz_page(parse(source), path, LECTURE_INPUTS if values is None else values)
    return path


def type_line(tab: Opened, text: str) -> None:
    """What a learner types into the box the page asks with, then Enter."""
    field = tab.tab.locator("#sq-table input:not([disabled])")
    field.fill(text)
    field.press("Enter")


def log(tab: Opened) -> list[tuple[str, str]]:
    return [tuple(pair) for pair in tab.tab.evaluate("""() => Array.from(document.querySelectorAll('#sq-log li'))
        .map(li => [li.querySelector('.sq-asked').textContent, li.querySelector('.sq-reply').textContent])""")]


def picture_grads(tab: Opened) -> dict[str, str]:
    return dict(tab.tab.evaluate("""() => Array.from(document.querySelectorAll('#sq-graph g.node'))
        .filter(g => /^n\\d+$/.test(g.id)).map(g => { const t = g.querySelectorAll('text');
          return [g.id, t[t.length - 1].textContent]; })"""))


def terminal(quiz: quizzing.Quiz, lines: list[str]) -> tuple[list[tuple[str, str]], str]:
    """The terminal quiz (`quiz.interactive`) fed `lines`: each prompt with its line, what it said back, and the summary."""
    asked, said = [], []
    queue = list(lines)

    def ask(prompt: str) -> str:
        if not queue:
            raise EOFError
        asked.append(prompt + queue[0])
        return queue.pop(0)

    def say(*pieces) -> None:
        said.append("".join(piece if isinstance(piece, str) else piece[0] for piece in pieces))

    report = quizzing.QuizReport(quiz)
    quizzing.interactive(quiz, report, say, ask)
    return list(zip(asked, said[1:])), report.summary_line()  # said[0]: the instructions


def script(quiz: quizzing.Quiz) -> list[str]:
    """Lines a learner might type: per question, in turn, right at once (to 4 decimals); wrong just
    outside the tolerance, then right just inside it; a hint asked, wrong, a hint (the answer given);
    three things that are not numbers, then right."""
    lines = []
    for k, question in enumerate(quiz.questions):
        g, room = question.grad, quiz.tolerance * max(1.0, abs(question.grad))
        lines += [[f"{g:.4f}"], [repr(g + 1.01 * room), repr(g - 0.99 * room)], ["?", repr(g + 0.5 + abs(g)), ""],
                  ["abc", "1,5", "1/2", repr(g)]][k % 4]
    return lines


# the lecture and one exercise in the developer's loop; the others with -m slow (and in CI)
SLOW = pytest.mark.slow


@pytest.mark.parametrize("seed, level", [(None, None), (2, 3), *(pytest.param(*p, marks=SLOW) for p in ((3, 1), (5, 2), (7, 3)))])
def test_the_page_says_what_the_terminal_says_to_the_same_lines(opened, tmp_path, seed, level):
    source = LECTURE if seed is None else quizzing.exercise(seed, level)
    values = LECTURE_INPUTS if seed is None else {}
    made = lambda: quizzing.start(parse(source), values)  # noqa: E731
    lines = script(made())
    want, summary = terminal(made(), lines)
    kinds = " ".join(reply.split(":")[0] for _, reply in want)
    assert "right" in kinds and "not quite, hint 1 of 3 (rule)" in kinds and "hint 2 of 3 (product)" in kinds \
        and "the answer" in kinds and "is not a number" in " ".join(reply for _, reply in want)
    tab = opened(write(tmp_path, source, values))
    for line in lines:
        type_line(tab, line)
    assert log(tab) == want
    assert tab.tab.inner_text("#sq-summary") == summary
    assert tab.tab.locator("#sq-table input").count() == 0  # every box answered: the gradients shown


def test_right_answers_fill_in_the_lectures_picture_and_the_summary(opened, tmp_path):
    tab = opened(write(tmp_path))
    assert set(picture_grads(tab).values()) == {quiz_page.UNKNOWN}
    before = tab.tab.inner_text("body")
    # a's gradient 6 and b's -4 are nowhere (-6.0000 is the data of a*b), nor any `grad` with a number
    assert not re.search(r"(?<![-\d])6\.0000|-4\.0000|grad[ \u00a0]+-?\d", before)
    # the attributes outside the picture (the picture's are coordinates; its texts are checked above)
    attributes = tab.tab.evaluate("""() => Array.from(document.body.querySelectorAll('*'))
        .filter(e => e.tagName !== 'SCRIPT' && !e.closest('svg')).flatMap(e => Array.from(e.attributes).map(a => a.value)).join(' ')""")
    for q in quiz_page.quiz_data(lecture_quiz())["questions"]:
        assert not any(text in attributes for text in [q["shown"], q["right"], *q["hints"]]), q
    for (label, grad), prompt in zip(LECTURE_ASKED, ["[6] L.grad", "[5] f.grad", "[4] (a*b + c).grad", "[3] c.grad",
                                                     "[2] (a*b).grad", "[1] b.grad", "[0] a.grad"]):
        assert tab.tab.evaluate("scalargradQuiz.current()") == prompt
        type_line(tab, repr(grad))
    assert [reply for _, reply in log(tab)] == ["right: L.grad = 1", "right: f.grad = 4", "right: (a*b + c).grad = -2",
                                                "right: c.grad = -2", "right: (a*b).grad = -2", "right: b.grad = -4",
                                                "right: a.grad = 6"]
    assert picture_grads(tab) == {"n0": "grad 6.0000", "n1": "grad -4.0000", "n2": "grad -2.0000", "n3": "grad -2.0000",
                                  "n4": "grad -2.0000", "n5": "grad 4.0000", "n6": "grad 1.0000"}
    assert re.search(r"(?<![-\d])6\.0000", tab.tab.inner_text("body"))
    assert tab.tab.inner_text("#sq-summary") == \
        "right first time 7, right with hints 0, answer given 0, not right yet 0 (of 7)"


def test_wrong_answers_bring_each_hint_in_turn_and_grade_as_quiz_answers_does(opened, tmp_path):
    tab = opened(write(tmp_path))
    hints = quiz_page.quiz_data(lecture_quiz())["questions"][2]["hints"]  # a*b + c
    for line in ["1", "4", "0"]:
        type_line(tab, line)
    assert log(tab)[-1] == ("[4] (a*b + c).grad = 0", "not quite, hint 1 of 3 (rule): " + hints[0])
    tab.tab.get_by_role("button", name="hint").click()
    assert log(tab)[-1] == ("[4] (a*b + c).grad = ?", "hint 2 of 3 (product): " + hints[1])
    assert tab.tab.evaluate("scalargradQuiz.current()") == "[4] (a*b + c).grad"
    type_line(tab, "7")
    assert log(tab)[-1] == ("[4] (a*b + c).grad = 7", "the answer: " + hints[2])
    assert tab.tab.evaluate("scalargradQuiz.current()") == "[3] c.grad"  # given: the quiz moves on
    assert picture_grads(tab)["n4"] == "grad -2.0000"
    for line in ["-2", "3", "-2", "4", "?", "2", "6"]:
        type_line(tab, line)
    grades = tab.tab.evaluate("scalargradQuiz.grades()")
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({label: attempts for label, _, attempts in grades}))
    graded = run_installed("quiz", LECTURE, *LECTURE_VALUES, "--answers", str(answers), "--json", "--no-session")
    assert graded.exit_code == 0, graded.stderr
    document = json.loads(graded.stdout)
    assert {q["label"]: q["grade"] for q in document["questions"]} == {label: grade for label, grade, _ in grades}
    summary = document["summary"]
    assert tab.tab.inner_text("#sq-summary") == (
        f"right first time {summary['first']}, right with hints {summary['hinted']}, answer given {summary['given']}, "
        f"not right yet {summary['open']} (of {summary['total']})")
    assert (summary["first"], summary["hinted"], summary["given"]) == (4, 1, 2)
    assert [row.split("\t")[-1] for row in tab.tab.locator("#sq-table tbody tr").all_inner_texts()] == \
        ["right first time", "answer given", "right with hints", "right first time", "answer given",
         "right first time", "right first time"]


def test_what_is_not_a_number_is_said_and_not_graded(opened, tmp_path):
    tab = opened(write(tmp_path))
    for line in ["one", "1,5", "1/4", "- 1", "nan", "1e999"]:
        type_line(tab, line)
    quiz = lecture_quiz()
    want, _ = terminal(quiz, ["one", "1,5", "1/4", "- 1", "nan", "1e999"])
    assert log(tab) == want
    assert [reply for _, reply in want][1:4] == [
        "the answer: `1,5` is not a number; it has a decimal comma; use a dot for decimals: 1.5",
        "the answer: `1/4` is not a number; fractions are not read; write the decimal: 0.25",
        "the answer: `- 1` is not a number; it has a space after the sign; write -1"]
    assert tab.tab.evaluate("scalargradQuiz.grades()")[0] == ["L", "open", []]


def test_stop_here_gives_the_summary_so_far(opened, tmp_path):
    tab = opened(write(tmp_path))
    type_line(tab, "1")
    type_line(tab, "5")
    tab.tab.get_by_role("button", name="stop here").click()
    assert tab.tab.inner_text("#sq-summary") == \
        "stopped; so far: right first time 1, right with hints 0, answer given 0, not right yet 6 (of 7)"
    assert tab.tab.locator("#sq-table input:not([disabled])").count() == 0
    assert tab.tab.evaluate("scalargradQuiz.current()") is None


def test_script_in_the_program_stays_inert(opened, tmp_path):
    source = "# </script><script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">\nL = a * b  # &lt; <!--"
    path = write(tmp_path, source, {"a": 2.0, "b": 3.0})
    text = path.read_text(encoding="utf-8")
    assert "<script>window.pwned" not in text and "<img" not in text
    tab = opened(path)
    assert tab.tab.evaluate("window.pwned") is None
    assert tab.tab.evaluate("Array.from(document.scripts).map(s => s.type)") == ["application/json", ""]
    assert tab.tab.inner_text("#sq-source") == source
    type_line(tab, "1")
    assert log(tab) == [("[2] L.grad = 1", "right: L.grad = 1")]


def test_the_screenshot_is_kept(opened, tmp_path):
    tab = opened(write(tmp_path), width=1200, height=900)
    for line in ["1", "4", "0", "?", "-2", "-2", "-3"]:
        type_line(tab, line)
    shot = tmp_path / "quiz-page.png"
    tab.tab.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


def test_a_narrow_screen_keeps_the_box_its_buttons_and_the_node_asked_in_sight(opened, tmp_path):
    tab = opened(write(tmp_path), width=420, height=800)
    for line in ["1", "4"]:
        type_line(tab, line)
    inside = tab.tab.evaluate("""() => {
        const box = document.getElementById('sq-graph').getBoundingClientRect();
        const node = document.getElementById('n4').getBoundingClientRect();
        const parts = ['#sq-table input:not([disabled])', '.sq-buttons:not([hidden]) button:last-child']
          .map(s => document.querySelector(s).getBoundingClientRect());
        return [node.left >= box.left && node.right <= box.right, parts.every(r => r.left >= 0 && r.right <= 420)]; }""")
    assert inside == [True, True]  # a*b + c, asked now, is scrolled into the picture's view; the box and hint fit
    assert tab.tab.evaluate("document.documentElement.scrollWidth") <= 420  # the page itself does not scroll sideways


def test_the_script_sets_text_only_and_fetches_nothing():
    script = (Path(quiz_page.__file__).parent / "web" / "quiz.js").read_text(encoding="utf-8")
    code = re.sub(r"//[^\n]*", "", script)  # the comments say what it never does
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "fetch(", "XMLHttpRequest",
                      "WebSocket", "import(", "eval(", "Function(", "setAttribute(\"on", "src ="):
        assert forbidden not in code, forbidden
    assert code.count("textContent") >= 8


def free_script(quiz: quizzing.Quiz, seed: int) -> list[tuple[int, str]]:
    """(node id, what is typed into its box), the nodes in a shuffled order, the output last: the
    first two hints, then right, for the first (none of its users found: its product hint says
    so); then per node right at once; a hint, then right; wrong three times (the answer given)."""
    import random

    rng = random.Random(seed)
    order = rng.sample(quiz.questions[1:], len(quiz.questions) - 1) + quiz.questions[:1]
    lines = [(order[0].id, "?"), (order[0].id, "?"), (order[0].id, repr(order[0].grad))]
    for question in order[1:]:
        g = question.grad
        lines += [(question.id, text) for text in rng.choice([[f"{g:.4f}"], ["?", repr(g)], [repr(g + 1 + abs(g))] * 3])]
    return lines


@pytest.mark.parametrize("seed, level", [(None, None), (2, 3), *(pytest.param(*p, marks=SLOW) for p in ((4, 2), (9, 3)))])
def test_in_any_order_the_page_says_what_quiz_order_free_says(opened, tmp_path, seed, level):
    source = LECTURE if seed is None else quizzing.exercise(seed, level)
    values = LECTURE_INPUTS if seed is None else {}
    made = lambda: quizzing.start(parse(source), values, order="free")  # noqa: E731
    lines = free_script(made(), seed or 0)
    terminal_lines = [f"? [{i}]" if text == "?" else f"[{i}] = {text}" for i, text in lines]
    want, summary = terminal(made(), terminal_lines)
    assert any("not found yet" in reply for _, reply in want)  # a product hint with a user's gradient still to find
    tab = opened(write(tmp_path, source, values))
    tab.tab.check("#sq-free")
    assert "in any order" in tab.tab.inner_text("#sq-title")
    for node, text in lines:
        field = tab.tab.locator(f'#sq-table input[data-node="{node}"]')
        field.fill(text)
        field.press("Enter")
    assert [reply for _, reply in log(tab)] == [reply for _, reply in want]
    assert tab.tab.inner_text("#sq-summary") == summary


def test_a_program_of_numbers_only_has_nothing_to_ask(opened, tmp_path):
    tab = opened(write(tmp_path, "L = 2 * 3", {}))
    assert tab.tab.inner_text("#sq-summary") == "right first time 0, right with hints 0, answer given 0, not right yet 0 (of 0)"
    assert tab.tab.locator("#sq-table input").count() == 0 and picture_grads(tab) == {"n0": "data 6.0000"}
