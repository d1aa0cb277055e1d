"""scalargrad's benchmark: ratios against references measured in the same run.

    python tests/benchmark.py            # sizes 1e3 .. 1e6 (several minutes)
    python tests/benchmark.py --quick    # sizes 1e3 .. 1e5
    python tests/benchmark.py --only end-to-end   # one part (startup, end-to-end, engine, check)

Not collected by pytest (no test_ prefix): timings belong here, never in a test.

What it prints, each as a ratio (scalargrad / reference; lower is better):
  start-up    `scalargrad grad` on the lecture program vs
              `python -c "import typer, rich.console, rich.table, lark"`      target <= 1.3
  end-to-end  `scalargrad grad --file F --bindings B --json` (text to every gradient), whole
              process, on the three shapes of issue 16 (a random DAG with nested, repeated
              sub-expressions; one wide statement `a0*b0 + a1*b1 + ...`; an MLP written out
              as scalar statements) at 1e4, 1e5 and 1e6 nodes, vs
              - micrograd driven by a hand-written front end, text -> micrograd Values ->
                backward() (tests/micrograd_front.py)    target < 1 (<= 1.5 at 1e4)
              - `python -c "ast.parse(open(F).read())"` of the same text
                                                         target <= 1.5 (goal 1.0), random DAG
  engine      graph build + forward + backward with scalargrad.Value vs the
              micrograd package on the same graph, at 1e5 nodes               target <= 0.1
  memory      peak memory of that graph at 1e6 nodes vs micrograd's          target <= 0.5
  check       `check` of the 100 inputs of a 10,000-node program vs
              2 x inputs x one forward evaluation (tests/bench_check.py)       target <= 1.5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
SCALARGRAD = shutil.which("scalargrad", path=str(Path(PYTHON).parent)) or "scalargrad"
LECTURE = ["grad", "L = (a*b + c) * f", "--a", "2", "--b", "-3", "--c", "10", "--f", "-2"]


# -- programs ------------------------------------------------------------------------------
def random_dag(nodes: int, seed: int = 1, fn: str = "tanh") -> str:
    """Statements over earlier names, values staying in [-1, 1]: `v_i = tanh(v_j * v_k + v_l)`
    (3 nodes), or with fn="relu", `v_i = relu(v_j * v_k) * 0.5 + v_l * 0.5` (7 nodes)."""
    rng = random.Random(seed)
    inputs = [f"x{i}" for i in range(max(4, nodes // 1000))]
    names = list(inputs)
    lines = []
    per_statement = 3 if fn == "tanh" else 7
    for i in range(max(1, nodes // per_statement)):
        j, k, m = (rng.choice(names[-200:]) if rng.random() < 0.7 else rng.choice(names) for _ in range(3))
        if fn == "tanh":
            lines.append(f"v{i} = tanh({j} * {k} + {m})")
        else:
            lines.append(f"v{i} = {fn}({j} * {k}) * 0.5 + {m} * 0.5")
        names.append(f"v{i}")
    return "\n".join(lines)


def deep_chain(nodes: int) -> str:
    """A chain of statements, each one depending on the one before: depth = size."""
    lines = ["v0 = x * 0.5"]
    for i in range(1, max(2, nodes // 2)):
        lines.append(f"v{i} = tanh(v{i - 1}) * w")
    return "\n".join(lines)


def flat_sum(nodes: int) -> str:
    terms = max(2, nodes // 2)
    return "L = " + " + ".join(f"x{i % 1000} * {1 + i % 7}" for i in range(terms // 2)) + " + 0"


def mlp(nodes: int, fn: str = "tanh") -> str:
    """A multilayer perceptron written out as scalars: width w, depth 3, about `nodes` nodes."""
    width = max(2, int((nodes / 6) ** 0.5))
    lines, previous = [], [f"x{i}" for i in range(width)]
    for layer in range(3):
        current = []
        for j in range(width):
            terms = " + ".join(f"w{layer}_{j}_{i} * {p}" for i, p in enumerate(previous))
            lines.append(f"h{layer}_{j} = {fn}({terms} + b{layer}_{j})")
            current.append(f"h{layer}_{j}")
        previous = current
    lines.append("L = " + " + ".join(previous))
    return "\n".join(lines)


KINDS = {"random DAG": random_dag, "deep chain": deep_chain, "flat sum": flat_sum, "MLP": mlp}

# The issue-16 random DAG: statements over earlier names (mostly recent ones) with nested,
# repeated sub-expressions, values kept in (-1, 1) by the outer tanh. The first form is the
# issue's example with `log(2 + ...)` for its `log(1 + ...)`, which a tanh saturated at -1.0
# would take to log(0). Nodes of each form, inputs aside: 20, 10, 13.
NESTED_FORMS = (
    ("{t} = tanh(1.4*log(2 + ({a}/(1 + ({b}*log(1 + {c}*{c}))*({b}*log(1 + {c}*{c}))))))", 20),
    ("{t} = tanh({a}*{b} + ({c} - {a}*{b})*({c} - {a}*{b})*0.5)", 10),
    ("{t} = tanh(exp(-({a} - {b})*({a} - {b}))*{c} + {a}*{b}/(1 + {c}*{c}))", 13),
)


def nested_dag(nodes: int, seed: int = 1) -> str:
    """`t4 = tanh(1.4*log(1 + (x52/(1 + (x27*log(1 + x79*x79))*(x27*log(1 + x79*x79))))))` and
    two other forms, chosen at random, each over three earlier names: about `nodes` nodes."""
    rng = random.Random(seed)
    names = [f"x{i}" for i in range(max(4, nodes // 1000))]
    lines, made, i = [], len(names), 0
    while made < nodes:
        form, size = rng.choice(NESTED_FORMS)
        a, b, c = (rng.choice(names[-200:]) if rng.random() < 0.7 else rng.choice(names) for _ in range(3))
        lines.append(form.format(t=f"t{i}", a=a, b=b, c=c))
        names.append(f"t{i}")
        made, i = made + size, i + 1
    return "\n".join(lines)


def wide_sum(nodes: int) -> str:
    """One statement `L = a0*b0 + a1*b1 + ...`: 4 nodes a term (two inputs, `*`, `+`)."""
    return "L = " + " + ".join(f"a{i}*b{i}" for i in range(max(2, nodes // 4)))


# The three shapes of issue 16, measured end to end against both references.
SHAPES = {"random DAG": nested_dag, "wide sum": wide_sum, "MLP": mlp}


def bindings_for(source: str) -> dict[str, float]:
    from scalargrad import parse

    program = parse(source)
    rng = random.Random(7)
    return {name: rng.uniform(-1, 1) for name in program.inputs}


# -- measuring -----------------------------------------------------------------------------
WORKDIR = tempfile.mkdtemp(prefix="scalargrad-bench-")  # commands run here: their session lands here


# Commands run as on a user's machine, where Python keeps compiled bytecode: with
# PYTHONDONTWRITEBYTECODE set (some sandboxes set it) every run would compile scalargrad's
# source anew while the reference's libraries, compiled by pip, would not.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


REFERENCE_TIMEOUT = 240  # seconds; micrograd's recursive sort crawls on a million-deep sum


def wall(command: list[str], repeat: int = 1, **kwargs) -> float:
    """Median wall time of a command (stdout discarded); raises if it fails."""
    kwargs.setdefault("cwd", WORKDIR)
    kwargs.setdefault("env", ENV)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed")
    return statistics.median(times)


def row(name: str, ours: float, reference: float, target: str, unit: str = "s") -> None:
    ratio = ours / reference if reference else float("inf")
    print(f"  {name:<34} {ours:>9.3f}{unit} vs {reference:>9.3f}{unit}  ratio {ratio:6.2f}  (target {target})",
          flush=True)


def startup(repeat: int = 21) -> None:
    """Runs alternate between scalargrad and the reference, so drift in the machine's load
    affects both alike; each side's median is compared."""
    print(f"start-up (median of {repeat} interleaved runs)")
    reference = [PYTHON, "-c", "import typer, rich.console, rich.table, lark"]
    wall([SCALARGRAD, *LECTURE])  # a first run writes the bytecode, as a user's first run does
    for name, command in (("grad, lecture program", [SCALARGRAD, *LECTURE]), ("--help", [SCALARGRAD, "--help"])):
        ours, theirs = [], []
        for _ in range(repeat):
            ours.append(wall(command))
            theirs.append(wall(reference))
        row(name, statistics.median(ours), statistics.median(theirs), "<= 1.3" if name.startswith("grad") else "info")


