"""The notifier's tables (SQLAlchemy 2.x declarative).  Migrations: :mod:`.migrations`.

- :class:`User` — one per account name (FAS name); ``paused`` stops everything,
  ``muted_until`` stops everything until that time (UTC).
- :class:`Destination` — an email address or IRC nick of one user, usable only once
  ``verified``; the verification token is stored hashed.  ``delivery`` is ``immediate``,
  ``hourly`` or ``daily`` (a digest of at most ``digest_cap`` items).
- :class:`Rule` — what to track (``kind`` + ``value``, see :data:`RULE_KINDS`) and its
  filters (minimum severity, exclude my own actions, excluded topic globs and services),
  sent to the rule's destinations (none listed: all of the user's verified ones).
- :class:`PackageRelation` — packages a user owns or watches (``source`` ``pkgdb``: kept
  current from PkgDB messages; ``manual``: added by the user).
- :class:`Change` — one row per preference change (a sequence): workers reload only the
  users changed since the last sequence they saw.
- :class:`Delivery` — the idempotency key (message id, user, destination): a row is written
  before the notification is handed over; a redelivered job finding it is not sent again.
  It also keeps what the notification was about (``topic``, ``summary``, ``url``: the web
  UI's "recent notifications"; empty in rows written before migration 0004).
- :class:`DigestItem` — an item waiting for a digest.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: What a rule tracks: ``kind`` → meaning of ``value``.
RULE_KINDS: dict[str, str] = {
    "topic": "an AMQP topic glob (`*` one word, `#` any words), full or relative to the prefix",
    "service": "a category/service: the topic word after the environment (koji, git, bodhi…)",
    "package": "a package name",
    "owned_packages": "the packages the user owns or watches (value unused)",
    "user": "another user's name: events naming that user (users followed)",
    "my_events": "events naming the user (value unused)",
}
DESTINATION_KINDS = ("email", "irc")
DELIVERY_MODES = ("immediate", "hourly", "daily")
#: fedora-messaging's severities.
SEVERITIES: dict[str, int] = {"debug": 10, "info": 20, "warning": 30, "error": 40}
PACKAGE_RELATIONS = ("owner", "comaintainer", "watcher")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


rule_destinations = Table(
    "rule_destinations",
    Base.metadata,
    Column("rule_id", ForeignKey("rules.id", ondelete="CASCADE"), primary_key=True),
    Column("destination_id", ForeignKey("destinations.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    muted_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    rules: Mapped[list[Rule]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    destinations: Mapped[list[Destination]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    packages: Mapped[list[PackageRelation]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Destination(Base):
    __tablename__ = "destinations"
    __table_args__ = (UniqueConstraint("user_id", "kind", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    token_created_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    delivery: Mapped[str] = mapped_column(String(16), default="immediate")
    digest_cap: Mapped[int] = mapped_column(Integer, default=50)
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: the last digest item id of a digest being sent (set before, cleared after): a
    #: digest interrupted by a crash is sent again with the same items and the same key
    digest_cut: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="destinations")


class Rule(Base):
    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(255), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    min_severity: Mapped[int] = mapped_column(Integer, default=0)
    exclude_mine: Mapped[bool] = mapped_column(Boolean, default=False)
    exclude_topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclude_services: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="rules")
    destinations: Mapped[list[Destination]] = relationship(secondary=rule_destinations)


class PackageRelation(Base):
    __tablename__ = "package_relations"
    __table_args__ = (UniqueConstraint("user_id", "package"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    package: Mapped[str] = mapped_column(String(255), index=True)
    relation: Mapped[str] = mapped_column(String(16), default="watcher")
    source: Mapped[str] = mapped_column(String(16), default="manual")

    user: Mapped[User] = relationship(back_populates="packages")


class Change(Base):
    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("message_id", "user_id", "destination_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(Integer)
    destination_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="sending")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    topic: Mapped[str | None] = mapped_column(String(255), default=None)
    summary: Mapped[str | None] = mapped_column(Text, default=None)
    url: Mapped[str | None] = mapped_column(Text, default=None)


class DigestItem(Base):
    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("destination_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    destination_id: Mapped[int] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# -- the web boundary (migration 0005) ------------------------------------------------------


class RateEvent(Base):
    """One counted event of the web layer: a failed login (``login-addr:<ip>``,
    ``login-user:<name>``) or a verification message (``verify-dest:<kind>:<address>``,
    ``verify-user:<name>``).  Shared by every gunicorn worker; old rows are pruned."""

    __tablename__ = "web_rate_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(320), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class SessionEpoch(Base):
    """A local user's session generation: every login cookie carries the epoch it was made
    in, and a logout, a password change or an account deletion bumps it (no row: 0)."""

    __tablename__ = "web_session_epochs"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
