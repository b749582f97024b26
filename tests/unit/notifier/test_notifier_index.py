"""The matching index: every kind of rule, every filter, merging, incremental updates —
checked against a naive evaluation of every rule on random preferences."""

from __future__ import annotations

import datetime as dt
import random

from fedbus.message.topic import topic_matches
from fedbus.notifier.index import (
    KINDS,
    DestinationEntry,
    Facts,
    Index,
    RuleEntry,
    UserEntry,
    service_of,
)
from fedbus.notifier.models import RULE_KINDS

P = "org.fedoraproject.prod"
MAIL = DestinationEntry(1, "email", "a@example.org")
IRC = DestinationEntry(2, "irc", "anick")


def facts(topic: str, *, users=(), packages=(), agent=None, severity=20) -> Facts:
    return Facts("m1", f"{P}.{topic}", frozenset({topic.split(".")[0]}),
                 tuple(users), tuple(packages), agent, severity)  # fmt: skip


def user(uid: int, *rules: RuleEntry, name: str = "", **kw) -> UserEntry:
    mail = DestinationEntry(uid * 10, "email", "x@y.z")
    dests = kw.pop("destinations", (mail,))
    return UserEntry(uid, name or f"u{uid}", rules=rules, destinations=dests, **kw)


def test_each_kind_matches_its_bucket() -> None:
    idx = Index(P)
    idx.load([
        user(1, RuleEntry(11, "topic", "koji.build.*")),
        user(2, RuleEntry(21, "service", "bodhi")),
        user(3, RuleEntry(31, "package", "kernel")),
        user(4, RuleEntry(41, "owned_packages"), packages=("glibc", "bash")),
        user(5, RuleEntry(51, "user", "alice")),
        user(6, RuleEntry(61, "my_events"), name="bob"),
        user(7, RuleEntry(71, "topic", "org.fedoraproject.*.git.#")),
    ])  # fmt: skip
    assert [m.user_id for m in idx.match(facts("koji.build.tag"))] == [1]
    assert idx.match(facts("koji.build.state.change")) == []
    assert [m.user_id for m in idx.match(facts("bodhi.update.comment"))] == [2]
    assert [m.user_id for m in idx.match(facts("x.y", packages=["kernel"]))] == [3]
    assert [m.user_id for m in idx.match(facts("x.y", packages=["bash"]))] == [4]
    assert [m.user_id for m in idx.match(facts("x.y", users=["alice"]))] == [5]
    assert [m.user_id for m in idx.match(facts("x.y", users=["bob"]))] == [6]
    assert [m.user_id for m in idx.match(facts("git.receive"))] == [7]
    assert [m.user_id for m in idx.match(facts("git"))] == [7]  # '#' matches zero words


def test_filters() -> None:
    idx = Index(P)
    idx.load([
        user(1, RuleEntry(1, "package", "kernel", min_severity=30)),
        user(2, RuleEntry(2, "package", "kernel", exclude_mine=True), name="alice"),
        user(3, RuleEntry(3, "package", "kernel", exclude_topics=("koji.#",))),
        user(4, RuleEntry(4, "package", "kernel", exclude_services=frozenset({"koji"}))),
        user(5, RuleEntry(5, "package", "kernel"), paused=True),
        user(6, RuleEntry(6, "package", "kernel"),
             muted_until=dt.datetime(2100, 1, 1)),
        user(7, RuleEntry(7, "package", "kernel"), muted_until=dt.datetime(2000, 1, 1)),
        user(8, RuleEntry(8, "package", "kernel"), destinations=()),
    ])  # fmt: skip
    got = {m.user_id for m in idx.match(facts("koji.build.tag", packages=["kernel"],
                                              agent="alice"))}  # fmt: skip
    assert got == {7}
    got = {m.user_id for m in idx.match(facts("git.receive", packages=["kernel"],
                                              agent="carol", severity=30))}  # fmt: skip
    assert got == {1, 2, 3, 4, 7}


