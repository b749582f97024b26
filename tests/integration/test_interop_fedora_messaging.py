"""Wire compatibility with the real fedora-messaging library (3.9.1), both directions.

fedora-messaging runs in a subprocess (its Twisted reactor, started through crochet, does not
belong in the test process), configured with a TOML file pointing at the test vhost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pika
import pytest
from fedbus_messages.bus import CanaryV1, QueueCreatedV1

from fedbus.message.envelope import AmqpProperties, decode, encode, new_message
from tests.conftest import Broker

pytestmark = pytest.mark.integration

CONSUMER = r"""
import json, sys
from fedora_messaging import api, exceptions

def callback(message):
    print(json.dumps({
        "class": type(message).__name__, "id": message.id, "topic": message.topic,
        "headers": message._headers, "body": message.body, "summary": message.summary,
        "usernames": message.usernames, "severity": message.severity,
    }), flush=True)
    raise exceptions.HaltConsumer(exit_code=0)

queue = sys.argv[1]
try:
    api.consume(callback, bindings=[{"exchange": "amq.topic", "queue": queue,
                                     "routing_keys": ["#"]}],
                queues={queue: {"durable": False, "auto_delete": False, "exclusive": False,
                                "arguments": {}}})
except exceptions.HaltConsumer:
    pass
"""

PUBLISHER = r"""
import json, sys
from fedora_messaging import api, message
from fedbus_messages.bus import QueueCreatedV1

msg = QueueCreatedV1(topic="bus.queue.created", body=json.loads(sys.argv[1]),
                     severity=message.WARNING)
api.publish(msg)
print(json.dumps({"id": msg.id, "headers": msg._headers, "body": msg.body}), flush=True)
"""


def _fm_env(tmp_path: Path, amqp_url: str, topic_prefix: str = "") -> dict[str, str]:
    conf = tmp_path / "fedora-messaging.toml"
    conf.write_text(
        f'amqp_url = "{amqp_url}"\n'
        f'topic_prefix = "{topic_prefix}"\n'
        'publish_exchange = "amq.topic"\n'
        "[client_properties]\n"
        'app = "fedbus interop test"\n'
    )
    return {**os.environ, "FEDORA_MESSAGING_CONF": str(conf)}


def _run(code: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    assert proc.returncode == 0 and lines, f"rc={proc.returncode}\n{proc.stderr[-3000:]}"
    return dict(json.loads(lines[0]))


def _queue(broker: Broker, vhost: str) -> tuple[pika.BlockingConnection, str]:
    conn = pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost)))
    ch = conn.channel()
    name = f"interop-{uuid.uuid4().hex[:8]}"
    ch.queue_declare(name, durable=False, auto_delete=False, exclusive=False)
    ch.queue_bind(name, "amq.topic", "#")
    return conn, name


def test_fedora_messaging_consumes_what_fedbus_publishes(
    broker: Broker, vhost: str, tmp_path: Path
) -> None:
    conn, queue = _queue(broker, vhost)
    ch = conn.channel()
    ch.confirm_delivery()
    topic = "org.fedoraproject.stg.bus.canary.sent"
    # First a message that names a fedbus schema but violates it: fedora-messaging must
    # reject it with *our* schema (the base schema would accept it) ...
    bad = encode(new_message(topic, {"note": "x"}, schema="base.message"))
    bad_props = AmqpProperties(
        message_id=str(uuid.uuid4()),
        headers={**bad.properties.headers, "fedora_messaging_schema": "fedbus.bus.canary.v1"},
    )
    ch.basic_publish("amq.topic", topic, bad.body, bad_props.to_pika())
    # ... then a valid one, which its consumer hands to the callback as a CanaryV1.
    body = {
        "origin": "relay01.stg",
        "nonce": uuid.uuid4().hex,
        "sent_at": "2026-11-30T03:00:00+00:00",
    }
    good = encode(new_message(topic, body, severity=30))
    ch.basic_publish("amq.topic", good.routing_key, good.body, good.properties.to_pika())
    conn.close()

    got = _run(CONSUMER, _fm_env(tmp_path, broker.amqp_url(vhost)), queue)

    assert got["class"] == CanaryV1.__name__
    assert got["id"] == good.properties.message_id
    assert got["topic"] == topic
    assert got["body"] == body
    assert got["headers"] == good.properties.headers
    assert got["headers"]["fedora_messaging_schema"] == "fedbus.bus.canary.v1"
    assert got["severity"] == 30
    assert got["summary"] == f"canary {body['nonce']} from relay01.stg"


def test_fedbus_decodes_what_fedora_messaging_publishes(
    broker: Broker, vhost: str, tmp_path: Path
) -> None:
    conn, queue = _queue(broker, vhost)
    body = dict(QueueCreatedV1.example)
    env = _fm_env(tmp_path, broker.amqp_url(vhost), topic_prefix="org.fedoraproject.stg")
    sent = _run(PUBLISHER, env, json.dumps(body))

    method, props, raw = conn.channel().basic_get(queue, auto_ack=True)
    conn.close()
    assert method is not None, "nothing arrived"
    assert method.routing_key == "org.fedoraproject.stg.bus.queue.created"
    assert (props.content_type, props.content_encoding, props.delivery_mode) == (
        "application/json",
        "utf-8",
        2,
    )
    msg = decode(method.routing_key, raw, props)
    assert type(msg) is QueueCreatedV1
    assert msg.topic == "org.fedoraproject.stg.bus.queue.created"
    assert msg.id == sent["id"]
    assert msg.body == sent["body"] == body
    assert msg._headers == sent["headers"]
    assert msg._headers["fedora_messaging_schema"] == "fedbus.bus.queue.created.v1"
    assert msg._headers["fedora_messaging_severity"] == 30
    assert msg._headers["sent-at"] == sent["headers"]["sent-at"]
    assert msg._headers["fedora_messaging_user_notifier"] is True
    # and fedbus would have put exactly these bytes on the wire for that message
    again = encode(msg)
    assert again.body == raw
    assert again.properties == AmqpProperties.from_amqp(props)
