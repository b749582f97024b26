"""``fedbus notifier web`` served by gunicorn over real TCP: the proxy header is believed
only from the configured proxy addresses, and a new destination's token goes out as a job
on the real broker's ``notifier.email`` queue."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.notifier_servers import free_port
from support.notifier_stack import Stack
from support.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def call(url: str, user: str | None = None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if user:
        headers["X-Remote-User"] = user
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers,
                                 method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def serve(stack: Stack, trusted: list[str]) -> str:
    port = free_port()
    with stack.notifier_toml.open("a") as f:
        f.write(f'[web]\nsecret_key = "integration-secret"\n'
                f"trusted_proxies = {json.dumps(trusted)}\n")
    stack.start("web", "web", "--bind", f"127.0.0.1:{port}", "--workers", "1")
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return call(f"{base}/healthz")[0] == 200
        except OSError:
            return False

    wait_for(up, 60, "the web server")
    return base


@pytest.fixture
def stack(tmp_path: Path, broker: Any, vhost: str) -> Iterator[Stack]:
    s = Stack(tmp_path, broker.amqp_url(vhost), free_port(), free_port())
    yield s
    s.stop_all()
    print(s.logs())


def test_header_is_believed_from_a_trusted_proxy_address(stack: Stack, broker: Any,
                                                          vhost: str) -> None:
    base = serve(stack, ["127.0.0.0/8"])
    status, me = call(f"{base}/api/v1/me", "alice")
    assert status == 200 and me["name"] == "alice"
    # a new destination: the token is published (confirmed) as a job for the email sender
    status, dest = call(f"{base}/api/v1/destinations", "alice",
                        {"kind": "email", "address": "alice@example.org"})
    assert status == 201 and dest["token_sent"] is True and dest["verified"] is False
    import pika

    with pika.BlockingConnection(pika.URLParameters(stack.amqp_url)) as conn:
        method, _props, body = conn.channel().basic_get("notifier.email", auto_ack=True)
    assert method is not None, "no verification job on notifier.email"
    job = json.loads(body)
    assert job["address"] == "alice@example.org" and "confirm" in job["text"].lower()


def test_header_is_ignored_when_the_peer_is_not_a_proxy(stack: Stack) -> None:
    base = serve(stack, ["10.99.0.0/16"])
    status, err = call(f"{base}/api/v1/me", "alice")
    assert status == 401 and err == {"error": "authentication required"}
    assert "ignoring X-Remote-User from untrusted address 127.0.0.1" in stack.logs()


def test_bad_web_settings_fail_in_one_line(stack: Stack) -> None:
    with stack.notifier_toml.open("a") as f:
        f.write('[web]\nsecret_key = "k"\ntrusted_proxies = ["not-a-cidr"]\n')
    out = subprocess.run(
        [sys.executable, "-m", "fedbus.cli.main", "notifier", "--settings",
         str(stack.notifier_toml), "web"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip() == ("fedbus: error: notifier.toml: web.trusted_proxies[0]: "
                                  "'not-a-cidr' is not a CIDR")
