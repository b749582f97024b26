"""The arrows point down: the CLI imports the engine, never the reverse.

No module of ``src/fedbus`` outside ``fedbus/cli`` imports ``fedbus.cli`` — not at the top,
not inside a function, not relatively, not through ``importlib.import_module``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "fedbus"
CLI = "fedbus.cli"


def module_name(path: Path, root: Path = SRC) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, root: Path = SRC) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every module ``path`` imports, relative imports resolved."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:  # ``from fedbus import cli``
                yield node.lineno, f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def is_cli(name: str) -> bool:
    return name == CLI or name.startswith(CLI + ".")


ENGINE = sorted(p for p in PACKAGE.rglob("*.py") if not is_cli(module_name(p)))


def test_the_engine_modules_are_found() -> None:
    names = {module_name(p) for p in ENGINE}
    assert {"fedbus.config", "fedbus.notifier.worker", "fedbus.consumer.consumer"} <= names
    assert not any(is_cli(n) for n in names)


@pytest.mark.parametrize("path", ENGINE, ids=lambda p: module_name(p))
def test_no_engine_module_imports_the_cli(path: Path) -> None:
    found = [f"{path.relative_to(SRC)}:{line}: imports {name}"
             for line, name in imported(path) if is_cli(name)]  # fmt: skip
    assert not found, "\n".join(found)


def test_the_check_sees_every_way_to_import(tmp_path: Path) -> None:
    """The parser catches top-level, lazy, relative and importlib imports of the CLI."""
    fake = tmp_path / "fedbus" / "notifier" / "x.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        "import fedbus.cli.main\n"
        "def f():\n"
        "    from fedbus.cli.cmd_notifier import load_settings\n"
        "    from .. import cli\n"
        "    from ..cli import cmd_relay\n"
        "    importlib.import_module('fedbus.cli.cmd_tail')\n"
        "from fedbus import config\n"
    )
    lines = sorted({line for line, name in imported(fake, tmp_path) if is_cli(name)})
    assert lines == [1, 3, 4, 5, 6]


LAYER = sorted((PACKAGE / "settings").rglob("*.py"))
ABOVE_THE_LAYER = ("fedbus.cli", "fedbus.notifier", "fedbus.mirror", "fedbus.config")


def test_the_settings_layer_is_found() -> None:
    assert {"fedbus.settings", "fedbus.settings.convert"} <= {module_name(p) for p in LAYER}


@pytest.mark.parametrize("path", LAYER, ids=lambda p: module_name(p))
def test_the_settings_layer_imports_no_component(path: Path) -> None:
    """fedbus.settings is below every component that has settings: it imports none."""
    found = [f"{path.relative_to(SRC)}:{line}: imports {name}"
             for line, name in imported(path)
             if any(name == up or name.startswith(up + ".") for up in ABOVE_THE_LAYER)]  # fmt: skip
    assert not found, "\n".join(found)
