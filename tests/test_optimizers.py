"""The optimiser table (scalargrad.optimizers): every row documented and reachable, options
that would have no effect refused, a continued session keeping its optimiser, saved state
checked before a step continues it, numbers that never overflow into the session, the steps
counted against the size budget before any work, and the learning rate evaluated step by step."""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import example, HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from scalargrad import DomainError, UsageError, parse, session
from scalargrad.errors import BudgetError, SessionError
from scalargrad.optimizers import NAMES, ROWS, SETTINGS, check_state
from scalargrad.step import run_steps

DOCS = Path(__file__).resolve().parent.parent / "docs"
TWO = "L = (a - 3)**2 + 10*(b + 1)**2 + a*b"



# -- the table, documented and reachable --------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_every_row_is_documented_and_reachable_from_the_command(name):
    step_md = (DOCS / "step.md").read_text(encoding="utf-8")
    row = ROWS[name]
    assert re.search(rf"\| `{name}`( \(default\))? \| {re.escape(row.formula)} \| {re.escape(row.doc)} \| ", step_md), \
        f"docs/step.md has no row for {name}"
    help_text = run_cli("step", "--help").stdout
    for setting in row.settings:
        assert setting.flag in step_md and setting.flag in help_text
    flags = [flag for setting in row.settings for flag in (setting.flag, repr(setting.default * 0.5))]
    doc = run_cli("step", TWO, "--a", "1", "--b", "2", "--optimizer", name, *flags, "--json", "--no-session").json()
    assert doc["optimizer"] == {"name": name, **{s.name: s.default * 0.5 for s in row.settings}, "t": 1}


def test_the_module_examples_run():
    import doctest

    from scalargrad import optimizers

    assert doctest.testmod(optimizers).failed == 0


def test_the_session_module_names_no_optimiser_and_no_key_of_its_state():
    text = (Path(session.__file__)).read_text(encoding="utf-8")
    code = re.sub(r'""".*?"""', "", text, flags=re.S)  # docstrings may describe the file
    for word in [*NAMES, "velocity", "beta1", "momentum"]:
        assert not re.search(rf"\b{word}\b", code), word


# -- options that would have no effect ----------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.flag)
def test_a_setting_of_another_optimiser_is_an_error_naming_the_one_it_sets(name, setting):
    result = run_cli("step", TWO, "--a", "1", "--b", "2", "--optimizer", name, setting.flag, repr(setting.default),
                     "--no-session")
    if setting in ROWS[name].settings:
        assert result.exit_code == 0, result.stderr
        return
    owner = next(row.name for row in ROWS.values() if setting in row.settings)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"error: {setting.flag} has no effect with {name}\n"
                             f"hint: {setting.flag} is a setting of {owner}: add --optimizer {owner}\n")


def test_momentum_without_the_momentum_optimizer_is_an_error_not_ignored(installed):
    result = installed("step", "L = w*w", "--w", "1", "--momentum", "0.5", "--no-session")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("error: --momentum has no effect with sgd\n"
                             "hint: --momentum is a setting of momentum: add --optimizer momentum\n")


# -- a continued session keeps its optimiser ----------------------------------------------------
def test_a_continued_adam_session_stays_adam_with_its_settings(installed, tmp_path):
    start = ["step", TWO, "--a", "1", "--b", "2", "--descend", "--lr", "0.05", "--json"]
    own = ["--session", str(tmp_path / "s.json")]
    once = installed(*start, "--steps", "6", "--optimizer", "adam", "--beta1", "0.8", "--no-session")
    assert installed(*start, "--steps", "3", "--optimizer", "adam", "--beta1", "0.8", *own).exit_code == 0
    continued = installed("step", "--descend", "--lr", "0.05", "--steps", "3", "--json", *own)
    assert continued.exit_code == 0, continued.stderr
    assert continued.json()["optimizer"] == {"name": "adam", "beta1": 0.8, "beta2": 0.999, "eps": 1e-8, "t": 6}
    assert continued.json()["values"] == once.json()["values"]
    wrong = installed("step", "--momentum", "0.5", *own)
    assert wrong.exit_code == 2
    assert "error: --momentum has no effect with adam (the session's optimizer)" in wrong.stderr


