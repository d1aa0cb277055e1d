"""`scalargrad code`: the emitted Python, NumPy, JavaScript and C give every gradient `grad --json`
gives, to 1e-12 relative, on the examples of docs/examples and on generated programs over every row
of the table; the C compiles without a warning; kinks, domains and undefined gradients behave as in
`grad`. The code runs only in other processes (a Python, Node.js, the C compiler's program)."""

import ast
import csv
import json
import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generated_programs import cases
from scalargrad import parse
from scalargrad.codegen import LANGUAGES, STRAIGHT_LIMIT, code, emit_code
from scalargrad.coderun import run
from scalargrad.reroll import Node, reroll, unroll
from scalargrad.gradients import gradients

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
LECTURE = ["L = (a*b + c) * f", "--a", "2", "--b", "-3", "--c", "10", "--f", "-2"]
NODE = shutil.which("node")
RUNNABLE = ["python", "numpy", "c"] + (["javascript"] if NODE else [])
C_FLAGS = ["-O2", "-std=c99", "-Wall", "-Wextra"]


def close(expected: float | None, got: float) -> bool:
    """`grad --json`'s gradient (None: undefined) and the code's, to 1e-12 relative."""
    if expected is None:
        return got != got
    return expected == got or abs(expected - got) <= 1e-12 * max(abs(expected), abs(got))


# -- many programs at once: one process per language ----------------------------------------------
_PY = textwrap.dedent("""
    import importlib, json, sys
    sys.path.insert(0, sys.argv[1])
    numpy = sys.argv[2] == "numpy"
    if numpy:
        import numpy as np
    for line in open(sys.argv[3]):
        case = json.loads(line)
        module = importlib.import_module(case["module"])
        values = {k: (np.array([v]) if numpy else v) for k, v in case["values"].items()}
        value, grads = module.forward_backward(**values) if case["by_name"] else module.forward_backward(values)
        one = (lambda x: float(np.asarray(x, dtype=float).reshape(-1)[0])) if numpy else float
        print(json.dumps({"value": repr(one(value)), "gradients": {k: repr(one(g)) for k, g in grads.items()}}))
""")
_JS = textwrap.dedent("""
    const fs = require("fs");
    const show = (x) => Number.isNaN(x) ? "nan" : x.toPrecision(17);
    for (const line of fs.readFileSync(process.argv[2], "utf8").trim().split("\\n")) {
      const c = JSON.parse(line);
      const r = require(process.argv[1] + "/" + c.module + ".js").forwardBackward(c.values);
      const grads = Object.fromEntries(Object.entries(r.gradients).map(([k, g]) => [k, show(g)]));
      console.log(JSON.stringify({value: show(r.value), gradients: grads}));
    }
""")


