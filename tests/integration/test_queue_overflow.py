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

import time
import urllib.parse

import pika
import pytest
from pika.exceptions import NackError
from support.broker_layout import DEFAULTS, policies, queues

pytestmark = pytest.mark.integration
TOPIC = "org.fedoraproject.local.git.receive"
LIMIT = 3  # the role's broker_queue_max_length, shortened
SENT = 10


def setup(broker, vhost: str, overflow: str, match: str = "all-with-x") -> None:
    policies(broker, vhost, max_length=LIMIT, overflow=overflow)
    queues(broker, vhost, ["notifier", "mirror-tier1-m1"], dlx_match=match)
    qv = urllib.parse.quote(vhost, safe="")
    for q in ("notifier", "mirror-tier1-m1"):
        broker.api("POST", f"bindings/{qv}/e/amq.topic/q/{q}", {"routing_key": TOPIC})


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


def test_a_stopped_consumer_keeps_its_queue_past_any_expiry(broker, vhost):
    """The role's policy gives component queues no expiry; only temporary queues carry
    their own (the canary's ``x-expires``).  Every expiry shortened to 1 s: the role's, if
    it set one, and the canary's."""
    policies(broker, vhost, expires_ms=1000 if DEFAULTS["broker_queue_expires_ms"] else 0)
    queues(broker, vhost, ["notifier"])
    qv = urllib.parse.quote(vhost, safe="")
    broker.api("POST", f"bindings/{qv}/e/amq.topic/q/notifier", {"routing_key": TOPIC})
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
        ch = conn.channel()
        ch.queue_declare("fedbus.verify.canary", arguments={"x-expires": 1000})
        ch.confirm_delivery()
        for i in range(5):
            ch.basic_publish("amq.topic", TOPIC, str(i).encode(),
                             pika.BasicProperties(delivery_mode=2))  # fmt: skip
    time.sleep(3)  # three times the expiry, no consumer on either queue
    names = {q["name"] for q in broker.api("GET", f"queues/{qv}")}
    assert "fedbus.verify.canary" not in names  # the temporary queue expired
    assert [b for b, _ in drain(broker, vhost, "notifier")] == [str(i) for i in range(5)]
