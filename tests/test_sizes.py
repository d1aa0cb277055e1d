"""Every size bounded before the work starts: the size budget (`--budget NODES`,
$SCALARGRAD_BUDGET) held by the parser, operation by operation, before any node is made.

Generated programs whose graph is over the budget are refused with the estimate, the limit
and the way to raise it, having used little memory (measured: tracemalloc in the process,
the peak resident size of the installed command); those under it run, and have exactly
the nodes counted. A node here is one the operation makes: constants that fold into one
(`2 * 3` into 6) are counted as made, so the generated programs make none that fold.
"""

from __future__ import annotations

import os
import re
import subprocess
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import installed_command, run_cli
from test_def import programs as def_programs
from scalargrad import budget, parse
from scalargrad.errors import BudgetError

MB = 1 << 20


# -- programs whose size is known from their text ---------------------------------------------------
def broadcast(m: int, n: int) -> tuple[str, int]:
    return f"A = zeros([{m}, 1])\nB = zeros([1, {n}])\nL = sum(A + B)", m + n + m * n + (m * n - 1)


def product(m: int, n: int, p: int) -> tuple[str, int]:
    return f"A = zeros([{m}, {n}])\nB = zeros([{n}, {p}])\nL = sum(A @ B)", \
        m * n + n * p + m * p * (2 * n - 1) + m * p - 1


def chain(k: int) -> tuple[str, int]:
    """f_k calls f_(k-1) twice: 2**(k+1) - 1 nodes a call, and the inputs x and y."""
    lines = ["x = 0.5", "def f0(p) = p * x"] + [f"def f{j}(p) = f{j - 1}(p) + f{j - 1}(p)" for j in range(1, k + 1)]
    return "\n".join(lines + [f"L = f{k}(y)"]), 2 + 2 ** (k + 1) - 1


def flat(n: int) -> tuple[str, int]:
    """A sum of n terms written out: x and n - 1 sums."""
    return "L = " + " + ".join(["x"] * n), n


def initialised(m: int, n: int) -> tuple[str, int]:
    return f"W = uniform(-1, 1, [{m}, {n}])\nL = sum(W)", 2 * m * n - 1


def data_column(n: int) -> tuple[str, int]:
    return "L = sum(x * w)", n + n + n - 1 + 1  # the column, the products, the sums, and w


sizes = st.integers(2, 4000)
generated = st.one_of(
    st.builds(broadcast, sizes, sizes),
    st.builds(product, st.integers(2, 300), st.integers(2, 300), st.integers(2, 300)),
    st.builds(chain, st.integers(0, 40)),
    st.builds(initialised, sizes, sizes),
    st.builds(flat, st.integers(2, 60_000)),
)


def parsed_under(limit: int, text: str, **options):
    with budget.limit(limit):
        return parse(text, **options)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated, st.integers(100, 150_000))
