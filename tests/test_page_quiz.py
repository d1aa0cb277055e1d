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
    assert not re.search(r"grad\s*-?\d", shown)
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
    assert [(q["label"], q["grad"]) for q in data_block(path.read_text(encoding="utf-8"))["questions"]] == \
        [("e", 1.0), ("b", 2.0), ("a", -3.0)]


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
