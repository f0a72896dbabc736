"""The layers of the code, as contracts a tool checks (docs/architecture.md draws them).

``.importlinter`` states the contracts (import-linter over grimp's import graph): the layers from
the primitives up to the app factory, app/ never importing a plugin, the primitives below the
middle and the web layer, the org tree below accounts, app/forms and the filler without Flask.
The tests here add what import-linter does not say directly: no import circle between any two
modules, no plugin named by a string inside app/, and every import left inside a function
saying why.
"""
import ast
import re
from pathlib import Path

import grimp
import pytest
from importlinter import configuration
from importlinter.application.use_cases import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "plugins", "filler")
# Swept when the database commands move to migrations: their imports change with them.


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_the_import_contracts_hold(capsys):
    configuration.configure()  # what the lint-imports command does before it lints
    kept = lint_imports(config_filename=str(ROOT / ".importlinter"), cache_dir=None,
                        no_logo=True)
    assert kept, capsys.readouterr().out


def test_no_import_circle_between_any_two_modules(graph):
    """Function-level imports count too: a circle hidden by a lazy import is still a circle."""
    circles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                circles.append(" -> ".join((importer, *back)))
    assert circles == []


def _sources(*folders):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_the_platform_names_no_plugin_even_in_a_string():
    """No ``importlib.import_module("plugins.…")`` or dotted path in app/: the built-in plugins
    are listed in config.BUILTIN_PLUGINS."""
    named = []
    for path in _sources("app"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and re.search(r"(?<![\w/])plugins\.[a-z_]", node.value)):
                named.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert named == []


def _function_imports(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    seen = set()
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno not in seen:
                seen.add(node.lineno)
                yield node, lines


def _says_why(node, lines):
    """A comment on the import's line, or in the comment block right above it."""
    if "#" in lines[node.lineno - 1]:
        return True
    above = node.lineno - 2
    while above >= 0 and lines[above].strip() and not lines[above].strip().startswith("#"):
        if lines[above].strip().startswith(("from ", "import ")):
            above -= 1  # one comment may explain a group of imports
            continue
        return False
    return above >= 0 and lines[above].strip().startswith("#")


def test_every_import_inside_a_function_says_why():
    """Imports belong at the top, where readers and tools see the dependency; one that stays
    inside a function (an optional dependency, start-up cost, config's side effects) says why."""
    silent = []
    for path in _sources("app", "plugins"):
        name = str(path.relative_to(ROOT))
        for node, lines in _function_imports(path):
            if not _says_why(node, lines):
                silent.append(f"{name}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert silent == []


def test_the_check_sees_a_silent_lazy_import(tmp_path):
    """Control: the scan finds an unexplained import inside a function, and accepts one with
    its reason above it."""
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from app import audit\n\n    return audit\n\n\n"
                    "def g():\n    # Only the CLI needs it.\n    import json\n    return json\n")
    found = [(node.lineno, _says_why(node, lines)) for node, lines in _function_imports(path)]
    assert found == [(2, False), (9, True)]
