"""Whether the bus is healthy: a verdict from what the broker's management API reports.

:func:`assess` takes the API's nodes, queues and connections and what the operator expects
(:class:`Expectations`) and returns a :class:`Verdict`: ``OK``, ``WARNING`` or ``CRITICAL``
with one reason per finding, worst first.  Its exit code is the one monitoring plugins use
(0, 1, 2), so Zabbix or Nagios can run ``fedbus stat`` as a check.

The rules:

- a broker node not running, a memory or disk alarm, a network partition: CRITICAL;
- a queue with ``critical`` messages ready or more: CRITICAL; ``warning`` or more: WARNING
  (10,000 / 100,000 by default, as Fedora's queue checks; overridable per queue);
- a dead-letter queue (``<queue>.dlq``) that is not empty: WARNING;
- a consumer queue with no consumer: WARNING (dead-letter queues and exclusive queues are
  not consumer queues); a stream (``fedbus.mirror.events``) is a log kept for its readers,
  neither a backlog nor a consumer queue;
- a connection the broker blocks (it publishes faster than the broker's alarms allow):
  WARNING;
- a relay that is expected (``relays``) and has no connection: WARNING, naming its host.
  A relay names its connection ``fedbus-relay@<host>``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Row = Mapping[str, Any]
RELAY_PREFIX = "fedbus-relay@"
DLQ_SUFFIX = ".dlq"


class Level(enum.IntEnum):
    """A verdict's level; its value is the monitoring plugins' exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2


@dataclass(frozen=True)
class Threshold:
    """Messages ready in a queue from which it is a WARNING, and a CRITICAL."""

    warning: int = 10_000
    critical: int = 100_000

    def __post_init__(self) -> None:
        if not 0 < self.warning <= self.critical:
            raise ValueError(
                f"queue threshold: need 0 < warning <= critical, got {self.warning}, "
                f"{self.critical}"
            )


@dataclass(frozen=True)
class Expectations:
    """What a healthy bus looks like: the default queue threshold, those of named queues,
    and the hosts whose relay must be connected."""

    threshold: Threshold = Threshold()
    queues: Mapping[str, Threshold] = field(default_factory=dict)
    relays: tuple[str, ...] = ()

    def threshold_of(self, queue: str) -> Threshold:
        return self.queues.get(queue, self.threshold)


@dataclass(frozen=True)
class Finding:
    level: Level
    reason: str


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]

    @property
    def level(self) -> Level:
        return max((f.level for f in self.findings), default=Level.OK)

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.findings]

    def line(self) -> str:
        """The verdict line: ``CRITICAL: reason; reason`` (``OK: …`` when all is well)."""
        if not self.findings:
            return "OK: the bus is healthy"
        return f"{self.level.name}: " + "; ".join(self.reasons)


def relay_host(connection: Row) -> str | None:
    """The host of a relay's connection (``fedbus-relay@<host>``), else None."""
    props = connection.get("client_properties") or {}
    name = props.get("connection_name") if isinstance(props, Mapping) else None
    if isinstance(name, str) and name.startswith(RELAY_PREFIX):
        return name[len(RELAY_PREFIX):] or None
    return None


def _nodes(nodes: Iterable[Row]) -> Iterable[Finding]:
    for node in nodes:
        name = node.get("name", "?")
        if not node.get("running", False):
            yield Finding(Level.CRITICAL, f"broker node {name} is down")
            continue
        if node.get("mem_alarm"):
            yield Finding(Level.CRITICAL, f"broker node {name}: memory alarm (publishers blocked)")
        if node.get("disk_free_alarm"):
            yield Finding(Level.CRITICAL, f"broker node {name}: disk alarm (publishers blocked)")
        if node.get("partitions"):
            peers = ", ".join(map(str, node["partitions"]))
            yield Finding(Level.CRITICAL, f"broker node {name} is partitioned from {peers}")


def _queues(queues: Iterable[Row], expect: Expectations) -> Iterable[Finding]:
    for q in queues:
        name = str(q.get("name", ""))
        ready = int(q.get("messages_ready") or 0)
        where = f"{q.get('vhost', '')} {name}".strip()
        if name.endswith(DLQ_SUFFIX):
            if ready or int(q.get("messages_unacknowledged") or 0):
                yield Finding(Level.WARNING, f"{ready} dead letter(s) in {where}")
            continue
        if q.get("type") == "stream":  # a log kept for readers (fedbus.mirror.events): its
            continue  # length is its retention, and readers come and go
        limit = expect.threshold_of(name)
        if ready >= limit.critical:
            yield Finding(Level.CRITICAL, f"{where}: {ready} messages ready (>= {limit.critical})")
        elif ready >= limit.warning:
            yield Finding(Level.WARNING, f"{where}: {ready} messages ready (>= {limit.warning})")
        if not q.get("exclusive") and not int(q.get("consumers") or 0):
            yield Finding(Level.WARNING, f"{where}: no consumer")


def _connections(connections: list[Row], expect: Expectations) -> Iterable[Finding]:
    for c in connections:
        if c.get("state") in ("blocked", "blocking"):
            who = relay_host(c) or c.get("user") or c.get("name", "?")
            yield Finding(Level.WARNING, f"connection of {who} is blocked by the broker")
    connected = {relay_host(c) for c in connections}
    for host in expect.relays:
        if host not in connected:
            yield Finding(Level.WARNING, f"relay on {host} is not connected")


def assess(
    nodes: Iterable[Row], queues: Iterable[Row], connections: Iterable[Row],
    expect: Expectations = Expectations(),
) -> Verdict:
    """The verdict on the bus from the management API's ``/api/nodes``, ``/api/queues``
    and ``/api/connections`` (rows as the API returns them)."""
    found = [*_nodes(nodes), *_queues(queues, expect), *_connections(list(connections), expect)]
    found.sort(key=lambda f: -f.level)
    return Verdict(tuple(found))
