"""The preferences service the web UI, the REST API and the CLI call.

Every call that reads or changes preferences goes through a :class:`UserStore`, which is
bound to ONE user: each query carries ``user_id = <that user>``, so an id belonging to
someone else is simply not found (:class:`NotFound`) — a user can never read or change
another user's rules, destinations or packages.

>>> store = Store.open("sqlite:///notifier.db")       # or postgresql+psycopg://…
>>> me = store.user("alice")                          # get or create; a UserStore
>>> me.profile()                                      # -> UserView
>>> dest, token = me.add_destination("email", "alice@example.org", delivery="daily")
>>> me.verify_destination(dest.id, token)             # True once the token matches
>>> rule = me.add_rule("package", "kernel", min_severity="warning", exclude_mine=True)
>>> me.update_rule(rule.id, enabled=False)
>>> me.delete_rule(rule.id)
>>> me.set_paused(True); me.mute_until(None)
>>> me.set_delivery(dest.id, "hourly", digest_cap=20)
>>> me.add_package("kernel"); me.list_packages(); me.remove_package("kernel")

The API:

- :meth:`Store.open` (URL; creates the tables on SQLite only when ``create=True`` — use
  ``fedbus notifier migrate`` otherwise), :meth:`Store.user` (get or create),
  :meth:`Store.find_user` (no creation, ``None`` if unknown);
- :class:`UserStore`: ``profile``, ``set_paused``, ``mute_until``; ``list_rules``,
  ``get_rule``, ``add_rule``, ``update_rule``, ``delete_rule``; ``list_destinations``,
  ``add_destination`` (returns the plain token ONCE — only its SHA-256 is stored; send it to
  the address with :func:`fedbus.notifier.verify.send_verification`), ``new_token``
  (a fresh token, the old one stops working), ``verify_destination``, ``set_delivery``,
  ``delete_destination``; ``list_packages``, ``add_package``, ``remove_package``;
  ``recent_deliveries`` (the last notifications sent to the user, newest first);
- :meth:`Store.sendable` (the senders' re-check of a job: a destination and its user).
- Values returned are frozen dataclasses (:class:`RuleView`, …), never ORM objects: no
  session leaks into the caller.  Bad input raises :class:`InvalidPreference` (a one-line
  message fit for a form or a 400 answer).

Each change appends a :class:`~fedbus.notifier.models.Change` row in the same
transaction: the matching workers reload exactly the users that changed.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from fedbus.errors import FedbusError
from fedbus.notifier.models import (
    PACKAGE_RELATIONS,
    Base,
    Change,
    Delivery,
    Destination,
    PackageRelation,
    RateEvent,
    Rule,
    SessionEpoch,
    User,
    utcnow,
)
from fedbus.notifier.validate import (
    PACKAGE_RE,
    TOKEN_TTL,
    InvalidPreference,
    check_address,
    check_delivery,
    check_globs,
    check_rule_value,
    check_services,
    check_severity,
    check_text,
    check_user_name,
    hash_token,
    severity_name,
)


class NotFound(FedbusError):
    """No such object for this user (it does not exist, or belongs to someone else)."""


@dataclass(frozen=True)
class DestinationView:
    id: int
    kind: str
    address: str
    verified: bool
    delivery: str
    digest_cap: int


@dataclass(frozen=True)
class RuleView:
    id: int
    name: str
    kind: str
    value: str
    enabled: bool
    min_severity: str
    exclude_mine: bool
    exclude_topics: tuple[str, ...]
    exclude_services: tuple[str, ...]
    destination_ids: tuple[int, ...]


@dataclass(frozen=True)
class PackageView:
    package: str
    relation: str
    source: str


@dataclass(frozen=True)
class DeliveryView:
    """A notification handed to a sender: when (UTC; the send time once ``sent``), where,
    and what about (``topic``, ``summary``, ``url``: ``None`` in rows older than that)."""

    at: dt.datetime
    status: str
    kind: str
    address: str
    message_id: str
    topic: str | None
    summary: str | None
    url: str | None


@dataclass(frozen=True)
class Sendable:
    """What a sender re-checks a job against (:meth:`Store.sendable`)."""

    user_id: int
    user: str
    paused: bool
    muted_until: dt.datetime | None
    kind: str
    address: str
    verified: bool


@dataclass(frozen=True)
class UserView:
    id: int
    name: str
    paused: bool
    muted_until: dt.datetime | None


def _rule_view(r: Rule) -> RuleView:
    return RuleView(
        id=r.id,
        name=r.name,
        kind=r.kind,
        value=r.value,
        enabled=r.enabled,
        min_severity=severity_name(r.min_severity) if r.min_severity else "debug",
        exclude_mine=r.exclude_mine,
        exclude_topics=tuple(r.exclude_topics or ()),
        exclude_services=tuple(r.exclude_services or ()),
        destination_ids=tuple(sorted(d.id for d in r.destinations)),
    )


def _dest_view(d: Destination) -> DestinationView:
    return DestinationView(d.id, d.kind, d.address, d.verified, d.delivery, d.digest_cap)


def _user_view(u: User) -> UserView:
    return UserView(u.id, u.name, u.paused, u.muted_until)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys and WAL."""
    engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives the process being killed (what the ledger
            # needs); only a power cut may lose the last commits
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

    return engine


class Store:
    """The database of preferences; hands out :class:`UserStore` objects."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, create: bool = False) -> Store:
        engine = make_engine(url)
        if create:
            Base.metadata.create_all(engine)
        return cls(engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as s, s.begin():
            yield s

    def user(self, name: str) -> UserStore:
        """The store of user ``name``, created on first use."""
        check_user_name(name)
        with self.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                user = User(name=name)
                s.add(user)
                s.flush()
                s.add(Change(user_id=user.id))
            return UserStore(self, user.id, user.name)

    def find_user(self, name: str) -> UserStore | None:
        with self.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            return None if user is None else UserStore(self, user.id, user.name)

    # -- the senders' queries (fedbus.notifier.senders) ---------------------------------

    def sendable(self, destination_id: int) -> Sendable | None:
        """Destination ``destination_id`` and its user, in one query on primary keys
        (:class:`~fedbus.notifier.senders.guard.Guard`); ``None`` if there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(User.id, User.name, User.paused, User.muted_until, Destination.kind,
                       Destination.address, Destination.verified)
                .join(User, User.id == Destination.user_id)
                .where(Destination.id == destination_id)
            ).first()  # fmt: skip
        return None if row is None else Sendable(*row)


