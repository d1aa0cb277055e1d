"""`scalargrad quiz`: generated exercises, a file of answers graded, the hints in turn.

The right answers are the engine's gradients (`grad --json`), which the lecture's numbers pin;
the exercises are checked across processes with different hash seeds, byte for byte."""

import json
import os
import subprocess

import pytest

from conftest import LECTURE, LECTURE_VALUES, installed_command
from scalargrad import parse
from scalargrad.quiz import HINTS, Quiz, exercise, generated, grade


def write(tmp_path, answers, name="answers.json"):
    path = tmp_path / name
    path.write_text(json.dumps(answers))
    return str(path)


# -- generated exercises ------------------------------------------------------------------------
@pytest.mark.parametrize("level", [3, *(pytest.param(level, marks=pytest.mark.slow) for level in (1, 2))])
def test_a_seed_is_the_same_exercise_byte_for_byte_in_any_process(level, tmp_path):
    outputs = set()
    for hash_seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([installed_command(), "quiz", "--seed", "17", "--level", str(level), "--json"],
                              capture_output=True, env=env, cwd=tmp_path, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1
    assert json.loads(outputs.pop())["program"] == exercise(17, level)


def test_seeds_make_different_exercises():
    assert len({exercise(seed, 2) for seed in range(30)}) >= 25


@pytest.mark.parametrize("seed", range(40))
def test_each_level_has_what_it_promises(seed):
    one, two, three = (parse(exercise(seed, level)) for level in (1, 2, 3))
    assert {node._op for node in one.nodes} <= {"", "const", "+", "*", "-"}  # inputs (op ""), numbers and + * -
    assert {node._op for node in one.nodes} & {"+", "*"}
    assert all(float(v).is_integer() for v in one.defaults.values())
    assert {node._op for node in two.nodes} & {"tanh", "exp", "**", "/"}
    assert "tanh" in {node._op for node in three.nodes}
    uses = {}
    for node in three.nodes:
        for parent in node._prev:
            if parent._op != "const":
                uses[id(parent)] = uses.get(id(parent), 0) + 1
    assert max(uses.values()) >= 2  # a node (an input or o) used more than once
    for program in (one, two, three):  # every input given its value in the program, every gradient moderate
        assert set(program.inputs) == set(program.defaults)
        program.run({})
        assert all(abs(node.grad) < 1e3 for node in program.nodes)


def test_a_bad_level_is_worded(cli):
    result = cli("quiz", "--seed", "1", "--level", "4")
    assert result.exit_code == 2 and "--level must be 1, 2 or 3, not 4" in result.stderr
    result = cli("quiz", "L = a*b", "--a", "1", "--b", "2", "--level", "2", "--no-session")
    assert result.exit_code == 2 and "--level makes a generated exercise" in result.stderr


# -- grading a file of answers ------------------------------------------------------------------
def lecture_grads(cli):
    document = cli("grad", LECTURE, *LECTURE_VALUES, "--json", "--no-session").json()
    return {str(node["id"]): node["grad"] for node in document["nodes"] if node["grad"] is not None}


def test_the_lecture_all_right_first_time(cli, tmp_path):
    grads = lecture_grads(cli)
    assert grads == {"0": 6.0, "1": -4.0, "2": -2.0, "3": -2.0, "4": -2.0, "5": 4.0, "6": 1.0}
    path = write(tmp_path, grads)
    document = cli("quiz", LECTURE, *LECTURE_VALUES, "--answers", path, "--json", "--no-session").json()
    assert document["summary"] == {"first": 7, "hinted": 0, "given": 0, "open": 0, "total": 7}
    assert [q["id"] for q in document["questions"]] == [6, 5, 4, 3, 2, 1, 0]  # backward order


def test_answers_by_name_and_id_in_any_order_and_within_the_tolerance(cli, tmp_path):
    path = write(tmp_path, {"a": 6.0004, "[1]": -4, "L": 1, "f": 4.01})  # 4.01 is off by 0.25%
    document = cli("quiz", LECTURE, *LECTURE_VALUES, "--answers", path, "--json", "--no-session").json()
    grades = {q["label"]: q["grade"] for q in document["questions"]}
    assert grades == {"L": "first", "f": "open", "a*b + c": "open", "c": "open", "a*b": "open", "b": "first",
                      "a": "first"}
    f = next(q for q in document["questions"] if q["label"] == "f")
    assert f["attempts"] == [4.01] and [h["kind"] for h in f["hints"]] == ["rule"]
    loose = cli("quiz", LECTURE, *LECTURE_VALUES, "--answers", path, "--tolerance", "0.01", "--json",
                "--no-session").json()
    assert next(q for q in loose["questions"] if q["label"] == "f")["grade"] == "first"


def test_the_hints_grow_rule_then_product_then_answer(cli, tmp_path):
    path = write(tmp_path, {"L": 1, "f": 4, "a*b + c": -2, "c": -2, "a*b": -2, "b": [1, 2, 3, 4], "a": [0, 6]})
    document = cli("quiz", LECTURE, *LECTURE_VALUES, "--answers", path, "--json", "--no-session").json()
    b = next(q for q in document["questions"] if q["label"] == "b")
    assert b["grade"] == "given" and b["attempts"] == [1.0, 2.0, 3.0]  # the fourth is not graded: b is closed
    assert [h["kind"] for h in b["hints"]] == list(HINTS)
    rule, product, answer = (h["text"] for h in b["hints"])
    assert rule == ("b is used once: dL/db = dL/duser * duser/db; via a*b: d(a*b)/db = x = a "
                    "(* swaps in the other factor)")
    assert product == "dL/db = dL/d(a*b) * d(a*b)/db = (-2.0000)(a = 2.0000)"
    assert answer == "dL/db = dL/d(a*b) * d(a*b)/db = (-2.0000)(a = 2.0000) = -4.0000"
    a = next(q for q in document["questions"] if q["label"] == "a")
    assert a["grade"] == "hinted" and len(a["hints"]) == 1
    assert document["summary"] == {"first": 5, "hinted": 1, "given": 1, "open": 0, "total": 7}


def test_a_node_used_twice_gets_the_sum_in_its_hints():
    program = parse("e = a*b; d = e + a; L = d * f")
    program.evaluate({"a": 2, "b": -3, "f": -2})
    quiz = Quiz(program)
    a = quiz.question("a")
    grade(quiz, [(q, [q.grad]) for q in quiz.questions if q is not a] + [(a, [0, 0, 0])])
    rule, product, answer = a.hints
    assert rule.startswith("a is used twice: dL/da = the sum of 2 shares, one per use")
    assert product == "dL/da = dL/dd * dd/da + dL/de * de/da = (-2.0000)(1.0000) + (-2.0000)(b = -3.0000)"
    assert answer.endswith("= 4.0000") and a.grad == 4.0


def test_free_order_leaves_the_factors_not_found_yet(tmp_path):
    """In free order a hint fills in only the users' gradients the learner has found."""
    program = parse(LECTURE)
    program.evaluate({"a": 2, "b": -3, "c": 10, "f": -2})
    quiz = Quiz(program, order="free")
    grade(quiz, [(quiz.question("a"), [0, 0])])
    assert quiz.question("a").hints[1] == "dL/da = dL/d(a*b) * d(a*b)/da = (dL/d(a*b) = ?, not found yet)(b = -3.0000)"
    quiz = Quiz(program, order="free")
    grade(quiz, [(quiz.question("2"), [-2]), (quiz.question("a"), [0, 0])])
    assert quiz.question("a").hints[1] == "dL/da = dL/d(a*b) * d(a*b)/da = (-2.0000)(b = -3.0000)"


def test_backward_order_grades_the_same_whatever_the_files_order(cli, tmp_path):
    answers = {"a": [1, 6], "b": -4, "L": 1, "a*b": [0, 0, 0], "f": 4, "c": -2, "4": -2}
    forward = write(tmp_path, answers, "one.json")
    backward = write(tmp_path, dict(reversed(answers.items())), "two.json")
    one = cli("quiz", LECTURE, *LECTURE_VALUES, "--answers", forward, "--json", "--no-session").json()
    two = cli("quiz", LECTURE, *LECTURE_VALUES, "--answers", backward, "--json", "--no-session").json()
    assert one["questions"] == two["questions"]
    assert one["summary"] == {"first": 5, "hinted": 1, "given": 1, "open": 0, "total": 7}


def test_null_asks_for_a_hint(cli, tmp_path):
    path = write(tmp_path, {"L": [None, 1]})
    document = cli("quiz", LECTURE, *LECTURE_VALUES, "--answers", path, "--json", "--no-session").json()
    L = document["questions"][0]
    assert (L["grade"], L["attempts"], [h["kind"] for h in L["hints"]]) == ("hinted", [None, 1.0], ["rule"])


@pytest.mark.parametrize("answers, message", [
    ({"z": 1}, "the program has no node named `z`"),
    ({"a": "six"}, 'the answer for `a` must be a number or a list of numbers in turn, not "six"'),
    ({"a": []}, "the answer for `a` must be a number or a list of numbers in turn, not []"),
    ([1, 2], "must hold a JSON object of answers, not a list"),
    ("six", "must hold a JSON object of answers, not text"),
])
def test_a_bad_answers_file_is_worded(cli, tmp_path, answers, message):
    path = write(tmp_path, answers)
    result = cli("quiz", LECTURE, *LECTURE_VALUES, "--answers", path, "--no-session")
    assert result.exit_code != 0
    assert f"error: the answers file {path}" in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_number_in_the_program_has_no_gradient_to_find(cli, tmp_path):
    path = write(tmp_path, {"1": 0})
    result = cli("quiz", "L = a * 3", "--a", "2", "--answers", path, "--no-session")
    assert "`3` has no gradient to find: a number in the program, not a variable" in result.stderr


def test_not_json_is_worded(cli, tmp_path):
    path = tmp_path / "answers.json"
    path.write_text("{a: 1}")
    result = cli("quiz", LECTURE, *LECTURE_VALUES, "--answers", str(path), "--no-session")
    assert result.exit_code != 0 and f"the answers file {path} is not JSON" in result.stderr


def test_bad_order_and_tolerance_are_worded_before_any_work(cli):
    result = cli("quiz", "L = a +", "--order", "sideways")
    assert "--order takes backward or free, not `sideways`" in result.stderr
    result = cli("quiz", "L = a +", "--tolerance", "2")
    assert "--tolerance must be above 0 and below 1, not 2" in result.stderr


def test_the_exercise_hides_the_gradients(cli):
    result = cli("quiz", "--seed", "1", "--level", "1")
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines() if line[:3].strip().isdigit()]
    assert rows and all(row[-1] == "?" for row in rows)
    assert "find these 5 gradients by hand" in result.stdout


