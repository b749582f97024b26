"""Mirror fault tests: a tier-1 killed mid-pull, a lost message, a burst during a pull, and
the broker down during a sync (on a private RabbitMQ node)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_mirror
from support import private_rabbitmq
from test_mirror import Net, Recorder, digest, wait_for, write

pytestmark = [pytest.mark.integration, pytest.mark.slow]
net = test_mirror.net  # the same fixture: a master, tiers and a recorder on a fresh vhost


def rsyncs_into(tree: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-af", f"rsync .*{tree}/"], capture_output=True, text=True)
    return [ln for ln in out.stdout.splitlines() if "--daemon" not in ln]


def test_tier1_killed_mid_pull_never_serves_half_and_catches_up_on_restart(net) -> None:
    n, rec = net
    write(n.tree("master"), {"small/a": "a", "big/blob": os.urandom(3_000_000)})
    n.start_daemon(["master", "t1"])
    n.agent("t1", "tier1", n.upstream("master"), rsync_args=["--bwlimit=400"])  # ~7 s pull
    wait_for(lambda: rec.of("mirror.tier1.sync.start", mirror="t1"), 30, "t1 starts pulling")
    time.sleep(1.5)
    n.kill("t1")  # SIGKILL the agent mid-pull
    wait_for(lambda: not rsyncs_into(n.tree("t1")), 10, "its rsync to die with it")
    assert not (n.tree("t1") / "big" / "blob").exists()  # no half file served
    assert not rec.of("mirror.tier1.sync.complete", mirror="t1")
    n.agent("t1", "tier1", n.upstream("master"))
    wait_for(lambda: digest(n.tree("t1")) == digest(n.tree("master")), 60, "t1 catches up")
    done = rec.of("mirror.tier1.sync.complete", mirror="t1")
    wait_for(lambda: rec.of("mirror.tier1.sync.complete", mirror="t1"), 10, "complete")
    done = rec.of("mirror.tier1.sync.complete", mirror="t1")
    assert done[-1]["status"] == "ok" and done[-1]["reason"] == "startup"


def test_lost_message_is_repaired_by_the_periodic_full_sync(net) -> None:
    n, rec = net
    write(n.tree("master"), {"d/a": "a"})
    n.start_daemon(["master", "t1"])
    # No master agent: nobody announces the change (the message is "lost").
    n.agent("t1", "tier1", n.upstream("master"), full_sync_interval=6)
    wait_for(lambda: digest(n.tree("t1")) == digest(n.tree("master")), 30, "startup pull")
    write(n.tree("master"), {"d/b": "b", "e/c": "c"})
    wait_for(lambda: digest(n.tree("t1")) == digest(n.tree("master")), 30, "periodic repair")
    wait_for(lambda: rec.of("mirror.tier1.sync.complete", reason="periodic"), 10, "periodic")
    assert not rec.of("netapp.snapmirror.in_sync")


def test_burst_during_a_pull_coalesces_into_one_follow_up(net) -> None:
    n, rec = net
    write(n.tree("master"), {"big/blob": os.urandom(3_000_000)})
    n.start_daemon(["master", "t1"])
    n.agent("master", "master", quiet_period=0.5)
    n.agent("t1", "tier1", n.upstream("master"), rsync_args=["--bwlimit=400"])
    wait_for(lambda: digest(n.tree("t1")) == digest(n.tree("master")), 60, "startup pull")
    rec.settle(2.0)
    mark = len(rec.messages)
    write(n.tree("master"), {"big/blob": os.urandom(3_000_000)})  # a ~7 s pull
    wait_for(lambda: rec.of("mirror.tier1.sync.start", reason="in_sync"), 30, "slow pull")
    for i in range(3):  # three more rounds while it runs
        write(n.tree("master"), {f"burst{i}/f": str(i)})
        wait_for(lambda i=i: len(rec.of("netapp.snapmirror.in_sync")) >= 3 + i, 20, "in_sync")
    assert not rec.of("mirror.tier1.sync.complete", reason="in_sync"), "pull too fast"
    wait_for(lambda: digest(n.tree("t1")) == digest(n.tree("master")), 60, "convergence")
    rec.settle(3.0)
    starts = [b for t, b in rec.messages[mark:] if t.endswith("tier1.sync.start")]
    assert [s["reason"] for s in starts] == ["in_sync", "follow_up"]
    assert starts[1]["paths"] == ["burst0", "burst1", "burst2"]  # ONE pull of the union


# -- the broker down during a sync: a private node, stopped and started --------------------

NODE = "fedbus-mirrorfault@localhost"
AMQP_PORT, DIST_PORT = 5683, 25683


@pytest.fixture(scope="module")
def private_node() -> Iterator[private_rabbitmq.PrivateNode]:
    with private_rabbitmq.node(NODE, amqp_port=AMQP_PORT, dist_port=DIST_PORT) as node:
        yield node


def test_broker_down_during_a_sync(
    private_node: private_rabbitmq.PrivateNode, tmp_path: Path
) -> None:
    url = private_node.url
    rec = Recorder(url)
    rec.start()
    assert rec.ready.wait(10)
    n = Net(tmp_path, url)
    try:
        write(n.tree("master"), {"d/a": "a"})
        n.start_daemon(["master", "t1", "t2"])
        n.agent("master", "master")
        n.agent("t1", "tier1", n.upstream("master"), rsync_args=["--bwlimit=400"])
        n.agent("t2", "tier2", n.upstream("t1"), "t1")
        wait_for(lambda: digest(n.tree("t2")) == digest(n.tree("master")), 60, "catch-up")
        rec.settle(2.0)
        write(n.tree("master"), {"big/blob": os.urandom(2_000_000)})  # ~5 s pull on t1
        # this change's pull (paths ['big']), not the start-up catch-up's whole-tree one
        wait_for(lambda: rec.of("mirror.tier1.sync.start", reason="in_sync", paths=["big"]), 30,
                 "t1 pulls")
        rec.stop()
        private_node.stop_app()  # the broker goes away during the pull
        wait_for(lambda: digest(n.tree("t1")) == digest(n.tree("master")), 60, "t1 finishes")
        time.sleep(2)
        assert digest(n.tree("t2")) != digest(n.tree("master"))  # no message, no pull yet
        private_node.start_app()
        # t1's complete waited in its relay spool; t2's durable queue survived
        wait_for(lambda: digest(n.tree("t2")) == digest(n.tree("master")), 90, "t2 after")
    finally:
        n.close()
        print(n.logs())