def test_a_program_over_the_budget_is_refused_before_it_is_built_and_one_under_it_runs(program, limit):
    text, count = program
    if count <= limit:
        assert len(parsed_under(limit, text).nodes) == count
        return
    tracemalloc.start()
    try:
        with pytest.raises(BudgetError) as refused:
            parsed_under(limit, text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * MB
    message = refused.value.format()
    assert f"the budget is {limit:,}" in message and "^" in message, message
    needed = int(re.search(r"--budget (\d+) \(or SCALARGRAD_BUDGET=\1\)", message)[1])
    assert needed > limit


def test_the_estimate_is_the_count_of_what_the_budget_then_allows():
    text, count = broadcast(30, 40)
    with pytest.raises(BudgetError) as refused:
        parsed_under(1000, text)
    needed = int(re.search(r"--budget (\d+)", refused.value.hint)[1])
    assert needed == 30 + 40 + 30 * 40  # the parameters and the broadcast; the sum comes next
    with pytest.raises(BudgetError) as again:  # allowed now, the sum is refused at its turn
        parsed_under(needed, text)
    assert "`sum(A + B)` makes 1,199 nodes" in again.value.message
    assert len(parsed_under(count, text).nodes) == count


def test_a_data_column_counts_against_the_budget():
    text, count = data_column(5000)
    columns = {"x": [float(k) for k in range(5000)]}
    with pytest.raises(BudgetError, match="`x` makes 5,000 nodes"):
        parsed_under(4000, text, data=columns)
    assert len(parsed_under(count, text, data=columns).nodes) == count


def test_a_call_is_counted_through_every_call_in_its_body_per_shape():
    text = "def row(v) = sum(v * v)\ndef twice(M) = row(M) + row(transpose(M))\nW = zeros([50, 40])\nL = twice(W)"
    program = parsed_under(10_000, text)
    assert len(program.nodes) == 2000 + 2 * (2000 + 1999) + 1
    with pytest.raises(BudgetError, match=r"`twice\(W\)` makes 7,999 nodes, which would bring the program to "
                                          r"9,999 nodes; the budget is 9,998"):
        parsed_under(9998, text)


def test_a_body_that_does_not_fit_its_arguments_says_where_before_the_budget():
    text = "def f(v) = sum(v * [1, 2, 3])\nW = zeros([4])\nL = f(W)"
    with pytest.raises(Exception) as raised:
        parsed_under(10, text)
    assert "cannot multiply shapes (4,) and (3,)" in raised.value.format() and "called here" in raised.value.format()


def test_the_budget_comes_from_the_environment_or_the_option(monkeypatch):
    text = broadcast(100, 100)[0]
    monkeypatch.setenv("SCALARGRAD_BUDGET", "5000")
    with pytest.raises(BudgetError, match="the budget is 5,000"):
        parse(text)
    assert len(parsed_under(30_000, text).nodes) == broadcast(100, 100)[1]


# -- the issue's examples, run as a user runs them ------------------------------------------------
# Runs the command from a small Python and prints its peak resident size: measured from the test
# process itself, a child would inherit the test process's own peak (Linux keeps the high-water
# mark across fork and exec), however little the command itself uses.
_MEASURE = ("import resource, subprocess, sys\n"
            "done = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(done.returncode)\n")


def run_measured(*args: str, env: dict | None = None) -> tuple[int, str, float]:
    """Run the installed command; its exit code, stderr and peak resident size in MB (Linux
    reports it in KB)."""
    import sys

    done = subprocess.run([sys.executable, "-c", _MEASURE, installed_command(), *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=600)  # a hang-stopper only
    err, _, peak = done.stderr.rstrip("\n").rpartition("\n")
    return done.returncode, err + "\n", int(peak) / 1024


CHAIN_25 = chain(25)[0]
ISSUE = [
    (["grad", "L = sum(zeros([3000, 1]) + zeros([1, 3000]))"],
     "`zeros([3000, 1]) + zeros([1, 3000])` makes 9,000,000 nodes"),
    (["grad", "W = zeros([300, 300]); L = sum(W @ W)"], "`W @ W` makes 53,910,000 nodes"),
    (["grad", CHAIN_25, "--y", "1"], "`f25(y)` makes 67,108,863 nodes"),
    (["check", CHAIN_25, "--y", "1"], "`f25(y)` makes 67,108,863 nodes"),
    (["sweep", CHAIN_25, "--y", "0:1:0.5"], "`f25(y)` makes 67,108,863 nodes"),
]


@pytest.mark.parametrize("args, words", ISSUE)
def test_the_issues_programs_are_refused_with_little_memory(args, words):
    code, err, megabytes = run_measured(*args, "--no-session")
    assert code == 2 and words in err, err
    assert "the budget is 2,000,000" in err and "hint: " in err and "--budget" in err and "SCALARGRAD_BUDGET=" in err
    assert "Traceback" not in err
    assert megabytes < 200, megabytes


def test_a_long_program_over_a_small_budget_is_refused_by_its_line():
    text = "\n".join(f"t{k} = x * {k} + 1" for k in range(3000)) + "\nL = t0"
    code, err, megabytes = run_measured("grad", text, "--x", "1", "--no-session", env={"SCALARGRAD_BUDGET": "1000"})
    assert code == 2 and "by this line the program has" in err and "the budget is 1,000" in err, err
    assert megabytes < 200


def test_the_option_raises_the_budget():
    text = broadcast(40, 40)[0]
    refused = run_cli("grad", text, "--budget", "1000", "--no-session")
    assert refused.exit_code == 2 and "the budget is 1,000" in refused.stderr
    assert run_cli("grad", text, "--budget", str(broadcast(40, 40)[1]), "--no-session").exit_code == 0


# -- counts given on the command line -------------------------------------------------------------
def test_a_billion_expect_points_are_refused_before_any_work():
    code, err, megabytes = run_measured("check", "L = x**2", "--x", "3", "--expect", "x: 2*x", "--points",
                                        "1000000000", "--no-session")
    assert code == 2, err
    assert ("--points 1,000,000,000: 1,000,000,001 runs of a 3-node graph are 3,000,000,003 node evaluations; "
            "the budget allows 2,000,000,000") in err
    assert "hint: use fewer --points, or raise it with --budget 3000001 (or SCALARGRAD_BUDGET=3000001)" in err
    assert megabytes < 200


def test_expect_points_show_progress_and_are_made_one_at_a_time():
    from scalargrad.expect import points, verify

    program = parse("L = x**2")
    seen = []
    verify(program, {"x": 3.0}, ["x: 2*x"], count=4, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    program.evaluate({"x": 3.0})
    assert next(iter(points(program, 10**12))) == {"x": 3.0}  # a generator: nothing made ahead


def test_check_shows_a_progress_bar_for_expect(monkeypatch):
    import scalargrad.render

    told = []

    class Recording(scalargrad.render.DelayedProgress):
        def __init__(self, description, enabled, delay=1.0):
            told.append(description)
            super().__init__(description, False)

        def __call__(self, done, total, description=None):
            if description is not None and description != told[-1]:
                told.append(description)

    monkeypatch.setattr(scalargrad.render, "DelayedProgress", Recording)
    assert run_cli("check", "L = x**2", "--x", "3", "--expect", "x: 2*x", "--no-session").exit_code == 0
    assert told == ["checking gradients", "checking --expect"]  # one bar, told what it shows


@pytest.mark.parametrize("where", ["scalargrad.expect._gradients_at", "scalargrad.check._Checker.check"])
def test_ctrl_c_stops_check_cleanly(monkeypatch, where):
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        raise KeyboardInterrupt  # as Ctrl-C arrives, here at a known point rather than after a sleep

    monkeypatch.setattr(where, interrupted)
    result = run_cli("check", "L = x**2 + y", "--x", "3", "--y", "1", "--expect", "x: 2*x", "--no-session")
    assert calls and result.exit_code == 130
    assert result.stderr == "interrupted: stopped before the result (Ctrl-C)\n" and result.stdout == ""


def test_sweep_from_python_uses_the_programs_defaults():
    from scalargrad.errors import InputError
    from scalargrad.sweep import sweep

    report = sweep(parse("w = 0.5; L = w*s"), {}, ranges={"s": "-1:1:0.5"})
    assert report.output.tolist() == [-0.5, -0.25, 0.0, 0.25, 0.5] and report.fixed == {"w": 0.5}
    with pytest.raises(InputError, match="missing values for w"):
        sweep(parse("L = w*s"), {}, ranges={"s": "-1:1:0.5"})


def test_a_range_wider_than_a_float_is_swept():
    result = run_cli("sweep", "y = x / 1e308", "--x", "-1e308:1e308:1e307", "--json", "--no-session")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["points"] == 21 and doc["inputs"]["x"][0] == -1e308 and doc["inputs"]["x"][-1] == 1e308
    assert doc["inputs"]["x"][10] == 0.0 and doc["values"][:2] == [-1.0, -0.9]


def test_a_sweep_over_the_budget_is_refused_before_any_point():
    code, err, megabytes = run_measured("sweep", "y = x * z", "--x", "0:1e12:1", "--z", "0:1:1", "--no-session")
    assert code == 2 and "the grid would have 2,000,000,000,002 points" in err and "--budget" in err, err
    assert megabytes < 200
    many = "L = " + " + ".join(f"tanh(x * {k})" for k in range(700))  # x, then k, x * k, tanh and + a term
    refused = run_cli("sweep", many, "--x", "0:1:0.0002", "--budget", "5000", "--no-session")
    assert refused.exit_code == 2
    assert ("the grid would have 5,001 points (5,001 (x)): runs of a 2,800-node graph are 14,002,800 node evaluations; "
            "the budget allows 5,000,000") in refused.stderr


def test_a_sweep_of_a_big_graph_takes_its_points_in_chunks_of_bounded_memory(monkeypatch):
    from scalargrad import sweep as sweeps

    sizes = []
    real = sweeps.run_pass

    def recorded(program, leaves, of=None):
        sizes.append(max(len(v) if hasattr(v, "__len__") else 1 for v in leaves.values()))
        return real(program, leaves, of)

    monkeypatch.setattr(sweeps, "run_pass", recorded)
    monkeypatch.setattr(sweeps, "PASS_NUMBERS", 10_000)
    program = parse("L = " + " + ".join(f"tanh(x * {k})" for k in range(100)))  # 301 nodes
    report = sweeps.sweep(program, {}, ranges={"x": "0:1:0.001"})
    assert report.size == 1001 and sum(sizes) == 1001 and max(sizes) * len(program.nodes) <= 10_000


def test_a_page_over_the_budget_is_refused_before_it_is_made(tmp_path):
    many = "L = " + " + ".join(f"tanh(x * {k})" for k in range(500))
    page = tmp_path / "graph.html"
    result = run_cli("dot", many, "--x", "1", "-o", str(page), "--budget", "5000", "--no-session")
    assert result.exit_code == 2 and "the page of 2,000 nodes would be about 1.4 MB; the budget allows 0.5 MB" in result.stderr
    assert "--budget 14079" in result.stderr and not page.exists()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(def_programs())
def test_a_calls_count_is_never_below_what_it_makes(pair):
    """Over generated programs with nested, constant and unused definitions (test_def's):
    each call of a `def` adds at most the nodes counted before it was expanded."""
    from scalargrad.language import _Builder

    with_def, _ = pair
    counted, made = [], []
    real_size, real_expand = _Builder._call_size, _Builder._expand

    def size(self, function, arguments):
        counted.append(real_size(self, function, arguments))
        return counted[-1]

    def expand(self, function, arguments, start, end):
        before = len(self.nodes)
        output = real_expand(self, function, arguments, start, end)
        made.append(len(self.nodes) - before)
        return output

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_Builder, "_call_size", size)
        patch.setattr(_Builder, "_expand", expand)
        parse(with_def)
    assert len(counted) == len(made) and all(m <= c for m, c in zip(made, counted)), (with_def, counted, made)
