"""fedbus as the wheel installed it: imported from the fresh virtualenv, with its data."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import os
from pathlib import Path

from installed_support import VENV, installed_copy_problem


def test_fedbus_is_imported_from_the_fresh_virtualenv() -> None:
    import fedbus

    assert installed_copy_problem() is None
    assert Path(fedbus.__file__).resolve().is_relative_to(VENV.resolve())
    source = Path(os.environ["FEDBUS_SOURCE_TREE"]).resolve()
    assert not Path(fedbus.__file__).resolve().is_relative_to(source / "src")


def test_the_schemas_are_the_installed_fedbus_messages_wheel() -> None:
    """fedbus imports its schemas from the fedbus-messages wheel installed next to it."""
    import fedbus_messages

    from fedbus.message import catalog

    assert Path(fedbus_messages.__file__).resolve().is_relative_to(VENV.resolve())
    assert importlib.metadata.version("fedbus-messages") == importlib.metadata.version("fedbus")
    assert (importlib.resources.files("fedbus_messages") / "py.typed").is_file()
    fedbus = [e for e in catalog.entries() if e.is_fedbus]
    assert any(e.name == "fedbus.bus.canary.v1" for e in fedbus)
    assert all(e.origin.startswith("fedbus_messages.") for e in fedbus)


def test_the_package_data_is_installed() -> None:
    web = importlib.resources.files("fedbus.notifier.web") / "templates"
    assert {"base.html", "login.html", "rules.html"} <= {t.name for t in web.iterdir()}
    migrations = importlib.resources.files("fedbus.notifier.migrations")
    assert (migrations / "script.py.mako").is_file()
    assert (importlib.resources.files("fedbus") / "py.typed").is_file()


def test_the_migrations_form_one_line_to_the_head() -> None:
    """Alembic reads the revisions from the installed versions/ (not a source tree)."""
    from alembic.script import ScriptDirectory

    from fedbus.notifier.migrate import SCRIPTS, alembic_config, head

    assert SCRIPTS.resolve().is_relative_to(VENV.resolve())
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = list(scripts.walk_revisions())
    assert len(revisions) >= 3 and scripts.get_heads() == [head()]
    files = {p.stem for p in (SCRIPTS / "versions").glob("[0-9]*.py")}
    assert len(files) == len(revisions), (files, [r.revision for r in revisions])