def test_generated_quiz_answers_are_grads_of_the_exercise(cli):
    quiz = generated(3, 3)
    document = cli("grad", exercise(3, 3), "--json", "--no-session").json()
    assert {q.id: q.grad for q in quiz.questions} == {n["id"]: n["grad"] for n in document["nodes"]
                                                       if n["grad"] is not None}


# -- the worksheet ------------------------------------------------------------------------------
def sheet_parts(text: str):
    """(questions part, answer key part) of a worksheet, split where the key's page starts."""
    head, key = text.split('<section class="key">', 1)
    return head, key


@pytest.mark.parametrize("level", [1, 2, 3])
def test_the_answer_key_is_grad_json_for_every_exercise(cli, tmp_path, level):
    import html
    import re

    path = tmp_path / "sheet.html"
    result = cli("quiz", "--sheet", str(path), "--count", "6", "--seed", "40", "--level", str(level))
    assert result.exit_code == 0, result.stderr
    assert f"wrote {path}: 6 exercises of level {level} (seeds 40 to 45)" in result.stderr
    questions, key = sheet_parts(path.read_text())
    exercises = re.findall(r'<div class="exercise" data-seed="(\d+)">.*?<pre>(.*?)</pre>(.*?)</div>', key, re.S)
    assert [int(seed) for seed, _, _ in exercises] == list(range(40, 46))
    for seed, program, table in exercises:
        program = html.unescape(program)
        assert program == exercise(int(seed), level).strip()
        document = cli("grad", program, "--json", "--no-session").json()
        expected = {n["id"]: n["grad"] for n in document["nodes"] if n["grad"] is not None}
        shown = {int(i): float(g) for i, g in re.findall(r'<td class="num">(\d+)</td>.*?data-grad="([^"]+)"', table)}
        assert shown == expected
    assert "data-grad" not in questions  # the questions' pages give nothing away
    assert questions.count('<td class="blank"></td>') == key.count("data-grad=")


