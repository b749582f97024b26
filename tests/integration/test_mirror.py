"""Mirror agents end to end: a real broker, real rsync daemons on 127.0.0.1, real agents.

A master agent watches its tree; a tier-1 pulls from the master's rsync module, a tier-2 from
the tier-1's.  Each agent is the ``fedbus mirror`` command with its own relay spool, forwarded
by a ``fedbus relay``; a recorder queue bound to ``#`` keeps every message in order.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pika
import pytest
from support.notifier_servers import free_port, listening
from support.polling import wait_for

pytestmark = pytest.mark.integration

PREFIX = "org.fedoraproject.local"


def digest(root: Path) -> dict[str, str]:
    """Relative path → sha256 of every file (what 'converged' means); rsync's staging
    directories (``.~tmp~``) are skipped, and files vanishing under a pull are ignored."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".~tmp~")
        for name in sorted(filenames):
            p = Path(dirpath) / name
            try:
                out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
            except FileNotFoundError:
                continue
    return out


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())


class Recorder(threading.Thread):
    """Every message of the vhost, in arrival order: (topic, body)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.messages = url, []  # type: ignore[var-annotated]
        self.ready = threading.Event()
        self._halt = threading.Event()

    def run(self) -> None:
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        ch = conn.channel()
        q = ch.queue_declare("", exclusive=True).method.queue
        ch.queue_bind(q, "amq.topic", routing_key="#")
        self.ready.set()
        while not self._halt.is_set():
            for method, _props, body in ch.consume(q, auto_ack=True, inactivity_timeout=0.2):
                if method is not None:
                    self.messages.append((method.routing_key, json.loads(body)))
                if self._halt.is_set():
                    break
        conn.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)

    def settle(self, quiet: float = 3.0, timeout: float = 60) -> None:
        """Wait until no message arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            count = len(self.messages)
            time.sleep(quiet)
            if len(self.messages) == count:
                return
        raise AssertionError("the bus did not settle")

    def of(self, suffix: str, **match: object) -> list[dict]:
        return [b for t, b in list(self.messages) if t == f"{PREFIX}.{suffix}"
                and all(b.get(k) == v for k, v in match.items())]


@dataclass
class Net:
    """Trees, one rsync daemon (a module per tree), agents and relays of one test."""

    base: Path
    url: str
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    daemon: subprocess.Popen[bytes] | None = None

    def tree(self, name: str) -> Path:
        return self.base / "trees" / name

    def start_daemon(self, names: list[str]) -> None:
        conf = self.base / "rsyncd.conf"
        lines = ["use chroot = no", "address = 127.0.0.1", f"port = {self.port}",
                 f"pid file = {self.base}/rsyncd.pid", f"lock file = {self.base}/rsyncd.lock"]
        for n in names:
            self.tree(n).mkdir(parents=True, exist_ok=True)
            # exclude rsync's --delay-updates staging dirs: never served half-synced
            lines += [f"[{n}]", f"path = {self.tree(n)}", "read only = yes",
                      "exclude = .~tmp~/"]
        conf.write_text("\n".join(lines) + "\n")
        self.daemon = subprocess.Popen(["rsync", "--daemon", "--no-detach", f"--config={conf}"],
                                       stderr=open(self.base / "rsyncd.log", "ab"))  # noqa: SIM115
        wait_for(lambda: listening(self.port), 10, "rsync daemon")

    def upstream(self, name: str) -> str:
        return f"rsync://127.0.0.1:{self.port}/{name}"

    def agent(self, name: str, mode: str, upstream: str = "", upstream_name: str = "",
              metrics: int | None = None, **extra: object) -> None:
        """``metrics``: the port of its ``fedbus --metrics`` endpoint (none by default)."""
        spool = self.base / "spool" / name
        spool.mkdir(parents=True, exist_ok=True)
        keys = {"mode": mode, "name": name, "volume": "pub", "tree": str(self.tree(name)),
                "scan_interval": 0.3, "quiet_period": 1.0, "full_sync_interval": 3600,
                **({"upstream": upstream} if upstream else {}),
                **({"upstream_name": upstream_name} if upstream_name else {}), **extra}
        conf = self.base / f"{name}.toml"
        conf.write_text("[mirror]\n" + "".join(f"{k} = {json.dumps(v)}\n"
                                               for k, v in keys.items()))
        served = ["--metrics", f"127.0.0.1:{metrics}"] if metrics else []
        self.start(name, [*served, "mirror", "--mirror-config", str(conf)], spool)
        if f"relay-{name}" not in self.procs:
            self.start(f"relay-{name}", ["relay", "--status-interval", "5"], spool)

    def start(self, name: str, args: list[str], spool: Path) -> None:
        log = open(self.base / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "fedbus.cli.main", *args, "--url", self.url,
             "--spool", str(spool)],
            env={**os.environ, "FEDBUS_CONFIG": ""}, stdout=log, stderr=log)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(30)

    def close(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)
        if self.daemon is not None:
            self.daemon.terminate()
            self.daemon.wait(10)

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}"
                         for p in sorted(self.base.glob("*.log")))


@pytest.fixture
def net(broker, vhost, tmp_path) -> Iterator[tuple[Net, Recorder]]:
    url = broker.amqp_url(vhost)
    rec = Recorder(url)
    rec.start()
    assert rec.ready.wait(10)
    n = Net(tmp_path, url)
    try:
        yield n, rec
    finally:
        n.close()
        rec.stop()
        print(n.logs())


def test_change_on_master_reaches_tier2_with_the_specified_sequence(net) -> None:
    n, rec = net
    write(n.tree("master"), {f"d{i}/f{j}": f"{i}-{j}" for i in range(5) for j in range(3)})
    n.start_daemon(["master", "t1", "t2"])
    n.agent("master", "master")
    n.agent("t1", "tier1", n.upstream("master"))
    n.agent("t2", "tier2", n.upstream("t1"), "t1")
    # startup: full catch-up pulls on both tiers
    wait_for(lambda: digest(n.tree("t2")) == digest(n.tree("master")), 60, "t2 catch-up")
    rec.settle()
    mark = len(rec.messages)

    write(n.tree("master"), {f"d3/new{j}": f"new {j}" for j in range(4)})
    (n.tree("master") / "d1" / "f0").unlink()
    write(n.tree("master"), {"d9/only": "brand new dir"})
    wait_for(lambda: digest(n.tree("t2")) == digest(n.tree("master")), 60, "t2 converges")
    rec.settle()
    seq = [(t.removeprefix(PREFIX + "."), b) for t, b in rec.messages[mark:]]
    kinds = [t for t, _ in seq]
    assert kinds == [
        "netapp.snapmirror.out_of_sync", "netapp.snapmirror.in_sync",
        "mirror.tier1.sync.start", "mirror.tier1.sync.complete",
        "mirror.tier2.sync.start", "mirror.tier2.sync.complete",
    ], kinds
    in_sync, t1s, t1c, t2s, t2c = (b for _, b in seq[1:])
    assert set(in_sync["paths"]) == {"d1", "d3", "d9"}
    assert t1s["paths"] == t1c["paths"] == t2s["paths"] == sorted(in_sync["paths"])
    assert t1c["status"] == t2c["status"] == "ok"
    assert t1c["files"] == 5 and t2c["files"] == 5  # only the changed files moved
    assert t1s["sync_id"] == t1c["sync_id"] and t2c["upstream_name"] == "t1"
    assert t2s["started_at"] >= t1c["finished_at"]  # tier-2 pulled after its tier-1
    assert t2c["changed_at"] == in_sync["changed_at"]  # freshness travels down the tiers
