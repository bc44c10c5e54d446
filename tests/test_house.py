"""The house rules of the code base, checked: importing a module does nothing but define things,
the import graph has no cycles, every `python -m` command is the module that runs (no module
imports a command's module), and the runtime's tests run where the training side is absent."""

import ast
import re

from tests.helpers import ROOT, TRAINING_SIDE, run_python

PACKAGES = {"train": "train", "export": "export", "runtime": "digitgen"}  # folder -> import name
# The modules `python -m ...` and the `digitgen` script run: commands, imported by nothing else.
COMMANDS = {"train.__main__", "train.evaluate", "train.finetune", "train.study", "train.model_card",
            "export.__main__", "digitgen.cli", "digitgen.__main__"}


def import_graph():
    """{module: the project's modules it imports, at the top or in a function}."""
    modules = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            modules[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {target for target in imported if target in modules and target != name}
    return graph


def cycles(graph):
    """Each cycle found by a depth-first search, as the list of its modules."""
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_import_graph_has_no_cycles():
    graph = import_graph()
    assert len(graph) > 40 and "train.evaluation" in graph["train.evaluate"]  # the graph is really read
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_no_module_imports_a_command():
    graph = import_graph()
    importers = {name: sorted(COMMANDS & targets) for name, targets in graph.items()
                 if COMMANDS & targets and name != "digitgen.__main__"}  # which is `python -m digitgen`
    assert importers == {}


def test_importing_every_module_has_no_side_effect_even_without_the_training_side():
    """With TensorFlow, Keras and tf2onnx unimportable, the Keras-free modules import, print
    nothing and exit nothing (train/__init__.py used to sys.exit(2)); the commands' modules too,
    since they load Keras only when they run."""
    keras_free = ["train", "export", "train.catalog", "train.config", "train.gates", "train.metrics",
                  "train.extras", "train.interrupts", "train.console", "train.data", "train.report",
                  "train.study_runs", "train.model_card", "train.__main__", "train.evaluate", "train.finetune",
                  "train.study", "export.__main__", "export.manifest"]
    result = run_python("import importlib\n"
                        f"for name in {keras_free!r}: importlib.import_module(name)\n"
                        "import sys; assert not {'tensorflow', 'keras'} & set(sys.modules)\n")
    assert result.returncode == 0 and result.stdout == b"" and result.stderr == b"", result.stderr.decode()[-2000:]


def test_a_command_without_its_extra_is_one_line():
    result = run_python("import sys; sys.argv = ['python -m train', '--out', 'x']\n"
                        "from train.__main__ import main\nmain()")
    assert result.returncode == 2 and result.stderr.decode().count("\n") == 1
    assert "is not installed: from a checkout of digitgen, pip install -e '.[" in result.stderr.decode()


def test_the_runtime_tests_run_without_the_training_side():
    """Every test module collects with TensorFlow, Keras and tf2onnx unimportable (those that need
    them skip), and a numpy-only training module's tests pass: the runtime's tests run in a
    runtime-only install (`python -m pytest -m "not tensorflow"`)."""
    code = ("import sys, pytest\n"
            "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '--collect-only', 'tests'])"
            " or pytest.main(['-q', '-p', 'no:cacheprovider', '-m', 'not tensorflow', "
            "'tests/test_metrics.py', 'tests/test_train.py', 'tests/test_data.py']))\n")
    result = run_python(code, blocked=TRAINING_SIDE, timeout=600)
    output = result.stdout.decode()
    assert result.returncode == 0, output[-3000:]
    assert not re.search(r"\bERROR\b|\d+ errors?\b", output), output[-3000:]
    assert " passed" in output and "skipped" in output and "deselected" in output, output[-3000:]

