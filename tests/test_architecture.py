"""The shape of the package, as docs/architecture.md describes it, checked on the code itself:
imports run one way only, each third-party library is imported by its one module, functions
stay short, and every row of the derivative table is reachable and documented."""

import ast
import functools
from pathlib import Path

import pytest

from scalargrad import Value, parse
from scalargrad.errors import UsageError
from scalargrad.ops import FUNCTIONS, OPS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "scalargrad"

# Every module, lowest first: a module may import only modules before it. The order is the
# layer table of docs/architecture.md, read from it, so the map and the test are one list.
# "commands.*" stands for each command module: they import the core and commands.shared, never
# each other.
def documented_order() -> list[str]:
    import re

    table = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").split("## The layers", 1)[1]
    files = re.findall(r"^\|[^|]*\| `([^`]+\.py)` \|", table.split("\n\n|", 1)[1].split("\n\n", 1)[0], re.M)
    return [name.removesuffix(".py").replace("/", ".").replace("<name>", "*").removesuffix(".__init__")
            for name in files]


ORDER = documented_order()


def place(name: str) -> int:
    if name.startswith("commands.") and name != "commands.shared":
        return ORDER.index("commands.*")
    return ORDER.index(name)


# Third-party libraries and the one place each may be imported.
OWNERS = {
    "typer": {"cli", "commands.shared", "commands.*"},
    "rich": {"render"},
    "lark": {"language", "syntax"},
    "lark_cython": {"language"},
    "graphviz": {"dot"},
    "matplotlib": {"plot"},
    "numpy": {"sweep", "hessian", "program"},  # lazily: a sweep, a Hessian, an array's gradient (Program.grad)
    "sympy": {"derive"},
}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__") or "__init__"


@functools.cache  # parsed once for the whole file: every test reads the same trees
def modules() -> dict[str, ast.Module]:
    return {module_name(path): ast.parse(path.read_text(encoding="utf-8")) for path in sorted(PACKAGE.rglob("*.py"))}


def imports(tree: ast.Module) -> set[str]:
    """Every module imported anywhere in the file, lazily inside functions too."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "scalargrad":  # `from scalargrad import session`
                found.update(f"scalargrad.{alias.name}" for alias in node.names)
    return found


def test_the_order_places_every_module():
    for name in modules():
        place(name)  # a ValueError names a module the order does not know


@pytest.mark.parametrize("name", sorted(modules()))
def test_imports_run_down_the_layers_only(name):
    tree = modules()[name]
    own = {imported.removeprefix("scalargrad.") for imported in imports(tree) if imported.startswith("scalargrad.")}
    own = {module for module in own if module in modules()}  # `from scalargrad import Value` names no module
    later = [module for module in own if place(module) >= place(name) and module != name]
    assert not later, f"{name} imports {later}, which do not come before it"


@pytest.mark.parametrize("library", OWNERS)
def test_each_library_is_imported_by_its_own_modules_only(library):
    users = {name for name, tree in modules().items()
             if any(imported == library or imported.startswith(library + ".") for imported in imports(tree))}
    allowed = OWNERS[library]
    strays = {name for name in users if name not in allowed
              and not ("commands.*" in allowed and place(name) == place("commands.grad"))}
    assert not strays, f"{library} imported by {sorted(strays)}"


def test_no_function_is_longer_than_a_screen():
    long = []
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not long


def test_command_modules_are_thin():
    for path in (PACKAGE / "commands").glob("*.py"):
        if path.name not in ("__init__.py", "shared.py"):
            assert len(path.read_text().splitlines()) <= 125, path.name


# -- the derivative table --------------------------------------------------------------------
# A program that reaches each operator row; a new operator must add its own sample here.
OPERATOR_SAMPLES = {"+": "y = x + z", "-": "y = x - z", "*": "y = x * z", "/": "y = x / z", "**": "y = x ** z",
                    "neg": "y = -x", "=": "w = x * z; y = w; q = y * 2"}


def test_every_operator_row_has_a_sample():
    assert set(OPERATOR_SAMPLES) == {name for name, op in OPS.items() if not op.is_function}


@pytest.mark.parametrize("name", OPERATOR_SAMPLES)
def test_every_operator_row_is_reachable_from_the_language(name):
    program = parse(OPERATOR_SAMPLES[name])
    assert any(node._op == name for node in program.nodes)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_row_is_reachable_from_the_language_and_from_value(name):
    op = FUNCTIONS[name]  # `max(x, y)` as a program writes it, x.max(y) by hand
    program = parse(f"out = {op.usage}")
    values = {"x": 0.5, "y": 0.7}
    program.run(values)
    (node,) = [node for node in program.nodes if node._op == name]
    operands = [Value(values[operand]) for operand in "xy"[:op.arity]]
    by_hand = getattr(operands[0], name)(*operands[1:])
    by_hand.backward()
    assert by_hand._op == name and by_hand.data == node.data
    assert [operand.grad for operand in operands] == [program.inputs[operand].grad for operand in "xy"[:op.arity]]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_row_is_documented(name):
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    assert f"| `{FUNCTIONS[name].usage}` | {FUNCTIONS[name].derivatives}" in text


def test_an_op_without_a_row_is_a_worded_error():
    orphan = Value(1.0, (Value(2.0),), "erf")
    with pytest.raises(UsageError, match="the op `erf` has no row in the derivative table"):
        orphan.backward()


def test_the_exponent_hint_comes_from_the_table():
    program = parse("z = x ** y")
    program.evaluate({"x": -2.0, "y": 3.0})
    with pytest.raises(Exception) as raised:
        program.backward()
    assert raised.value.hint == OPS["**"].hints[1]


# -- the house rules a reader of the code can check ---------------------------------------------
def test_nothing_evaluates_text_as_code():
    """The grammar is the allow-list: no eval, exec or compile anywhere in the package, and no
    eval or Function constructor in the page's JavaScript."""
    import re

    calls = []
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if called in ("eval", "exec", "compile", "__import__") and not (
                        isinstance(func, ast.Attribute) and called == "compile"
                        and getattr(func.value, "id", "") == "re"):  # re.compile builds a pattern, runs nothing
                    calls.append(f"{name}: {called}() at line {node.lineno}")
    for script in (PACKAGE / "web").glob("*.js"):
        text = script.read_text(encoding="utf-8")
        calls += [f"{script.name}: {m.group(0)}" for m in re.finditer(r"\beval\s*\(|new\s+Function\s*\(", text)]
    assert not calls


