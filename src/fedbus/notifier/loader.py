"""Keeps an :class:`~fedbus.notifier.index.Index` in step with the database.

:meth:`IndexLoader.full` loads every user (a handful of bulk queries); :meth:`refresh`
reads the ``changes`` rows past the last sequence seen and reloads only those users —
workers call it every few seconds and whenever a change message arrives, so a new rule
acts on the next message without a restart.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select

from fedbus.notifier.index import DestinationEntry, Index, RuleEntry, UserEntry
from fedbus.notifier.models import (
    Change,
    Destination,
    PackageRelation,
    Rule,
    User,
    rule_destinations,
)
from fedbus.notifier.store import Store

log = logging.getLogger("fedbus.notifier.loader")
CHUNK = 500


class IndexLoader:
    def __init__(self, store: Store, index: Index) -> None:
        self.store = store
        self.index = index
        self.seq = 0

    def full(self) -> int:
        """Load every user; returns the number of users indexed."""
        with self.store.session() as s:
            self.seq = s.scalar(select(func.max(Change.seq))) or 0
            ids = list(s.scalars(select(User.id)))
        for i in range(0, len(ids), CHUNK):
            self._reload(ids[i : i + CHUNK])
        log.info("index: %d users, %d rule entries", self.index.user_count, self.index.rule_count)
        return len(ids)

    def refresh(self) -> int:
        """Reload the users changed since the last call; returns how many."""
        with self.store.session() as s:
            rows = s.execute(
                select(Change.seq, Change.user_id).where(Change.seq > self.seq).order_by(Change.seq)
            ).all()
        if not rows:
            return 0
        self.seq = rows[-1][0]
        changed = sorted({uid for _, uid in rows})
        for i in range(0, len(changed), CHUNK):
            self._reload(changed[i : i + CHUNK])
        return len(changed)

    def _reload(self, user_ids: list[int]) -> None:
        for entry_id in user_ids:
            self.index.drop_user(entry_id)
        self.index.load(self.entries(user_ids))

    def entries(self, user_ids: list[int]) -> Iterable[UserEntry]:
        with self.store.session() as s:
            users = list(s.scalars(select(User).where(User.id.in_(user_ids))))
            dests: dict[int, list[DestinationEntry]] = defaultdict(list)
            for d in s.scalars(
                select(Destination).where(
                    Destination.user_id.in_(user_ids), Destination.verified.is_(True)
                )
            ):
                dests[d.user_id].append(
                    DestinationEntry(d.id, d.kind, d.address, d.delivery, d.digest_cap)
                )
            links: dict[int, list[int]] = defaultdict(list)
            for rule_id, dest_id in s.execute(
                select(rule_destinations.c.rule_id, rule_destinations.c.destination_id)
                .join(Rule, Rule.id == rule_destinations.c.rule_id)
                .where(Rule.user_id.in_(user_ids))
            ):
                links[rule_id].append(dest_id)
            rules: dict[int, list[RuleEntry]] = defaultdict(list)
            for r in s.scalars(
                select(Rule).where(Rule.user_id.in_(user_ids), Rule.enabled.is_(True))
            ):
                rules[r.user_id].append(
                    RuleEntry(
                        id=r.id,
                        kind=r.kind,
                        value=r.value,
                        min_severity=r.min_severity,
                        exclude_mine=r.exclude_mine,
                        exclude_topics=tuple(r.exclude_topics or ()),
                        exclude_services=frozenset(r.exclude_services or ()),
                        destination_ids=tuple(sorted(links.get(r.id, ()))),
                    )
                )
            packages: dict[int, list[str]] = defaultdict(list)
            for uid, package in s.execute(
                select(PackageRelation.user_id, PackageRelation.package).where(
                    PackageRelation.user_id.in_(user_ids)
                )
            ):
                packages[uid].append(package)
        for u in users:
            yield UserEntry(
                id=u.id,
                name=u.name,
                paused=u.paused,
                muted_until=u.muted_until,
                rules=tuple(rules.get(u.id, ())),
                destinations=tuple(dests.get(u.id, ())),
                packages=tuple(packages.get(u.id, ())),
            )
