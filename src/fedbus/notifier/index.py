"""The in-memory matching index over every user's preferences.

A message is reduced once to its :class:`Facts` (topic, service, usernames, packages,
agent, severity); the index then looks up only the buckets those facts name:

- a topic trie (AMQP globs: ``*`` one word, ``#`` any) and a service map — their result is
  cached per topic (topics repeat; the cache is dropped when a glob or service rule changes);
- ``package → rules``: ``package`` rules, and ``owned_packages`` rules expanded over the
  packages the user owns or watches;
- ``username → rules``: ``user`` rules of the followers of that user, and the user's own
  ``my_events`` rules.

Each kind of rule is a small class (:class:`TopicRule` … :class:`MyEventsRule`, by name in
:data:`KINDS`) that says which of these bucket families its entries go to, and under which
keys.  The candidates are then filtered (muted, severity, exclude my own actions, excluded
topics and services) and merged per (user, destination): the cost of a message grows with
the rules it matches, not with the number of users.

The API: :meth:`Index.match` gives the :class:`Notification` s of a message's
:class:`Facts` — each holds its :class:`Target` (user, destination) and the rule ids, and
stays valid whatever the index does next; :meth:`Index.put_user` / :meth:`Index.drop_user`
change one user's entries and :meth:`Index.load` many at once (workers call them for the
users whose preferences changed, see :mod:`.loader`).  The rest is private.

Layout (what a message touches, kept small because at 100k users the index is far larger
than the CPU caches and every object reached is a likely cache miss):

- a bucket is a packed ``array`` of C ints, ``(target number, rule id, filter number)``
  repeated: one entry per (rule, destination), 12 bytes, no Python object per entry — the
  entries of a bucket sit in a few consecutive cache lines;
- a target is one (user, destination); ``Index._targets`` is the list of them, a user's
  numbered consecutively.  Matches are merged on the number; only then is each
  notification's :class:`Target` taken from the list, once per notification (rendering
  reads it next anyway): matching reads no destination object, and no target of a
  candidate that was filtered out;
- a :class:`_Filter` holds a rule's filters (and its user's mute) and is shared, by
  number, by every rule with the same ones (most rules share a handful), so it stays in
  the cache; number 0 is no filter.  :meth:`Index.load` sorts each bucket by filter, so
  a filter is decided once per run of entries;
- "exclude my own actions" compares target numbers with the agent's range of them (one
  lookup per message, only when such a rule is met).

A layout of flat tuples (rule id, ``Target`` object, filter object) reaches one ``Target``
object per notification while matching: at 100k users, 60.6 last-level misses per message
against 14.3 at 1k (cachegrind, ``benchmarks/notifier_matching_misses.py``); the packed
buckets reach none (42.7 against 14.7, measured when :meth:`Index.match` returned target
numbers and the caller read the targets afterwards; every layout measured:
``benchmarks/results/notifier_index_layouts.md``).  Taking each notification's ``Target``
inside :meth:`Index.match` moves that read from the caller, it adds none
(``benchmarks/results/notifier_matching_ab.md``).  Filters that carry a mute date are
shared only by equal dates and are not freed before the worker restarts (a few hundred
bytes per mute change).
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar

from fedbus.message.topic import topic_matches

# (target number, rule id, filter number) repeated, packed as C ints (rule ids are the
# database's integer keys); see the module's docstring.
if TYPE_CHECKING:
    Bucket = array[int]
else:
    Bucket = array
_TYPECODE = "i"
_EMPTY: Bucket = array(_TYPECODE)
_NOBODY = range(0)


@dataclass(frozen=True, slots=True)
class DestinationEntry:
    id: int
    kind: str
    address: str
    delivery: str = "immediate"
    digest_cap: int = 50


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class UserEntry:
    """A user's preferences, as loaded from the store (only verified destinations)."""

    id: int
    name: str
    paused: bool = False
    muted_until: dt.datetime | None = None
    rules: tuple[RuleEntry, ...] = ()
    destinations: tuple[DestinationEntry, ...] = ()
    packages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Facts:
    """What matching needs from a message, extracted once."""

    id: str
    topic: str
    services: frozenset[str]
    usernames: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    agent: str | None = None
    severity: int = 20


