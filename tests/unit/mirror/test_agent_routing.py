"""The agent's message routing: which messages hold, trigger, or are ignored/refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from fedbus.consumer import Reject
from fedbus.message.envelope import new_message
from fedbus.mirror.agent import Agent
from fedbus.mirror.settings import MirrorSettings
from fedbus.mirror.state import Pull

P = "org.fedoraproject.local"


def agent(mode: str, **kw: Any) -> tuple[Agent, list]:
    s = MirrorSettings(mode=mode, name="me", volume="pub", tree=Path("/nonexistent"),
                       upstream="rsync://up/pub", **kw)
    a = Agent(s, topic_prefix=P, publisher=lambda m: None)
    actions: list = []
    a._apply = actions.append  # type: ignore[method-assign]
    a.state.pending = None  # the startup pull is done
    return a, actions


def netapp(kind: str, **body: Any):
    return new_message(f"{P}.netapp.snapmirror.{kind}",
                       {"volume": "pub", "host": "filer", "timestamp": "t", **body})


def tier1(kind: str, **body: Any):
    base = {"mirror": "t1", "volume": "pub", "upstream": "rsync://m/pub", "sync_id": "s",
            "reason": "in_sync", "started_at": "t"}
    if kind == "complete":
        base.update(finished_at="t", status="ok", duration_seconds=1, bytes=1, files=1)
    return new_message(f"{P}.mirror.tier1.sync.{kind}", {**base, **body})


def test_tier1_holds_then_pulls_named_paths() -> None:
    a, actions = agent("tier1")
    asyncio.run(a.handle(netapp("out_of_sync", paths=["x"])))
    assert actions == [None] and a.state.upstream_busy_since is not None
    asyncio.run(a.handle(netapp("in_sync", paths=["x/y", "x"], changed_at="c")))
    assert actions[-1] == Pull(frozenset({"x"}), "in_sync", "c")


def test_other_volume_or_upstream_is_ignored() -> None:
    a, actions = agent("tier1", upstream_name="master")
    asyncio.run(a.handle(netapp("in_sync", volume="other")))
    asyncio.run(a.handle(netapp("in_sync")))  # host "filer" is not the master
    assert actions == []
    b, actions2 = agent("tier2", upstream_name="t1")
    asyncio.run(b.handle(tier1("complete", mirror="t9")))
    assert actions2 == []


def test_tier2_follows_its_tier1() -> None:
    a, actions = agent("tier2", upstream_name="t1")
    asyncio.run(a.handle(tier1("start", paths=["d"])))
    assert a.state.holding(0.0) or a.state.upstream_busy_since is not None
    asyncio.run(a.handle(tier1("complete", paths=["d"], status="failed")))
    assert a.state.upstream_busy_since is None and actions[-1] is None  # no pull
    asyncio.run(a.handle(tier1("complete", paths=["d"])))
    assert actions[-1] == Pull(frozenset({"d"}), "upstream_complete", None)


def test_unsafe_paths_are_dead_lettered() -> None:
    a, _ = agent("tier2", upstream_name="t1")
    msg = tier1("complete", paths=["ok"])
    msg.body["paths"] = ["../../etc"]  # past schema validation, as a forged body could be
    with pytest.raises(Reject, match="must not contain"):
        asyncio.run(a.handle(msg))