def test_switching_optimiser_in_a_session_starts_it_fresh_and_says_so(cli):
    assert cli("step", TWO, "--a", "1", "--b", "2", "--steps", "4", "--optimizer", "adam").exit_code == 0
    switched = cli("step", "--optimizer", "momentum", "--steps", "2", "--json")
    assert switched.exit_code == 0, switched.stderr
    assert ("note: the session's optimizer was adam (4 steps); momentum starts fresh: its state, and the k of an "
            "--lr expression, start again at 0") in switched.stderr
    assert switched.json()["optimizer"] == {"name": "momentum", "momentum": 0.9, "t": 2}
    saved = json.loads(session.resolve_path().read_text())["optimizer"]
    assert set(saved) == {"name", "t", "settings", "velocity"}  # nothing of Adam's is left


# -- saved state, checked before a step continues it ------------------------------------------
DAMAGED = [
    ({"name": "adamw", "t": 1}, "has no `name` among sgd, momentum, adam, rmsprop (it has `adamw`)"),
    ({"name": "adam", "t": -1}, "has no `t` (a whole number from 0 to 9,007,199,254,740,992)"),
    ({"name": "adam", "t": 1.5}, "has no `t` (a whole number from 0 to 9,007,199,254,740,992)"),
    ({"name": "adam", "t": 1, "m": {"w": 0.1}, "v": {"w": -1.0}}, "has `v` of `w` = -1, below 0 (a mean of squares never is)"),
    ({"name": "adam", "t": 1, "m": {"w": "x"}, "v": {"w": 1.0}}, "has `m` of `w` = `x`, not a finite number"),
    ({"name": "adam", "t": 1, "m": {"w": 0.1}}, "has `m` of `w` but no `v` of it (each input it moves has one of each)"),
    ({"name": "adam", "t": 1, "m": {"q": 0.1}, "v": {"q": 1.0}}, "has `m` of `q`, which is not an input of the program"),
    ({"name": "adam", "t": 1, "m": {"w": 0.1}, "v": {"w": 1.0}, "v_exponent": {"w": 0}},
     "has `v_exponent` of `w` = 0, not a whole number from 1 to 600"),
    ({"name": "momentum", "t": 1, "velocity": {"w": 1.0}, "m": {"w": 1.0}}, "has `m`, which momentum does not keep"),
    ({"name": "adam", "t": 1, "settings": {"beta1": 1.5}},
     "has the setting `beta1`, which must be at least 0 and less than 1, not 1.5"),
    ({"name": "sgd", "t": 1, "settings": {"momentum": 0.9}}, "has the setting `momentum`, which sgd does not have"),
    ({"name": "sgd", "t": 1, "accumulated": {"w": 1e400}}, "has `accumulated` of `w` = inf, not a finite number"),
    ([1, 2], "is not a JSON object"),
]


@pytest.mark.parametrize("state, problem", DAMAGED, ids=lambda value: str(value)[:50])
def test_a_damaged_optimizer_state_stops_step_naming_the_file_key_and_input(tmp_path, state, problem):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format": 2, "program": "L = w*w", "values": {"w": 1}, "optimizer": state},
                               allow_nan=True).replace("Infinity", "1e400"))
    before = path.read_bytes()
    result = run_cli("step", "--session", str(path))
    assert (result.exit_code, result.stdout) == (2, "")
    lines = result.stderr.splitlines()
    error = next(i for i, line in enumerate(lines) if line.startswith("error: "))
    assert lines[error] == f"error: session file {path} is corrupt: its `optimizer` {problem}"
    assert lines[error + 1].startswith(f"hint: `scalargrad session --reset --session {path}` forgets it")
    assert path.read_bytes() == before  # refused: nothing written
    # What is in the state is the optimiser's business: commands that do not step read the session as before.
    assert run_cli("grad", "--session", str(path)).exit_code == (0 if isinstance(state, dict) else 2)


