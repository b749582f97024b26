"""Bodhi, PkgDB, FAS, AutoQA, Bugzilla: the Python hook API (publish after the database
commit) and the authenticated webhook endpoint, to a real broker queue."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from support.wedge_lab import bind_queue, drain, relay_all, spooled

from fedbus.wedges.base import Sink
from fedbus.wedges.bugzilla import Policy
from fedbus.wedges.hooks import Outbox
from fedbus.wedges.webhook import WebhookServer

pytestmark = pytest.mark.integration
TOKENS = {s: f"token-{s}-0123456789" for s in ("bodhi", "pkgdb", "fas", "autoqa", "bugzilla")}
UPDATE: dict[str, Any] = {
    "alias": "FEDORA-2026-1a2b3c4d5e", "builds": [{"nvr": "python-fedbus-0.1.0-1.fc43"}],
    "release": {"name": "F43"}, "request": "testing", "status": "pending",
    "user": {"name": "alice"},
}
RESULT: dict[str, Any] = {
    "id": 41230566, "outcome": "FAILED",
    "testcase": {"name": "dist.rpmdeplint", "ref_url": "https://example.org/rpmdeplint"},
    "data": {"item": ["python-fedbus-0.1.0-1.fc43"], "type": ["koji_build"]},
    "ref_url": "https://taskotron.example.org/artifacts/41230566/", "note": "",
    "submit_time": "2026-11-30T03:00:00.000000", "groups": [],
}
BUGZILLA: dict[str, Any] = {  # Bugzilla webhook payload (bug created)
    "webhook_name": "fedbus", "webhook_id": 3,
    "event": {"action": "create", "target": "bug", "routing_key": "bug.create",
              "bug_id": 2400001, "time": "2026-11-30T03:00:00Z", "change_set": "77.1",
              "user": {"id": 42, "login": "alice@example.org", "real_name": "Alice"},
              "changes": []},
    "bug": {"id": 2400001, "alias": [], "classification": "Fedora", "flags": [],
            "assigned_to": {"id": 43, "login": "bob@example.org", "real_name": "Bob"},
            "component": {"id": 7, "name": "python-fedbus"},
            "creation_time": "2026-11-30T03:00:00Z", "is_private": False, "keywords": [],
            "last_change_time": "2026-11-30T03:00:00Z", "operating_system": "Linux",
            "platform": "x86_64", "priority": "unspecified",
            "product": {"id": 49, "name": "Fedora"}, "qa_contact": None,
            "reporter": {"id": 42, "login": "alice@example.org", "real_name": "Alice"},
            "resolution": "", "severity": "medium", "status": {"id": 1, "name": "NEW"},
            "summary": "fedbus crashes", "url": "", "version": {"id": 1, "name": "rawhide"},
            "whiteboard": ""},
}


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    spool = tmp_path / "spool"
    users = {"alice@example.org": "alice", "bob@example.org": "bob"}
    server = WebhookServer(("127.0.0.1", 0), TOKENS, Sink(spool_dir=spool),
                           bugzilla=Policy(users=users))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", spool
    server.shutdown()
    server.server_close()


def post(base: str, service: str, payload: Any, token: str | None = None,
         raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
    data = raw if raw is not None else json.dumps(payload).encode()
    req = urllib.request.Request(f"{base}/hook/{service}", data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    if token is None:
        token = TOKENS.get(service, "x")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_webhook_publishes_each_service_with_fedora_schemas(broker, vhost, endpoint):
    base, spool = endpoint
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    calls = [
        ("bodhi", {"topic": "bodhi.update.request.testing",
                   "body": {"agent": "alice", "update": UPDATE}}),
        ("bodhi", {"topic": "bodhi.update.comment",
                   "body": {"comment": {"karma": 1, "text": "works", "user": {"name": "carol"},
                                        "timestamp": "2026-11-30T03:05:00", "update": UPDATE}}}),
        ("bodhi", {"topic": "bodhi.update.complete.stable",
                   "body": {"update": {**UPDATE, "request": None, "status": "stable"}}}),
        ("pkgdb", {"topic": "pkgdb.package.new",
                   "body": {"package": "python-fedbus", "namespace": "rpms", "agent": "alice",
                            "owner": "alice"}}),
        ("pkgdb", {"topic": "pkgdb.package.owner.update",
                   "body": {"package": "python-fedbus", "agent": "alice", "owner": "bob",
                            "previous_owner": "alice", "branch": "rawhide",
                            "namespace": "rpms"}}),
        ("pkgdb", {"topic": "pkgdb.package.acl.update",
                   "body": {"package": "python-fedbus", "agent": "alice", "user": "carol",
                            "acl": "commit", "status": "Approved", "branch": "f43",
                            "namespace": "rpms"}}),
        ("fas", {"topic": "fas.user.create", "body": {"msg": {"agent": "dave", "user": "dave"}}}),
        ("fas", {"topic": "fas.group.member.sponsor",
                 "body": {"msg": {"agent": "alice", "user": "dave", "group": "packager"}}}),
        ("fas", {"topic": "fas.group.member.removed",
                 "body": {"msg": {"agent": "alice", "user": "dave", "group": "packager"}}}),
        ("autoqa", {"topic": "autoqa.result.complete", "body": RESULT}),
        ("bugzilla", BUGZILLA),
    ]
    for service, payload in calls:
        status, answer = post(base, service, payload)
        assert status == 202, (service, answer)
    relay_all(spool, url)
    got = drain(url, queue, len(calls))
    topics = [a.topic.removeprefix("org.fedoraproject.local.") for a in got]
    assert topics == ["bodhi.update.request.testing", "bodhi.update.comment",
                      "bodhi.update.complete.stable", "pkgdb.package.new",
                      "pkgdb.package.owner.update", "pkgdb.package.acl.update",
                      "fas.user.create", "fas.group.member.sponsor",
                      "fas.group.member.removed", "autoqa.result.complete", "bugzilla.bug.new"]
    schemas = [a.schema for a in got]
    assert schemas[:3] == ["bodhi.update.request.testing.v1", "bodhi.update.comment.v1",
                           "bodhi.update.complete.stable.v1"]
    assert schemas[6:9] == ["noggin.user.create.v1", "noggin.group.member.sponsor.v1",
                            "noggin.group.member.removed.v1"]
    assert schemas[9:] == ["fedbus.autoqa.result.complete.v1", "bugzilla2fedmsg.messageV1bz4"]
    headers = [a.headers for a in got]
    assert headers[0]["fedora_messaging_rpm_python-fedbus"] is True
    assert headers[0]["fedora_messaging_user_alice"] is True
    assert headers[1]["fedora_messaging_user_carol"] is True
    assert headers[4]["fedora_messaging_user_bob"] is True
    assert headers[7]["fedora_messaging_user_dave"] is True
    assert headers[9]["fedora_messaging_rpm_python-fedbus"] is True
    bz = got[10]
    assert bz.headers["fedora_messaging_rpm_python-fedbus"] is True
    assert bz.body["event"]["time"] == 1796007600.0 and bz.body["agent_name"] == "alice"


@pytest.mark.parametrize(("service", "payload", "token", "raw", "status", "reason"), [
    ("bodhi", {}, "wrong-token", None, 401, "bad or missing token"),
    ("bodhi", {}, "", None, 401, "bad or missing token"),
    ("bodhi", {"topic": "pkgdb.package.new", "body": {}}, None, None, 403, "may not publish"),
    ("bodhi", None, None, b"{nope", 400, "body is not JSON"),
    ("bodhi", {"topic": "bodhi.update.comment", "body": {"comment": {}}}, None, None, 400,
     "is a required property"),
    ("pkgdb", {"body": {}}, None, None, 400, 'expected {"topic"'),
    ("bugzilla", {"event": {"target": "bug"}, "bug": {}}, None, None, 400, "event.action"),
    ("bodhi", {"topic": "bodhi.update.comment", "schema": "noggin.user.create.v1",
               "body": {"msg": {"agent": "admin", "user": "mallory"}}}, None, None, 400,
     "is not a schema of topic"),
    ("bodhi", {"topic": "bodhi.update.comment", "schema": "base.message", "body": {}}, None,
     None, 400, "is not a schema of topic"),
    ("bodhi", None, None, b'{"topic": "bodhi.update.comment", "body": {"a": NaN}}', 400,
     "body is not JSON"),
    ("nobody", {}, "x", None, 404, "unknown service"),
])
def test_webhook_refusals(endpoint, service, payload, token, raw, status, reason):
    base, spool = endpoint
    got, answer = post(base, service, payload, token=token, raw=raw)
    assert got == status and reason in answer["error"], answer
    assert not spool.exists() or spooled(spool) == 0


@pytest.mark.parametrize(("change", "reason"), [
    ({"comment": {"id": 9, "body": "embargoed", "is_private": True}}, "private comment"),
    ({"bug": {**BUGZILLA["bug"], "is_private": True}}, "private bug"),
    ({"bug": {**BUGZILLA["bug"], "product": {"id": 1, "name": "RHEL"}}}, "not published"),
])
def test_webhook_drops_what_bugzilla_keeps_private(endpoint, change, reason):
    base, spool = endpoint
    got, answer = post(base, "bugzilla", {**BUGZILLA, **change})
    assert got == 200 and reason in answer["dropped"], answer
    assert not spool.exists() or spooled(spool) == 0


def test_python_hook_publishes_after_commit_only(broker, vhost, tmp_path):
    spool = tmp_path / "spool"
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'pkgdb.sqlite'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE package (name TEXT PRIMARY KEY, owner TEXT)"))
    outbox = Outbox("pkgdb", Sink(spool_dir=spool))
    outbox.attach_sqlalchemy(Session)
    new = {"package": "python-fedbus", "namespace": "rpms", "agent": "alice", "owner": "alice"}

    with Session(engine) as session:
        session.execute(sa.text("INSERT INTO package VALUES ('python-fedbus', 'alice')"))
        assert outbox.add("pkgdb.package.new", new)
        assert not spool.exists() or spooled(spool) == 0  # not before the commit
        session.commit()
    assert spooled(spool) == 1

    with Session(engine) as session:  # rolled back: nothing
        session.execute(sa.text("INSERT INTO package VALUES ('ghost', 'alice')"))
        outbox.add("pkgdb.package.new", {**new, "package": "ghost"})
        session.rollback()
    assert spooled(spool) == 1

    # an invalid message never raises into the application
    assert not outbox.add("pkgdb.package.new", {"package": "x"})
    assert not outbox.add("bodhi.update.comment", {})  # not pkgdb's topic

    fas = Outbox("fas", Sink(spool_dir=spool))
    with pytest.raises(RuntimeError), fas.transaction():
        fas.add("fas.user.create", {"msg": {"agent": "eve", "user": "eve"}})
        raise RuntimeError("the application failed")
    with fas.transaction():
        fas.add("fas.user.update", {"msg": {"agent": "eve", "user": "eve",
                                            "fields": ["timezone"]}})
    relay_all(spool, url)
    got = drain(url, queue, 2)
    assert [a.topic for a in got] == ["org.fedoraproject.local.pkgdb.package.new",
                                      "org.fedoraproject.local.fas.user.update"]
    assert got[0].schema == "fedbus.pkgdb.package.new.v1"
    assert got[0].headers["fedora_messaging_rpm_python-fedbus"] is True
    assert got[1].schema == "noggin.user.update.v1"
    assert got[1].headers["fedora_messaging_user_eve"] is True