def run_many(language: str, programs: list, folder: Path) -> list[dict]:
    """Run each (program, values) in `language`, all in one process (C: one compiler run)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (program, values) in enumerate(programs):
        report = code(program, language)
        suffix = {"javascript": "js", "c": "c"}.get(language, "py")
        (folder / f"g{i}.{suffix}").write_text(report.code)
        lines.append(json.dumps({"module": f"g{i}", "values": values, "by_name": report.by_name}))
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n")
    if language in ("python", "numpy"):
        command = [sys.executable, "-c", _PY, str(folder), language, str(folder / "cases.jsonl")]
    elif language == "javascript":
        command = [NODE, "-e", _JS, str(folder), str(folder / "cases.jsonl")]
    else:
        command = [str(compile_many(programs, folder))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def compile_many(programs: list, folder: Path) -> Path:
    """Each program's C in a file of its own (its function renamed), one main calling them all,
    compiled in one run of cc with -Wall -Wextra: no warning allowed."""
    main = ["#include <math.h>", "#include <stdio.h>"]
    calls = []
    for i, (program, values) in enumerate(programs):
        (folder / f"w{i}.c").write_text(f"#define forward_backward fb{i}\n#define scalargrad_input_names names{i}\n"
                                        f'#include "g{i}.c"\n')
        names = list(program.inputs)
        main += [f"int fb{i}(const double *in, double *out, double *grad, const char **error);",
                 f"extern const char *const names{i}[{len(names)}];"]
        numbers = ", ".join(repr(float(values[n])) for n in names)
        calls.append(f"    {{ static const double in[{len(names)}] = {{{numbers}}}; double grad[{len(names)}]; "
                     f"double out; const char *error; fb{i}(in, &out, grad, &error); show(out, grad, {len(names)}, names{i}); }}")
    main += ["static void one(double x) { if (isnan(x)) printf(\"\\\"nan\\\"\"); else printf(\"\\\"%.17g\\\"\", x); }",
             "static void show(double out, const double *grad, int n, const char *const *names)", "{",
             "    printf(\"{\\\"value\\\": \"); one(out); printf(\", \\\"gradients\\\": {\");",
             "    for (int i = 0; i < n; i++) { printf(\"%s\\\"%s\\\": \", i ? \", \" : \"\", names[i]); one(grad[i]); }",
             "    printf(\"}}\\n\");", "}", "int main(void)", "{", *calls, "    return 0;", "}"]
    (folder / "main.c").write_text("\n".join(main) + "\n")
    sources = [str(folder / f"w{i}.c") for i in range(len(programs))] + [str(folder / "main.c")]
    built = subprocess.run(["cc", *C_FLAGS, "-o", str(folder / "all"), *sources, "-lm"], capture_output=True,
                           text=True, timeout=900)
    assert built.returncode == 0 and not built.stderr, built.stderr[-3000:]
    return folder / "all"


def expected_of(program, values) -> tuple[float, dict[str, float | None]]:
    """What `grad --json` gives: the output's value and each input's gradient (null: undefined)."""
    document = gradients(program, values).to_json()
    return document["of"]["value"], {name: record["grad"] for name, record in document["inputs"].items()}


def assert_all_agree(language: str, programs: list, folder: Path) -> None:
    results = run_many(language, programs, folder)
    assert len(results) == len(programs)
    for (program, values), result in zip(programs, results):
        value, grads = expected_of(program, values)
        assert close(value, float(result["value"])), (language, program.source, values)
        for name, grad in grads.items():
            assert close(grad, float(result["gradients"][name])), (language, program.source, values, name)


# -- the examples of the docs ----------------------------------------------------------------------
def example_programs() -> list:
    rows = list(csv.DictReader(open(EXAMPLES / "moons.csv")))
    data = {k: [float(r[k]) for r in rows] for k in rows[0]}
    mlp = parse((EXAMPLES / "mlp.sg").read_text())
    moons = parse((EXAMPLES / "moons.sg").read_text(), seed=1337, data=data)
    lecture = parse("e = a*b; d = e + c; L = d * f")
    neuron = parse("n = x1*w1 + x2*w2 + b; o = tanh(n)")
    return [(lecture, {"a": 2, "b": -3, "c": 10, "f": -2}),
            (neuron, {"x1": 2, "x2": 0, "w1": -3, "w2": 1, "b": 6.8813735870195432}),
            (mlp, {n: v.data for n, v in mlp.inputs.items()}), (moons, {n: v.data for n, v in moons.inputs.items()})]


@pytest.mark.parametrize("language", [pytest.param(language, marks=pytest.mark.slow) if language in ("c", "javascript") else language
                                      for language in RUNNABLE])
def test_the_examples_give_grads_gradients(language, tmp_path):
    assert_all_agree(language, example_programs(), tmp_path)


def test_node_is_installed_here_or_the_javascript_tests_say_why_not():
    if NODE is None:
        pytest.skip("Node.js is not installed: the JavaScript code is checked for its text only")


# -- generated programs over every row ----------------------------------------------------------
GENERATED = cases(200, 1, seed=11)


@pytest.mark.parametrize("language", RUNNABLE)
def test_generated_programs_give_grads_gradients(language, tmp_path):
    programs = [(parse(text), points[0]) for text, points in GENERATED[:40]]
    assert_all_agree(language, programs, tmp_path)


@pytest.mark.slow  # 200 programs, and for C one compiler run over 200 files: tens of seconds
@pytest.mark.parametrize("language", RUNNABLE)
def test_200_generated_programs_give_grads_gradients(language, tmp_path):
    programs = [(parse(text), points[0]) for text, points in GENERATED]
    assert_all_agree(language, programs, tmp_path)


# -- shapes: straight-line for small programs, loops for big ones ----------------------------------
def test_the_lecture_is_straight_line_code_named_after_the_program():
    text = emit_code(parse("e = a*b; d = e + c; L = d * f"), "python")
    assert "    e = a * b  # [2] e = a*b\n" in text
    assert "    dd = dL * f  # [6] product: dL/dd = f\n" in text
    assert "    de = dd  # [4] sum: dd/de = 1\n" in text
    assert "    da = de * b  # [2] product: de/da = b\n" in text
    ast.parse(text)


def test_a_model_is_loops_over_arrays_and_rolling_up_is_exact():
    program = example_programs()[3][0]
    report = code(program, "c")
    assert report.shape == "loops" and report.code.count("\n") < 600  # 65,000 nodes
    made = [Node(program.node_id(n), n._op, tuple(program.node_id(p) for p in n._prev)) for n in program.nodes if n._prev]
    assert unroll(reroll(made)) == made


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from("+*"), st.integers(1, 4), st.integers(0, 3), st.integers(-2, 2)),
                min_size=1, max_size=6), st.integers(1, 12))
def test_rolling_up_then_unrolling_gives_the_nodes_back(pattern, repeats):
    nodes, next_id = [], 100
    for turn in range(repeats):
        for op, width, start, step in pattern:
            nodes.append(Node(next_id, op, tuple(start + step * turn + j for j in range(width % 3 + 1))))
            next_id += 1
    assert unroll(reroll(nodes)) == nodes


def test_straight_line_up_to_the_limit():
    small = parse(" + ".join(f"x{i}*y{i}" for i in range(STRAIGHT_LIMIT // 2)))
    assert code(small, "python").shape == "straight-line"
    big = parse(" + ".join(f"x{i}*y{i}" for i in range(STRAIGHT_LIMIT)))
    assert code(big, "python").shape == "loops"


# -- names that are words of the target language ---------------------------------------------------
WORDS = ["int", "double", "function", "lambda", "new", "math", "np", "v", "g", "i", "values", "in", "class", "Math",
         "NaN", "out", "error", "float", "pow", "exp", "locals", "gradients", "require", "NODES"]


@pytest.mark.parametrize("language", RUNNABLE)
def test_names_that_are_keywords_are_renamed_safely(language, tmp_path):
    text = "t = " + " + ".join(f"{w} * {w}" for w in WORDS[:10]) + "; L = t * (" + " - ".join(WORDS[10:]) + ")"
    program = parse(text)
    values = {name: 0.1 * (i + 1) for i, name in enumerate(program.inputs)}
    assert_all_agree(language, [(program, values)], tmp_path)


# -- kinks, domains and undefined gradients, as in grad ---------------------------------------------
@pytest.mark.parametrize("language", RUNNABLE)
def test_kinks_take_grads_convention(language, tmp_path):
    programs = [(parse("L = relu(x) * y + abs(x) + max(x, y) + min(y, x)"), {"x": 0.0, "y": 0.0}),
                (parse("L = heaviside(x) + sign(x) * x"), {"x": 0.0})]
    assert_all_agree(language, programs, tmp_path)


@pytest.mark.parametrize("language", RUNNABLE)
def test_an_undefined_gradient_is_nan_as_grad_gives_null(language, tmp_path):
    programs = [(parse("L = x ** y"), {"x": -2.0, "y": 3.0})]  # d/dy needs log(-2): undefined
    assert expected_of(*programs[0])[1] == {"x": 12.0, "y": None}
    assert_all_agree(language, programs, tmp_path)


@pytest.mark.parametrize("language", RUNNABLE)
def test_out_of_the_domain_the_code_refuses_with_the_node(language, tmp_path):
    program = parse("t = a * b; L = log(t)")
    result = run(emit_code(program, language), language, list(program.inputs), {"a": 2.0, "b": -1.0}, str(tmp_path))
    assert result["error"].startswith("[3] log(t) = ") or result["error"].startswith("node [3]") \
        or "[3] L = log(t)" in result["error"], result
    infinite = run(emit_code(parse("L = sqrt(a)"), language), language, ["a"], {"a": 0.0}, str(tmp_path))
    assert "infinite" in infinite["error"]


def test_a_c_program_compiles_without_warnings_pedantic_too(tmp_path):
    for program, _ in example_programs():
        (tmp_path / "g.c").write_text(emit_code(program, "c"))
        built = subprocess.run(["cc", *C_FLAGS, "-pedantic", "-c", "-o", str(tmp_path / "g.o"), str(tmp_path / "g.c")],
                               capture_output=True, text=True, timeout=600)
        assert built.returncode == 0 and built.stderr == "", built.stderr


# -- torch and jax: the forward pass, checked on a stand-in built on NumPy ---------------------------
_STAND_IN = textwrap.dedent("""
    import numpy as np
    def as_tensor(x): return np.asarray(x, dtype=float)
    where, abs, maximum, minimum = np.where, np.abs, np.maximum, np.minimum
    exp, log, tanh, sin, cos, tan, sqrt, sinh, cosh = np.exp, np.log, np.tanh, np.sin, np.cos, np.tan, np.sqrt, np.sinh, np.cosh
    atan, asin, acos, atan2, hypot = np.arctan, np.arcsin, np.arccos, np.arctan2, np.hypot
    arctan, arcsin, arccos, arctan2 = np.arctan, np.arcsin, np.arccos, np.arctan2
    log1p, expm1, log2, log10, floor = np.log1p, np.expm1, np.log2, np.log10, np.floor
    inf, nan = np.inf, np.nan
