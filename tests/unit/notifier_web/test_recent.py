"""The rules page's "Recent notifications": what (summary and link), when, where — for
notifications recorded by the engine's own worker and sender, for jobs queued by the
previous version, and for rows written before migration 0004."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Flask
from koji_fedoramessaging_messages.build import BuildStateChangeV1
from sqlalchemy import text

from fedbus.notifier.jobs import Job
from fedbus.notifier.ledger import Ledger
from fedbus.notifier.migrate import upgrade
from fedbus.notifier.senders.service import Sender
from fedbus.notifier.settings import sqlite_url
from fedbus.notifier.store import Store
from fedbus.notifier.web import create_app
from fedbus.notifier.web.settings import WebSettings
from fedbus.notifier.worker import Worker

from .conftest import Cell, proxied, table_rows

PREFIX = "org.fedoraproject.prod"
KOJI_URL = "https://koji.fedoraproject.org/koji/buildinfo?buildID=4242"


def koji_build(name: str, owner: str) -> BuildStateChangeV1:
    body = {"name": name, "version": "5.2.26", "release": "9.fc43", "epoch": None,
            "attribute": "state", "old": 0, "new": 1, "build_id": 4242, "task_id": 9999,
            "task": None, "owner": owner, "instance": "primary",
            "request": [f"git+https://src.fedoraproject.org/rpms/{name}.git#a", "rawhide", {}],
            "creation_time": "2026-11-30T04:00:00+00:00",
            "completion_time": "2026-11-30T04:10:00+00:00", "url": KOJI_URL}  # fmt: skip
    return BuildStateChangeV1(topic=f"{PREFIX}.buildsys.build.state.change", body=body)


class Published:
    """The worker's publisher: keeps the jobs instead of sending them to the broker."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    async def publish(self, jobs: Sequence[tuple[str, Job]]) -> None:
        self.jobs.extend(job for _queue, job in jobs)


class Transport:
    """The sender's transport: the SMTP or IRC server that accepts everything."""

    def __init__(self) -> None:
        self.sent: list[Job] = []

    def send_sync(self, job: Job) -> None:
        self.sent.append(job)

    async def send(self, job: Job) -> None:
        self.sent.append(job)

    async def close(self) -> None:
        pass


def send(store: Store, bodies: Sequence[bytes]) -> list[Job]:
    """The sender (ledger and all) handles the jobs as they come off the queue."""
    transport = Transport()
    sender = Sender(Ledger(store), transport)

    async def run() -> None:
        for body in bodies:
            await sender.handle(Job.decode(body))

    asyncio.run(run())
    return transport.sent


def notify(store: Store, *messages: Any) -> list[Job]:
    """The engine without a broker: the worker matches and renders each message, the
    sender gets each job as it would come off the queue."""
    published = Published()
    worker = Worker(store, published, prefix=PREFIX,  # type: ignore[arg-type]
                    base_url="https://notifications.test")  # fmt: skip
    worker.loader.full()

    async def run() -> None:
        for m in messages:
            await worker.handle(m)

    asyncio.run(run())
    return send(store, [job.encode() for job in published.jobs])


def alice_follows(store: Store, package: str) -> int:
    me = store.user("alice")
    dest, token = me.add_destination("email", "alice@example.org")
    assert me.verify_destination(dest.id, token)
    me.add_rule("package", package)
    return dest.id


def recent(app: Flask, user: str = "alice") -> list[list[Cell]]:
    page = proxied(app, user).get("/settings/rules")
    assert page.status_code == 200
    return table_rows(page.get_data(as_text=True), "recent")


def test_recent_notifications_show_summary_link_when_and_where(app: Flask,
                                                               store: Store) -> None:
    alice_follows(store, "bash")
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    (job,) = notify(store, koji_build("bash", "bob"), koji_build("firefox", "bob"))
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert job.summary == "Build COMPLETE: bob's bash-5.2.26-9.fc43"
    ((when, what, where, status),) = recent(app)
    assert before <= dt.datetime.fromisoformat(when.text) <= after
    assert what.text == f"{job.summary} {PREFIX}.buildsys.build.state.change"
    assert what.links == [KOJI_URL]
    assert (where.text, status.text) == ("email: alice@example.org", "sent")
    assert recent(app, "bob") == []  # nobody else's


def test_a_job_queued_by_the_previous_version_is_recorded_alike(app: Flask,
                                                                store: Store) -> None:
    dest_id = alice_follows(store, "bash")
    user_id = store.user("alice").user_id
    old = {"message_id": "3f0c", "user_id": user_id, "user": "alice", "destination_id": dest_id,
           "kind": "email", "address": "alice@example.org", "delivery": "immediate",
           "topic": f"{PREFIX}.bodhi.update.comment", "summary": "bob commented on an update",
           "subject": "bob commented on an update", "text": "…", "url": None, "rule_ids": [1],
           "digest_cap": 50, "headers": {}}  # fmt: skip
    assert len(send(store, [json.dumps(old).encode()])) == 1
    ((_when, what, _where, _status),) = recent(app)
    assert what.text == f"bob commented on an update {PREFIX}.bodhi.update.comment"
    assert what.links == []


def test_summaries_are_escaped_and_only_web_urls_are_links(app: Flask, store: Store) -> None:
    dest_id = alice_follows(store, "bash")
    user_id = store.user("alice").user_id
    jobs = [Job(f"m{i}", user_id, "alice", dest_id, "email", "alice@example.org", "immediate",
                "t", f'<script>alert({i})</script> & "co"', url=url)
            for i, url in enumerate(["javascript:alert(1)", " javascript:x", "data:text/html,x",
                                     "//evil.example", "HTTPS://src.example/x?a=1&b=<2>"])]
    send(store, [job.encode() for job in jobs])
    page = proxied(app, "alice").get("/settings/rules").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(4)&lt;/script&gt;" in page
    rows = table_rows(page, "recent")
    assert [row[1].links for row in rows] == [["HTTPS://src.example/x?a=1&b=<2>"], [], [], [], []]
    assert 'href="HTTPS://src.example/x?a=1&amp;b=&lt;2&gt;"' in page


def test_rows_older_than_the_summary_show_their_topic_or_id(tmp_path: Path,
                                                            settings: WebSettings) -> None:
    url = sqlite_url(tmp_path / "old.db")
    upgrade(url, "0003")  # the schema before deliveries kept topic and summary
    store = Store.open(url)
    dest_id = alice_follows(store, "bash")
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO deliveries (message_id, user_id, destination_id, status, at)"
                          " VALUES ('6d1e-old', :u, :d, 'sent', '2026-11-30 04:10:00')"),
                     {"u": store.user("alice").user_id, "d": dest_id})  # fmt: skip
    upgrade(url)
    send(store, [Job("m1", store.user("alice").user_id, "alice", dest_id, "email",
                     "alice@example.org", "immediate", f"{PREFIX}.git.receive", "").encode()])
    app = create_app(settings, store, send_token=lambda *_: None, testing=True)
    newer, older = recent(app)
    assert (newer[1].text, newer[1].links) == (f"{PREFIX}.git.receive", [])
    assert (older[0].text, older[1].text, older[2].text) == (
        "2026-11-30 04:10:00", "6d1e-old", "email: alice@example.org")
    store.engine.dispose()