class UserStore:
    """Preferences of one user; every query is filtered on that user's id."""

    def __init__(self, store: Store, user_id: int, name: str) -> None:
        self.store = store
        self.user_id = user_id
        self.name = name

    @contextmanager
    def _changing(self) -> Iterator[Session]:
        with self.store.session() as s:
            yield s
            s.add(Change(user_id=self.user_id))

    def _user(self, s: Session) -> User:
        user = s.get(User, self.user_id)
        if user is None:
            raise NotFound(f"user {self.name!r} no longer exists")
        return user

    def _rule(self, s: Session, rule_id: int) -> Rule:
        rule = s.scalar(
            select(Rule)
            .where(Rule.id == rule_id, Rule.user_id == self.user_id)
            .options(selectinload(Rule.destinations))
        )
        if rule is None:
            raise NotFound(f"no rule {rule_id}")
        return rule

    def _dest(self, s: Session, dest_id: int) -> Destination:
        dest = s.scalar(
            select(Destination).where(
                Destination.id == dest_id, Destination.user_id == self.user_id
            )
        )
        if dest is None:
            raise NotFound(f"no destination {dest_id}")
        return dest

    def _dests(self, s: Session, ids: Sequence[int] | None) -> list[Destination]:
        return [self._dest(s, int(i)) for i in ids or ()]

    # -- the user -------------------------------------------------------------------------

    def profile(self) -> UserView:
        with self.store.session() as s:
            return _user_view(self._user(s))

    def set_paused(self, paused: bool) -> UserView:
        with self._changing() as s:
            user = self._user(s)
            user.paused = bool(paused)
            return _user_view(user)

    def mute_until(self, until: dt.datetime | None) -> UserView:
        """Mute until ``until`` (UTC; naive or aware), or unmute with ``None``."""
        if until is not None and until.tzinfo is not None:
            until = until.astimezone(dt.UTC).replace(tzinfo=None)
        with self._changing() as s:
            user = self._user(s)
            user.muted_until = until
            return _user_view(user)

    # -- rules ----------------------------------------------------------------------------

    def list_rules(self) -> list[RuleView]:
        with self.store.session() as s:
            rows = s.scalars(
                select(Rule)
                .where(Rule.user_id == self.user_id)
                .options(selectinload(Rule.destinations))
                .order_by(Rule.id)
            )
            return [_rule_view(r) for r in rows]

    def get_rule(self, rule_id: int) -> RuleView:
        with self.store.session() as s:
            return _rule_view(self._rule(s, rule_id))

    def add_rule(
        self,
        kind: str,
        value: str = "",
        *,
        name: str = "",
        enabled: bool = True,
        min_severity: str | int | None = None,
        exclude_mine: bool = False,
        exclude_topics: Sequence[str] | None = None,
        exclude_services: Sequence[str] | None = None,
        destination_ids: Sequence[int] | None = None,
    ) -> RuleView:
        rule = Rule(
            name=check_text(str(name), "name", 100),
            kind=kind,
            value=check_rule_value(kind, value),
            enabled=bool(enabled),
            min_severity=check_severity(min_severity),
            exclude_mine=bool(exclude_mine),
            exclude_topics=check_globs(exclude_topics, "exclude_topics"),
            exclude_services=check_services(exclude_services),
            user_id=self.user_id,
        )
        with self._changing() as s:
            rule.destinations = self._dests(s, destination_ids)
            s.add(rule)
            s.flush()
            return _rule_view(rule)

    def update_rule(self, rule_id: int, **changes: Any) -> RuleView:
        """Change the given fields (the keyword arguments of :meth:`add_rule`)."""
        allowed = {
            "kind", "value", "name", "enabled", "min_severity", "exclude_mine",
            "exclude_topics", "exclude_services", "destination_ids",
        }  # fmt: skip
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidPreference(f"unknown rule field(s): {', '.join(sorted(unknown))}")
        with self._changing() as s:
            rule = self._rule(s, rule_id)
            kind = changes.get("kind", rule.kind)
            if "kind" in changes or "value" in changes:
                rule.value = check_rule_value(kind, changes.get("value", rule.value))
                rule.kind = kind
            if "name" in changes:
                rule.name = check_text(str(changes["name"]), "name", 100)
            if "enabled" in changes:
                rule.enabled = bool(changes["enabled"])
            if "min_severity" in changes:
                rule.min_severity = check_severity(changes["min_severity"])
            if "exclude_mine" in changes:
                rule.exclude_mine = bool(changes["exclude_mine"])
            if "exclude_topics" in changes:
                rule.exclude_topics = check_globs(changes["exclude_topics"], "exclude_topics")
            if "exclude_services" in changes:
                rule.exclude_services = check_services(changes["exclude_services"])
            if "destination_ids" in changes:
                rule.destinations = self._dests(s, changes["destination_ids"])
            s.flush()
            return _rule_view(rule)

    def delete_rule(self, rule_id: int) -> None:
        with self._changing() as s:
            s.delete(self._rule(s, rule_id))

    # -- destinations ---------------------------------------------------------------------

    def list_destinations(self) -> list[DestinationView]:
        with self.store.session() as s:
            rows = s.scalars(
                select(Destination)
                .where(Destination.user_id == self.user_id)
                .order_by(Destination.id)
            )
            return [_dest_view(d) for d in rows]

    def add_destination(
        self, kind: str, address: str, *, delivery: str = "immediate", digest_cap: int = 50
    ) -> tuple[DestinationView, str]:
        """A new, unverified destination and its verification token (shown only now)."""
        address = check_address(kind, address)
        mode, cap = check_delivery(delivery, digest_cap)
        token = secrets.token_urlsafe(24)
        with self._changing() as s:
            taken = s.scalar(
                select(Destination).where(
                    Destination.user_id == self.user_id,
                    Destination.kind == kind,
                    Destination.address == address,
                )
            )
            if taken is not None:
                raise InvalidPreference(f"{kind} {address!r} is already one of your destinations")
            dest = Destination(
                user_id=self.user_id,
                kind=kind,
                address=address,
                delivery=mode,
                digest_cap=cap,
                token_hash=hash_token(token),
                token_created_at=utcnow(),
            )
            s.add(dest)
            s.flush()
            return _dest_view(dest), token

    def new_token(self, dest_id: int) -> str:
        token = secrets.token_urlsafe(24)
        with self._changing() as s:
            dest = self._dest(s, dest_id)
            dest.token_hash, dest.token_created_at = hash_token(token), utcnow()
        return token

    def verify_destination(self, dest_id: int, token: str) -> bool:
        """Mark the destination verified if ``token`` is its current, unexpired token."""
        with self._changing() as s:
            dest = self._dest(s, dest_id)
            if dest.verified:
                return True
            if not dest.token_hash or dest.token_created_at is None:
                return False
            if utcnow() - dest.token_created_at > TOKEN_TTL:
                return False
            if not hmac.compare_digest(dest.token_hash, hash_token(str(token))):
                return False
            dest.verified, dest.token_hash = True, None
            return True

    def set_delivery(
        self, dest_id: int, delivery: str, *, digest_cap: int | None = None
    ) -> DestinationView:
        with self._changing() as s:
            dest = self._dest(s, dest_id)
            dest.delivery, dest.digest_cap = check_delivery(
                delivery, dest.digest_cap if digest_cap is None else digest_cap
            )
            return _dest_view(dest)

    def delete_destination(self, dest_id: int) -> None:
        with self._changing() as s:
            s.delete(self._dest(s, dest_id))

    # -- packages -------------------------------------------------------------------------

    def list_packages(self) -> list[PackageView]:
        with self.store.session() as s:
            rows = s.scalars(
                select(PackageRelation)
                .where(PackageRelation.user_id == self.user_id)
                .order_by(PackageRelation.package)
            )
            return [PackageView(p.package, p.relation, p.source) for p in rows]

    def add_package(self, package: str, relation: str = "watcher") -> PackageView:
        if not PACKAGE_RE.match(package or ""):
            raise InvalidPreference(f"package {package!r} is not a package name")
        if relation not in PACKAGE_RELATIONS:
            raise InvalidPreference(f"relation {relation!r}: one of {', '.join(PACKAGE_RELATIONS)}")
        with self._changing() as s:
            row = s.scalar(
                select(PackageRelation).where(
                    PackageRelation.user_id == self.user_id, PackageRelation.package == package
                )
            )
            if row is None:
                row = PackageRelation(user_id=self.user_id, package=package, source="manual")
                s.add(row)
            row.relation = relation
            return PackageView(package, relation, row.source)

    def remove_package(self, package: str) -> None:
        with self._changing() as s:
            row = s.scalar(
                select(PackageRelation).where(
                    PackageRelation.user_id == self.user_id, PackageRelation.package == package
                )
            )
            if row is None:
                raise NotFound(f"you do not follow package {package!r}")
            s.delete(row)

    # -- what was sent ----------------------------------------------------------------------

    def recent_deliveries(self, limit: int = 20) -> list[DeliveryView]:
        """The last ``limit`` notifications to the user's current destinations."""
        with self.store.session() as s:
            rows = s.execute(
                select(Delivery.at, Delivery.status, Destination.kind, Destination.address,
                       Delivery.message_id, Delivery.topic, Delivery.summary, Delivery.url)
                .join(Destination, Destination.id == Delivery.destination_id)
                .where(Delivery.user_id == self.user_id, Destination.user_id == self.user_id)
                .order_by(Delivery.id.desc())
                .limit(limit)
            ).all()  # fmt: skip
        return [DeliveryView(*row) for row in rows]


