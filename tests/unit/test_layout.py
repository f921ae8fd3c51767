"""The package's layers: commands on top, library code below that never imports them."""

import ast
from pathlib import Path

import pytest

from profitguard.cli import SUBCOMMANDS

PACKAGE = Path(__file__).resolve().parents[2] / "profitguard"
COMMAND_LAYER = ("profitguard.cli", "profitguard.commands", "profitguard.__main__")


def _imports(path: Path) -> list[str]:
    """Every module `path` imports, at the top or inside a function."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
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


@pytest.mark.parametrize("package", ["engine", "risk"])
def test_pure_packages_when_imported_then_no_freqtrade(package):
    offenders = [
        f"{_module(path)} imports {name}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for name in _imports(path)
        if _is_within(name, "freqtrade")
    ]
    assert offenders == []


def test_subcommands_when_registered_then_each_lives_in_the_commands_package():
    assert [m for m in SUBCOMMANDS.values() if not m.startswith("profitguard.commands.")] == []