def end_to_end(sizes: list[int], folder: Path) -> None:
    """Whole processes, text file to every gradient, for the three shapes of issue 16:
    `scalargrad grad --file F --bindings B --json`, against micrograd driven by a hand-written
    front end (tests/micrograd_front.py) and against `ast.parse` of the same text. The three
    run in turn (interleaved, so drift in the machine's load affects all alike); medians."""
    print("end-to-end: text to every gradient, whole process; ratios scalargrad / micrograd + hand front end,"
          " scalargrad / ast.parse")
    front = str(Path(__file__).resolve().parent / "micrograd_front.py")
    print(f"  {'program':<28} {'scalargrad':>10} {'micrograd':>10} {'ast.parse':>10}  {'/ micrograd':>11}"
          f" {'/ ast.parse':>11}")
    for kind, make in SHAPES.items():
        for size in sizes:
            program_file, bindings_file = folder / "program.sg", folder / "values.json"
            source = make(size)
            program_file.write_text(source)
            bindings_file.write_text(json.dumps(bindings_for(source)))
            commands = {
                "scalargrad": [SCALARGRAD, "grad", "--file", str(program_file), "--bindings", str(bindings_file),
                               "--json"],
                "micrograd": [PYTHON, front, str(program_file), str(bindings_file)],
                "ast.parse": [PYTHON, "-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())",
                              str(program_file)],
            }
            if size == sizes[0]:
                same_gradients(commands["scalargrad"], commands["micrograd"])
            times: dict[str, list] = {name: [] for name in commands}
            for _ in range(5 if size <= 10_000 else 3 if size <= 100_000 else 1):
                for name, command in commands.items():
                    if times[name] is None:
                        continue
                    try:
                        times[name].append(wall(command, timeout=3 * REFERENCE_TIMEOUT))
                    except (RuntimeError, subprocess.TimeoutExpired) as error:
                        print(f"  ({kind}, {size:.0e}: {name} fails: {str(error)[:70]})", flush=True)
                        times[name] = None
            medians = {name: statistics.median(t) if t else None for name, t in times.items()}
            shown = {name: f"{t:9.3f}s" if t else f"{'fails':>10}" for name, t in medians.items()}
            ours = medians["scalargrad"]
            ratios = [f"{ours / medians[name]:10.2f}x" if ours and medians[name] else f"{'-':>11}"
                      for name in ("micrograd", "ast.parse")]
            print(f"  {kind + f', {size:.0e} nodes':<28} {shown['scalargrad']} {shown['micrograd']}"
                  f" {shown['ast.parse']}  {ratios[0]} {ratios[1]}", flush=True)