class Target:
    """One (user, destination): what a notification goes to."""

    __slots__ = ("destination", "user", "user_id")

    def __init__(self, user_id: int, user: str, destination: DestinationEntry) -> None:
        self.user_id = user_id
        self.user = user
        self.destination = destination

    def __repr__(self) -> str:
        d = self.destination
        return f"Target({self.user!r}, {d.kind}:{d.address})"


class Notification(tuple[Target, list[int]]):
    """One notification: a target (one user's destination) and the rules that matched,
    merged.  Safe to keep: it holds its :class:`Target`, which the index never changes.

    Made from the pair, ``Notification((target, rule_ids))``: tuple's own constructor, no
    Python-level ``__init__`` (a message makes one per notification, 18 on average).
    """

    __slots__ = ()

    target: Target = property(itemgetter(0))  # type: ignore[assignment]
    rule_ids: list[int] = property(itemgetter(1))  # type: ignore[assignment]

    @property
    def user_id(self) -> int:
        return self[0].user_id

    @property
    def user(self) -> str:
        return self[0].user

    @property
    def destination(self) -> DestinationEntry:
        return self[0].destination

    @property
    def destination_id(self) -> int:
        return self[0].destination.id

    def __repr__(self) -> str:
        return f"Notification({self[0]!r}, rules {self[1]})"


class _Filter:
    """A rule's filters (and its user's mute), shared by all rules with the same ones."""

    __slots__ = ("ex_services", "ex_topics", "excluded", "mine", "muted_until", "sev")

    def __init__(
        self,
        sev: int,
        mine: bool,
        ex_services: frozenset[str],
        ex_topics: tuple[str, ...],
        muted_until: dt.datetime | None,
    ) -> None:
        self.sev = sev
        self.mine = mine
        self.ex_services = ex_services
        self.ex_topics = ex_topics  # full globs (prefix applied)
        self.muted_until = muted_until
        self.excluded: dict[str, bool] = {}  # topic -> one of ex_topics matches it

    def passes(self, severity: int, services: frozenset[str], topic: str) -> bool:
        """The part of the filter that does not depend on the user (severity, exclusions)."""
        if severity < self.sev:
            return False
        if self.ex_services and not self.ex_services.isdisjoint(services):
            return False
        if self.ex_topics:
            hit = self.excluded.get(topic)
            if hit is None:
                hit = any(topic_matches(glob, topic) for glob in self.ex_topics)
                if len(self.excluded) > 10_000:
                    self.excluded.clear()
                self.excluded[topic] = hit
            if hit:
                return False
        return True


class _Node:
    __slots__ = ("children", "rules")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.rules: Bucket = _EMPTY


class _Trie:
    """The ``topic`` rules' buckets, by glob, in a trie of the glob's words (matching walks
    it with the message's topic); a mapping like the other bucket families."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.root = _Node()

    def _node(self, glob: str) -> _Node:
        if not glob.startswith("org."):
            glob = f"{self.prefix}.{glob}"
        node = self.root
        for word in glob.split("."):
            node = node.children.setdefault(word, _Node())
        return node

    def get(self, glob: str, default: Bucket = _EMPTY) -> Bucket:
        return self._node(glob).rules or default

    def __setitem__(self, glob: str, bucket: Bucket) -> None:
        self._node(glob).rules = bucket

    def __delitem__(self, glob: str) -> None:
        self._node(glob).rules = _EMPTY


# a bucket family: key -> bucket
_Family = dict[str, Bucket] | _Trie


class _User:
    __slots__ = ("name", "numbers", "places", "rules")

    def __init__(self, name: str, numbers: range) -> None:
        self.name = name
        self.numbers = numbers  # the user's targets: Index._targets[numbers]
        self.places: dict[tuple[int, str], tuple[_Family, str]] = {}
        self.rules = 0  # entries placed (rule x bucket)


def service_of(topic: str) -> str:
    """The topic's category: the word after ``org.<org>.<env>`` (``koji`` …)."""
    words = topic.split(".", 4)
    return words[3] if len(words) > 3 else ""