def test_a_negative_second_moment_is_refused_in_words_not_a_math_domain_error(installed, tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format": 2, "program": "L = w*w", "values": {"w": 1.0},
                                "optimizer": {"name": "adam", "t": 3, "m": {"w": 0.5}, "v": {"w": -0.25}}}))
    result = installed("step", "--optimizer", "adam", "--session", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.stderr and "math domain error" not in result.stderr
    assert "its `optimizer` has `v` of `w` = -0.25, below 0 (a mean of squares never is)" in result.stderr


JSONISH = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**400), st.floats(allow_nan=True), st.text(max_size=4))
STATES = st.fixed_dictionaries(
    {"name": st.sampled_from([*NAMES, "adamw", 3]), "t": st.one_of(st.integers(-2, 10**6), JSONISH)},
    optional={key: st.dictionaries(st.sampled_from(["a", "b", "q", "W[0]"]),
                                   st.one_of(JSONISH, st.floats(-1e308, 1e308), st.integers(0, 700)), max_size=3)
              for key in ["m", "v", "v_exponent", "velocity", "accumulated"]}
    | {"settings": st.dictionaries(st.sampled_from(["beta1", "beta2", "eps", "momentum", "alpha", "x"]),
                                   st.one_of(JSONISH, st.floats(-2, 2)), max_size=3)})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=STATES, optimizer=st.sampled_from([None, *NAMES]), zero_grad=st.booleans())
def test_any_saved_state_is_refused_in_words_or_continued_into_a_finite_state(state, optimizer, zero_grad):
    program = parse("L = (a - 3)**2 + 10*(b + 1)**2 + a*b")
    try:
        check_state(state, program.inputs)
    except UsageError as error:
        assert error.message.startswith("the optimizer state ")
        return
    try:
        report = run_steps(program, {"a": 1.0, "b": 2.0}, state=state, optimizer=optimizer, steps=2, descend=True,
                           zero_grad=zero_grad)
    except DomainError as error:  # a saved velocity of 1e308 may well take x past the floats: refused, located
        assert re.match(r"step \d of 2: ", error.message), error.message
        return
    json.dumps(report.state.to_json(), allow_nan=False)  # nothing that is not finite
    check_state(report.state.to_json(), program.inputs)  # and what it keeps, it can continue


# -- numbers at the edges: nothing that is not finite reaches a session ----------------------------
def test_adam_with_a_gradient_of_1e160_moves_by_the_rate_and_saves_a_finite_session(installed, tmp_path):
    path = tmp_path / "s.json"
    result = installed("step", "L = 1e160*a", "--a", "1", "--optimizer", "adam", "--json", "--session", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.json()["values"] == {"a": 1.01}  # Adam moves by about lr, whatever the gradient's scale
    saved = json.loads(path.read_text())
    v, exponent = saved["optimizer"]["v"]["a"], saved["optimizer"]["v_exponent"]["a"]
    assert float(Fraction(v) * 4**exponent / 10**317) == pytest.approx(1, rel=1e-15)  # (1 - 0.999) * 1e160**2, scaled
    continued = installed("step", "--steps", "3", "--json", "--session", str(path))
    assert continued.exit_code == 0, continued.stderr
    assert continued.json()["values"]["a"] == pytest.approx(1.04, rel=1e-14)


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
@settings(max_examples=300, deadline=None)
@given(gradients=st.lists(st.floats(1e-100, 1e100) | st.floats(-1e100, -1e-100), min_size=1, max_size=4),
       shift=st.integers(0, 1000), t=st.integers(0, 50))
def test_the_scaled_second_moment_gives_the_same_digits_as_the_plain_formula(name, gradients, shift, t):
    """Adam and RMSprop are invariant under scaling the gradients (and eps) by a power of two,
    and so is their arithmetic here, to the last bit: gradients too large to square (from
    1.34e154) move x exactly as the same gradients scaled down do, step after step."""
    row = ROWS[name]
    plain = {setting.name: setting.default for setting in row.settings}
    scaled = {**plain, "eps": math.ldexp(plain["eps"], shift)}
    assume(max(abs(g) for g in gradients) * 2.0**shift < 1.7e308)  # the scaled ones are floats
    x, y = {"x": 0.5}, {"x": 0.5}
    slots_x, slots_y = ({slot.name: {} for slot in row.state} for _ in range(2))
    for k, g in enumerate(gradients, start=t + 1):
        x = row.update(x, {"x": g}, ["x"], 0.01, k, slots_x, plain)
        y = row.update(y, {"x": math.ldexp(g, shift)}, ["x"], 0.01, k, slots_y, scaled)
        assert x == y
        assert all(math.isfinite(value) for values in slots_y.values() for value in values.values())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scale=st.floats(1e-300, 1.7e308), sign=st.sampled_from([1, -1]), optimizer=st.sampled_from(NAMES),
       zero_grad=st.booleans(), lr=st.sampled_from([1e-320, 1e-3, 0.5]), freeze=st.sampled_from([[], ["f"]]))
