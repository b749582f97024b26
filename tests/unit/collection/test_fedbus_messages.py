"""The fedbus-messages distribution (src/fedbus-messages): fedbus's schemas on their own.

Its wheel, built as roles/runtime builds it (tests/installed/harness.py:
``build_messages_wheel``), carries every file of the package and registers every schema of
the catalog in the ``fedora.messages`` entry point group; the package imports nothing but
the standard library and fedora-messaging; it has fedbus's version, and fedbus depends on
exactly that version.  ``tests/installed/test_messages_alone.py`` then installs the wheel
alone and decodes every schema's example with fedora-messaging.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import tomllib
import zipfile
from configparser import ConfigParser
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement

from fedbus.message import catalog

ROOT = Path(__file__).resolve().parents[3]
MESSAGES = ROOT / "src" / "fedbus-messages"
PACKAGE = MESSAGES / "fedbus_messages"


def _pyproject(path: Path) -> dict[str, object]:
    project: dict[str, object] = tomllib.loads(path.read_text())["project"]
    return project


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fedbus_installed_harness_messages", ROOT / "tests" / "installed" / "harness.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    path: Path = _harness().build_messages_wheel(tmp_path_factory.mktemp("dist"))
    return zipfile.ZipFile(path)


def test_fedbus_messages_has_the_version_of_fedbus_which_depends_on_it() -> None:
    fedbus = _pyproject(ROOT / "pyproject.toml")
    messages = _pyproject(MESSAGES / "pyproject.toml")
    assert messages["name"] == "fedbus-messages"
    assert messages["version"] == fedbus["version"]
    deps = [Requirement(d) for d in fedbus["dependencies"]]  # type: ignore[attr-defined]
    (pin,) = [r for r in deps if r.name == "fedbus-messages"]
    assert str(pin.specifier) == f"=={fedbus['version']}"


def test_fedbus_messages_depends_on_fedora_messaging_only() -> None:
    deps = [Requirement(d).name for d in _pyproject(MESSAGES / "pyproject.toml")["dependencies"]]  # type: ignore[attr-defined]
    assert deps == ["fedora-messaging"]


def test_the_package_imports_only_the_standard_library_and_fedora_messaging() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert {"base.py", "bus.py", "zabbix.py"} <= {m.name for m in modules}
    allowed = set(sys.stdlib_module_names) | {"fedora_messaging", "fedbus_messages"}
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            bad = [n for n in names if n.split(".")[0] not in allowed]
            assert not bad, f"{module.relative_to(ROOT)} imports {bad}"


def test_the_wheel_carries_every_file_of_the_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    files = [f"fedbus_messages/{p.relative_to(PACKAGE)}" for p in PACKAGE.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]  # fmt: skip
    assert "fedbus_messages/py.typed" in files and "fedbus_messages/bus.py" in files
    assert not sorted(set(files) - names)
    assert not [n for n in names if n.startswith("fedbus/")]


def test_the_wheel_registers_every_schema_of_the_catalog(wheel: zipfile.ZipFile) -> None:
    (ep_file,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(wheel.read(ep_file).decode())
    registered = {k.strip(): v.strip() for k, v in parser["fedora.messages"].items()}
    fedbus_entries = {e.name: e.origin for e in catalog.entries() if e.is_fedbus}
    assert len(fedbus_entries) >= 30
    assert registered == fedbus_entries
