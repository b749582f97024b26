"""The mirror agent's metrics: what a pull, its result and the upstream's messages make of
them, read through a registry as a scrape reads them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from fedbus.message.envelope import new_message
from fedbus.mirror import agent as agent_mod
from fedbus.mirror.agent import Agent
from fedbus.mirror.metrics import MirrorCollector
from fedbus.mirror.settings import MirrorSettings

P = "org.fedoraproject.local"
STATS = "Number of regular files transferred: 3\nTotal bytes received: 1,234\n"


def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str = "tier1",
          exit_code: int = 0) -> tuple[Agent, CollectorRegistry]:  # fmt: skip
    s = MirrorSettings(mode=mode, name="me", volume="pub", tree=tmp_path / "tree",
                       upstream="rsync://up/pub")
    a = Agent(s, topic_prefix=P, publisher=lambda m: None)
    a.state.pending = None  # the startup pull is done
    # rsync's stand-in: a real process printing --stats figures and exiting with exit_code
    script = f"printf '{STATS}'; exit {exit_code}"
    monkeypatch.setattr(agent_mod.rsync, "command",
                        lambda *a, **k: (["sh", "-c", script], None))
    registry = CollectorRegistry()
    collector = MirrorCollector()
    collector.track(a)
    registry.register(collector)
    return a, registry


def value(reg: CollectorRegistry, name: str, **labels: str) -> float:
    got = reg.get_sample_value(name, {"mirror": "me", "mode": "tier1", **labels})
    assert got is not None, name
    return got


def in_sync() -> Any:
    return new_message(f"{P}.netapp.snapmirror.in_sync",
                       {"volume": "pub", "host": "filer", "timestamp": "t", "paths": ["x"]})


async def until_idle(a: Agent) -> None:
    while a._pull_task is not None and not a._pull_task.done():
        await asyncio.sleep(0.01)


def test_a_good_pull_counts_and_catches_up(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    a, reg = setup(tmp_path, monkeypatch)
    assert value(reg, "fedbus_mirror_lag_seconds") == 0
    assert value(reg, "fedbus_mirror_last_sync_start_timestamp_seconds") == 0

    async def run() -> None:
        # the upstream is ready: a pull is started; until it has ended, the agent is behind
        before = time.time()
        await a.handle(in_sync())
        time.sleep(0.05)  # (blocks the loop: the pull cannot end meanwhile)
        assert value(reg, "fedbus_mirror_lag_seconds") >= 0.05
        await until_idle(a)
        assert value(reg, "fedbus_mirror_last_sync_start_timestamp_seconds") >= before

    asyncio.run(run())
    assert value(reg, "fedbus_mirror_lag_seconds") == 0
    assert value(reg, "fedbus_mirror_syncing") == 0
    assert value(reg, "fedbus_mirror_syncs_total", result="ok") == 1
    assert value(reg, "fedbus_mirror_syncs_total", result="failed") == 0
    assert value(reg, "fedbus_mirror_bytes_total") == 1234
    assert value(reg, "fedbus_mirror_files_total") == 3
    assert (value(reg, "fedbus_mirror_last_sync_completion_timestamp_seconds")
            == value(reg, "fedbus_mirror_last_sync_success_timestamp_seconds")
            >= value(reg, "fedbus_mirror_last_sync_start_timestamp_seconds") > 0)


def test_a_failed_pull_leaves_the_agent_behind(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    a, reg = setup(tmp_path, monkeypatch, exit_code=23)
    a.state.retry_initial = 3600

    async def run() -> None:
        await a.handle(in_sync())
        await until_idle(a)

    asyncio.run(run())
    assert value(reg, "fedbus_mirror_syncs_total", result="failed") == 1
    assert value(reg, "fedbus_mirror_syncs_total", result="ok") == 0
    assert value(reg, "fedbus_mirror_last_sync_success_timestamp_seconds") == 0
    assert value(reg, "fedbus_mirror_last_sync_completion_timestamp_seconds") > 0
    lag = value(reg, "fedbus_mirror_lag_seconds")
    time.sleep(0.05)
    assert value(reg, "fedbus_mirror_lag_seconds") >= lag + 0.05  # it grows until caught up


def test_a_ready_message_during_a_pull_is_not_caught_up_by_that_pull(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, _reg = setup(tmp_path, monkeypatch)
    a.last_start = time.time()  # a pull is running, started before the message came
    a._ready_came(time.time() + 1)
    a._ready_came(time.time() + 2)  # the same pull would catch up with both: one kept
    assert len(a._behind) == 1
    now = a._behind[0] + 5
    assert a.lag(now) == 5


def test_a_master_counts_its_announcements(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    s = MirrorSettings(mode="master", name="me", volume="pub", tree=tmp_path)
    a = Agent(s, topic_prefix=P, publisher=lambda m: None)
    reg = CollectorRegistry()
    c = MirrorCollector()
    c.track(a)
    reg.register(c)
    a._announce("in_sync", None, time.time())
    a._announce("out_of_sync", None, time.time())
    a._announce("in_sync", None, time.time())
    labels = {"mirror": "me", "mode": "master"}
    assert reg.get_sample_value("fedbus_mirror_announcements_total",
                                {**labels, "kind": "in_sync"}) == 2
    assert reg.get_sample_value("fedbus_mirror_lag_seconds", labels) == 0
