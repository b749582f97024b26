"""The webhook's and the pollers' metrics, read through a registry as a scrape reads them,
after real HTTP requests to a real webhook server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from fedbus.wedges.base import Sink
from fedbus.wedges.metrics import WedgesCollector
from fedbus.wedges.webhook import WebhookServer

TOKENS = {"pkgdb": "token-pkgdb-0123456789", "bugzilla": "token-bugzilla-0123456789"}
GOOD = {"topic": "pkgdb.package.new",
        "body": {"package": "p", "namespace": "rpms", "agent": "alice", "owner": "alice"}}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[WebhookServer, CollectorRegistry]]:
    srv = WebhookServer(("127.0.0.1", 0), TOKENS, Sink(spool_dir=tmp_path / "spool"))
    collector = WedgesCollector()
    collector.track_webhook(srv.stats)
    reg = CollectorRegistry()
    reg.register(collector)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, reg
    srv.shutdown()
    srv.server_close()


def ask(srv: WebhookServer, data: bytes) -> int:
    with socket.create_connection(srv.server_address[:2], timeout=5) as sock:
        sock.sendall(data)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    return int(got.split()[1])


def post(path: str, payload: Any, token: str | None) -> bytes:
    body = json.dumps(payload).encode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"POST {path} HTTP/1.0\r\nHost: x\r\n{auth}Content-Length: {len(body)}\r\n\r\n"
            .encode() + body)


def test_webhook_counts_answers_published_and_refused(
        served: tuple[WebhookServer, CollectorRegistry]) -> None:
    srv, reg = served
    assert ask(srv, post("/hook/pkgdb", GOOD, TOKENS["pkgdb"])) == 202
    assert ask(srv, post("/hook/pkgdb", GOOD, TOKENS["pkgdb"])) == 202
    assert ask(srv, post("/hook/pkgdb", GOOD, "wrong-token-0123456789")) == 401
    foreign = {**GOOD, "topic": "bodhi.update.comment"}
    assert ask(srv, post("/hook/pkgdb", foreign, TOKENS["pkgdb"])) == 403
    assert ask(srv, post("/hook/nobody", GOOD, "x")) == 404
    assert ask(srv, b"GET /health HTTP/1.0\r\n\r\n") == 200
    assert ask(srv, b"GET /../../etc/passwd HTTP/1.0\r\n\r\n") == 404

    def value(name: str, **labels: str) -> float | None:
        return reg.get_sample_value(name, labels)

    assert value("fedbus_webhook_requests_total", route="/hook/pkgdb", status="202") == 2
    assert value("fedbus_webhook_requests_total", route="/hook/pkgdb", status="401") == 1
    assert value("fedbus_webhook_requests_total", route="/hook/pkgdb", status="403") == 1
    assert value("fedbus_webhook_requests_total", route="other", status="404") == 2
    assert value("fedbus_webhook_requests_total", route="/health", status="200") == 1
    assert value("fedbus_webhook_published_total", service="pkgdb") == 2
    assert value("fedbus_webhook_refused_total", reason="token") == 1
    assert value("fedbus_webhook_refused_total", reason="topic") == 1
    assert value("fedbus_webhook_refused_total", reason="unknown_service") == 1


def test_pollers_count_polls_and_messages(tmp_path: Path) -> None:
    from support.notifier_servers import free_port

    from fedbus.wedges.netapp import Watcher

    # a filer that is not there: the watcher's poll fails, and is counted
    watcher = Watcher(f"http://127.0.0.1:{free_port()}", "filer", Sink(spool_dir=tmp_path))
    stats = watcher.stats
    collector = WedgesCollector()
    collector.track_poller(stats)
    reg = CollectorRegistry()
    reg.register(collector)
    assert watcher.poll_once() == 0
    assert reg.get_sample_value("fedbus_wedge_last_poll_timestamp_seconds",
                                {"wedge": "netapp-watch"}) == 0
    stats.polled(True, 2)
    stats.polled(True, 1)
    labels = {"wedge": "netapp-watch"}
    assert reg.get_sample_value("fedbus_wedge_polls_total", {**labels, "result": "ok"}) == 2
    assert reg.get_sample_value("fedbus_wedge_polls_total",
                                {**labels, "result": "failed"}) == 1
    assert reg.get_sample_value("fedbus_wedge_published_total", labels) == 3
    last = reg.get_sample_value("fedbus_wedge_last_poll_timestamp_seconds", labels)
    assert last is not None and last > 0