# the prediction's terms each a float, their running sum past the largest (math.fsum raised OverflowError)
@example(scale=4.73e306, sign=-1, optimizer="rmsprop", zero_grad=True, lr=0.5, freeze=[])
def test_any_gradient_gives_a_finite_state_or_a_located_refusal(scale, sign, optimizer, zero_grad, lr, freeze):
    program = parse(f"L = {sign * scale!r}*a*f + b*b")  # f's gradient is as large as a's, frozen or not
    try:
        report = run_steps(program, {"a": 1.0, "b": 0.5, "f": 1.0}, optimizer=optimizer, steps=4, lr=lr,
                           zero_grad=zero_grad, freeze=freeze)
    except DomainError as error:
        assert re.match(r"step \d of 4: ", error.message), error.message
        return
    document = {"values": report.final, "state": report.state.to_json(), "history": report.history}
    json.dumps(document, allow_nan=False)


def test_a_refused_step_leaves_the_session_byte_for_byte(installed, tmp_path):
    # 1e308 * a: momentum's b = g fits; b = 0.9 * g + g does not.
    path = tmp_path / "s.json"
    first = installed("step", "L = 1e308*a", "--a", "1", "--optimizer", "momentum", "--lr", "1e-320",
                      "--session", str(path))
    assert first.exit_code == 0, first.stderr
    before = path.read_bytes()
    refused = installed("step", "--lr", "1e-320", "--session", str(path))
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "error: step 1: momentum's `velocity` of `a` is no longer a finite number (-inf)" in refused.stderr
    assert path.read_bytes() == before


def test_the_session_is_never_written_with_a_number_that_is_not_finite(tmp_path):
    path = tmp_path / "s.json"
    session.start(path, "L = w*w", {"w": 1.0})
    before = path.read_bytes()
    with pytest.raises(SessionError, match="not saving session file .*Out of range float"):
        with session.transaction(path) as current:
            current.optimizer = {"name": "momentum", "t": 1, "velocity": {"w": math.inf}}
    assert path.read_bytes() == before


# -- the steps, counted against the budget before any work -----------------------------------------
def test_a_trillion_steps_are_refused_before_any_step_with_the_way_to_allow_them(cli, monkeypatch):
    from scalargrad import optimizers

    evaluated = []
    at = optimizers.LearningRate.at
    monkeypatch.setattr(optimizers.LearningRate, "at", lambda self, k, start=0: evaluated.append(k) or at(self, k, start))
    result = cli("step", "L = a*b", "--a", "1", "--b", "2", "--steps", "1000000000000", "--lr", "0.1/(1 + k)",
                 "--no-session")
    assert (result.exit_code, result.stdout, evaluated) == (2, "", [])
    assert result.stderr == (
        "error: 1,000,000,000,000 steps of a 3-node graph are 3,000,000,000,000 node evaluations; the budget allows "
        "2,000,000,000 (1,000 per node of --budget 2,000,000)\n"
        "hint: take fewer --steps (a session continues where the last run stopped), or raise it with --budget "
        "3000000000 (or SCALARGRAD_BUDGET=3000000000)\n")