""")


@pytest.mark.slow
@pytest.mark.parametrize("language", ["torch", "jax"])
def test_torch_and_jax_forward_pass_on_a_stand_in(language, tmp_path):
    (tmp_path / ("torch.py" if language == "torch" else "jnp.py")).write_text(_STAND_IN)
    for text, points in GENERATED[:40]:
        program = parse(text)
        source = emit_code(program, language)
        ast.parse(source)
        assert "def forward(" in source and "backward" not in source.split("def forward(")[1].split("return")[0]
        source = source.replace("import jax.numpy as jnp", "import jnp")
        (tmp_path / "generated.py").write_text(source)
        call = ("import json, sys; sys.path.insert(0, sys.argv[1]); import generated, inspect; values = json.loads(sys.argv[2]); "
                "f = generated.forward; named = list(inspect.signature(f).parameters) != ['inputs']; "
                "print(repr(float(f(**values) if named else f(values))))")
        done = subprocess.run([sys.executable, "-c", call, str(tmp_path), json.dumps(points[0])], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, (text, done.stderr[-2000:])
        program.run(points[0])
        assert math.isclose(float(done.stdout), program.output.data, rel_tol=1e-12, abs_tol=1e-300), text
        sys.modules.pop("generated", None)


# -- the command ---------------------------------------------------------------------------------
def test_verify_runs_the_code_and_agrees(cli):
    for language in RUNNABLE:
        result = cli("code", *LECTURE, "--lang", language, "--verify", "--no-session")
        assert result.exit_code == 0, result.stderr
        assert "every gradient agrees" in result.stdout and "a      6.0" in result.stdout


def test_verify_json(cli):
    document = json.loads(cli("code", *LECTURE, "--lang", "c", "--verify", "--json", "--no-session").stdout)
    assert document["schema"] == "scalargrad.code/1" and document["verify"]["agrees"] is True
    assert document["inputs"] == ["a", "b", "c", "f"] and "int forward_backward(" in document["code"]


def test_the_code_is_printed_and_written(cli, tmp_path):
    printed = cli("code", "L = (a*b + c) * f", "--lang", "javascript", "--no-session")
    assert printed.exit_code == 0 and "function forwardBackward(inputs) {" in printed.stdout
    result = cli("code", "L = (a*b + c) * f", "--lang", "c", "-o", str(tmp_path / "l.c"), "--no-session")
    assert result.exit_code == 0 and result.stdout == "" and "int forward_backward(" in (tmp_path / "l.c").read_text()


def test_an_unknown_language_is_an_error_with_the_languages(cli):
    result = cli("code", "L = a * b", "--lang", "pyhton", "--no-session")
    assert result.exit_code == 2 and "did you mean `python`" in result.stderr
    assert "python, numpy, javascript, c, torch, jax" in result.stderr


def test_verify_needs_values(cli):
    result = cli("code", "L = a * b", "--verify", "--no-session")
    assert result.exit_code == 2 and "missing value" in result.stderr


def test_verify_torch_without_torch_says_so(cli, monkeypatch):
    """Whether or not torch is installed here (the test extra has it): as if it were not."""
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else find_spec(name, *a))
    result = cli("code", *LECTURE, "--lang", "torch", "--verify", "--no-session")
    assert result.exit_code == 2 and "torch is not installed" in result.stderr


def test_the_installed_command(installed, tmp_path):
    result = installed("code", *LECTURE, "--lang", "python", cwd=tmp_path)
    assert result.exit_code == 0 and result.stdout.startswith("# L = (a*b + c) * f\n")
    assert set(LANGUAGES) == {"python", "numpy", "javascript", "c", "torch", "jax"}


def test_python_loops_refuse_out_of_the_domain_in_their_own_error(tmp_path):
    program = parse("W = uniform(-1, 1, [20, 20]); x = [" + ", ".join(["1"] * 20) + "]; L = sum(log(W @ x))")
    values = {name: node.data for name, node in program.inputs.items()}
    result = run(emit_code(program, "python"), "python", list(program.inputs), values, str(tmp_path))
    assert result["error"].startswith("a value is outside the domain of its operation (math domain error)")
