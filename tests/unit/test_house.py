"""The floor plan holds (README "The house"): the package's wings import only
downward and without cycles, parsers never write into core, production code
never reaches the lab, and DAG files import only what a thin DAG may."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "include" / "kenshin"

# Bottom to top: a module may import its own wing and the wings below it.
# kenshin.cli sits above every production wing; the lab above everything.
WINGS = ("platform", "programmes", "ledger", "matching", "exchange", "ingest", "letters", "governance",
         "reporting", "cli", "lab")
TOP_LEVEL = {"kenshin.cli": "cli", "kenshin.migration_sql": "platform"}

# Where a DAG file's imports may come from (ARCHITECTURE.md: thin DAG files).
DAG_IMPORTS = re.compile(r"(__future__(\..+)?|airflow\.sdk(\..+)?|airflow\.providers\..+|cosmos(\..+)?"
                         r"|kenshin_airflow(\..+)?|kenshin(\..+)?)")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str] = frozenset()) -> set[str]:
    """Every module a file imports, at its top or inside a function: for
    `from package import name`, the submodule when `name` is one of `modules`,
    else the package itself."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names} & modules
            found.update(subs)
            if len(subs) < len(node.names):
                found.add(node.module)
    return found


def kenshin_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports_of(path, set(modules)) if m in modules and m != name}
            for name, path in modules.items()}


def wing(module: str) -> str:
    """The wing of a module: its folder under kenshin/ (two top-level modules are
    placed by name; any other top-level module is in no wing and fails)."""
    return TOP_LEVEL.get(module) or module.split(".")[1]


def test_every_module_is_in_a_wing():
    for module in kenshin_graph():
        if module != "kenshin":
            assert wing(module) in WINGS, f"{module}: every module lives in a wing"


def test_no_upward_import_between_wings():
    upward = sorted(f"{m} -> {d}" for m, deps in kenshin_graph().items() if m != "kenshin"
                    for d in deps if WINGS.index(wing(d)) > WINGS.index(wing(m)))
    assert upward == []


