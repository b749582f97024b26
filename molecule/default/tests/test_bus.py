"""The whole bus: the seed's use cases end to end, then the canary playbook.

1. A Koji build changes state (koji's callbacks through the hub plugin on bus-koji) →
   the package's watcher gets an email (on the MTA stand-in) and an IRC line.
2. A git push on bus-git → one git.receive per commit and branch (`seen` on the second) →
   one commit mail per commit to the watcher.
3. Triggered mirroring: a change on the master → out_of_sync, in_sync → the tier-1 pulls
   only what changed → the tier-2 pulls after its tier-1 completed → same content.
4. The broker's own events (fedbus-bridge on bus-broker): a failed login and a queue's
   creation → bus.* messages → the operator's rules on them mail the operator.
5. playbooks/canary.yml (the gate of every rollout stage) passes on the deployed bus, and
   fails, naming the host, when a host's relay is down.

That every unit the roles install runs and answers its health check: test_units.py.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import time
import uuid
from datetime import datetime
from pathlib import Path

import pika
import pika.exceptions
import pytest
from bus_e2e import (
    add_rule,
    api,
    fire_koji_callbacks,
    git_push,
    mail_subjects,
    pause_watcher,
    recorder,
    sh,
    verified_email,
    verified_watcher,
    wait,
    wait_mirrors_converged,
)
from bus_testlib import ROOT, container_ip
from support.irc_client import IrcClient

testinfra_hosts = ["bus-notifier"]

PREFIX = "org.fedoraproject.local."
RUN = uuid.uuid4().hex[:6]  # molecule's verify step may run twice on the same containers
MASTER, TIER1, TIER2 = "bus-mirror-master", "bus-mirror-tier1", "bus-mirror-tier2"
TREE = "/srv/mirror/pub"


@pytest.fixture(scope="module")
def mta(host):
    return host.get_host("docker://bus-infra")


@pytest.fixture(scope="module")
def irc():
    return IrcClient(container_ip("bus-infra"), 6667, f"watch{RUN}")


@pytest.fixture(scope="module")
def watcher(host, mta, irc):
    who = verified_watcher(host, mta, irc, f"watcher{RUN}", f"watch{RUN}", "python-fedbus")
    yield who
    pause_watcher(host, who)


@pytest.fixture(scope="module")
def bus_recorder(secrets, ca_file):
    with recorder(container_ip("bus-broker"), "bus-broker",
                  secrets["vault_broker_admin_password"], ca_file) as drain:
        yield drain


def test_koji_build_reaches_the_watchers_mailbox_and_irc(host, watcher, mta, irc) -> None:
    release = f"1.{RUN}.fc43"
    started = time.monotonic()
    fire_koji_callbacks(host.get_host("docker://bus-koji"), release)

    def builds() -> int:
        return sum(s.endswith(f"-{release}") for s in mail_subjects(mta, watcher["user"]))

    wait(lambda: builds() == 1, 180, "the build mail")

    def lines() -> int:  # the build's state change and its tag: one line each
        return sum(f"-{release}" in x for x in irc.lines)

    wait(lambda: lines() == 2, 180, "the IRC lines of the build and its tag")
    print(f"koji callback -> mailbox and IRC: {time.monotonic() - started:.1f} s")
    time.sleep(3)  # a second copy would show up now
    assert builds() == 1
    assert lines() == 2, irc.lines


def test_git_push_sends_commit_mail(host, watcher, mta, bus_recorder) -> None:
    bus_recorder(1.0)  # forget what came before
    summaries = [f"Bump {RUN} a", f"Bump {RUN} b"]
    out = git_push(host.get_host("docker://bus-git"), f"rawhide-{RUN}", summaries,
                   also=f"f43-{RUN}")
    # each commit once per branch it landed on; the second time with seen: true
    assert "4 commit message(s) queued" in out

    def mails() -> list[str]:
        return [s for s in mail_subjects(mta, watcher["user"])
                if s.startswith("Subject: [rpms/python-fedbus]") and RUN in s]

    wait(lambda: len(mails()) == 2, 180, "two commit mails")
    assert sorted(m.rsplit(": ", 1)[1] for m in mails()) == summaries  # "[repo] branch: ..."
    # one mail per commit, though the commits landed on two branches: the watcher is not
    # told again of a commit the push announced (seen)
    got = [b["commit"] for t, b in bus_recorder(3.0) if t == PREFIX + "git.receive"]
    assert [c["summary"] for c in got if not c["seen"]] == summaries
    assert [c["summary"] for c in got if c["seen"]] == summaries
    assert len(mails()) == 2


def test_change_on_master_reaches_tier1_then_tier2(bus_recorder) -> None:
    wait_mirrors_converged(MASTER, [TIER1, TIER2], timeout=120)  # start-up catch-up
    bus_recorder(2.0)
    changed_at = time.time()
    sh(MASTER, f"mkdir -p {TREE}/fedora/updates/43/x86_64 && for i in $(seq 1 5); do "
               f"head -c 20000 /dev/urandom > {TREE}/fedora/updates/43/x86_64/{RUN}-$i.rpm; "
               f"done && chown -R fedbus: {TREE}")
    want = f"{TREE}/fedora/updates/43/x86_64/{RUN}-5.rpm"
    wait(lambda: sh(TIER2, f"test -e {want} && echo y || true").strip() == "y", 90,
         "the file on the tier-2")
    lag = time.time() - changed_at
    wait_mirrors_converged(MASTER, [TIER1, TIER2])
    msgs = [(t.removeprefix(PREFIX), b) for t, b in bus_recorder(4.0)]
    kinds = [t for t, _ in msgs if not t.startswith("bus.")]
    print(f"freshness lag master -> tier-2: {lag:.1f} s; messages: {kinds}")
    assert kinds == ["netapp.snapmirror.out_of_sync", "netapp.snapmirror.in_sync",
                     "mirror.tier1.sync.start", "mirror.tier1.sync.complete",
                     "mirror.tier2.sync.start", "mirror.tier2.sync.complete"], kinds
    body = {t: b for t, b in msgs}
    in_sync = body["netapp.snapmirror.in_sync"]
    assert "fedora/updates/43/x86_64" in in_sync["paths"] or "fedora" in in_sync["paths"]
    t1_start, t1_done = body["mirror.tier1.sync.start"], body["mirror.tier1.sync.complete"]
    assert t1_start["reason"] == "in_sync" and t1_start["paths"] == sorted(in_sync["paths"])
    assert t1_done["status"] == "ok" and t1_done["files"] == 5
    t2_start, t2_done = body["mirror.tier2.sync.start"], body["mirror.tier2.sync.complete"]
    assert t2_start["upstream_name"] == TIER1 and t2_done["status"] == "ok"
    # the tier-2 held while its tier-1 was syncing
    assert (datetime.fromisoformat(t2_start["started_at"])
            >= datetime.fromisoformat(t1_done["finished_at"]))


def test_broker_events_mail_the_operator(host, mta, bus_recorder, secrets, ca_file) -> None:
    operator, intruder, queue = f"oper{RUN}", f"bad{RUN}", f"q{RUN}"
    verified_email(host, mta, operator)
    rules = [add_rule(host, operator, "topic", f"bus.{event}")
             for event in ("user.authentication.failure", "queue.created")]
    time.sleep(3)  # the workers reload changed preferences every 2 s
    bus_recorder(1.0)  # forget what came before
    ctx = ssl.create_default_context(cafile=ca_file)

    def params(user: str, password: str) -> pika.ConnectionParameters:
        return pika.ConnectionParameters(
            host=container_ip("bus-broker"), port=5671, virtual_host="local",
            credentials=pika.PlainCredentials(user, password),
            ssl_options=pika.SSLOptions(ctx, server_hostname="bus-broker"))

    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(params(intruder, "not-the-password"))
    with pika.BlockingConnection(params("fedbus-admin",
                                        secrets["vault_broker_admin_password"])) as conn:
        conn.channel().queue_declare(queue, exclusive=True)  # gone with the connection
    try:
        def mails() -> list[str]:
            return [s for s in mail_subjects(mta, operator) if intruder in s or queue in s]

        wait(lambda: len(mails()) == 2, 120, "the operator's two mails")
        failure, created = sorted(mails(), key=lambda s: queue in s)
        assert f"authentication of {intruder} from " in failure, failure
        assert f"fedbus-admin created queue {queue} in vhost local" in created, created
        got = {topic: body for topic, body in bus_recorder(3.0)
               if body.get("user") == intruder or body.get("queue") == queue}
        assert got[PREFIX + "bus.user.authentication.failure"]["user"] == intruder
        assert got[PREFIX + "bus.queue.created"]["queue"] == queue
    finally:
        for rule in rules:
            api(host, "DELETE", f"/api/v1/rules/{rule['id']}", operator)


def run_canary(*extra: str) -> subprocess.CompletedProcess[str]:
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    env = {**os.environ,
           "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".venv" / "collections"),
           "ANSIBLE_VAULT_IDENTITY_LIST":
               f"local@{ROOT / 'inventories' / 'local' / 'vault-password.txt'}"}
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / "canary.yml"),
         *extra], capture_output=True, text=True, env=env, timeout=600, check=False)


def test_canary_playbook_passes_on_the_deployed_bus() -> None:
    run = run_canary()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "8 canaries arrived" in run.stdout


def test_canary_playbook_names_the_host_whose_relay_is_down() -> None:
    sh("bus-koji", "systemctl stop fedbus-relay")
    try:
        run = run_canary("-e", "canary_timeout=20")
    finally:
        sh("bus-koji", "systemctl start fedbus-relay")
    assert run.returncode != 0
    assert "no canary after 20 s from: bus-koji" in run.stdout, run.stdout[-4000:]