# Recursion over what scalargrad itself writes, a few levels deep whatever the program: each
# with the reason it cannot grow with the user's program.
BOUNDED_RECURSION = {
    ("expressions", "expression"): "the table's own formulas and JavaScript columns, read into trees",
    ("derive", "to_sympy"): "those trees as SymPy: a row's formula, a few operations deep",
    ("printers", "text"): "those trees as code in a language: a row's formula",
    ("reroll", "_size"): "loops rolled from runs of nodes, one level per array dimension",
}


def test_no_function_calls_itself():
    """No recursion over the user's program: no function of the package calls itself (the
    walks are loops over lists with explicit stacks), so a chain 100,000 deep needs no stack;
    the few that recurse over scalargrad's own fixed structures are listed with why."""
    recursive = set()
    for name, tree in modules().items():
        methods = {id(f) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for f in c.body
                   if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                func = node.func if isinstance(node, ast.Call) else None
                if id(function) in methods:  # a method calls itself through self or cls; a bare name is another
                    itself = (isinstance(func, ast.Attribute) and func.attr == function.name
                              and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"))
                else:
                    itself = isinstance(func, ast.Name) and func.id == function.name
                if itself:
                    recursive.add((name, function.name))
    assert recursive == set(BOUNDED_RECURSION)


def test_reports_take_precision_and_all_from_the_view():
    """--precision and --all reach a report through `emit`'s View: a report that declared its
    own `precision` or `show_all` would hide the view's (and its command would patch it)."""
    import importlib
    import inspect

    from scalargrad.render import Report

    declared = []
    for name in modules():
        if name == "__main__":  # importing it runs the command line
            continue
        module = importlib.import_module(f"scalargrad.{name}" if name != "__init__" else "scalargrad")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Report) and cls is not Report and cls.__module__ == module.__name__:
                declared += [f"{cls.__name__}.{attr}" for attr in ("precision", "show_all") if attr in vars(cls)
                             or attr in getattr(cls, "__dataclass_fields__", {})]
    assert not declared