def test_no_import_cycle():
    graph = kenshin_graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep] if dep in path else [node, dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_rules_above_catch_what_they_are_for():
    """The checks are not vacuous: the graph has the edges a reader expects."""
    graph = kenshin_graph()
    assert "kenshin.ledger.screenings" in graph["kenshin.ingest.sources.clinic"]
    assert "kenshin.ledger.persons" in graph["kenshin.ingest.sources.registry"]
    assert "kenshin.ledger.screenings" in graph["kenshin.matching.review_queue"]
    assert WINGS.index(wing("kenshin.lab.bench")) > WINGS.index(wing("kenshin.cli"))


CORE_WRITE = re.compile(r"\b(insert\s+into|update|delete\s+from)\s+core\.", re.IGNORECASE)


def test_no_parser_writes_into_core():
    """Parsers land and check rows; promotion into core is the ledger's (kenshin.ledger)."""
    writers = {}
    for path in (PACKAGE / "ingest" / "sources").rglob("*.py"):
        strings = [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        hits = [s for s in strings if CORE_WRITE.search(s)]
        if hits:
            writers[path.name] = len(hits)
    assert writers == {}
    assert CORE_WRITE.search("UPDATE core.person p set missing_since = null")  # the pattern bites
    assert CORE_WRITE.search((PACKAGE / "ledger" / "persons.py").read_text(encoding="utf-8"))


def test_production_code_never_imports_the_lab():
    graph = kenshin_graph()
    reaching = sorted(f"{m} -> {d}" for m, deps in graph.items() if not m.startswith("kenshin.lab")
                      for d in deps if d.startswith("kenshin.lab"))
    assert reaching == []
    for folder in ("dags", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not any(m.startswith("kenshin.lab") for m in imports_of(path)), path


def test_dag_files_import_only_the_sdk_providers_cosmos_and_kenshin():
    strays = {path.name: sorted(m for m in imports_of(path) if not DAG_IMPORTS.fullmatch(m))
              for path in (ROOT / "dags").glob("*.py")}
    assert {name: mods for name, mods in strays.items() if mods} == {}
    assert not DAG_IMPORTS.fullmatch("pendulum") and not DAG_IMPORTS.fullmatch("airflow.models")


@pytest.mark.dag
def test_everything_but_the_lab_works_without_it(tmp_path):
    """With kenshin.lab unimportable (the production image leaves it out), every
    production module imports, the CLI runs without the lab's commands and
    every DAG file parses."""
    script = textwrap.dedent(f"""
        import importlib, pkgutil, sys

        sys.modules["kenshin.lab"] = None  # as if not installed: import fails, find_spec is None

        import kenshin
        names = [m.name for m in pkgutil.walk_packages(kenshin.__path__, "kenshin.",
                 onerror=lambda n: None) if not m.name.startswith("kenshin.lab")]
        for name in names:
            importlib.import_module(name)
        from click.testing import CliRunner
        from kenshin.cli import main
        out = CliRunner().invoke(main, ["--help"]).output
        assert "ingest" in out and "synth" not in out and "bench" not in out, out
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(ROOT / "dags")!r})
        assert bag.import_errors == {{}}, bag.import_errors
        assert not [m for m in sys.modules if m.startswith("kenshin.lab") and sys.modules[m] is not None]
        print("RESULT", len(names), "modules", len(bag.dag_ids), "dags")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              filter(None, [str(ROOT / "plugins"), os.environ.get("PYTHONPATH")]))})
    assert done.returncode == 0, done.stderr[-3000:]
    (result,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    _, n_modules, _, n_dags, _ = result.split()
    assert int(n_modules) > 40 and int(n_dags) == 8


@pytest.mark.dag
def test_the_plugin_manager_loads_exactly_the_ui_plugin():
    """Airflow imports every .py file under plugins/ as a plugin module unless
    plugins/.airflowignore says otherwise: only screening_operations (the UI page)
    and kenshin_deadlines (the reference the deadline alerts count from, which
    Airflow finds only through a plugin) are ones."""
    script = textwrap.dedent("""
        import sys
        from airflow import plugins_manager
        plugins, import_errors = plugins_manager._get_plugins()
        # plugins of the plugins folder (providers such as Cosmos register theirs by entry point)
        mine = [p for p in plugins if isinstance(p.source, plugins_manager.PluginsDirectorySource)]
        print("RESULT", sorted(p.name for p in mine))
        print("RESULT", sorted({p.__module__ for p in mine}))
        print("RESULT", sorted(m for m in sys.modules if m in
                     ("kenshin_demo", "demo", "approval", "ingest_dag", "operations_view", "assets", "policy")))
        print("RESULT", import_errors)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                               "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    assert done.returncode == 0, done.stderr[-3000:]
    names, modules, bare, errors = [line.removeprefix("RESULT ") for line in done.stdout.splitlines()
                                    if line.startswith("RESULT ")]
    assert names == "['kenshin_deadlines', 'screening_operations']"
    assert modules == "['kenshin_deadlines', 'screening_operations']"
    assert bare == "[]" and errors == "{}"


def test_entry_points_take_the_database_url_last_and_by_keyword():
    """One convention for every public function that opens its own connection:
    `..., *, url: str | None = None` (the connection layer kenshin.platform.db,
    whose subject is the URL, excepted)."""
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if module_name(path) == "kenshin.platform.db":
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                a = node.args
                positional = [x.arg for x in a.posonlyargs + a.args]
                keyword = [x.arg for x in a.kwonlyargs]
                if "url" in positional or ("url" in keyword and (keyword[-1] != "url" or
                                                                 a.kw_defaults[-1] is None)):
                    wrong.append(f"{module_name(path)}.{node.name}")
    assert wrong == []
