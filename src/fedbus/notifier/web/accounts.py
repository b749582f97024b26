"""Local accounts (``local`` and ``publictest`` only): user name and password hash.

The table ``notifier_web_accounts`` is created by the notifier's Alembic migrations
(``fedbus notifier migrate``).  Passwords are stored as werkzeug scrypt hashes.  A password
change or a deletion ends the account's sessions (its epoch in ``web_session_epochs`` is bumped).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from fedbus.notifier.models import Base
from fedbus.notifier.store import WebLimits

# In the notifier's metadata, so that ``Store.open(create=True)`` and Alembic see it too.
accounts = sa.Table(
    "notifier_web_accounts",
    Base.metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
# A hash to compare against when the user does not exist: same cost, no user enumeration.
_DUMMY = generate_password_hash("not a password")


class Accounts:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sessions = WebLimits(engine)

    def check(self, username: str, password: str) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(accounts.c.password_hash).where(accounts.c.username == username)
            ).first()
        if row is None:
            check_password_hash(_DUMMY, password)
            return False
        return check_password_hash(row[0], password)

    def exists(self, username: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(accounts.c.username).where(accounts.c.username == username)
                ).first()
                is not None
            )

    def set_password(self, username: str, password: str) -> bool:
        """Create the account or change its password (its sessions end); ``True`` when
        it was created."""
        digest = generate_password_hash(password)
        self.sessions.bump_epoch(username)
        with self.engine.begin() as conn:
            updated = conn.execute(
                accounts.update()
                .where(accounts.c.username == username)
                .values(password_hash=digest)
            ).rowcount
            if updated:
                return False
            conn.execute(
                accounts.insert().values(
                    username=username, password_hash=digest, created_at=datetime.now(UTC)
                )
            )
            return True

    def names(self) -> list[str]:
        with self.engine.connect() as conn:
            return [
                r[0]
                for r in conn.execute(sa.select(accounts.c.username).order_by(accounts.c.username))
            ]

    def delete(self, username: str) -> bool:
        """Delete the account; its sessions end."""
        self.sessions.bump_epoch(username)
        with self.engine.begin() as conn:
            return bool(
                conn.execute(accounts.delete().where(accounts.c.username == username)).rowcount
            )
