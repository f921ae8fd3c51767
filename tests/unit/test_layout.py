"""The package's layers: commands on top, library code below that never imports them."""

import ast
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


def test_imports_when_relative_or_from_the_package_then_resolved():
    """The walk sees `from profitguard import commands` and `from ..commands import x`."""
    source = "from profitguard import commands\nfrom ..commands import guard\nfrom . import rules\n"
    names = set(_imports(PACKAGE / "risk" / "config.py", source))
    assert {"profitguard.commands", "profitguard.commands.guard", "profitguard.risk.rules"} <= names


def test_subcommands_when_registered_then_each_lives_in_the_commands_package():
    assert [m for m in SUBCOMMANDS.values() if not m.startswith("profitguard.commands.")] == []
