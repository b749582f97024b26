"""The wedges scenario: each service's real extension point, through its host's relay,
to a consumer on the broker."""

from __future__ import annotations

import json
import ssl
import time

import pika
import pytest
from bus_e2e import fire_koji_callbacks, git_push
from bus_testlib import container_ip

testinfra_hosts = ["wedges-git", "wedges-koji", "wedges-pungi"]
BROKER = "wedges-broker"
PREFIX = "org.fedoraproject.local"
SCHEMA = "fedora_messaging_schema"


@pytest.fixture(scope="module")
def channel(secrets):
    ctx = ssl.create_default_context(cafile=None)
    from bus_testlib import pki_dir

    ctx = ssl.create_default_context(cafile=str(pki_dir() / "ca.pem"))
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        host=container_ip(BROKER), port=5671, virtual_host="local",
        credentials=pika.PlainCredentials("fedbus-admin", secrets["vault_broker_admin_password"]),
        ssl_options=pika.SSLOptions(ctx, server_hostname=BROKER),
        connection_attempts=30, retry_delay=2))
    ch = conn.channel()
    yield ch
    if conn.is_open:
        conn.close()


def queue_for(channel, *patterns: str) -> str:
    q = channel.queue_declare("", exclusive=True).method.queue
    for p in patterns:
        channel.queue_bind(q, "amq.topic", routing_key=p)
    return q


def drain(channel, queue: str, count: int, timeout: float = 90.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            if len(got) >= count:
                channel.connection.sleep(2)  # nothing more should come
                if channel.basic_get(queue, auto_ack=True)[0] is None:
                    break
            channel.connection.sleep(0.3)
            continue
        got.append((method.routing_key, props.headers, json.loads(body)))
    return got


def test_git_push_publishes_each_new_commit(host, channel):
    if host.backend.host != "wedges-git":
        pytest.skip("git host only")
    q = queue_for(channel, f"{PREFIX}.git.#")
    branch = f"rawhide-{int(time.time())}"  # fresh branches: the scenario may be verified twice
    out = git_push(host, branch, ["Initial import", "Update to 0.1"], also=f"{branch}-f43")
    assert "2 commit message(s) queued" in out
    got = drain(channel, q, 2)
    assert [rk for rk, _, _ in got] == [f"{PREFIX}.git.receive"] * 2
    assert [b["commit"]["summary"] for _, _, b in got] == ["Initial import", "Update to 0.1"]
    assert got[0][1][SCHEMA] == "fedora_messaging_git_hook.commit.v1"
    assert got[0][1]["fedora_messaging_rpm_python-fedbus"] is True
    assert got[0][1]["fedora_messaging_user_git"] is True
    assert got[1][2]["commit"]["url"].startswith(
        "https://src.fedoraproject.org/rpms/python-fedbus/c/")


def test_koji_callbacks_publish_after_commit(host, channel):
    if host.backend.host != "wedges-koji":
        pytest.skip("koji host only")
    q = queue_for(channel, f"{PREFIX}.buildsys.#")
    fire_koji_callbacks(host, "1.fc43")
    got = drain(channel, q, 2)
    assert sorted(rk for rk, _, _ in got) == [f"{PREFIX}.buildsys.build.state.change",
                                              f"{PREFIX}.buildsys.tag"]
    build = next(b for rk, _, b in got if rk.endswith("state.change"))
    assert build["notifications_url"] == (
        "https://notifications.example.org/settings/packages/python-fedbus")
    assert all(h["fedora_messaging_rpm_python-fedbus"] for _, h, _ in got)


def test_pungi_script_publishes(host, channel):
    if host.backend.host != "wedges-pungi":
        pytest.skip("pungi host only")
    q = queue_for(channel, f"{PREFIX}.pungi.#")
    data = {"compose_id": "Fedora-Rawhide-20261130.n.0", "location": "/mnt/compose"}
    calls = [("status-change", {**data, "status": "STARTED"}),
             ("phase-start", {**data, "phase_name": "gather"}),
             ("createiso-targets", {**data, "deliverables": ["Server/x86_64/iso/x.iso"]}),
             ("fail-to-start", {"command": ["pungi-koji"], "target_dir": None,
                                "config": "f.conf", "detail": "Config validation failed"}),
             ("status-change", {**data, "status": "FINISHED"})]
    for action, body in calls:
        run = host.run("echo %s | runuser -u pungi -- /usr/local/bin/fedbus-pungi-notify %s",
                       json.dumps(body), action)
        assert run.rc == 0, run.stderr
    bad = host.run("echo '{nope' | runuser -u pungi -- /usr/local/bin/fedbus-pungi-notify "
                   "status-change")
    assert bad.rc == 1 and "stdin is not JSON" in bad.stderr
    got = drain(channel, q, len(calls))
    assert [rk.removeprefix(PREFIX + ".") for rk, _, _ in got] == [
        "pungi.compose.status.change", "pungi.compose.phase.start",
        "pungi.compose.createiso.targets", "pungi.compose.fail.to.start",
        "pungi.compose.status.change"]
    assert [b for _, _, b in got] == [body for _, body in calls]


def test_wedges_hold_to_their_own_topics(host):
    """A forged foreign topic through a wedge host's relay is refused by the broker."""
    if host.backend.host != "wedges-pungi":
        pytest.skip("pungi host only")
    def dead() -> int:
        out = host.run("runuser -u fedbus -- fedbus relay status").stdout
        return int(out.rstrip().rsplit(" ", 1)[-1])

    before = dead()
    forged = host.run("runuser -u fedbus -- fedbus publish %s.git.receive.forged --schema "
                      "base.message --json '{}'", PREFIX)
    assert forged.rc == 0, forged.stderr
    deadline = time.monotonic() + 60
    while dead() == before and time.monotonic() < deadline:
        time.sleep(1)
    assert dead() == before + 1
