"""The Bugzilla poller (python-bugzilla, REST) against a stand-in answering Bugzilla's REST
shapes on 127.0.0.1 (``/rest/version``, ``/rest/bug``, ``/rest/bug/<id>/comment``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import bugzilla
import pytest
from support.wedge_lab import bind_queue, drain, relay_all

from fedbus.wedges.base import Sink
from fedbus.wedges.bugzilla_poll import Poller

pytestmark = pytest.mark.integration
SINCE = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def rest_bug(bug_id: int, created: str, changed: str, summary: str) -> dict[str, Any]:
    return {  # GET /rest/bug record, as Bugzilla 5 answers it
        "id": bug_id, "alias": [], "assigned_to": "bob@example.org",
        "assigned_to_detail": {"id": 43, "email": "bob@example.org", "name": "bob@example.org",
                               "real_name": "Bob"},
        "cc": ["bob@example.org"], "classification": "Fedora", "component": ["python-fedbus"],
        "creation_time": created, "creator": "alice@example.org",
        "creator_detail": {"id": 42, "email": "alice@example.org",
                           "name": "alice@example.org", "real_name": "Alice"},
        "flags": [], "groups": [], "is_open": True, "keywords": [],
        "last_change_time": changed, "op_sys": "Linux", "platform": "x86_64",
        "priority": "unspecified", "product": "Fedora", "qa_contact": "",
        "resolution": "", "severity": "medium", "status": "NEW", "summary": summary,
        "version": ["rawhide"], "whiteboard": "",
    }


BUGS = [rest_bug(2400001, "2026-11-30T03:05:00Z", "2026-11-30T03:05:00Z", "fedbus crashes"),
        rest_bug(2300007, "2026-10-01T10:00:00Z", "2026-11-30T03:06:00Z", "old bug")]
COMMENTS = {"2300007": [
    {"id": 1, "bug_id": 2300007, "count": 0, "text": "description", "creator":
     "alice@example.org", "creation_time": "2026-10-01T10:00:00Z", "is_private": False},
    {"id": 99, "bug_id": 2300007, "count": 4, "text": "still broken in rawhide",
     "creator": "carol@example.org", "creation_time": "2026-11-30T03:06:00Z",
     "is_private": False}]}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = parse_qs(url.query)
        if url.path == "/rest/version":
            return self._send({"version": "5.0.4"})
        if url.path == "/rest/bug":
            self.server.queries.append(q)  # type: ignore[attr-defined]
            return self._send({"bugs": BUGS, "faults": []})
        parts = url.path.strip("/").split("/")
        if parts[:2] == ["rest", "bug"] and parts[3:] == ["comment"]:
            return self._send({"bugs": {parts[2]: {"comments": COMMENTS.get(parts[2], [])}},
                               "comments": {}})
        self.send_response(404)
        self.end_headers()
        return None

    def _send(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def standin() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.queries = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_poll_publishes_new_bug_and_comment(broker, vhost, standin, tmp_path):
    spool = tmp_path / "spool"
    url = broker.amqp_url(vhost)
    queue = bind_queue(url, "org.fedoraproject.local.bugzilla.#")
    base = f"http://127.0.0.1:{standin.server_address[1]}"
    bz = bugzilla.Bugzilla(f"{base}/rest", force_rest=True, use_creds=False)
    poller = Poller(bz, ["Fedora"], Sink(spool_dir=spool), "https://bugzilla.example.org",
                    since=SINCE, users={"carol@example.org": "carol", "bob@example.org": "bob"})
    assert poller.poll_once() == 2
    query = standin.queries[0]  # type: ignore[attr-defined]
    assert query["product"] == ["Fedora"]
    assert query["last_change_time"] == ["2026-11-30T03:00:00Z"]
    relay_all(spool, url)
    new, update = drain(url, queue, 2)
    assert new.topic == "org.fedoraproject.local.bugzilla.bug.new"
    assert new.schema == "bugzilla2fedmsg.messageV1bz4"
    # bugzilla2fedmsg's Bugzilla 4 forms: component and assignee as strings
    assert new.body["bug"]["component"] == "python-fedbus"
    assert new.body["bug"]["assigned_to"] == "bob@example.org"
    assert new.headers["fedora_messaging_rpm_python-fedbus"] is True
    assert update.topic == "org.fedoraproject.local.bugzilla.bug.update"
    assert update.body["comment"]["body"] == "still broken in rawhide"
    assert update.body["event"]["target"] == "comment" and update.body["agent_name"] == "carol"
    # FAS names from the operator's map only: alice@example.org is not in it
    assert new.body["agent_name"] is None and new.body["usernames"] == ["bob"]
    assert update.body["usernames"] == ["bob", "carol"]


def test_a_failed_poll_is_one_line_and_keeps_its_place(standin, tmp_path, caplog):
    base = f"http://127.0.0.1:{standin.server_address[1]}"
    bz = bugzilla.Bugzilla(f"{base}/rest", force_rest=True, use_creds=False)
    standin.shutdown()
    standin.server_close()  # Bugzilla goes away
    poller = Poller(bz, ["Fedora"], Sink(spool_dir=tmp_path / "spool"), "https://b",
                    since=SINCE)
    assert poller.poll_once() == 0
    assert "bugzilla: poll failed:" in caplog.text and poller.since == SINCE
