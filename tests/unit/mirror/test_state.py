"""The agent's state machine: hold, pull, coalesce, retry, periodic, catch-up."""

from __future__ import annotations

from fedbus.mirror.paths import collapse, union
from fedbus.mirror.state import Abort, MirrorState, Pull


def ready_state() -> MirrorState:
    """An agent whose startup pull is done."""
    s = MirrorState.starting(0.0, full_interval=100.0, hold_timeout=50.0)
    first = s.tick(0.0)
    assert first == Pull(None, "startup")
    assert s.pull_done(1.0, ok=True) is None
    return s


def test_startup_is_a_full_pull() -> None:
    s = MirrorState.starting(0.0)
    assert s.next_action(0.0) == Pull(None, "startup")
    assert s.next_action(0.0) is None  # one at a time


def test_in_sync_pulls_named_paths_at_once() -> None:
    s = ready_state()
    assert s.upstream_busy(2.0) is None
    assert s.tick(3.0) is None  # holds while out of sync
    act = s.upstream_ready(4.0, frozenset({"a/b"}), "in_sync", "2026-11-30T03:00:00+00:00")
    assert act == Pull(frozenset({"a/b"}), "in_sync", "2026-11-30T03:00:00+00:00")


def test_holds_while_upstream_busy_until_timeout() -> None:
    s = ready_state()
    s.upstream_busy(2.0)
    s.pending = Pull(frozenset({"x"}), "in_sync")
    assert s.tick(10.0) is None
    assert s.tick(51.9) is None
    assert s.tick(52.0) == Pull(frozenset({"x"}), "in_sync")  # hold_timeout: lost ready


def test_burst_during_a_pull_becomes_one_follow_up_of_the_union() -> None:
    s = ready_state()
    assert s.upstream_ready(2.0, frozenset({"a"}), "in_sync") == Pull(frozenset({"a"}), "in_sync")
    for i, p in enumerate(["b", "c/d", "a/x", "c"]):
        assert s.upstream_busy(3.0 + i) is None  # the running pull goes on
        assert s.upstream_ready(3.5 + i, frozenset({p}), "in_sync", f"t{i}") is None
    follow = s.pull_done(10.0, ok=True)
    assert follow is not None and follow.reason == "follow_up"
    assert follow.paths == frozenset({"a/x", "b", "c"})  # c/d is under c
    assert follow.changed_at == "t0"
    assert s.pull_done(11.0, ok=True) is None


def test_aborts_are_bounded() -> None:
    s = ready_state()
    s.abort_on_change, s.max_aborts = True, 2
    for i in range(2):
        s.upstream_ready(2.0 + i, frozenset({"a"}), "in_sync")
        assert isinstance(s.upstream_busy(2.5 + i), Abort)
        s.pull_done(2.6 + i, ok=False, aborted=True)
    s.upstream_ready(5.0, frozenset({"a"}), "in_sync")
    assert s.upstream_busy(5.5) is None  # a third abort in a row would starve the mirror
    s.pull_done(6.0, ok=True)
    assert s.aborts == 0


def test_aborted_pull_is_pulled_again_without_backoff() -> None:
    s = ready_state()
    s.abort_on_change = True
    s.upstream_ready(2.0, frozenset({"a"}), "in_sync")
    assert isinstance(s.upstream_busy(3.0), Abort)
    assert s.pull_done(3.1, ok=False, aborted=True) is None  # still busy: hold
    act = s.upstream_ready(4.0, frozenset({"b"}), "in_sync")
    assert act is not None and act.paths == frozenset({"a", "b"})


def test_failed_pull_retries_with_backoff() -> None:
    s = MirrorState.starting(0.0, retry_initial=5.0, retry_max=20.0)
    s.tick(0.0)
    assert s.pull_done(1.0, ok=False) is None
    assert s.tick(5.9) is None
    again = s.tick(6.0)
    assert again == Pull(None, "retry")
    assert s.pull_done(7.0, ok=False) is None
    assert s.tick(16.9) is None and s.tick(17.0) is not None  # 10 s the second time


def test_periodic_full_sync_is_the_safety_net() -> None:
    s = ready_state()
    assert s.tick(100.9) is None
    assert s.tick(101.0) == Pull(None, "periodic")
    s.pull_done(102.0, ok=True)
    assert s.tick(150.0) is None
    assert s.tick(202.0) == Pull(None, "periodic")


def test_whole_tree_absorbs_paths() -> None:
    s = ready_state()
    s.upstream_ready(2.0, frozenset({"a"}), "in_sync")
    s.upstream_ready(3.0, None, "in_sync")
    s.upstream_ready(3.0, frozenset({"b"}), "in_sync")
    follow = s.pull_done(4.0, ok=True)
    assert follow is not None and follow.paths is None


def test_paths_collapse_and_union() -> None:
    assert collapse(["a/b", "a", "./c/", "c/d/e"]) == frozenset({"a", "c"})
    assert collapse(["a", "."]) is None
    assert collapse([f"d{i}" for i in range(5)], limit=4) is None
    assert union(frozenset({"a"}), None) is None
    assert union(frozenset({"a/b"}), frozenset({"a"})) == frozenset({"a"})
