"""The package's layers, as folders: the commands on top; below them the plugin a trader
runs (everything outside `profitguard/tooling/`) and the offline tooling around it
(`profitguard/tooling/`), which the plugin never imports."""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from profitguard.cli import SUBCOMMANDS

PACKAGE = Path(__file__).resolve().parents[2] / "profitguard"
COMMAND_LAYER = ("profitguard.cli", "profitguard.commands", "profitguard.__main__")


def _imports(path: Path, source: str | None = None) -> list[str]:
    """Every module `path` (or `source` read as `path`) imports, at the top or inside a
    function: relative imports resolved, and `from package import name` counted as
    `package.name` too (it may be a module)."""
    names = []
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text() if source is None else source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def _library_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not _module(path).startswith(COMMAND_LAYER)
    ]


def _is_within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_library_modules_when_imported_then_none_imports_the_command_layer():
    offenders = [
        f"{_module(path)} imports {name}"
        for path in _library_modules()
        for name in _imports(path)
        if any(_is_within(name, layer) for layer in COMMAND_LAYER)
    ]
    assert offenders == []


def _reachable(start: str) -> set[str]:
    """Every module `start` imports, directly or through the package's own modules."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if not _is_within(name, "profitguard"):
            continue
        parts = name.split(".")[1:]
        for path in (PACKAGE.joinpath(*parts).with_suffix(".py"),
                     PACKAGE.joinpath(*parts, "__init__.py")):  # fmt: skip
            if path.is_file():
                todo += _imports(path)
    return seen - {start}


@pytest.mark.parametrize("package", ["engine", "risk"])
def test_pure_packages_when_imported_then_no_freqtrade(package):
    """Neither directly nor through another profitguard module (the adapter, say)."""
    offenders = [
        f"{_module(path)} reaches {name}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for name in sorted(_reachable(_module(path)))
        if _is_within(name, "freqtrade") or _is_within(name, "profitguard.freqtrade")
    ]
    assert offenders == []


# file locking, databases and the file system's writes: kept above risk/ (`guard_store`)
IO_MODULES = ("fcntl", "sqlalchemy", "sqlite3", "psycopg", "tempfile", "shutil", "os", "io")
IO_OUTSIDE = ("profitguard.trades_db", "profitguard.guard_store", "profitguard.bot_identity")


def test_risk_when_imported_then_pure_no_locking_database_or_file_io():
    """risk/ holds rules and sizing over values: its state's file and database live above."""
    offenders = [
        f"{_module(path)} reaches {name}"
        for path in sorted((PACKAGE / "risk").rglob("*.py"))
        for name in sorted(_reachable(_module(path)))
        if any(_is_within(name, banned) for banned in (*IO_MODULES, *IO_OUTSIDE))
    ]
    assert offenders == []


def test_imports_when_relative_or_from_the_package_then_resolved():
    """The walk sees `from profitguard import commands` and `from ..commands import x`."""
    source = "from profitguard import commands\nfrom ..commands import guard\nfrom . import rules\n"
    names = set(_imports(PACKAGE / "risk" / "config.py", source))
    assert {"profitguard.commands", "profitguard.commands.guard", "profitguard.risk.rules"} <= names


def test_subcommands_when_registered_then_each_lives_in_the_commands_package():
    assert [m for m in SUBCOMMANDS.values() if not m.startswith("profitguard.commands.")] == []


# The two parts, as folders: the offline tooling (the exchange simulator and its harness,
# the chaos suite, the exit research) is profitguard/tooling/; the plugin a trader runs is
# every other package and module below the commands. The commands use both.
TOOLING = "profitguard.tooling"
TOOLING_PACKAGES = ["chaos", "exchange", "research"]


def _plugin_parts() -> list[str]:
    """The plugin's top-level packages and modules: all but the tooling and the commands."""
    names = {_module(path).split(".")[1] for path in PACKAGE.rglob("*.py")} - {"__init__"}
    return sorted(
        name for name in names
        if not any(_is_within(f"profitguard.{name}", top) for top in (TOOLING, *COMMAND_LAYER))
    )  # fmt: skip


def test_plugin_when_listed_then_the_trader_facing_packages_and_no_tooling():
    parts = set(_plugin_parts())
    assert {"engine", "risk", "freqtrade", "report", "account", "dashboard"} <= parts
    assert not {"tooling", "commands", "cli", *TOOLING_PACKAGES} & parts


def test_tooling_when_listed_then_exchange_chaos_and_research_in_one_folder():
    found = sorted(p.name for p in (PACKAGE / "tooling").iterdir() if (p / "__init__.py").is_file())
    assert found == TOOLING_PACKAGES


@pytest.mark.parametrize("part", _plugin_parts())
def test_plugin_when_imported_then_nothing_of_the_offline_tooling(part):
    """Neither directly nor through another profitguard module, at the top or in a function,
    nor the commands (which import the tooling)."""
    paths = sorted((PACKAGE / part).rglob("*.py")) or [PACKAGE / f"{part}.py"]
    offenders = [
        f"{_module(path)} reaches {name}"
        for path in paths
        for name in sorted(_reachable(_module(path)))
        if any(_is_within(name, banned) for banned in (TOOLING, *COMMAND_LAYER))
    ]
    assert offenders == []


