"""Alembic environment: the URL and the connection come from :mod:`fedbus.notifier.migrate`."""

from __future__ import annotations

from alembic import context

from fedbus.notifier.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through fedbus.notifier.migrate
    raise RuntimeError("run migrations with `fedbus notifier migrate`")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