def test_the_answer_key_starts_a_page_of_its_own_and_a_seed_is_the_same_sheet(cli, tmp_path):
    one, two = tmp_path / "one.html", tmp_path / "two.html"
    cli("quiz", "--sheet", str(one), "--count", "3", "--seed", "2", "--level", "3")
    cli("quiz", "--sheet", str(two), "--count", "3", "--seed", "2", "--level", "3")
    assert one.read_bytes() == two.read_bytes()
    text = one.read_text()
    assert ".key { break-before: page; page-break-before: always; }" in text
    assert "<script" not in text


def test_sheet_refusals_are_worded(cli, tmp_path):
    result = cli("quiz", "--sheet", str(tmp_path / "s.html"), "--count", "0")
    assert result.exit_code == 2 and "--count must be from 1 to 100, not 0" in result.stderr
    result = cli("quiz", LECTURE, "--sheet", str(tmp_path / "s.html"))
    assert result.exit_code == 2 and "--sheet makes generated exercises" in result.stderr
    assert not (tmp_path / "s.html").exists()


@pytest.mark.parametrize("kind", ["missing", "folder", "named pipe", "/dev/zero"])
def test_an_odd_answers_path_is_worded_never_a_traceback(installed, tmp_path, kind):
    path = tmp_path / "answers.json"
    if kind == "folder":
        path.mkdir()
    elif kind == "named pipe":
        if not hasattr(os, "mkfifo"):
            pytest.skip("named pipes are POSIX")
        os.mkfifo(path)
    elif kind == "/dev/zero":
        path = "/dev/zero"
    result = installed("quiz", LECTURE, *LECTURE_VALUES, "--answers", str(path), "--no-session", timeout=30)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: the answers file {path} ") and "Traceback" not in result.stderr
    assert {"missing": "does not exist", "folder": "a directory", "named pipe": "a named pipe",
            "/dev/zero": "not a regular file"}[kind] in result.stderr


def test_answers_from_standard_input(cli):
    result = cli("quiz", LECTURE, *LECTURE_VALUES, "--answers", "-", "--json", "--no-session", input='{"a": 6}')
    assert result.json()["summary"]["first"] == 1


def test_a_wrong_answer_left_wrong_is_not_called_unanswered(cli, tmp_path):
    """In a file of answers, a node answered wrongly and never again is "not right yet" with the
    hints it had; a node not in the file is "not answered"; both count as not right yet."""
    (tmp_path / "a.json").write_text('{"L": 1, "b": [5, 7]}')
    result = cli("quiz", "a = 3; b = a + a; L = b * 2", "--answers", str(tmp_path / "a.json"), "--no-session")
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line[:3].strip().isdigit()}
    assert result.exit_code == 0
    assert "5, 7" in rows["b"] and rows["b"].rstrip().endswith("not right yet (2 hints shown)")
    assert rows["a"].rstrip().endswith("not answered") and rows["L"].rstrip().endswith("right first time")
    assert "answer given 0, not right yet 2 (of 3)" in result.stdout