def test_duplicates_across_rules_are_merged_per_destination() -> None:
    idx = Index(P)
    idx.put_user(user(1, RuleEntry(1, "package", "kernel"), RuleEntry(2, "topic", "koji.#"),
                      RuleEntry(3, "my_events", destination_ids=(2,)),
                      destinations=(MAIL, IRC)))  # fmt: skip
    got = idx.match(facts("koji.build.tag", packages=["kernel"], users=["u1"]))
    by_dest = {m.destination.id: sorted(m.rule_ids) for m in got}
    assert by_dest == {1: [1, 2], 2: [1, 2, 3]}


def test_rule_naming_unverified_destination_sends_nothing() -> None:
    idx = Index(P)
    idx.put_user(user(1, RuleEntry(1, "package", "kernel", destination_ids=(99,))))
    assert idx.match(facts("x", packages=["kernel"])) == []


def test_incremental_updates_and_topic_cache() -> None:
    idx = Index(P)
    idx.put_user(user(1, RuleEntry(1, "topic", "koji.#")))
    assert len(idx.match(facts("koji.build.tag"))) == 1
    idx.put_user(user(1, RuleEntry(2, "topic", "bodhi.#")))  # replaces the rules
    assert idx.match(facts("koji.build.tag")) == []
    assert len(idx.match(facts("bodhi.update"))) == 1
    idx.drop_user(1)
    assert idx.match(facts("bodhi.update")) == [] and idx.rule_count == 0
    assert not idx._packages and not idx._names and not idx._services  # internals: freed


def hits(u: UserEntry, r: RuleEntry, f: Facts) -> bool:
    v = r.value
    if r.kind == "topic":
        return topic_matches(v if v.startswith("org.") else f"{P}.{v}", f.topic)
    if r.kind == "service":
        return v in f.services or v == service_of(f.topic)
    if r.kind == "package":
        return v in f.packages
    if r.kind == "owned_packages":
        return bool(set(u.packages) & set(f.packages))
    if r.kind == "user":
        return v in f.usernames
    return u.name in f.usernames


def naive(entries: list[UserEntry], f: Facts) -> set[tuple[int, int]]:
    """Evaluate every rule of every user: the reference."""
    out = set()
    for u in entries:
        if u.paused:
            continue
        for r in u.rules:
            if not hits(u, r, f) or f.severity < r.min_severity:
                continue
            if r.exclude_mine and f.agent == u.name:
                continue
            if r.exclude_services & f.services:
                continue
            if any(topic_matches(f"{P}.{t}", f.topic) for t in r.exclude_topics):
                continue
            dests = [
                d for d in u.destinations if not r.destination_ids or d.id in r.destination_ids
            ]
            out |= {(u.id, d.id) for d in dests}
    return out


def test_index_agrees_with_naive_evaluation() -> None:
    rnd = random.Random(7)
    pkgs = [f"p{i}" for i in range(30)]
    names = [f"u{i}" for i in range(40)]
    topics = ["koji.build.tag", "koji.build.state.change", "bodhi.update.comment", "git.receive",
              "git.lookaside.new", "copr.build.end"]  # fmt: skip
    globs = ["koji.#", "koji.build.*", "*.update.#", "git.receive", "#", "copr.*.end"]
    kinds = ["topic", "service", "package", "owned_packages", "user", "my_events"]
    entries = []
    rid = 0
    for uid in range(40):
        rules = []
        for _ in range(rnd.randint(0, 5)):
            rid += 1
            kind = rnd.choice(kinds)
            value = {
                "topic": rnd.choice(globs),
                "service": rnd.choice(["koji", "git", "bodhi"]),
                "package": rnd.choice(pkgs),
                "user": rnd.choice(names),
            }.get(kind, "")
            rules.append(RuleEntry(
                rid, kind, value, min_severity=rnd.choice([0, 0, 30]),
                exclude_mine=rnd.random() < 0.3,
                exclude_topics=tuple(rnd.sample(["koji.build.tag", "git.#"], rnd.randint(0, 1))),
                exclude_services=frozenset(rnd.sample(["copr", "bodhi"], rnd.randint(0, 1))),
                destination_ids=rnd.choice([(), (uid * 2,), (uid * 2 + 1,)]),
            ))  # fmt: skip
        entries.append(UserEntry(uid, f"u{uid}", paused=rnd.random() < 0.1, rules=tuple(rules),
                                 destinations=(DestinationEntry(uid * 2, "email", "x@y.z"),
                                               DestinationEntry(uid * 2 + 1, "irc", "n")),
                                 packages=tuple(rnd.sample(pkgs, 3))))  # fmt: skip
    idx = Index(P)
    idx.load(entries)
    total = 0
    for _ in range(500):
        t = rnd.choice(topics)
        f = Facts("m", f"{P}.{t}", frozenset({t.split(".")[0]}),
                  tuple(rnd.sample(names, rnd.randint(0, 2))),
                  tuple(rnd.sample(pkgs, rnd.randint(0, 2))),
                  rnd.choice([None, "u1", "u2"]), rnd.choice([20, 30]))  # fmt: skip
        got = {(m.user_id, m.destination.id) for m in idx.match(f)}
        assert got == naive(entries, f)
        total += len(got)
    assert total > 500  # the comparison is not vacuous


