"""A consumer's full queue affects only that consumer (roles/broker's queue policy).

Two consumer queues take the same topic, as the notifier's and a mirror's do; the
notifier's is full (its workers are stopped).  With the role's default overflow the
publisher gets every confirm, the other queue every message once, and the full queue
keeps its newest messages while its oldest go to ``<queue>.dlq`` (with RabbitMQ's
``x-death`` reason ``maxlen``), where they can be replayed.  The same run with
``reject-publish`` shows what that setting did: nacks for messages that the other queue
did take, so a relay resending them would deliver them there again.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pika
import pytest
import yaml
from pika.exceptions import NackError

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = yaml.safe_load((ROOT / "roles/broker/defaults/main.yml").read_text())
TOPIC = "org.fedoraproject.local.git.receive"
LIMIT = 3  # the role's broker_queue_max_length, shortened
SENT = 10


def setup(broker, vhost: str, overflow: str, match: str = "all-with-x") -> None:
    qv = urllib.parse.quote(vhost, safe="")
    dlx = DEFAULTS["broker_dead_letter_exchange"]
    broker.api("PUT", f"exchanges/{qv}/{dlx}", {"type": "headers", "durable": True})
    definition = {"dead-letter-exchange": dlx, "max-length": LIMIT, "overflow": overflow}
    if DEFAULTS["broker_queue_expires_ms"]:
        definition["expires"] = DEFAULTS["broker_queue_expires_ms"]
    # the two policies of roles/broker/tasks/objects.yml
    broker.api("PUT", f"policies/{qv}/fedbus-queues",
               {"pattern": r"^(?!amq\.)(?!.*\.dlq$)", "apply-to": "queues", "priority": 0,
                "definition": definition})  # fmt: skip
    broker.api("PUT", f"policies/{qv}/fedbus-dead-letters",
               {"pattern": r"\.dlq$", "apply-to": "queues", "priority": 1,
                "definition": {"max-length": DEFAULTS["broker_dead_letter_queue_max_length"]}})
    for q in ("notifier", "mirror-tier1-m1"):
        broker.api("PUT", f"queues/{qv}/{q}", {"durable": True})
        broker.api("PUT", f"queues/{qv}/{q}.dlq", {"durable": True})
        broker.api("POST", f"bindings/{qv}/e/amq.topic/q/{q}", {"routing_key": TOPIC})
        broker.api("POST", f"bindings/{qv}/e/{dlx}/q/{q}.dlq",
                   {"routing_key": "", "arguments": {"x-match": match,
                                                     "x-first-death-queue": q}})  # fmt: skip


def publish_all(broker, vhost: str) -> tuple[int, list[str]]:
    """Publish SENT messages with confirms while the mirror keeps up with its queue; returns
    how many the broker nacked and what the mirror received."""
    nacked, mirror = 0, []
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        for i in range(SENT):
            try:
                ch.basic_publish("amq.topic", TOPIC, str(i).encode(),
                                 pika.BasicProperties(message_id=f"m{i}", delivery_mode=2))
            except NackError:
                nacked += 1
            mirror += [b for b, _ in drain(broker, vhost, "mirror-tier1-m1")]
    return nacked, mirror


def drain(broker, vhost: str, queue: str) -> list[tuple[str, dict]]:
    out = []
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
        ch = conn.channel()
        while True:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append((body.decode(), props.headers or {}))


def test_the_role_never_expires_component_queues():
    assert DEFAULTS["broker_queue_expires_ms"] == 0
    assert DEFAULTS["broker_queue_overflow"] == "drop-head"


def test_a_full_queue_affects_only_its_consumer(broker, vhost):
    setup(broker, vhost, DEFAULTS["broker_queue_overflow"])
    nacked, mirror = publish_all(broker, vhost)
    assert nacked == 0  # the relays never see a nack
    assert mirror == [str(i) for i in range(SENT)]  # each message exactly once
    assert [b for b, _ in drain(broker, vhost, "notifier")] == ["7", "8", "9"]
    overflow = drain(broker, vhost, "notifier.dlq")
    assert [b for b, _ in overflow] == [str(i) for i in range(SENT - LIMIT)]
    assert all(h["x-death"][0]["reason"] == "maxlen" for _, h in overflow)
    assert drain(broker, vhost, "mirror-tier1-m1.dlq") == []


def test_reject_publish_nacks_what_the_other_queue_took(broker, vhost):
    # why the role does not use reject-publish for fan-out queues: its reproduction
    setup(broker, vhost, "reject-publish")
    nacked, mirror = publish_all(broker, vhost)
    assert nacked == SENT - LIMIT
    assert mirror == [str(i) for i in range(SENT)]  # it took the nacked ones too


def test_x_match_all_sends_every_dead_letter_to_every_dlq(broker, vhost):
    # why roles/broker binds with all-with-x: a headers exchange ignores x- headers under
    # "all", so each <queue>.dlq binding matched every queue's dead letters
    setup(broker, vhost, "drop-head", match="all")
    publish_all(broker, vhost)
    assert len(drain(broker, vhost, "mirror-tier1-m1.dlq")) == SENT - LIMIT
