"""The wheel the roles install carries every file of src/fedbus, not only the Python.

The other unit tests import fedbus from src/, where the templates and the Alembic script
template are always at hand; on the hosts only what the wheel holds exists (templates left
out of it made the deployed web UI answer 500, TemplateNotFound: login.html).  The wheel is
built as roles/relay builds it (``pip wheel --no-deps --no-build-isolation``) from an
export of the source tree: the files git tracks or does not ignore, with their uncommitted
edits (tests/installed/harness.py: ``export_tree``, ``build_wheel``).  The installed layer
(``scripts/test.sh installed``) then runs the web UI and the commands from such a wheel.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "src/fedbus/"
# What the controller's working tree may hold next to the package files (the test runs'
# bytecode, editor files): roles/relay builds from that tree, the wheel must not carry it.
LEFTOVERS = (
    "__pycache__/main.cpython-311.pyc",
    "notifier/web/templates/__pycache__/x.cpython-311.pyc",
    "notifier/web/templates/login.html~",
    "notifier/web/templates/.login.html.swp",
)


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fedbus_installed_harness", ROOT / "tests" / "installed" / "harness.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


harness = _harness()


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The names in the wheel built from an export of the tree plus :data:`LEFTOVERS`."""
    export = harness.export_tree

    def export_with_leftovers(dest: Path, root: Path = ROOT) -> list[str]:
        files: list[str] = export(dest, root)
        for junk in LEFTOVERS:
            (dest / PACKAGE / junk).parent.mkdir(parents=True, exist_ok=True)
            (dest / PACKAGE / junk).write_text("junk")
        return files

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(harness, "export_tree", export_with_leftovers)
        wheel: Path = harness.build_wheel(tmp_path_factory.mktemp("dist"))
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def package_files() -> list[str]:
    """The files of src/fedbus in the tree, as paths inside the wheel (``fedbus/…``)."""
    files = [f[len("src/") :] for f in harness.tree_files(ROOT) if f.startswith(PACKAGE)]
    assert files, "no file under src/fedbus: is this a git checkout?"
    return files


def test_every_non_python_file_of_the_package_is_in_the_wheel(wheel_names: set[str]) -> None:
    data = [f for f in package_files() if not f.endswith(".py")]
    # the files that made this test: without them it would pass on an empty list
    assert "fedbus/notifier/web/templates/login.html" in data
    assert "fedbus/notifier/migrations/script.py.mako" in data
    missing = sorted(set(data) - wheel_names)
    assert not missing, (
        "not in the wheel (see pyproject.toml [tool.setuptools.package-data]): "
        + ", ".join(missing)
    )


def test_every_module_of_the_package_is_in_the_wheel(wheel_names: set[str]) -> None:
    """A directory left out of the package discovery is missing on the hosts too (e.g. the
    Alembic ``versions/``, whose revisions Alembic reads from the installed package)."""
    modules = [f for f in package_files() if f.endswith(".py")]
    assert "fedbus/notifier/migrations/versions/0001_initial_schema.py" in modules
    missing = sorted(set(modules) - wheel_names)
    assert not missing, "modules not in the wheel: " + ", ".join(missing)


def test_the_wheel_carries_no_bytecode_or_editor_leftovers(wheel_names: set[str]) -> None:
    leftovers = sorted(
        n for n in wheel_names if "__pycache__" in n or n.endswith((".pyc", "~", ".swp"))
    )
    assert not leftovers, f"in the wheel: {leftovers}"


def test_the_wheel_leaves_the_schemas_to_fedbus_messages(wheel_names: set[str]) -> None:
    """src/fedbus-messages is a distribution of its own: fedbus's wheel neither carries its
    package nor registers its entry points (fedbus depends on it instead)."""
    assert "fedbus/message/catalog.py" in wheel_names
    stray = sorted(n for n in wheel_names if n.startswith(("fedbus_messages", "fedbus-messages")))
    assert not stray, f"in the fedbus wheel: {stray}"
