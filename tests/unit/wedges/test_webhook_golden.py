"""Golden tests: Bodhi and noggin (FAS) publish through the webhook what Fedora publishes.

Each case of :mod:`webhook_upstream_data` is a body from bodhi-messages' or noggin-messages'
own tests.  It is posted as ``{"topic", "body"}`` to a real :class:`WebhookServer` (HTTP on
127.0.0.1) with the service's token; the spooled message must decode to the upstream schema
class, on Fedora's topic, with the body unchanged, and have the headers (but ``sent-at``) and
the ``summary``, ``__str__``, ``url``, ``usernames``, ``packages`` and ``agent_name`` of that
class built directly from the same body — and the values upstream's test asserts.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bodhi.messages.schemas.update as bodhi_update
import noggin_messages
import pytest
from fedora_messaging import message as fm
from webhook_upstream_data import BODHI, NOGGIN

from fedbus.message.envelope import decode
from fedbus.relay.spool import Spool
from fedbus.wedges.base import Sink
from fedbus.wedges.webhook import WebhookServer

TOKENS = {"bodhi": "token-bodhi-0123456789", "fas": "token-fas-0123456789"}
PREFIX = "org.fedoraproject.prod"
CASES = [("bodhi", name, case, getattr(bodhi_update, case["schema_class"]))
         for name, case in BODHI.items()]
CASES += [("fas", name, case, getattr(noggin_messages, case["schema_class"]))
          for name, case in NOGGIN.items()]
PROPERTIES = ("summary", "__str__", "url", "usernames", "packages", "agent_name")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[WebhookServer, Path]]:
    spool = tmp_path / "spool"
    srv = WebhookServer(("127.0.0.1", 0), TOKENS, Sink(topic_prefix=PREFIX, spool_dir=spool))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, spool
    srv.shutdown()
    srv.server_close()


def post(srv: WebhookServer, service: str, payload: dict[str, Any]) -> tuple[int, bytes]:
    data = json.dumps(payload).encode()
    head = (f"POST /hook/{service} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            f"{TOKENS[service]}\r\nContent-Length: {len(data)}\r\n\r\n").encode()
    with socket.create_connection(srv.server_address[:2], timeout=10) as sock:
        sock.sendall(head + data)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    status_line, _, rest = got.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def headers(msg: fm.Message) -> dict[str, Any]:
    return {k: v for k, v in msg._headers.items() if k != "sent-at"}


def properties(msg: fm.Message) -> dict[str, Any]:
    return {"summary": msg.summary, "__str__": str(msg), "url": msg.url,
            "usernames": msg.usernames, "packages": msg.packages, "agent_name": msg.agent_name}


@pytest.mark.parametrize(("service", "name", "case", "cls"), CASES,
                         ids=[f"{s}-{n}" for s, n, _, _ in CASES])
def test_webhook_publishes_fedoras_message(server: tuple[WebhookServer, Path], service: str,
                                           name: str, case: dict[str, Any],
                                           cls: type[fm.Message]) -> None:
    srv, spool = server
    topic = cls.topic
    assert topic == case["expected"]["topic"]
    status, answer = post(srv, service, {"topic": topic, "body": case["body"]})
    assert status == 202, answer
    with Spool(spool, reader=True) as sp:
        [spooled] = sp.peek()
    msg = decode(spooled.routing_key, spooled.body, spooled.properties)
    assert type(msg) is cls
    assert msg.topic == spooled.routing_key == f"{PREFIX}.{topic}"
    assert msg.body == case["body"]
    upstream = cls(body=case["body"])
    upstream.validate()
    assert properties(msg) == properties(upstream)
    assert headers(msg) == headers(upstream)
    assert {k: properties(msg)[k] for k in PROPERTIES if k in case["expected"]} == {
        k: v for k, v in case["expected"].items() if k in PROPERTIES}