def same_gradients(scalargrad: list[str], micrograd: list[str]) -> None:
    """Both compute the same gradients (of every input), or the comparison means nothing."""
    ours = json.loads(subprocess.run(scalargrad, capture_output=True, text=True, cwd=WORKDIR, check=True).stdout)
    theirs = json.loads(subprocess.run(micrograd, capture_output=True, text=True, check=True).stdout)
    for name in ours["inputs"]:
        a, b = ours["inputs"][name]["grad"], theirs[name]
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (name, a, b)


ENGINE_SCRIPT = r"""
import gc, json, sys, threading, time, tracemalloc
kind, size, which = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, sys.argv[4])
from benchmark import KINDS, bindings_for
from scalargrad import parse
source = KINDS[kind](size, fn="relu") if kind in ("random DAG", "MLP") else KINDS[kind](size)
program = parse(source)
values = bindings_for(source)
plan = [(n._op, [program.node_id(p) for p in n._prev], n.data, n.label) for n in program.nodes]
del program
gc.collect()
if which == "micrograd":
    from micrograd.engine import Value
    sys.setrecursionlimit(10**7)  # micrograd's topological sort is recursive: give it room
    threading.stack_size(1 << 29)
else:
    from scalargrad import Value
result = {}

def build_and_backward():
    built = []
    for op, parents, data, label in plan:
        if op == "":
            node = Value(values.get(label, data))
        elif op == "const":
            node = Value(data)
        else:
            args = [built[i] for i in parents]
            if op == "+": node = args[0] + args[1]
            elif op == "*": node = args[0] * args[1]
            elif op == "relu": node = args[0].relu()
            elif op == "neg": node = -args[0]
            else: raise SystemExit("no " + op)
        built.append(node)
    built[-1].backward()
    return built

def timed():
    start = time.perf_counter()
    built = build_and_backward()
    result["seconds"] = time.perf_counter() - start
    result["grad0"] = built[0].grad

def traced():  # a second run, for memory only: tracemalloc slows everything down
    tracemalloc.start()
    built = build_and_backward()
    result["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

for work in (timed, traced):
    thread = threading.Thread(target=work)
    thread.start(); thread.join()
    gc.collect()
print(json.dumps(result))
"""