def test_the_budget_bounds_steps_the_same_way_as_every_command(cli, monkeypatch):
    args = ["step", "L = a*b", "--a", "1", "--b", "2", "--steps", "1001", "--no-session", "--json"]
    refused = cli(*args, "--budget", "3")  # 3 nodes * 1,001 steps = 3,003 evaluations; 3,000 allowed
    assert refused.exit_code == 2 and "--budget 4 (or SCALARGRAD_BUDGET=4)" in refused.stderr
    assert cli(*args, "--budget", "4").json()["steps"] == 1001
    monkeypatch.setenv("SCALARGRAD_BUDGET", "3")
    assert cli(*args).exit_code == 2
    with pytest.raises(BudgetError):
        run_steps("L = a*b", {"a": 1, "b": 2}, steps=1001)


# -- the learning rate, step by step --------------------------------------------------------------
def test_a_rate_is_evaluated_step_by_step_and_a_bad_one_found_at_its_step():
    done = []
    with pytest.raises(UsageError, match=r"the learning rate `0.01\*\(k - 5\)\*\*2` is 0 at k = 5"):
        run_steps("L = w*w", {"w": 1.0}, lr="0.01*(k - 5)**2", steps=10, progress=done.append)
    assert done == [1, 2, 3, 4, 5]  # k = 0 .. 4 were stepped before k = 5 was evaluated


def test_a_rate_bad_at_the_last_step_stops_before_the_first():
    done = []
    with pytest.raises(UsageError, match=r"is 0 at k = 10: "):
        run_steps("L = w*w", {"w": 1.0}, lr="0.1 - 0.01*k", steps=20, progress=done.append)
    assert done == []


def test_a_million_steps_keep_no_list_of_rates_up_front(monkeypatch):
    from scalargrad import optimizers

    calls = []
    at = optimizers.LearningRate.at
    monkeypatch.setattr(optimizers.LearningRate, "at", lambda self, k, start=0: calls.append(k) or at(self, k, start))
    stopped = []

    def stop_after_three(k):
        stopped.append(k)
        if k == 3:
            raise KeyboardInterrupt

    report = run_steps("L = w*w", {"w": 1.0}, lr="0.001/(1 + k)", steps=1_000_000, descend=True,
                       progress=stop_after_three)
    assert report.interrupted and report.steps == 3
    assert calls == [0, 999_999, 0, 1, 2]  # the first and last rate up front, then one per step


# -- the --no-zero-grad warning ---------------------------------------------------------------------
def test_the_no_zero_grad_warning_blames_the_summed_gradients_not_the_rate(cli):
    result = cli("step", "L = (w*x - y)**2", "--w", "0", "--x", "2", "--y", "6", "--descend", "--freeze", "x,y",
                 "--steps", "12", "--no-zero-grad", "--no-session")
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warning: step "))
    assert "learning rate" not in warning and "--lr" not in warning
    assert warning.endswith("with --no-zero-grad the gradients add up over the steps, so each step moves by the sum "
                            "of all the gradients so far, which still points where the inputs used to be; without "
                            "--no-zero-grad each step follows its own gradient")
    plain = cli("step", "L = (w*x - y)**2", "--w", "0", "--x", "2", "--y", "6", "--descend", "--freeze", "x,y",
                "--lr", "0.3", "--no-session")
    assert "the learning rate is too large for this program here; try --lr 0.03" in plain.stderr
