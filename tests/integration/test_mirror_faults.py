"""Mirror fault tests: a tier-1 killed mid-pull, a lost message, a burst during a pull, and
the broker down during a sync (on a private RabbitMQ node)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_mirror
from test_mirror import Net, Recorder, digest, wait_for, write

pytestmark = [pytest.mark.integration, pytest.mark.slow]
net = test_mirror.net  # the same fixture: a master, tiers and a recorder on a fresh vhost

ROOT = Path(__file__).resolve().parents[2]


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
AMQP_PORT, MGMT_PORT, DIST_PORT = 5683, 15683, 25683


@pytest.fixture(scope="module")
def private_node() -> Iterator[dict[str, str]]:
    if not Path("/usr/lib/rabbitmq/bin").is_dir():
        pytest.skip("rabbitmq-server is not installed")
    base = ROOT / ".cache" / "rabbitmq-mirrorfault"
    shutil.rmtree(base, ignore_errors=True)
    (base / "mnesia").mkdir(parents=True)
    (base / "log").mkdir()
    (base / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = 127.0.0.1:{AMQP_PORT}\nloopback_users = none\n"
        "log.file.level = warning\n")
    (base / "enabled_plugins").write_text("[].\n")
    env = {"RABBITMQ_NODENAME": NODE, "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
           "RABBITMQ_LOG_BASE": str(base / "log"), "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
           "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
           "RABBITMQ_DIST_PORT": str(DIST_PORT), "RABBITMQ_PID_FILE": str(base / "pid")}
    full = {**os.environ, **env}
    subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(base)], check=True)
    server = subprocess.Popen(
        ["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in env.items()),
         "setsid", "/usr/lib/rabbitmq/bin/rabbitmq-server"],
        stdout=open(base / "log" / "stdout.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
        stdin=subprocess.DEVNULL)

    def ctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["rabbitmqctl", "-q", "-n", NODE, *args], env=full,
                              capture_output=True, text=True, check=check, timeout=120)

    deadline = time.monotonic() + 90
    while ctl("ping", check=False).returncode != 0:
        assert server.poll() is None, "private node died"
        assert time.monotonic() < deadline, "private node did not start"
        time.sleep(0.5)
    ctl("await_startup", "--timeout", "60")
    ctl("add_user", "fedbus-test", "fedbus-test")
    ctl("set_permissions", "-p", "/", "fedbus-test", ".*", ".*", ".*")
    try:
        yield {"url": f"amqp://fedbus-test:fedbus-test@127.0.0.1:{AMQP_PORT}/%2F",
               "stop": lambda: ctl("stop_app"),  # type: ignore[dict-item]
               "start": lambda: (ctl("start_app"), ctl("await_startup", "--timeout", "60"))}
    finally:
        ctl("stop", check=False)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()


def test_broker_down_during_a_sync(private_node, tmp_path) -> None:
    url = private_node["url"]
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
        private_node["stop"]()  # the broker goes away during the pull
        wait_for(lambda: digest(n.tree("t1")) == digest(n.tree("master")), 60, "t1 finishes")
        time.sleep(2)
        assert digest(n.tree("t2")) != digest(n.tree("master"))  # no message, no pull yet
        private_node["start"]()
        # t1's complete waited in its relay spool; t2's durable queue survived
        wait_for(lambda: digest(n.tree("t2")) == digest(n.tree("master")), 90, "t2 after")
    finally:
        n.close()
        print(n.logs())
