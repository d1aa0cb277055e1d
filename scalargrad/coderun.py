"""Generated code run in another process, never in this one: for `scalargrad code --verify`
and the tests. Python, NumPy, PyTorch and JAX under this Python, JavaScript under Node.js, C
through the system's compiler; the result comes back as JSON text of floats.
"""

from __future__ import annotations

import json
from typing import Sequence


# -- running the code (only in another process: --verify and the tests) -------------------------
# whether the function takes the inputs by name or as one mapping (`inputs`)
_NAMED = ("import inspect\nfunction = getattr(generated, 'forward_backward', None) or generated.forward\n"
          "named = list(inspect.signature(function).parameters) != ['inputs']\n")
_DRIVERS = {
    "python": "import json, math, sys\nsys.path.insert(0, sys.argv[1])\nimport generated\n"
              "values = json.loads(sys.argv[2])\n" + _NAMED +
              "try:\n    value, grads = generated.forward_backward(**values) if named else generated.forward_backward(values)\n"
              "except generated.DomainError as error:\n    print(json.dumps({'error': str(error)}))\nelse:\n"
              "    print(json.dumps({'value': repr(float(value)), 'gradients': {k: repr(float(g)) for k, g in grads.items()}}))\n",
    "numpy": "import json, sys\nimport numpy as np\nsys.path.insert(0, sys.argv[1])\nimport generated\n" + _NAMED +
             "values = {k: np.array([v]) for k, v in json.loads(sys.argv[2]).items()}\n"
             "try:\n    value, grads = generated.forward_backward(**values) if named else generated.forward_backward(values)\n"
             "except generated.DomainError as error:\n    print(json.dumps({'error': str(error)}))\nelse:\n"
             "    one = lambda x: repr(float(np.asarray(x, dtype=float).reshape(-1)[0]))\n"
             "    print(json.dumps({'value': one(value), 'gradients': {k: one(g) for k, g in grads.items()}}))\n",
    "torch": "import json, sys\nimport torch\nsys.path.insert(0, sys.argv[1])\nimport generated\n" + _NAMED +
             "values = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in json.loads(sys.argv[2]).items()}\n"
             "value = generated.forward(**values) if named else generated.forward(values)\n"
             "value.backward()\n"
             "grads = {k: repr(float(t.grad)) if t.grad is not None else '0.0' for k, t in values.items()}\n"
             "print(json.dumps({'value': repr(float(value)), 'gradients': grads}))\n",
    "jax": "import json, sys\nimport jax\njax.config.update('jax_enable_x64', True)\nsys.path.insert(0, sys.argv[1])\n"
           "import generated\n" + _NAMED + "values = {k: float(v) for k, v in json.loads(sys.argv[2]).items()}\n"
           "call = (lambda d: generated.forward(**d)) if named else generated.forward\n"
           "value, grads = jax.value_and_grad(call)(values)\n"
           "print(json.dumps({'value': repr(float(value)), 'gradients': {k: repr(float(g)) for k, g in grads.items()}}))\n",
    "javascript": "const generated = require(process.argv[1] + '/generated.js');\n"
                  "const show = (x) => Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : "
                  "x.toPrecision(17);\n"
                  "try {\n  const r = generated.forwardBackward(JSON.parse(process.argv[2]));\n"
                  "  const grads = Object.fromEntries(Object.entries(r.gradients).map(([k, g]) => [k, show(g)]));\n"
                  "  console.log(JSON.stringify({value: show(r.value), gradients: grads}));\n"
                  "} catch (error) {\n  if (!(error instanceof generated.DomainError)) throw error;\n"
                  "  console.log(JSON.stringify({error: error.message}));\n}\n",
}


def run(code: str, language: str, inputs: Sequence[str], values: dict[str, float], folder: str,
        timeout: float = 600.0) -> dict:
    """Run `code` at `values` in another process (Python, Node.js, or the C compiler and the
    program it makes): {"value", "gradients"} as text of floats, or {"error"}; "warnings" holds
    what the compiler said. {"unavailable": reason} when the language's runtime is missing."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    where = Path(folder)
    suffix = {"javascript": "js", "c": "c"}.get(language, "py")
    (where / f"generated.{suffix}").write_text(code, encoding="utf-8")
    warnings = ""
    if language in ("torch", "jax"):
        import importlib.util

        if importlib.util.find_spec(language) is None:
            return {"unavailable": f"{language} is not installed (pip install {language})"}
    if language in ("python", "numpy", "torch", "jax"):
        command = [sys.executable, "-c", _DRIVERS[language], str(where), json.dumps(values)]
    elif language == "javascript":
        node = shutil.which("node")
        if node is None:
            return {"unavailable": "Node.js (`node`) is not installed"}
        command = [node, "-e", _DRIVERS[language], str(where), json.dumps(values)]
    else:
        compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
        if compiler is None:
            return {"unavailable": "no C compiler (`cc`) is installed"}
        (where / "main.c").write_text(c_driver(inputs, values), encoding="utf-8")
        built = subprocess.run([compiler, "-O2", "-std=c99", "-Wall", "-Wextra", "-o", str(where / "generated"),
                                str(where / "main.c"), "-lm"], capture_output=True, text=True, timeout=timeout)
        warnings = built.stderr
        if built.returncode != 0:
            return {"error": f"the C compiler failed: {built.stderr.strip()[:2000]}", "warnings": warnings}
        command = [str(where / "generated")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        return {"error": f"the code failed: {done.stderr.strip()[-2000:]}", "warnings": warnings}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["warnings"] = warnings
    return result


def c_driver(inputs: Sequence[str], values: dict[str, float]) -> str:
    """A main() that calls forward_backward at `values` and prints the result as JSON."""
    numbers = ", ".join(repr(float(values[name])) for name in inputs)
    return ("#include <stdio.h>\n#include \"generated.c\"\n\n"
            "static void show(double x)\n{\n    if (isnan(x)) printf(\"\\\"nan\\\"\");\n"
            "    else if (isinf(x)) printf(x > 0 ? \"\\\"inf\\\"\" : \"\\\"-inf\\\"\");\n"
            "    else printf(\"\\\"%.17g\\\"\", x);\n}\n\n"
            f"int main(void)\n{{\n    static const double in[N_INPUTS] = {{{numbers}}};\n"
            "    static double grad[N_INPUTS];\n    double out = 0.0;\n    const char *error = NULL;\n"
            "    if (forward_backward(in, &out, grad, &error)) {\n"
            "        printf(\"{\\\"error\\\": \\\"%s\\\"}\\n\", error);\n        return 0;\n    }\n"
            "    printf(\"{\\\"value\\\": \");\n    show(out);\n    printf(\", \\\"gradients\\\": {\");\n"
            "    for (int i = 0; i < N_INPUTS; i++) {\n        printf(\"%s\\\"%s\\\": \", i ? \", \" : \"\", "
            "scalargrad_input_names[i]);\n        show(grad[i]);\n    }\n    printf(\"}}\\n\");\n    return 0;\n}\n")