# -- the web boundary: rate limits and session epochs (web layer only) ---------------------


class WebLimits:
    """Counters shared by all web workers (table ``web_rate_events``) and the local users'
    session epochs (``web_session_epochs``)."""

    def __init__(self, engine: Engine) -> None:
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    def retry_after(self, keys: Sequence[str], limit: int, window: dt.timedelta) -> int:
        """Seconds until every key of ``keys`` is under ``limit`` events in ``window``
        again; 0 if none is at its limit."""
        since = utcnow() - window
        worst = 0
        with self.sessions() as s:
            for key in keys:
                rows = s.execute(
                    select(func.count(RateEvent.id), func.min(RateEvent.at)).where(
                        RateEvent.key == key, RateEvent.at > since
                    )
                ).one()
                if rows[0] >= limit:
                    worst = max(worst, int((rows[1] - since).total_seconds()) + 1)
        return worst

    def record(self, keys: Sequence[str], window: dt.timedelta) -> None:
        """One event for each key; rows older than ``window`` (of those keys) pruned."""
        now = utcnow()
        with self.sessions() as s, s.begin():
            s.execute(
                delete(RateEvent).where(RateEvent.key.in_(keys), RateEvent.at <= now - window)
            )
            s.add_all(RateEvent(key=k, at=now) for k in keys)

    def epoch(self, username: str) -> int:
        with self.sessions() as s:
            row = s.get(SessionEpoch, username)
            return row.epoch if row else 0

    def bump_epoch(self, username: str) -> None:
        """Ends every session of ``username``."""
        with self.sessions() as s, s.begin():
            row = s.get(SessionEpoch, username, with_for_update=True)
            if row is None:
                s.add(SessionEpoch(username=username, epoch=1))
            else:
                row.epoch += 1
