"""``fedbus tail`` and ``fedbus stat`` as a user runs them, against the real broker."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pika
import pytest
from fedbus_messages.bus import CanaryV1, QueueCreatedV1

from fedbus.cli.cmd_tail import sent_at
from fedbus.message.envelope import AmqpProperties, encode, new_message
from tests.conftest import Broker

pytestmark = pytest.mark.integration
FEDBUS = [sys.executable, "-m", "fedbus.cli.main"]


def _wait_bound(broker: Broker, vhost: str, key: str, count: int = 1, timeout: float = 20) -> None:
    path = f"exchanges/{urllib.parse.quote(vhost, safe='')}/amq.topic/bindings/source"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bindings = broker.api("GET", path)
        assert isinstance(bindings, list)
        if len({b["destination"] for b in bindings if b["routing_key"] == key}) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} queues bound {key!r} on amq.topic")


def _publish(broker: Broker, vhost: str, items: list[tuple[str, bytes, AmqpProperties]]) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost)))
    ch = conn.channel()
    ch.confirm_delivery()
    for topic, body, props in items:
        ch.basic_publish("amq.topic", topic, body, props.to_pika())
    conn.close()


def _tail(broker: Broker, vhost: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*FEDBUS, "tail", "--url", broker.amqp_url(vhost), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_tail(broker: Broker, vhost: str) -> None:
    glob = "org.fedoraproject.stg.bus.#"
    plain = _tail(broker, vhost, "--topic", glob, "--count", "3", "--no-color")
    as_json = _tail(broker, vhost, "--topic", glob, "--user", "notifier", "--json", "--count", "1")
    try:
        _wait_bound(broker, vhost, glob, count=2)  # both tails listen

        canary = encode(new_message("org.fedoraproject.stg.bus.canary.sent", CanaryV1.example))
        other = encode(
            new_message("org.fedoraproject.stg.git.receive.done", {}, schema="base.message")
        )
        queue = encode(
            new_message("org.fedoraproject.stg.bus.queue.created", QueueCreatedV1.example)
        )
        bad_props = AmqpProperties(
            message_id="bad-1",
            headers={**canary.properties.headers, "fedora_messaging_user_mallory": True},
        )
        _publish(
            broker,
            vhost,
            [
                (canary.routing_key, canary.body, canary.properties),
                (other.routing_key, other.body, other.properties),  # not bound: never shown
                (queue.routing_key, queue.body, queue.properties),
                (canary.routing_key, b'{"origin": ""}', bad_props),  # invalid: shown, marked
            ],
        )
        out, err = plain.communicate(timeout=20)
        assert plain.returncode == 0, err
        t = sent_at(canary.properties)
        assert out.splitlines() == [
            f"{t}  org.fedoraproject.stg.bus.canary.sent  canary {CanaryV1.example['nonce']} from "
            f"{CanaryV1.example['origin']}",
            f"{sent_at(queue.properties)}  org.fedoraproject.stg.bus.queue.created  "
            "notifier created queue notifier in vhost /prod  [users: notifier]",
            f"{t}  org.fedoraproject.stg.bus.canary.sent  "
            "invalid: fedbus.bus.canary.v1: 'nonce' is a required property  [users: mallory]",
        ]
        out, err = as_json.communicate(timeout=20)
        assert as_json.returncode == 0, err
        got = json.loads(out)
        assert got["topic"] == "org.fedoraproject.stg.bus.queue.created"
        assert got["body"] == QueueCreatedV1.example
        assert got["headers"] == queue.properties.headers
        assert got["id"] == queue.properties.message_id
    finally:
        for proc in (plain, as_json):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_tail_errors_are_one_line(broker: Broker, vhost: str) -> None:
    bad = _tail(broker, vhost, "--topic", "a.b c", "--count", "1")
    _, err = bad.communicate(timeout=20)
    assert bad.returncode == 1 and err.count("\n") == 1 and "topic pattern 'a.b c'" in err
    refused = subprocess.run(
        [*FEDBUS, "tail", "--url", "amqp://x:y@127.0.0.1:1/%2F", "--count", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("fedbus: error: cannot connect to the broker")
    assert refused.stderr.count("\n") == 1


def _stat(conf: Path, vhost: str, *args: str, rc: int | None = 0) -> str:
    proc = subprocess.run(
        [*FEDBUS, "-c", str(conf), "stat", "--vhost", vhost, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert rc is None or proc.returncode == rc, proc.stdout + proc.stderr
    return proc.stdout


def _stat_config(broker: Broker, tmp_path: Path) -> Path:
    (tmp_path / "mgmt.pass").write_text(broker.password + "\n")
    conf = tmp_path / "fedbus.toml"
    conf.write_text(
        f'environment = "stg"\n[management]\nurl = "{broker.mgmt_url}"\n'
        f'user = "{broker.user}"\npassword_file = "mgmt.pass"\n'
    )
    return conf


def test_stat(broker: Broker, vhost: str, tmp_path: Path) -> None:
    conf = _stat_config(broker, tmp_path)
    name = f"stat-{uuid.uuid4().hex[:6]}"
    params = pika.URLParameters(broker.amqp_url(vhost))
    params.client_properties = {"connection_name": name}
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.queue_declare(name, durable=True)
    for i in range(3):
        ch.basic_publish("", name, b"{}", pika.BasicProperties(message_id=str(i)))

    def stat(*args: str) -> str:
        return _stat(conf, vhost, *args)

    deadline = time.monotonic() + 20
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline:  # the management API refreshes counts every ~5 s
        rows = json.loads(stat("--queues", "--json"))
        if rows and rows[0]["ready"] == 3:
            break
        time.sleep(0.5)
    assert rows == [
        {
            "vhost": vhost,
            "name": name,
            "type": "classic",
            "ready": 3,
            "unacked": 0,
            "publish_rate": rows[0]["publish_rate"],
            "deliver_rate": 0.0,
            "consumers": 0,
        }
    ]
    table = stat("--queues").splitlines()
    assert table[0].split() == [
        "VHOST",
        "NAME",
        "TYPE",
        "READY",
        "UNACKED",
        "PUBLISH_RATE",
        "DELIVER_RATE",
        "CONSUMERS",
    ]
    assert table[1].split()[:5] == [vhost, name, "classic", "3", "0"]
    conns = json.loads(stat("--connections", "--json"))
    assert [(c["client"], c["user"], c["tls"]) for c in conns if c["client"] == name] == [
        (name, broker.user, False)
    ]
    exchanges = [e["name"] for e in json.loads(stat("--exchanges", "--json"))]
    assert "amq.topic" in exchanges and "(default)" in exchanges
    conn.close()


def test_stat_verdict(broker: Broker, vhost: str, tmp_path: Path) -> None:
    """The verdict line and exit code as a monitoring check sees them: a real relay
    connected and then stopped, a backlog over the thresholds, a dead letter."""
    conf = _stat_config(broker, tmp_path)
    host = socket.gethostname()
    conn = pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost)))
    ch = conn.channel()
    ch.confirm_delivery()
    ch.queue_declare("work", durable=True)
    tag = ch.basic_consume("work", lambda *a: None)
    relay = subprocess.Popen(
        [*FEDBUS, "relay", "--url", broker.amqp_url(vhost), "--spool", str(tmp_path / "spool")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        def verdict(*args: str, rc: int) -> dict[str, object]:
            return json.loads(_stat(conf, vhost, "--json", "--expect-relay", host, *args, rc=rc))

        doc: dict[str, object] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the relay connects, the API sees it
            doc = json.loads(_stat(conf, vhost, "--json", "--expect-relay", host, rc=None))
            if doc["status"] == "OK":
                break
            time.sleep(0.5)
        assert doc["status"] == "OK", doc
        assert [r["host"] for r in doc["relays"]] == [host]  # type: ignore[index]
        screen = _stat(conf, vhost, "--expect-relay", host).splitlines()
        assert screen[0] == "OK: the bus is healthy"
        assert {"NODES", "QUEUES", "DEAD LETTERS", "RELAYS"} <= set(screen)

        relay.terminate()
        relay.wait(10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and doc["status"] == "OK":
            doc = json.loads(_stat(conf, vhost, "--json", "--expect-relay", host, rc=None))
            time.sleep(0.5)
        assert doc["status"] == "WARNING"
        assert doc["reasons"] == [f"relay on {host} is not connected"]
        line = _stat(conf, vhost, "--expect-relay", host, rc=1).splitlines()[0]
        assert line == f"WARNING: relay on {host} is not connected"

        ch.basic_cancel(tag)
        ch.queue_declare("idle", durable=True)
        for i in range(3):
            ch.basic_publish("", "idle", b"{}", pika.BasicProperties(message_id=str(i)))
        ch.queue_declare("idle.dlq", durable=True)
        ch.basic_publish("", "idle.dlq", b"{}", pika.BasicProperties(message_id="d"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the management API refreshes every ~5 s
            doc = json.loads(_stat(conf, vhost, "--json", "--warning", "2", "--critical", "3",
                                   rc=None))
            if doc["status"] == "CRITICAL" and len(doc["reasons"]) == 4:  # type: ignore[arg-type]
                break
            time.sleep(0.5)
        assert doc["reasons"] == [
            f"{vhost} idle: 3 messages ready (>= 3)",
            f"{vhost} idle: no consumer",
            f"1 dead letter(s) in {vhost} idle.dlq",
            f"{vhost} work: no consumer",
        ], doc
        _stat(conf, vhost, "--warning", "2", "--critical", "3", rc=2)
        assert verdict("--warning", "2", "--critical", "5", rc=1)["status"] == "WARNING"
    finally:
        relay.kill()
        conn.close()


def test_stat_unknown_when_the_api_cannot_be_asked(tmp_path: Path) -> None:
    conf = tmp_path / "fedbus.toml"
    conf.write_text('[management]\nurl = "http://127.0.0.1:9"\n')
    out = _stat(conf, "/", rc=3)
    assert out.startswith("UNKNOWN: cannot reach the management API at http://127.0.0.1:9/")
    assert out.count("\n") == 1