class TrackingRule:
    """What one kind of rule tracks, and so where the index puts it.

    The index keeps four *families* of buckets, each looked up once per message with one
    of its facts: ``topics`` (a trie of globs, walked with the message's topic),
    ``services`` (the topic's service word and the message's app name), ``packages`` and
    ``names`` (the message's usernames).  A rule's entries go into the buckets of its kind's
    :attr:`family` under the keys :meth:`keys` gives, so a rule matches a message when one
    of its keys is among the message's facts of that family.
    """

    kind: ClassVar[str]
    family: ClassVar[str]

    @staticmethod
    def keys(rule: RuleEntry, user: UserEntry) -> Iterable[str]:
        return (rule.value,)


class TopicRule(TrackingRule):
    """An AMQP topic glob (``*`` one word, ``#`` any), full or relative to the prefix."""

    kind, family = "topic", "topics"


class ServiceRule(TrackingRule):
    """A service: the topic's word after ``org.<org>.<env>``, or the message's app name."""

    kind, family = "service", "services"


class PackageRule(TrackingRule):
    """A package the message names."""

    kind, family = "package", "packages"


class OwnedPackagesRule(TrackingRule):
    """Any package the user owns or watches (the rule's value is unused)."""

    kind, family = "owned_packages", "packages"

    @staticmethod
    def keys(rule: RuleEntry, user: UserEntry) -> Iterable[str]:
        return dict.fromkeys(user.packages)


class UserRule(TrackingRule):
    """Another user the message names (a user followed)."""

    kind, family = "user", "names"


class MyEventsRule(TrackingRule):
    """The user themself, named by the message (the rule's value is unused)."""

    kind, family = "my_events", "names"

    @staticmethod
    def keys(rule: RuleEntry, user: UserEntry) -> Iterable[str]:
        return (user.name,)


#: Every kind of tracking rule, by the name rules carry in ``kind``.
KINDS: dict[str, type[TrackingRule]] = {
    k.kind: k
    for k in (TopicRule, ServiceRule, PackageRule, OwnedPackagesRule, UserRule, MyEventsRule)
}