# Distinct file names for distinct things (`book.py` in three packages sent a reader to the
# wrong one). Names two modules may share, each with its reason: none so far.
SAME_KIND: dict[str, str] = {}


def _repeated(paths: list[Path]) -> dict[str, list[str]]:
    """File name -> the modules holding it, for each name two or more modules share
    (packages' `__init__`/`__main__` aside, and the `SAME_KIND` exceptions)."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        if path.name not in ("__init__.py", "__main__.py", *SAME_KIND):
            by_name[path.name].append(_module(path))
    return {name: sorted(modules) for name, modules in by_name.items() if len(modules) > 1}


def test_module_files_when_listed_then_no_two_share_a_name():
    assert _repeated(sorted(PACKAGE.rglob("*.py"))) == {}


def test_repeated_when_two_packages_hold_one_file_name_then_both_named():
    paths = [PACKAGE / "risk" / "rules.py", PACKAGE / "account" / "rules.py",
             PACKAGE / "risk" / "__init__.py", PACKAGE / "account" / "__init__.py",
             PACKAGE / "engine" / "step.py"]  # fmt: skip
    assert _repeated(paths) == {"rules.py": ["profitguard.account.rules", "profitguard.risk.rules"]}


def _module_graph() -> dict[str, set[str]]:
    """Each module of the package (a package by its name) -> the package's modules it
    imports, at the top, in a function or for type checking alone. `from p import m`
    is an import of the module p.m when there is one (else of the package p)."""
    modules = {_module(path).removesuffix(".__init__"): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        imported = set()
        for names in _imports_by_statement(path):
            submodules = [n for n in names[1:] if n in modules]
            imported.update(submodules or [n for n in names[:1] if n in modules])
        graph[name] = imported - {name}
    return graph


def _imports_by_statement(path: Path) -> list[list[str]]:
    """Per import statement: `import a, b` -> [a], [b]; `from p import x, y` -> [p, p.x, p.y]."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [[alias.name] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            out.append([base, *(f"{base}.{alias.name}" for alias in node.names)])
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected groups of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_modules_when_imported_then_no_two_import_each_other():
    """Nor any longer circle (a -> b -> c -> a)."""
    assert _cycles(_module_graph()) == []


def test_cycles_when_modules_import_in_a_circle_then_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    graph = {"x": {"y"}, "y": {"x"}}
    assert _cycles(graph) == [["x", "y"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_chaos_strategy_when_installed_then_a_file_inside_the_package():
    """`profitguard chaos` hands Freqtrade the strategy's file: it must ship in the package."""
    from profitguard.tooling.chaos.scenario_runner import STRATEGY, STRATEGY_FILE

    assert STRATEGY_FILE.is_file()
    assert STRATEGY_FILE.is_relative_to(PACKAGE)
    assert f"class {STRATEGY}(" in STRATEGY_FILE.read_text()


MAX_CLASS_LINES = 300


def _class_lengths(source: str) -> list[tuple[str, int]]:
    """(name, lines) of every class in `source`, nested ones too: from its first
    decorator to its last line, docstring and comments included."""
    return [
        (
            node.name,
            node.end_lineno - min([node.lineno, *(d.lineno for d in node.decorator_list)]) + 1,
        )
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef)
    ]


def test_classes_when_measured_then_none_over_300_lines():
    """Small classes with one job: a longer one is split by job, not cut anywhere."""
    offenders = [
        f"{_module(path)}.{name}: {lines} lines"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name, lines in _class_lengths(path.read_text())
        if lines > MAX_CLASS_LINES
    ]
    assert offenders == []


def test_class_lengths_when_a_class_is_decorated_then_counted_from_its_decorator():
    source = "@dataclass\nclass A:\n    x: int\n\n    class B:\n        pass\n"
    assert _class_lengths(source) == [("A", 6), ("B", 2)]
    long_class = "class C:\n" + "    x = 1\n" * MAX_CLASS_LINES
    assert _class_lengths(long_class) == [("C", MAX_CLASS_LINES + 1)]


# One reader of Freqtrade's trades database: `trades_db.TradesDatabase`. The shared
# account's own database (account/store.py) is a different one.
DATABASE_OPENERS = {
    "sqlite3": {"profitguard.trades_db"},
    "sqlalchemy.create_engine": {"profitguard.trades_db", "profitguard.account.store"},
}


def test_trades_database_when_read_then_only_through_trades_db():
    offenders = [
        f"{_module(path)} imports {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name in _imports(path)
        if name in DATABASE_OPENERS and _module(path) not in DATABASE_OPENERS[name]
    ]
    assert offenders == []


def _definitions(name: str) -> list[str]:
    """The modules that define a function or class `name`, at any depth."""
    return sorted(
        _module(path)
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.name == name
    )


def test_initial_stop_check_when_defined_then_once_in_the_engine():
    """One rule for a valid initial stop, which the adapter and the gate call (there were
    two functions of that name, #21)."""
    assert _definitions("check_initial_stop") == ["profitguard.engine.position"]
