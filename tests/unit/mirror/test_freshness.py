"""Mirror freshness from the bus's own events (fedbus.mirror.freshness): no broker here."""

from __future__ import annotations

import datetime as dt

import pytest

from fedbus.health import Level
from fedbus.mirror.freshness import assess, fold, human, parse_time

P = "org.fedoraproject.prod"
NOW = dt.datetime(2026, 12, 8, 12, 0, tzinfo=dt.UTC)


def t(hours_ago: float) -> str:
    return (NOW - dt.timedelta(hours=hours_ago)).isoformat()


def in_sync(changed: float, at: float | None = None, volume: str = "pub") -> tuple[str, dict]:
    return (f"{P}.netapp.snapmirror.in_sync",
            {"volume": volume, "host": "ntap01", "changed_at": t(changed),
             "timestamp": t(changed if at is None else at)})


def sync(tier: str, kind: str, mirror: str, changed: float | None, started: float,
         finished: float | None = None, status: str = "ok") -> tuple[str, dict]:
    body = {"volume": "pub", "mirror": mirror, "upstream": "rsync://up/pub",
            "upstream_name": "up", "started_at": t(started)}
    if changed is not None:
        body["changed_at"] = t(changed)
    if kind == "complete":
        body.update(finished_at=t(started if finished is None else finished), status=status,
                    error=None if status == "ok" else "rsync exited 23")
    return f"{P}.mirror.{tier}.sync.{kind}", body


def report(events, warning=6 * 3600.0, critical=24 * 3600.0):
    return assess(fold(events, P), NOW, warning, critical)


def test_a_mirror_that_pulled_the_masters_last_change_is_current() -> None:
    r = report([in_sync(2), sync("tier1", "start", "dl01", 2, 1.9),
                sync("tier1", "complete", "dl01", 2, 1.9, 1.8)])
    assert r.level is Level.OK and r.reasons == ()
    (row,) = r.rows
    assert (row.mirror, row.tier, row.state, row.lag_seconds) == ("dl01", "tier1", "current", 0)
    assert r.masters[0].host == "ntap01"


def test_a_mirror_behind_the_masters_last_change_lags_since_that_change() -> None:
    r = report([sync("tier2", "complete", "m2", 30, 29.5), in_sync(8)])
    (row,) = r.rows
    assert row.state == "behind" and row.lag_seconds == 8 * 3600
    assert r.level is Level.WARNING
    assert r.reasons == ("m2 (tier2, pub) is 8 h 00 min behind the master",)
    assert report([sync("tier2", "complete", "m2", 30, 29.5), in_sync(25)]).level \
        is Level.CRITICAL


def test_a_full_pull_started_after_the_in_sync_is_current_without_changed_at() -> None:
    r = report([in_sync(5), sync("tier1", "complete", "dl01", None, 4, 3.5)])
    assert r.rows[0].lag_seconds == 0 and r.level is Level.OK


def test_a_failed_last_pull_warns_and_a_running_one_says_syncing() -> None:
    r = report([in_sync(1), sync("tier1", "complete", "a", 1, 0.9, 0.8, "failed"),
                sync("tier1", "complete", "b", 3, 2.9), sync("tier1", "start", "b", 1, 0.5)])
    states = {row.mirror: row.state for row in r.rows}
    assert states == {"a": "failed", "b": "syncing"}
    assert r.level is Level.WARNING
    assert r.reasons == ("a (tier1, pub): last pull failed: rsync exited 23",)


def test_unknown_lag_without_an_in_sync_or_a_good_pull() -> None:
    r = report([sync("tier1", "complete", "dl01", 3, 2.9)])
    assert r.rows[0].lag_seconds is None and r.rows[0].state == "ok" and r.level is Level.OK


def test_the_last_in_sync_counts_and_an_out_of_sync_marks_the_master_changing() -> None:
    out_of_sync = (f"{P}.netapp.snapmirror.out_of_sync",
                   {"volume": "pub", "host": "ntap01", "timestamp": t(0.5)})
    state = fold([in_sync(9), in_sync(3), out_of_sync], P)
    master = state.masters["pub"]
    assert master.changed_at == parse_time(t(3)) and master.changing_since == parse_time(t(0.5))
    assert fold([in_sync(9), out_of_sync, in_sync(0.2)], P).masters["pub"].changing_since is None


@pytest.mark.parametrize("event", [
    ("org.fedoraproject.stg.netapp.snapmirror.in_sync", {"volume": "pub", "timestamp": t(1)}),
    (f"{P}.mirror.tier3.sync.complete", {"volume": "pub", "mirror": "x"}),
    (f"{P}.mirror.tier1.sync.done", {"volume": "pub", "mirror": "x"}),
    (f"{P}.mirror.tier1.sync.complete", {"volume": ["pub"], "mirror": "x"}),
    (f"{P}.mirror.tier1.sync.complete", {"volume": "pub", "mirror": None}),
    (f"{P}.buildsys.tag", {"volume": "pub"}),
])
def test_events_of_another_environment_or_shape_are_not_counted(event) -> None:
    state = fold([event], P)
    assert state.events == 0 and not state.mirrors and not state.masters


def test_times() -> None:
    assert parse_time("2026-12-08T12:00:00") == NOW  # naive means UTC
    assert parse_time("2026-12-08T13:00:00+01:00") == NOW
    assert parse_time("yesterday") is None and parse_time(3) is None
    assert [human(s) for s in (45, 600, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
        "45 s", "10 min", "3 h 05 min", "2 d 4 h"]