def engine(sizes: list[int]) -> None:
    try:
        import micrograd  # noqa: F401
    except ImportError:
        print("engine: the micrograd package is not installed (pip install micrograd); skipped")
        return
    print("engine only: build + forward + backward with Value, same graph (relu), vs micrograd;"
          " memory: peak traced allocations")
    here = str(Path(__file__).resolve().parent)
    for kind in ("random DAG", "MLP", "flat sum"):
        for size in sizes:
            results = {}
            for which in ("scalargrad", "micrograd"):
                try:
                    proc = subprocess.run([PYTHON, "-c", ENGINE_SCRIPT, kind, str(size), which, here],
                                          capture_output=True, text=True, timeout=REFERENCE_TIMEOUT)
                except subprocess.TimeoutExpired:
                    results[which] = None
                    print(f"  {kind}, {size:.0e}: {which} did not finish in {REFERENCE_TIMEOUT} s")
                    continue
                if proc.returncode != 0:
                    results[which] = None
                    print(f"  {kind}, {size:.0e}: {which} failed: {proc.stderr.strip().splitlines()[-1][:80]}")
                else:
                    results[which] = json.loads(proc.stdout)
            ours, theirs = results["scalargrad"], results["micrograd"]
            if ours and theirs:
                assert abs(ours["grad0"] - theirs["grad0"]) <= 1e-6 * max(1, abs(theirs["grad0"])), (ours, theirs)
                if size <= 100_000:
                    row(f"time, {kind}, {size:.0e} nodes", ours["seconds"], theirs["seconds"], "<= 0.1")
                if size >= 1_000_000:
                    row(f"memory, {kind}, {size:.0e} nodes", ours["peak_mb"], theirs["peak_mb"], "<= 0.5", unit="MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="sizes up to 1e5 only")
    parser.add_argument("--only", choices=["startup", "end-to-end", "engine", "check"], help="one part only")
    args = parser.parse_args()
    sizes = [1_000, 10_000, 100_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    parser_kind = "lark-cython" if _has_lark_cython() and not os.environ.get("SCALARGRAD_PURE_PARSER") else "pure Lark"
    print(f"scalargrad benchmark: Python {sys.version.split()[0]}, parser {parser_kind}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "startup"):
            startup()
        if args.only in (None, "end-to-end"):
            end_to_end([s for s in sizes if s >= 10_000], Path(folder))
        if args.only in (None, "check"):
            print("check: cost of a gradient check in forward evaluations")
            import bench_check

            bench_check.main([])
        if args.only in (None, "engine"):
            engine([s for s in sizes if s >= 100_000])  # time at 1e5, memory at 1e6


def _has_lark_cython() -> bool:
    try:
        import lark_cython  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
