"""Shared bits of the benchmark scripts: the machine, the broker, writing the results.

Each script measures one figure and writes ``benchmarks/results/<name>.md`` with the
figures, the machine (nproc, RabbitMQ version), the date and the command that reproduces it.
Run from the repository root with the venv active (``. scripts/env.sh``); the broker is the
test node of ``scripts/host-rabbitmq.sh`` unless FEDBUS_TEST_AMQP_URL says otherwise.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import shlex
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pika

RESULTS = Path(__file__).resolve().parent / "results"
URL = os.environ.get(
    "FEDBUS_TEST_AMQP_URL", "amqp://fedbus-test:fedbus-test@127.0.0.1:5672/%2F"
)
# scripts/host-rabbitmq.sh env gives the management URL with the account in it
# (http://user:password@host:port); urllib wants it without, the account goes in a header.
_MGMT = urllib.parse.urlsplit(os.environ.get("FEDBUS_TEST_MGMT_URL", "http://127.0.0.1:15672"))
MGMT = _MGMT._replace(netloc=_MGMT.netloc.rpartition("@")[2]).geturl()
TOPIC = "org.fedoraproject.local.git.commit.receive"


def api(method: str, path: str, body: object | None = None) -> object:
    parsed = urllib.parse.urlsplit(URL)
    user = urllib.parse.unquote(parsed.username or "fedbus-test")
    password = urllib.parse.unquote(parsed.password or "fedbus-test")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(MGMT.rstrip("/") + "/api/" + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    req.add_header("authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


class Vhost:
    """A fresh vhost for one benchmark run (deleted afterwards)."""

    def __init__(self) -> None:
        self.name = f"bench-{uuid.uuid4().hex[:8]}"
        q = urllib.parse.quote(self.name, safe="")
        api("PUT", f"vhosts/{q}")
        user = urllib.parse.unquote(urllib.parse.urlsplit(URL).username or "fedbus-test")
        api("PUT", f"permissions/{q}/{user}", {"configure": ".*", "write": ".*", "read": ".*"})
        parts = urllib.parse.urlsplit(URL)
        self.url = urllib.parse.urlunsplit(parts._replace(path="/" + q))

    def queue(self, name: str = "bench", pattern: str = "org.fedoraproject.local.#") -> str:
        with pika.BlockingConnection(pika.URLParameters(self.url)) as conn:
            ch = conn.channel()
            ch.queue_declare(name, durable=True)
            ch.queue_bind(name, "amq.topic", routing_key=pattern)
            ch.queue_purge(name)
        return name

    def purge(self, name: str = "bench") -> None:
        with pika.BlockingConnection(pika.URLParameters(self.url)) as conn:
            conn.channel().queue_purge(name)

    def depth(self, name: str = "bench") -> int:
        with pika.BlockingConnection(pika.URLParameters(self.url)) as conn:
            return conn.channel().queue_declare(name, passive=True).method.message_count

    def close(self) -> None:
        api("DELETE", f"vhosts/{urllib.parse.quote(self.name, safe='')}")


def machine() -> dict[str, str]:
    try:
        version = str(api("GET", "overview")["rabbitmq_version"])  # type: ignore[index]
    except Exception as exc:
        version = f"unknown ({exc})"
    load = os.getloadavg()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "nproc": str(os.cpu_count()),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "rabbitmq": version,
        "load average at start": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values)


def write(name: str, title: str, info: dict[str, str], body: str, notes: str = "") -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    command = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/" + Path(sys.argv[0]).name,
                                                             *sys.argv[1:]])
    lines = [f"# {title}", "", body.rstrip(), ""]
    if notes:
        lines += [notes.rstrip(), ""]
    lines += ["## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += ["", "## Rerun", "", "```", ". scripts/env.sh && scripts/host-rabbitmq.sh start",
              command, "```", ""]
    path.write_text("\n".join(lines))
    print(path.read_text())
    return path
