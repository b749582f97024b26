"""Migrations and the preference store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from support.notifier_servers import Postgres

from fedbus.notifier.migrate import current, downgrade, head, upgrade
from fedbus.notifier.models import Base
from fedbus.notifier.store import NotFound, Store, make_engine

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    pg = Postgres().start()
    yield pg
    pg.stop()


def differences(url: str) -> list[object]:
    """What the migrated schema lacks or has beyond the models (web tables aside)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    return [
        d for d in diffs if not (d[0] == "remove_table" and d[1].name.startswith("notifier_web"))
    ]


def cli_migrate(url: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "fedbus.cli.main", "notifier", "migrate", "--database", url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def exercise_store(url: str) -> None:
    store = Store.open(url)
    alice, bob = store.user("alice"), store.user("bob")
    dest, token = alice.add_destination("email", "alice@example.org", delivery="daily")
    assert not alice.verify_destination(dest.id, "wrong")
    assert alice.verify_destination(dest.id, token)
    rule = alice.add_rule("package", "kernel", min_severity="warning",
                          exclude_topics=["koji.#"], destination_ids=[dest.id])  # fmt: skip
    assert alice.get_rule(rule.id).exclude_topics == ("koji.#",)
    with pytest.raises(NotFound):
        bob.update_rule(rule.id, enabled=False)
    with pytest.raises(NotFound):
        bob.delete_destination(dest.id)
    assert bob.list_rules() == [] and bob.list_destinations() == []
    alice.delete_destination(dest.id)  # cascades to the rule's link
    assert alice.get_rule(rule.id).destination_ids == ()
    store.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrate_cli_then_schema_matches_models_and_store_works(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'notifier.db'}"
    else:
        url = request.getfixturevalue("postgres").url
    done = cli_migrate(url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"database at revision {head()}"
    assert current(url) == head()
    assert differences(url) == []
    again = cli_migrate(url)  # idempotent
    assert again.returncode == 0 and current(url) == head()
    exercise_store(url)


def test_downgrade_to_base_and_up_again_on_postgres(postgres: Postgres) -> None:
    upgrade(postgres.url)
    assert downgrade(postgres.url, "base") is None
    engine = make_engine(postgres.url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    assert upgrade(postgres.url) == head()
    assert differences(postgres.url) == []


def test_migrate_unreachable_database_is_one_line_error() -> None:
    done = cli_migrate("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert done.returncode == 1
    err = [line for line in done.stderr.splitlines() if line.startswith("fedbus: error:")]
    assert len(err) == 1 and "migrate:" in err[0] and "refused" in err[0].lower()
