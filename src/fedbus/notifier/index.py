"""The in-memory matching index over every user's preferences.

A message is reduced once to its :class:`Facts` (topic, service, usernames, packages,
agent, severity); the index then looks up only the buckets those facts name:

- a topic trie (AMQP globs: ``*`` one word, ``#`` any) and a service map — their result is
  cached per topic (topics repeat; the cache is dropped when a glob or service rule changes);
- ``package → rules``: ``package`` rules, and ``owned_packages`` rules expanded over the
  packages the user owns or watches;
- ``username → rules``: ``user`` rules of the followers of that user, and the user's own
  ``my_events`` rules.

The candidates are then filtered (muted, severity, exclude my own actions, excluded topics
and services) and merged per (user, destination): the cost of a message grows with the
rules it matches, not with the number of users.  :meth:`Index.put_user` /
:meth:`Index.drop_user` change one user's entries (workers call them for the users whose
preferences changed, see :mod:`.loader`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fedbus.message.topic import topic_matches

TRACK_KINDS = ("topic", "service", "package", "owned_packages", "user", "my_events")


@dataclass(frozen=True, slots=True)
class DestinationEntry:
    id: int
    kind: str
    address: str
    delivery: str = "immediate"
    digest_cap: int = 50


@dataclass(frozen=True)
class RuleEntry:
    """One enabled rule as the index needs it."""

    id: int
    kind: str
    value: str = ""
    min_severity: int = 0
    exclude_mine: bool = False
    exclude_topics: tuple[str, ...] = ()
    exclude_services: frozenset[str] = frozenset()
    destination_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class UserEntry:
    """A user's preferences, as loaded from the store (only verified destinations)."""

    id: int
    name: str
    paused: bool = False
    muted_until: dt.datetime | None = None
    rules: tuple[RuleEntry, ...] = ()
    destinations: tuple[DestinationEntry, ...] = ()
    packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    """What matching needs from a message, extracted once."""

    id: str
    topic: str
    services: frozenset[str]
    usernames: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    agent: str | None = None
    severity: int = 20


class Match:
    """One notification: a user, one destination, the rules that matched (merged)."""

    __slots__ = ("destination", "rule_ids", "user", "user_id")

    def __init__(self, user_id: int, user: str, destination: DestinationEntry, rule_ids: list[int]):
        self.user_id = user_id
        self.user = user
        self.destination = destination
        self.rule_ids = rule_ids

    def __repr__(self) -> str:
        d = self.destination
        return f"Match({self.user!r}, {d.kind}:{d.address}, {self.rule_ids})"


class _Bound:
    """A rule bound to its user and destinations: what a bucket holds (all in one object,
    so a match touches as little memory as possible)."""

    __slots__ = ("dests", "ex_services", "ex_topics", "mine", "muted_until", "plain",
                 "rule_id", "sev", "uid", "uname")  # fmt: skip

    def __init__(self, rule: RuleEntry, user: _User) -> None:
        self.rule_id = rule.id
        self.uid = user.id
        self.uname = user.name
        self.muted_until = user.muted_until
        self.sev = rule.min_severity
        self.mine = rule.exclude_mine
        self.ex_topics = rule.exclude_topics
        self.ex_services = rule.exclude_services
        self.plain = not (self.sev or self.mine or self.ex_topics or self.ex_services)
        by_id = {d.id: d for d in user.entry.destinations}
        chosen = [by_id[i] for i in rule.destination_ids if i in by_id]
        if not rule.destination_ids:
            chosen = list(user.entry.destinations)
        self.dests = tuple(chosen)  # shared DestinationEntry objects: merged on their id()


class _User:
    __slots__ = ("entry", "id", "muted_until", "name", "placed")

    def __init__(self, entry: UserEntry) -> None:
        self.entry = entry
        self.id = entry.id
        self.name = entry.name
        self.muted_until = entry.muted_until
        self.placed: list[tuple[dict[str, dict[int, _Bound]] | _Node, str, int]] = []


class _Node:
    __slots__ = ("children", "rules")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.rules: dict[int, _Bound] = {}


def service_of(topic: str) -> str:
    """The topic's category: the word after ``org.<org>.<env>`` (``koji`` …)."""
    words = topic.split(".", 4)
    return words[3] if len(words) > 3 else ""


