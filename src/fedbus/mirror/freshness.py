"""How fresh every mirror is, from the bus's own messages: no I/O here.

:func:`fold` takes the mirror events in the order the bus carried them — the master's
``netapp.snapmirror.in_sync`` / ``out_of_sync`` and every agent's
``mirror.<tier>.sync.start`` / ``sync.complete`` — and keeps, per volume, the master's last
in_sync and, per mirror, its last start, its last completed pull and its last good one.
:func:`assess` turns that into a verdict at a given time:

- a mirror's **lag** is 0 when its last good pull carried the master's last change
  (``changed_at``, handed down the tiers) or a later one, or started after the master's last
  in_sync (a full pull); otherwise the time since that change — how long its users have been
  served an older tree; unknown (None) without a master in_sync or a good pull in the window;
- lag above ``warning`` seconds: WARNING; above ``critical``: CRITICAL; a mirror whose last
  pull failed: WARNING (it is retried with a backoff).

The levels are :class:`fedbus.health.Level` (the exit codes of monitoring plugins).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fedbus.health import Level

IN_SYNC = "netapp.snapmirror.in_sync"
OUT_OF_SYNC = "netapp.snapmirror.out_of_sync"
TIERS = ("tier1", "tier2")


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 time of a message body, as an aware UTC datetime; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


@dataclass
class Master:
    """The master side of one volume: its last in_sync and whether it is changing now."""

    volume: str
    host: str = ""
    in_sync_at: dt.datetime | None = None
    changed_at: dt.datetime | None = None  # the first change the last in_sync carries
    changing_since: dt.datetime | None = None  # an out_of_sync not yet followed by in_sync


@dataclass
class Mirror:
    """One mirror agent of one volume."""

    volume: str
    name: str
    tier: str
    started_at: dt.datetime | None = None  # of the last start
    finished_at: dt.datetime | None = None  # of the last complete
    status: str = ""  # of the last complete: ok / failed
    error: str | None = None
    good_started_at: dt.datetime | None = None  # of the last complete with status ok
    good_finished_at: dt.datetime | None = None
    good_changed_at: dt.datetime | None = None  # the master's change that pull carried

    @property
    def syncing(self) -> bool:
        return self.started_at is not None and (
            self.finished_at is None or self.started_at > self.finished_at)


@dataclass
class Freshness:
    masters: dict[str, Master] = field(default_factory=dict)
    mirrors: dict[tuple[str, str], Mirror] = field(default_factory=dict)
    events: int = 0


def fold(events: Iterable[tuple[str, Mapping[str, Any]]], prefix: str) -> Freshness:
    """The state after ``events`` (``(topic, body)``, valid messages, oldest first); topics
    outside ``prefix`` or not about mirroring are skipped."""
    out = Freshness()
    lead = prefix.rstrip(".") + "."
    for topic, body in events:
        if not topic.startswith(lead):
            continue
        name = topic[len(lead):]
        volume = body.get("volume")
        if not isinstance(volume, str):
            continue
        if name in (IN_SYNC, OUT_OF_SYNC):
            out.events += 1
            master = out.masters.setdefault(volume, Master(volume))
            master.host = str(body.get("host") or master.host)
            when = parse_time(body.get("timestamp"))
            if name == OUT_OF_SYNC:
                master.changing_since = master.changing_since or when
            else:
                master.in_sync_at = when
                master.changed_at = parse_time(body.get("changed_at")) or when
                master.changing_since = None
            continue
        words = name.split(".")
        if len(words) != 4 or words[0] != "mirror" or words[1] not in TIERS \
                or words[2] != "sync" or words[3] not in ("start", "complete"):
            continue
        mirror_name = body.get("mirror")
        if not isinstance(mirror_name, str):
            continue
        out.events += 1
        mirror = out.mirrors.setdefault((volume, mirror_name),
                                        Mirror(volume, mirror_name, words[1]))
        mirror.tier = words[1]
        if words[3] == "start":
            mirror.started_at = parse_time(body.get("started_at"))
            continue
        mirror.finished_at = parse_time(body.get("finished_at"))
        mirror.status = str(body.get("status") or "")
        mirror.error = body.get("error") if isinstance(body.get("error"), str) else None
        if mirror.status == "ok":
            mirror.good_started_at = parse_time(body.get("started_at"))
            mirror.good_finished_at = mirror.finished_at
            carried = parse_time(body.get("changed_at"))
            if carried is not None and (mirror.good_changed_at is None
                                        or carried > mirror.good_changed_at):
                mirror.good_changed_at = carried
    return out


def lag(mirror: Mirror, master: Master | None, now: dt.datetime) -> float | None:
    """Seconds the mirror is behind the master's last in_sync; None when unknown."""
    if master is None or master.changed_at is None or mirror.good_finished_at is None:
        return None
    if mirror.good_changed_at is not None and mirror.good_changed_at >= master.changed_at:
        return 0.0
    if (mirror.good_started_at is not None and master.in_sync_at is not None
            and mirror.good_started_at >= master.in_sync_at):
        return 0.0
    return max(0.0, (now - master.changed_at).total_seconds())


@dataclass(frozen=True)
class Row:
    volume: str
    mirror: str
    tier: str
    state: str
    last_good: dt.datetime | None
    lag_seconds: float | None


@dataclass(frozen=True)
class Report:
    level: Level
    reasons: tuple[str, ...]
    masters: tuple[Master, ...]
    rows: tuple[Row, ...]


def human(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``."""
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def assess(state: Freshness, now: dt.datetime, warning: float, critical: float) -> Report:
    """The verdict on every mirror at ``now`` (worst reasons first)."""
    findings: list[tuple[Level, str]] = []
    rows = []
    for (volume, name), mirror in sorted(state.mirrors.items(),
                                         key=lambda kv: (kv[0][0], kv[1].tier, kv[0][1])):
        behind = lag(mirror, state.masters.get(volume), now)
        if mirror.syncing:
            what = "syncing"
        elif mirror.status == "failed":
            what = "failed"
        else:
            what = {None: "ok", 0.0: "current"}.get(behind, "behind")
        rows.append(Row(volume, name, mirror.tier, what, mirror.good_finished_at, behind))
        where = f"{name} ({mirror.tier}, {volume})"
        if behind is not None and behind > critical:
            findings.append((Level.CRITICAL, f"{where} is {human(behind)} behind the master"))
        elif behind is not None and behind > warning:
            findings.append((Level.WARNING, f"{where} is {human(behind)} behind the master"))
        if mirror.status == "failed" and not mirror.syncing:
            findings.append((Level.WARNING,
                             f"{where}: last pull failed: {mirror.error or 'no reason given'}"))
    findings.sort(key=lambda f: -f[0])
    level = findings[0][0] if findings else Level.OK
    return Report(level, tuple(text for _, text in findings),
                  tuple(sorted(state.masters.values(), key=lambda m: m.volume)), tuple(rows))
