"""Shared fixtures.

Integration tests talk to a real RabbitMQ: the node started by
``scripts/host-rabbitmq.sh`` (this conftest starts it when FEDBUS_TEST_AMQP_URL is
not set).  Each test that needs isolation takes ``vhost``: a fresh vhost, deleted
afterwards, on which the administrator ``fedbus-test`` has full rights.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Broker:
    """Where the test broker listens, and an admin account on it."""

    host: str
    amqp_port: int
    mgmt_port: int
    user: str
    password: str

    def amqp_url(
        self, vhost: str = "/", user: str | None = None, password: str | None = None
    ) -> str:
        u = urllib.parse.quote(user or self.user, safe="")
        p = urllib.parse.quote(password or self.password, safe="")
        v = urllib.parse.quote(vhost, safe="")
        return f"amqp://{u}:{p}@{self.host}:{self.amqp_port}/{v}"

    @property
    def mgmt_url(self) -> str:
        return f"http://{self.host}:{self.mgmt_port}"

    def api(self, method: str, path: str, body: object | None = None) -> object:
        """Call the management HTTP API as the admin; returns decoded JSON or None."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.mgmt_url + "/api/" + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        import base64

        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        req.add_header("authorization", f"Basic {token}")
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None


def _env_broker() -> Broker | None:
    url = os.environ.get("FEDBUS_TEST_AMQP_URL")
    if not url:
        return None
    parsed = urllib.parse.urlparse(url)
    mgmt = urllib.parse.urlparse(os.environ.get("FEDBUS_TEST_MGMT_URL", "http://x:15672"))
    return Broker(
        host=parsed.hostname or "127.0.0.1",
        amqp_port=parsed.port or 5672,
        mgmt_port=mgmt.port or 15672,
        user=urllib.parse.unquote(parsed.username or "fedbus-test"),
        password=urllib.parse.unquote(parsed.password or "fedbus-test"),
    )


@pytest.fixture(scope="session")
def broker() -> Broker:
    found = _env_broker()
    if found is not None:
        return found
    subprocess.run([str(ROOT / "scripts" / "host-rabbitmq.sh"), "start"], check=True)
    return Broker("127.0.0.1", 5672, 15672, "fedbus-test", "fedbus-test")


@pytest.fixture
def vhost(broker: Broker) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    quoted = urllib.parse.quote(name, safe="")
    broker.api("PUT", f"vhosts/{quoted}")
    broker.api(
        "PUT",
        f"permissions/{quoted}/{broker.user}",
        {"configure": ".*", "write": ".*", "read": ".*"},
    )
    # as roles/broker declares it: where components reach their own queues by name
    broker.api("PUT", f"exchanges/{quoted}/fedbus.queues", {"type": "topic", "durable": True})
    yield name
    broker.api("DELETE", f"vhosts/{quoted}")
