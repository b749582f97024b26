"""The NetApp wedge against a stand-in ONTAP REST server (127.0.0.1) answering
``GET /api/snapmirror/relationships`` with ONTAP's response shapes (HAL links, paging,
basic auth), then through the relay to a real broker queue."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from support.wedge_lab import bind_queue, drain, relay_all, spooled

from fedbus.wedges.base import Sink
from fedbus.wedges.netapp import Watcher, lag_seconds

pytestmark = pytest.mark.integration
USER, PASSWORD = "fedbus-ro", "ontap-secret-1"


def relationship(uuid: str, src: str, dst: str, *, state: str = "snapmirrored",
                 healthy: bool = True, lag: str | None = "PT5M12S",
                 transfer: str | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "uuid": uuid,
        "source": {"path": src, "svm": {"name": src.split(":")[0]}},
        "destination": {"path": dst, "svm": {"name": dst.split(":")[0]}},
        "state": state, "healthy": healthy,
        "_links": {"self": {"href": f"/api/snapmirror/relationships/{uuid}"}},
    }
    if lag is not None:
        rec["lag_time"] = lag
    if transfer is not None:
        rec["transfer"] = {"uuid": "4fb5c4f4-0000-11ef-9c4b-005056bb1234", "state": transfer,
                           "_links": {"self": {"href": "/api/snapmirror/relationships/"
                                               f"{uuid}/transfers/4fb5c4f4"}}}
    return rec


class Ontap(ThreadingHTTPServer):
    daemon_threads = True
    records: list[dict[str, Any]]
    seen_fields: list[str]


class OntapHandler(BaseHTTPRequestHandler):
    server: Ontap

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {token}":
            return self._send(401, {"error": {"message": "not authorized for that account",
                                              "code": "6"}})
        if url.path != "/api/snapmirror/relationships":
            return self._send(404, {"error": {"message": "API not found", "code": "3"}})
        query = parse_qs(url.query)
        self.server.seen_fields.extend(query.get("fields", []))
        start = int(query.get("start", ["0"])[0])
        page = self.server.records[start:start + 1]  # one per page: exercise _links.next
        body: dict[str, Any] = {"records": page, "num_records": len(page),
                                "_links": {"self": {"href": self.path}}}
        if start + 1 < len(self.server.records):
            body["_links"]["next"] = {
                "href": f"/api/snapmirror/relationships?start={start + 1}&fields="
                        f"{query.get('fields', [''])[0]}&return_records=true"}
        return self._send(200, body)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/hal+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def ontap() -> Iterator[Ontap]:
    server = Ontap(("127.0.0.1", 0), OntapHandler)
    server.records, server.seen_fields = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def watcher(ontap: Ontap, spool: Path, password: str = PASSWORD) -> Watcher:
    return Watcher(f"http://127.0.0.1:{ontap.server_address[1]}", "ntap-c01.example.org",
                   Sink(spool_dir=spool), auth=(USER, password), max_lag=1800,
                   volumes={"svm-mirror:fedora_pub_mirror": "fedora-pub"})


PUB = ("2f0c8f1e-1111-11ef-9c4b-005056bb1234", "svm-pub:fedora_pub",
       "svm-mirror:fedora_pub_mirror")
ALT = ("2f0c8f1e-2222-11ef-9c4b-005056bb1234", "svm-pub:fedora_alt", "svm-mirror:fedora_alt")


def test_transfer_then_healthy_gives_out_of_sync_then_in_sync(broker, vhost, ontap, tmp_path):
    spool = tmp_path / "spool"
    url = broker.amqp_url(vhost)
    queue = bind_queue(url, "org.fedoraproject.local.netapp.#")
    w = watcher(ontap, spool)
    ontap.records = [relationship(*PUB), relationship(*ALT)]
    assert w.poll_once() == 0  # first seen in sync: nothing
    ontap.records = [relationship(*PUB, transfer="transferring"), relationship(*ALT)]
    assert w.poll_once() == 1
    assert w.poll_once() == 0  # still transferring: no repeat
    ontap.records = [relationship(*PUB, lag="PT2H"), relationship(*ALT)]
    assert w.poll_once() == 0  # transfer over but lagging: still out of sync
    ontap.records = [relationship(*PUB, lag="PT42S"),
                     relationship(*ALT, healthy=False, state="broken_off")]
    assert w.poll_once() == 2
    assert "state" in ontap.seen_fields[0] and "transfer.state" in ontap.seen_fields[0]
    relay_all(spool, url)
    out, back, alt = drain(url, queue, 3)
    assert out.topic == "org.fedoraproject.local.netapp.snapmirror.out_of_sync"
    assert out.schema == "fedbus.netapp.snapmirror.out_of_sync.v1"
    assert out.body["volume"] == "fedora-pub" and out.body["state"] == "transferring"
    assert out.body["relationship"] == "svm-pub:fedora_pub -> svm-mirror:fedora_pub_mirror"
    assert out.body["paths"] is None and out.body["source"] == "netapp"
    assert back.topic == "org.fedoraproject.local.netapp.snapmirror.in_sync"
    assert back.body["lag_seconds"] == 42.0
    assert back.body["changed_at"] == out.body["changed_at"]
    assert alt.topic.endswith("out_of_sync") and alt.body["volume"] == "fedora_alt"
    assert alt.body["state"] == "broken_off"


def test_failures_are_one_line_and_the_watcher_goes_on(ontap, tmp_path, caplog):
    spool = tmp_path / "spool"
    w = watcher(ontap, spool, password="wrong")
    ontap.records = [relationship(*PUB, transfer="transferring")]
    assert w.poll_once() == 0
    assert "poll failed: HTTPError: 401" in caplog.text
    w.url = "http://127.0.0.1:1"  # nothing listens there
    assert w.poll_once() == 0
    assert not spool.exists() or spooled(spool) == 0


def test_lag_durations():
    assert lag_seconds("PT1H2M3S") == 3723.0
    assert lag_seconds("P1DT0.5S") == 86400.5
    assert lag_seconds("PT") is None and lag_seconds(None) is None and lag_seconds("1h") is None