class Index:
    """Preferences of all users, bucketed for lookup by message facts.

    The API: :meth:`put_user` / :meth:`drop_user` / :meth:`load` change it, :meth:`match`
    gives a message's :class:`Notification` s; :attr:`user_count` and :attr:`rule_count`
    say how big it is.  Everything else is its layout (see the module's docstring).
    """

    def __init__(self, prefix: str = "org.fedoraproject.prod") -> None:
        self.prefix = prefix
        self.rule_count = 0  # entries placed (rule x bucket)
        self._users: dict[int, _User] = {}
        self._trie = _Trie(prefix)
        self._services: dict[str, Bucket] = {}
        self._packages: dict[str, Bucket] = {}
        self._names: dict[str, Bucket] = {}
        self._families: dict[str, _Family] = {
            "topics": self._trie,
            "services": self._services,
            "packages": self._packages,
            "names": self._names,
        }
        # target number -> (user, destination); a user's targets are numbered consecutively,
        # and a dropped user's numbers go to the next user added with as many destinations
        self._targets: list[Target | None] = []
        self._free: dict[int, list[int]] = {}  # size -> first numbers of free runs
        self._numbers: dict[str, range] = {}  # user name -> its targets ("exclude mine")
        self._topic_cache: dict[str, tuple[Bucket, str]] = {}
        # filter number -> filter; 0: none (passes everything)
        self._filters: list[_Filter] = [_Filter(0, False, frozenset(), (), None)]
        self._filter_ids: dict[tuple[Any, ...], int] = {}
        self._staged: dict[tuple[int, str], tuple[_Family, str, list[int]]] | None = None

    @property
    def user_count(self) -> int:
        """The users indexed (not paused, with a verified destination)."""
        return len(self._users)

    # -- building -----------------------------------------------------------------------

    def put_user(self, entry: UserEntry) -> None:
        """Add or replace one user's entries."""
        self.drop_user(entry.id)
        if entry.paused or not entry.destinations:
            return
        numbers = self._number(entry)
        user = _User(entry.name, numbers)
        self._users[entry.id] = user
        self._numbers[entry.name] = numbers
        by_id = {d.id: n for d, n in zip(entry.destinations, numbers, strict=True)}
        everywhere = tuple(numbers)
        for rule in entry.rules:
            kind = KINDS.get(rule.kind)
            if kind is None:
                continue
            chosen = (
                tuple(by_id[i] for i in rule.destination_ids if i in by_id)
                if rule.destination_ids
                else everywhere
            )
            if not chosen:
                continue
            filt = self._filter(rule, entry.muted_until)
            entries = [x for n in chosen for x in (n, rule.id, filt)]
            family = self._families[kind.family]
            for key in kind.keys(rule, entry):
                self._add(user, family, key, entries)

    def _number(self, entry: UserEntry) -> range:
        """Number the user's targets: a free run of this size, or new numbers at the end."""
        size = len(entry.destinations)
        runs = self._free.get(size)
        if runs:
            first = runs.pop()
        else:
            first = len(self._targets)
            self._targets.extend([None] * size)
        for i, d in enumerate(entry.destinations):
            self._targets[first + i] = Target(entry.id, entry.name, d)
        return range(first, first + size)

    def drop_user(self, user_id: int) -> None:
        """Remove one user's entries (nothing if the user is not indexed)."""
        user = self._users.pop(user_id, None)
        if user is None:
            return
        if self._staged:  # the user's entries may still be staged
            self._flush()
        for family, key in user.places.values():
            kept = _without(family.get(key, _EMPTY), user.numbers)
            if kept:
                family[key] = kept
            else:
                del family[key]
            if family is self._trie or family is self._services:
                self._topic_cache.clear()
        self.rule_count -= user.rules
        numbers = user.numbers
        self._targets[numbers.start : numbers.stop] = [None] * len(numbers)
        self._free.setdefault(len(numbers), []).append(numbers.start)
        if self._numbers.get(user.name) is numbers:
            del self._numbers[user.name]

    def load(self, entries: Iterable[UserEntry]) -> None:
        """Add (or replace) many users: each bucket is built once, at the end."""
        outer = self._staged is not None
        if not outer:
            self._staged = {}
        try:
            for entry in entries:
                self.put_user(entry)
        finally:
            if not outer:
                self._flush()
                self._staged = None

    def _filter(self, rule: RuleEntry, muted_until: dt.datetime | None) -> int:
        """The number of the rule's filter (0: none); equal filters share one number."""
        sev, mine = rule.min_severity, rule.exclude_mine
        ex_services, ex_topics = rule.exclude_services, rule.exclude_topics
        if not (sev or mine or ex_services or ex_topics or muted_until):
            return 0
        globs = tuple(g if g.startswith("org.") else f"{self.prefix}.{g}" for g in ex_topics)
        key = (sev, mine, ex_services, globs, muted_until)
        number = self._filter_ids.get(key)
        if number is None:
            number = self._filter_ids[key] = len(self._filters)
            self._filters.append(_Filter(sev, mine, ex_services, globs, muted_until))
        return number

    def _add(self, user: _User, family: _Family, key: str, entries: list[int]) -> None:
        place = (id(family), key)
        user.places[place] = (family, key)
        user.rules += 1
        self.rule_count += 1
        if family is self._trie or family is self._services:
            self._topic_cache.clear()
        if self._staged is not None:
            staged = self._staged.get(place)
            if staged is None:
                self._staged[place] = (family, key, list(entries))
            else:
                staged[2].extend(entries)
            return
        family[key] = family.get(key, _EMPTY) + _packed(entries)

    def _flush(self) -> None:
        """Build the staged buckets, each once, their entries sorted by filter (matching
        decides a filter once per run of entries that share it)."""
        assert self._staged is not None
        for family, key, entries in self._staged.values():
            old = family.get(key, _EMPTY)
            if old:
                entries = list(old) + entries
            it = iter(entries)
            ordered = sorted(zip(it, it, it, strict=True), key=itemgetter(2))
            family[key] = _packed(chain.from_iterable(ordered))
        self._staged.clear()

    # -- matching -----------------------------------------------------------------------

    def _topic_bucket(self, topic: str) -> tuple[Bucket, str]:
        cached = self._topic_cache.get(topic)
        if cached is not None:
            return cached
        found: list[Bucket] = []
        _walk(self._trie.root, topic.split("."), 0, found)
        service = service_of(topic)
        found.append(self._services.get(service, _EMPTY))
        # '#' may reach a node twice: each bucket once
        unique = {id(b): b for b in found if b}.values()
        result = (_packed(chain.from_iterable(unique)), service)
        if len(self._topic_cache) > 10_000:
            self._topic_cache.clear()
        self._topic_cache[topic] = result
        return result

    def _buckets(self, facts: Facts) -> list[Bucket]:
        topic_bucket, topic_service = self._topic_bucket(facts.topic)
        found = [topic_bucket] if topic_bucket else []
        services = facts.services
        if len(services) > 1 or topic_service not in services:
            for service in services:
                if service != topic_service:
                    bucket = self._services.get(service)
                    if bucket:
                        found.append(bucket)
        packages, names = self._packages, self._names
        for package in facts.packages:
            bucket = packages.get(package)
            if bucket:
                found.append(bucket)
        usernames = facts.usernames
        for name in dict.fromkeys(usernames) if len(usernames) > 1 else usernames:
            bucket = names.get(name)
            if bucket:
                found.append(bucket)
        return found

    def match(self, facts: Facts, now: dt.datetime | None = None) -> list[Notification]:
        """The notifications ``facts`` produces, one per (user, destination), their rules
        merged; ``now`` (naive UTC) decides mutes, the current time if not given."""
        buckets = self._buckets(facts)
        if not buckets:
            return []
        merged: dict[int, list[int]] = {}  # target number -> rule ids
        agent, severity, topic, services = facts.agent, facts.severity, facts.topic, facts.services
        filters = self._filters
        mine: range | None = None  # the agent's targets, looked up once
        last = -1
        passes = check_mine = False
        for bucket in buckets:
            it = iter(bucket)
            for target, rule_id, number in zip(it, it, it, strict=True):
                if number != last:  # a bucket's entries are sorted by filter: runs
                    last = number
                    filt = filters[number]
                    passes = filt.passes(severity, services, topic)
                    if passes and filt.muted_until is not None:
                        if now is None:
                            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
                        passes = filt.muted_until <= now
                    check_mine = filt.mine and agent is not None
                if not passes:
                    continue
                if check_mine:
                    if mine is None:
                        mine = self._numbers.get(agent, _NOBODY)  # type: ignore[arg-type]
                    if target in mine:
                        continue
                ids = merged.get(target)
                if ids is None:
                    merged[target] = [rule_id]
                else:
                    ids.append(rule_id)
        found = map(self._targets.__getitem__, merged)  # each notification's Target
        rule_ids: Iterable[list[int]] = merged.values()
        if len(facts.packages) > 1:
            # an owned_packages rule sits in the bucket of each of the user's packages
            rule_ids = [list(dict.fromkeys(ids)) for ids in rule_ids]
        # (map and zip: a loop without Python bytecode per notification)
        return list(map(Notification, zip(found, rule_ids, strict=True)))  # type: ignore[arg-type]


def _without(bucket: Bucket, mine: range) -> Bucket:
    """The bucket without the entries of these targets (one user's)."""
    it = iter(bucket)
    return _packed(
        x for entry in zip(it, it, it, strict=True) if entry[0] not in mine for x in entry
    )


def _packed(values: Iterable[int]) -> Bucket:
    return array(_TYPECODE, values)


def _walk(node: _Node, words: list[str], i: int, found: list[Bucket]) -> None:
    if i == len(words):
        found.append(node.rules)
        hash_node = node.children.get("#")
        if hash_node is not None:
            found.append(hash_node.rules)
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