def test_matches_name_their_user_and_destination() -> None:
    idx = Index(P)
    idx.load([user(1, RuleEntry(1, "package", "kernel"), name="alice",
                   destinations=(MAIL, IRC))])  # fmt: skip
    got = sorted(idx.match(facts("x", packages=["kernel"])), key=lambda m: m.destination_id)
    assert [(m.user_id, m.user, m.destination, m.rule_ids) for m in got] == [
        (1, "alice", MAIL, [1]), (1, "alice", IRC, [1])]  # fmt: skip
    idx.drop_user(1)
    assert idx._targets == [None, None] and idx.user_count == 0  # internals: freed


def test_a_dropped_users_numbers_go_to_the_next_user_of_the_same_size() -> None:
    idx = Index(P)
    idx.load([user(1, RuleEntry(1, "package", "kernel"), destinations=(MAIL, IRC)),
              user(2, RuleEntry(2, "package", "bash"))])  # fmt: skip
    idx.drop_user(1)
    idx.put_user(user(3, RuleEntry(3, "my_events"), name="carol", destinations=(MAIL, IRC)))
    assert len(idx._targets) == 3  # internals: reused, not grown
    assert idx.match(facts("x", packages=["kernel"])) == []
    got = idx.match(facts("x", users=["carol"], agent="u2"))
    assert sorted((m.user, m.destination_id) for m in got) == [("carol", 1), ("carol", 2)]
    kept = idx.match(facts("x", packages=["bash"]))[0]
    idx.drop_user(2)
    idx.put_user(user(4, RuleEntry(4, "package", "vim"), name="dave"))  # takes u2's number
    assert (kept.user_id, kept.user, kept.destination_id, kept.rule_ids) == (2, "u2", 20, [2])


def test_every_rule_kind_the_store_accepts_has_a_class() -> None:
    assert set(KINDS) == set(RULE_KINDS)
    assert all(k.kind == name for name, k in KINDS.items())


def test_buckets_built_in_chunks_and_updated_one_user_at_a_time_agree() -> None:
    """The loader loads users in chunks (each chunk sorted by filter into the buckets
    already there) and single users after that; the result is the same as one load."""
    entries = [user(i, RuleEntry(i * 10, "package", "kernel", min_severity=i % 3 * 10,
                                 exclude_mine=i % 2 == 0),
                    RuleEntry(i * 10 + 1, "my_events"))
               for i in range(1, 30)]  # fmt: skip
    whole, chunked = Index(P), Index(P)
    whole.load(entries)
    for i in range(0, len(entries), 7):
        chunked.load(entries[i : i + 7])
    chunked.put_user(entries[4])  # replaced: unsorted append, same answer
    for agent in ("u2", "u3", None):
        f = facts("x", packages=["kernel"], users=["u2"], agent=agent, severity=10)
        assert {(m.user_id, m.destination_id, tuple(m.rule_ids)) for m in whole.match(f)} == {
            (m.user_id, m.destination_id, tuple(m.rule_ids)) for m in chunked.match(f)}  # fmt: skip
