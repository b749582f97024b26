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

import subprocess
import sys
import time
import urllib.parse

import pika
import pytest
from pika.exceptions import NackError
from support import amqp
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
    return [(body.decode(), props.headers or {})
            for _, props, body in amqp.drain(broker.amqp_url(vhost), queue)]


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


def test_dlq_shows_the_dead_letters_and_replays_only_the_chosen_ones(broker, vhost, tmp_path):
    """An operator inspects the .dlq (reason, topic, the body's start) and puts back two
    chosen messages once the cause is fixed; the rest stays in the .dlq, in order."""
    setup(broker, vhost, "drop-head")
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        for i in range(SENT):
            ch.basic_publish("amq.topic", TOPIC, f'{{"n": {i}}}\n'.encode(),
                             pika.BasicProperties(message_id=f"m{i}", delivery_mode=2))
    dead = SENT - LIMIT  # m0 … m6, oldest first
    qv = urllib.parse.quote(vhost, safe="")
    conf = tmp_path / "fedbus.toml"
    conf.write_text(f'[amqp]\nurls = ["{broker.amqp_url(vhost)}"]\n')

    def dlq(*args: str, rc: int = 0) -> str:
        proc = subprocess.run([sys.executable, "-m", "fedbus.cli.main", "-c", str(conf),
                               "dlq", "notifier", *args],
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == rc, proc.stdout + proc.stderr
        return proc.stdout + proc.stderr

    shown = dlq().splitlines()
    assert shown[0] == f"notifier.dlq: {dead} messages, oldest first:"
    assert shown[1].split() == ["FAILED", "AT", "ID", "TOPIC", "REASON", "BODY"]
    assert shown[2].split()[1:5] == ["m0", TOPIC, "broker:", "maxlen"]
    assert shown[2].endswith('{"n": 0}\\n'), shown[2]  # one line, escaped
    assert "--id: only with --replay" in dlq("--id", "m1", rc=1)
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
        ch = conn.channel()  # the consumer is back: its queue drains (m7 … m9)
        while ch.basic_get("notifier", auto_ack=True)[0] is not None:
            pass
    assert "not in notifier.dlq: nope" in dlq("--replay", "--id", "m2", "--id", "nope", rc=1)

    out = dlq("--replay", "--id", "m3", "--id", "m5")
    # m2 went back with the failed call above (it was found, moved, then "nope" was missing)
    assert out == f"replayed 2 messages into notifier; {dead - 3} left in notifier.dlq\n"
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
        ch = conn.channel()
        back = []
        while (got := ch.basic_get("notifier", auto_ack=True))[0] is not None:
            back.append((got[1].message_id, (got[1].headers or {}).get("x-fedbus-topic")))
        left = []
        while (got := ch.basic_get("notifier.dlq", auto_ack=True))[0] is not None:
            left.append(got[1].message_id)
    assert back == [("m2", TOPIC), ("m3", TOPIC), ("m5", TOPIC)], back
    assert left == ["m0", "m1", "m4", "m6"]
    assert broker.api("GET", f"queues/{qv}/notifier.dlq")["name"] == "notifier.dlq"