class Index:
    """Preferences of all users, bucketed for lookup by message facts."""

    def __init__(self, prefix: str = "org.fedoraproject.prod") -> None:
        self.prefix = prefix
        self.users: dict[int, _User] = {}
        self.trie = _Node()
        self.services: dict[str, dict[int, _Bound]] = {}
        self.packages: dict[str, dict[int, _Bound]] = {}
        self.names: dict[str, dict[int, _Bound]] = {}
        self._topic_cache: dict[str, tuple[_Bound, ...]] = {}
        self._excluded_cache: dict[tuple[tuple[str, ...], str], bool] = {}
        self.rule_count = 0

    # -- building -----------------------------------------------------------------------

    def put_user(self, entry: UserEntry) -> None:
        """Add or replace one user's entries."""
        self.drop_user(entry.id)
        if entry.paused or not entry.destinations:
            return
        user = _User(entry)
        self.users[entry.id] = user
        for rule in entry.rules:
            bound = _Bound(rule, user)
            if not bound.dests:
                continue
            if rule.kind == "topic":
                self._place(user, self._trie_node(rule.value), "", bound)
            elif rule.kind == "service":
                self._place(user, self.services, rule.value, bound)
            elif rule.kind == "package":
                self._place(user, self.packages, rule.value, bound)
            elif rule.kind == "owned_packages":
                for package in entry.packages:
                    self._place(user, self.packages, package, bound)
            elif rule.kind == "user":
                self._place(user, self.names, rule.value, bound)
            elif rule.kind == "my_events":
                self._place(user, self.names, entry.name, bound)

    def drop_user(self, user_id: int) -> None:
        user = self.users.pop(user_id, None)
        if user is None:
            return
        for where, key, rule_id in user.placed:
            if isinstance(where, _Node):
                where.rules.pop(rule_id, None)
                self._topic_cache.clear()
                continue
            bucket = where.get(key)
            if bucket is not None:
                bucket.pop(rule_id, None)
                if not bucket:
                    del where[key]
            if where is self.services:
                self._topic_cache.clear()
        self.rule_count -= len(user.placed)

    def load(self, entries: Iterable[UserEntry]) -> None:
        for entry in entries:
            self.put_user(entry)

    def _place(
        self, user: _User, where: dict[str, dict[int, _Bound]] | _Node, key: str, bound: _Bound
    ) -> None:
        if isinstance(where, _Node):
            where.rules[bound.rule_id] = bound
            self._topic_cache.clear()
        else:
            where.setdefault(key, {})[bound.rule_id] = bound
            if where is self.services:
                self._topic_cache.clear()
        user.placed.append((where, key, bound.rule_id))
        self.rule_count += 1

    def _trie_node(self, glob: str) -> _Node:
        if not glob.startswith("org."):
            glob = f"{self.prefix}.{glob}"
        node = self.trie
        for word in glob.split("."):
            node = node.children.setdefault(word, _Node())
        return node

    # -- matching -----------------------------------------------------------------------

    def _topic_rules(self, topic: str) -> tuple[_Bound, ...]:
        cached = self._topic_cache.get(topic)
        if cached is not None:
            return cached
        found: list[_Bound] = []
        _walk(self.trie, topic.split("."), 0, found)
        service = self.services.get(service_of(topic))
        if service:
            found.extend(service.values())
        result = tuple({id(b): b for b in found}.values())  # '#' may reach a rule twice
        if len(self._topic_cache) > 10_000:
            self._topic_cache.clear()
        self._topic_cache[topic] = result
        return result

    def candidates(self, facts: Facts) -> list[_Bound]:
        found = list(self._topic_rules(facts.topic))
        for service in facts.services:
            if service != service_of(facts.topic):
                bucket = self.services.get(service)
                if bucket:
                    found.extend(bucket.values())
        packages, names = self.packages, self.names
        for package in facts.packages:
            bucket = packages.get(package)
            if bucket:
                found.extend(bucket.values())
        usernames = facts.usernames
        for name in dict.fromkeys(usernames) if len(usernames) > 1 else usernames:
            bucket = names.get(name)
            if bucket:
                found.extend(bucket.values())
        return found

    def match(self, facts: Facts, now: dt.datetime | None = None) -> list[Match]:
        """The notifications ``facts`` produces, one per (user, destination)."""
        found = self.candidates(facts)
        if not found:
            return []
        merged: dict[int, Match] = {}
        # a rule sits in one bucket, except owned_packages rules (one per package): only a
        # message naming several packages can reach a rule twice
        seen: set[int] | None = set() if len(facts.packages) > 1 else None
        agent, severity, topic = facts.agent, facts.severity, facts.topic
        for b in found:
            rule_id = b.rule_id
            if seen is not None:
                if rule_id in seen:
                    continue
                seen.add(rule_id)
            if not b.plain:
                if severity < b.sev:
                    continue
                if b.mine and agent is not None and agent == b.uname:
                    continue
                if b.ex_services and not b.ex_services.isdisjoint(facts.services):
                    continue
                if b.ex_topics and self._excluded(b.ex_topics, topic):
                    continue
            if b.muted_until is not None:
                if now is None:
                    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
                if b.muted_until > now:
                    continue
            for dest in b.dests:
                key = id(dest)  # one object per destination: no need to read it here
                m = merged.get(key)
                if m is None:
                    merged[key] = Match(b.uid, b.uname, dest, [rule_id])
                else:
                    m.rule_ids.append(rule_id)
        return list(merged.values())

    def _excluded(self, globs: tuple[str, ...], topic: str) -> bool:
        key = (globs, topic)
        hit = self._excluded_cache.get(key)
        if hit is None:
            hit = _excluded(globs, topic, self.prefix)
            if len(self._excluded_cache) > 50_000:
                self._excluded_cache.clear()
            self._excluded_cache[key] = hit
        return hit


def _walk(node: _Node, words: Sequence[str], i: int, found: list[_Bound]) -> None:
    if i == len(words):
        if node.rules:
            found.extend(node.rules.values())
        hash_node = node.children.get("#")
        if hash_node is not None and hash_node.rules:
            found.extend(hash_node.rules.values())
        return
    children = node.children
    child = children.get(words[i])
    if child is not None:
        _walk(child, words, i + 1, found)
    star = children.get("*")
    if star is not None:
        _walk(star, words, i + 1, found)
    hash_node = children.get("#")
    if hash_node is not None:
        for j in range(i, len(words) + 1):
            _walk(hash_node, words, j, found)


def _excluded(globs: tuple[str, ...], topic: str, prefix: str) -> bool:
    for glob in globs:
        full = glob if glob.startswith("org.") else f"{prefix}.{glob}"
        if topic_matches(full, topic):
            return True
    return False
