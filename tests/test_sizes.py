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
def run_measured(*args: str, env: dict | None = None) -> tuple[int, str, float]:
    """Run the installed command; its exit code, stderr and peak resident size in MB (Linux
    reports it in KB), for this child alone (os.wait4)."""
    with open(os.devnull, "rb") as stdin:
        proc = subprocess.Popen([installed_command(), *args], stdin=stdin, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    err = b""
    while True:  # read stderr while it runs, then reap the child with its resource usage
        chunk = proc.stderr.read(65536)
        if not chunk:
            break
        err += chunk
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, err.decode(), usage.ru_maxrss / 1024


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
