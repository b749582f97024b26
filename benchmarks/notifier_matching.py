"""Notifier matching throughput: the index against evaluating every rule, same run.

For 1k, 10k and 100k users with about 5 rules each (packages, packages owned/watched,
users followed, own events, topic globs and services, with filters), one stream of real
fedora-messaging messages (the git hook's ``CommitV1`` and a catalog-style schema with
users, packages and an agent) is matched:

- ``index``: :meth:`fedbus.notifier.index.Index.match` on facts extracted beforehand;
- ``index + targets``: the same, then reading each notification's user and destination
  from each :class:`~fedbus.notifier.index.Notification`'s ``Target``, as
  :func:`fedbus.notifier.render.jobs_for` does next (matching takes the ``Target`` s);
- ``index + accessors``: :meth:`~fedbus.notifier.index.Index.match` on facts read through
  the schema accessors per message (:func:`fedbus.notifier.facts.facts_of`) — what a worker
  does;
- ``naive``: every rule of every user evaluated per message (what FMN 3 does, minus its
  database), on a sample of the stream; both must give the same notifications.

The population keeps the same shape at every size: one package per 2 users, each user is
followed by about one other, and a fixed 10 users who watch a topic glob — so the
notifications per message stay about constant and the figure shows what the index's cost
depends on.  Pinned to one CPU.

    python benchmarks/notifier_matching.py [--sizes 1000,10000,100000] [--messages 20000]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write
from fedbus_messages.base import FedbusMessage
from fedora_messaging import message as fm
from fedora_messaging_git_hook_messages.commit import CommitV1

from fedbus.message.topic import topic_matches
from fedbus.notifier.facts import facts_of
from fedbus.notifier.index import (
    DestinationEntry,
    Facts,
    Index,
    RuleEntry,
    UserEntry,
    service_of,
)
from fedbus.notifier.worker import load_index

PREFIX = "org.fedoraproject.prod"
TOPICS = ["koji.build.state.change", "koji.tag.build", "bodhi.update.comment",
          "bodhi.update.status.testing.koji-build-group.build.complete", "copr.build.end",
          "pagure.pull-request.new", "fas.user.update", "ci.koji-build.test.complete"]  # fmt: skip
GLOBS = ["koji.build.*", "bodhi.update.#", "copr.#", "*.pull-request.*", "ci.#"]
SERVICES = ["koji", "bodhi", "copr", "pagure", "git", "ci"]


class BenchEventV1(FedbusMessage):
    """A catalog-style schema: users, packages and an agent in the body."""

    topic_pattern: ClassVar[str] = "#"
    summary_template: ClassVar[str] = "{agent} did something to {packages}"
    user_fields: ClassVar[tuple[str, ...]] = ("agent", "owner")
    package_fields: ClassVar[tuple[str, ...]] = ("packages",)
    agent_field: ClassVar[str | None] = "agent"
    body_schema: ClassVar[dict[str, Any]] = {"type": "object"}


# registered as an installed schema package would be (entry point)
fm._schema_name_to_class["bench.event.v1"] = BenchEventV1
fm._class_to_schema_name[BenchEventV1] = "bench.event.v1"


def population(n: int, rnd: random.Random) -> list[UserEntry]:
    n_packages = max(50, n // 2)
    users = []
    rid = 0
    for uid in range(n):
        rid += 5
        dests = (DestinationEntry(uid * 2, "email", f"u{uid}@example.org"),
                 DestinationEntry(uid * 2 + 1, "irc", f"u{uid}"))  # fmt: skip
        rules = [
            RuleEntry(rid, "package", f"pkg{rnd.randrange(n_packages)}", min_severity=20),
            RuleEntry(rid + 1, "owned_packages", exclude_mine=True),
            RuleEntry(rid + 2, "user", f"u{rnd.randrange(n)}", destination_ids=(uid * 2 + 1,)),
            RuleEntry(rid + 3, "my_events", exclude_topics=("fas.#",)),
        ]
        if uid < 10:  # the few who watch a whole service or glob, at every size
            rules.append(RuleEntry(rid + 4, "topic", GLOBS[uid % len(GLOBS)],
                                   exclude_services=frozenset({"ci"})))  # fmt: skip
        else:
            rules.append(RuleEntry(rid + 4, "package", f"pkg{rnd.randrange(n_packages)}",
                                   exclude_topics=("copr.#",)))  # fmt: skip
        packages = tuple(f"pkg{rnd.randrange(n_packages)}" for _ in range(rnd.randint(0, 2)))
        users.append(UserEntry(uid, f"u{uid}", rules=tuple(rules), destinations=dests,
                               packages=packages))  # fmt: skip
    return users


def stream(n_users: int, count: int, rnd: random.Random) -> list[Any]:
    n_packages = max(50, n_users // 2)
    messages: list[Any] = []
    for i in range(count):
        agent = f"u{rnd.randrange(n_users)}"
        package = f"pkg{rnd.randrange(n_packages)}"
        if i % 4 == 0:
            commit = {"name": agent, "email": f"{agent}@example.org", "username": agent,
                      "summary": "Fix the build", "message": "Fix the build\n", "stats":
                      {"files": {}, "total": {"additions": 1, "deletions": 1, "lines": 2,
                                              "files": 1}},
                      "rev": f"{i:040x}", "path": f"/srv/git/rpms/{package}.git",
                      "repo": package, "namespace": "rpms", "branch": "rawhide",
                      "patch": "", "date": "2026-11-30T00:00:00Z", "url": None}  # fmt: skip
            messages.append(CommitV1(topic=f"{PREFIX}.git.receive",
                                     body={"agent": agent, "commit": commit}))  # fmt: skip
        else:
            owner = f"u{rnd.randrange(n_users)}"
            messages.append(BenchEventV1(
                topic=f"{PREFIX}.{rnd.choice(TOPICS)}",
                body={"agent": agent, "owner": owner, "packages": [package]},
                severity=rnd.choice((20, 20, 30)),
            ))  # fmt: skip
    return messages


def naive_match(users: list[UserEntry], f: Facts) -> set[tuple[int, int]]:
    """Every rule of every user, evaluated in turn."""
    out: set[tuple[int, int]] = set()
    for u in users:
        for r in u.rules:
            v, kind = r.value, r.kind
            if kind == "topic":
                hit = topic_matches(v if v.startswith("org.") else f"{PREFIX}.{v}", f.topic)
            elif kind == "service":
                hit = v in f.services or v == service_of(f.topic)
            elif kind == "package":
                hit = v in f.packages
            elif kind == "owned_packages":
                hit = any(p in f.packages for p in u.packages)
            elif kind == "user":
                hit = v in f.usernames
            else:
                hit = u.name in f.usernames
            if not hit or f.severity < r.min_severity:
                continue
            if r.exclude_mine and f.agent == u.name:
                continue
            if r.exclude_services & f.services:
                continue
            if any(topic_matches(f"{PREFIX}.{t}", f.topic) for t in r.exclude_topics):
                continue
            for d in u.destinations:
                if not r.destination_ids or d.id in r.destination_ids:
                    out.add((u.id, d.id))
    return out


class Size:
    """One population, its index (built as a worker builds it) and its message stream."""

    def __init__(self, n: int, count: int) -> None:
        rnd = random.Random(n)
        self.n = n
        self.users = population(n, rnd)
        self.index = Index(PREFIX)
        t0 = time.perf_counter()
        load_index(lambda: self.index.load(self.users))  # what Worker.load does
        self.build = time.perf_counter() - t0
        self.messages = stream(n, count, rnd)
        self.facts = [facts_of(m) for m in self.messages]
        self.index.match(self.facts[0])  # warm
        self.match_times: list[float] = []
        self.target_times: list[float] = []
        self.full_times: list[float] = []
        self.notes = 0

    def round(self) -> None:
        clock = time.process_time  # CPU seconds of this process: "on one core", whatever the load
        index, facts = self.index, self.facts
        t0 = clock()
        self.notes = sum(len(index.match(f)) for f in facts)
        self.match_times.append(clock() - t0)
        t0 = clock()
        for f in facts:
            for m in index.match(f):  # what rendering a job reads (jobs_for)
                t = m.target
                t.user, t.destination.kind, t.destination.address  # noqa: B018
        self.target_times.append(clock() - t0)
        t0 = clock()
        for m in self.messages:
            index.match(facts_of(m))
        self.full_times.append(clock() - t0)

    def naive(self, budget: float) -> tuple[float, int]:
        """Naive on a sample, within a time budget; the results must agree with the index."""
        t0 = time.perf_counter()
        sampled = 0
        for f in self.facts:
            expect = naive_match(self.users, f)
            got = {(m.user_id, m.destination.id) for m in self.index.match(f)}
            if got != expect:
                raise SystemExit(f"index and naive disagree on {f}: {got ^ expect}")
            sampled += 1
            if time.perf_counter() - t0 > budget and sampled >= 3:
                break
        return (time.perf_counter() - t0) / sampled, sampled


def run(sizes: list[int], count: int, naive_budget: float, rounds: int) -> list[dict[str, float]]:
    built = [Size(n, count) for n in sizes]
    gc.collect()
    gc.freeze()
    # rounds alternate between the sizes, so that a burst of load on the shared machine
    # falls on every size alike instead of on whichever size was being measured
    for _ in range(rounds):
        for size in built:
            size.round()
    rows = []
    for size in built:
        naive_s, sampled = size.naive(naive_budget)
        match_s, full_s = min(size.match_times), min(size.full_times)
        target_s = min(size.target_times)
        rows.append({
            "users": size.n, "rules": sum(len(u.rules) for u in size.users),
            "build": size.build, "per_msg": match_s / count,
            "median_per_msg": statistics.median(size.match_times) / count,
            "rate": count / match_s, "full_rate": count / full_s,
            "target_rate": count / target_s, "target_per_msg": target_s / count,
            "median_rate": count / statistics.median(size.match_times),
            "notes": size.notes / count, "naive_rate": 1 / naive_s, "naive_n": sampled,
        })  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--naive-seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cpu = sorted(os.sched_getaffinity(0))[-1]
    os.sched_setaffinity(0, {cpu})
    from _common import machine

    info = machine()
    rows = run([int(s) for s in args.sizes.split(",")], args.messages, args.naive_seconds,
               args.rounds)  # fmt: skip
    base = rows[0]["per_msg"]
    lines = ["| users | rules | index build s | notifications/msg | **index msg/s** "
             "| index + targets msg/s | index + accessors msg/s | naive msg/s (sample) "
             "| index ÷ naive | time/msg vs smallest | index + targets vs smallest |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r['users']:,} | {r['rules']:,} | {r['build']:.2f} | {r['notes']:.1f} "
            f"| **{r['rate']:,.0f}** [median {r['median_rate']:,.0f}] "
            f"| {r['target_rate']:,.0f} | {r['full_rate']:,.0f} "
            f"| {r['naive_rate']:,.2f} ({r['naive_n']:.0f} msgs) "
            f"| {r['rate'] / r['naive_rate']:,.0f}x | {r['per_msg'] / base:.2f}x "
            f"| {r['target_per_msg'] / rows[0]['target_per_msg']:.2f}x |"
        )
    big = rows[-1]
    verdict = (
        f"\nGoals: ≥20,000 msg/s at the largest size → **{big['rate']:,.0f}** "
        f"({'met' if big['rate'] >= 20000 else 'NOT met'}); time per message at the largest "
        f"size ≤1.5x the smallest → **{big['per_msg'] / base:.2f}x** "
        f"({'met' if big['per_msg'] / base <= 1.5 else 'NOT met'}); the same from the "
        f"median rounds: **{rows[0]['median_rate'] / big['median_rate']:.2f}x**.  Matching "
        "yields (target number, rule ids) per notification; reading each notification's user "
        "and destination afterwards, as rendering its job does, gives "
        f"**{big['target_per_msg'] / rows[0]['target_per_msg']:.2f}x** (index + targets): one "
        "object per notification that is not in the CPU caches at 100k users.  The work per "
        "message is the same at every size (notifications/msg); what grows is the time memory "
        "takes to answer: the 1k index fits in the CPU caches, the 100k one does not (see the "
        "index's layout in `fedbus.notifier.index`, and `notifier_matching_misses.py` for the "
        "cache misses counted).  Index and naive gave the same notifications on every sampled "
        "message (checked in the run).\n"
    )
    body = (
        f"{args.messages:,} messages per size (1 in 4 a real git-hook `CommitV1`, the rest a "
        "catalog-style schema), one process pinned to one CPU, rates in messages per "
        "CPU-second of that process "
        f"(`time.process_time`); best of {args.rounds} rounds, median in brackets, the rounds "
        "alternating between the sizes (all indexes built first, as a worker builds one: "
        "collector off, then `gc.freeze()`) — the 2 CPUs are shared with other work (load "
        "average in the machine section).\n\n" + "\n".join(lines) + verdict
    )
    load = os.getloadavg()
    info["load average at end"] = f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    info["max RSS"] = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB"
    write("notifier_matching", "Notifier matching throughput", {**info, "pinned cpu": str(cpu)},
          body, __doc__.split("\n\n")[2] if __doc__ else "")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
