"""The mirroring scenario: a change on the master reaches both tiers, in the specified order.

A recorder queue bound to ``#`` on the broker sees every message.  Files change on the master;
then every tier must hold the master's content (sha256 of every file), the messages must come
as specified (out_of_sync, in_sync with the changed directories, each tier-1's start/complete,
each tier-2's start/complete after its own tier-1's complete), and no tier-2 pull may overlap
a pull of the tier-1 it follows.  The freshness lag (master change → file on a tier-2) is
printed.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from bus_e2e import recorder as bus_recorder
from bus_e2e import sh, wait_mirrors_converged
from bus_testlib import JOURNAL_UNITS, container_ip

testinfra_hosts = ["mirroring-master"]

JOURNAL_UNITS.extend(["fedbus-mirror", "fedbus-relay"])
BROKER = "mirroring-broker"
MASTER = "mirroring-master"
TIER1 = {"mirroring-tier1a": MASTER, "mirroring-tier1b": MASTER}
TIER2 = {"mirroring-tier2a": "mirroring-tier1a", "mirroring-tier2b": "mirroring-tier1b"}
TREE = "/srv/mirror/pub"
PREFIX = "org.fedoraproject.local."


def wait_converged(containers, timeout: float = 90.0) -> None:
    wait_mirrors_converged(MASTER, list(containers), timeout)


@pytest.fixture
def recorder(ca_file: str, secrets):
    with bus_recorder(container_ip(BROKER), BROKER, secrets["vault_broker_admin_password"],
                      ca_file) as drain_all:

        def drain(quiet: float = 4.0) -> list[tuple[str, dict]]:
            return [(t.removeprefix(PREFIX), b) for t, b in drain_all(quiet)]

        yield drain


def ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def test_services_run(host) -> None:
    for c in [MASTER, *TIER1, *TIER2]:
        assert sh(c, "systemctl is-active fedbus-mirror rsync fedbus-relay").split() == [
            "active"] * 3, c


def test_change_on_master_reaches_every_tier_in_order(recorder) -> None:
    wait_converged([*TIER1, *TIER2], timeout=120)  # startup catch-up
    recorder()  # forget the startup messages
    changed_at = time.time()
    sh(MASTER, f"mkdir -p {TREE}/fedora/updates/41/x86_64 {TREE}/epel/9 && "
               f"for i in $(seq 1 10); do head -c 20000 /dev/urandom "
               f"> {TREE}/fedora/updates/41/x86_64/pkg-$i.rpm; done && "
               f"echo repomd > {TREE}/epel/9/repomd.xml && chown -R fedbus: {TREE}")
    arrived: dict[str, float] = {}
    want = f"{TREE}/fedora/updates/41/x86_64/pkg-10.rpm"
    deadline = time.monotonic() + 90
    while len(arrived) < len(TIER2) and time.monotonic() < deadline:
        for c in TIER2:
            if c not in arrived and sh(c, f"test -e {want} && echo y || true").strip() == "y":
                arrived[c] = time.time()
        time.sleep(0.2)
    wait_converged([*TIER1, *TIER2])
    msgs = recorder()
    kinds = [t for t, _ in msgs]
    lags = {c: round(t - changed_at, 2) for c, t in arrived.items()}
    print(f"freshness lag master change -> tier-2 file: {lags}")
    print("messages:", json.dumps([(t, b.get("mirror") or b.get("host"), b.get("paths"))
                                   for t, b in msgs]))

    assert kinds[:2] == ["netapp.snapmirror.out_of_sync", "netapp.snapmirror.in_sync"], kinds
    in_sync = msgs[1][1]
    assert in_sync["host"] == MASTER and in_sync["source"] == "master"
    assert set(in_sync["paths"]) <= {"fedora", "fedora/updates", "fedora/updates/41",
                                     "fedora/updates/41/x86_64", "epel", "epel/9"}
    assert kinds.count("netapp.snapmirror.in_sync") == 1

    def of(kind: str, mirror: str) -> list[dict]:
        return [b for t, b in msgs if t == kind and b["mirror"] == mirror]

    for t1 in TIER1:
        (start,), (done,) = of("mirror.tier1.sync.start", t1), of("mirror.tier1.sync.complete", t1)
        assert start["reason"] == "in_sync" and start["paths"] == sorted(in_sync["paths"])
        assert done["status"] == "ok" and done["files"] == 11
        assert done["sync_id"] == start["sync_id"]
        assert ts(start["started_at"]) >= ts(in_sync["timestamp"]) - 1.0
    for t2, t1 in TIER2.items():
        (start,), (done,) = of("mirror.tier2.sync.start", t2), of("mirror.tier2.sync.complete", t2)
        (t1done,) = of("mirror.tier1.sync.complete", t1)
        assert start["upstream_name"] == t1 and start["reason"] == "upstream_complete"
        assert done["status"] == "ok" and done["files"] == 11
        assert done["changed_at"] == in_sync["changed_at"]
        # no tier-2 pull while its tier-1 was syncing: it starts after the tier-1's complete
        assert ts(start["started_at"]) >= ts(t1done["finished_at"])
        assert kinds.index("mirror.tier2.sync.start") > kinds.index("mirror.tier1.sync.complete")
