"""The cluster scenario: three nodes, quorum queues; nothing is lost when a node goes.

A publisher (fedbus's own client, failing over across the nodes, retrying what was
not confirmed with the same message id) and a consumer (pika, failing over, acking
each message) keep running while a node is stopped and started again, and then
while playbooks/broker_rolling_restart.yml restarts every node one at a time.
Every message id that was sent must be received (duplicates allowed: delivery is
at least once; consumers dedupe on the id).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pika
import pika.exceptions
import pytest
from bus_testlib import ROOT, container_ip

from fedbus.client.sync import SyncPublisher
from fedbus.message.envelope import encode, new_message

testinfra_hosts = ["cluster-broker1"]

NODES = ["cluster-broker1", "cluster-broker2", "cluster-broker3"]
TOPIC = "org.fedoraproject.local.buildsys.build.state.change"
QUEUE = "cluster-probe"


def url(node: str, user: str, password: str) -> str:
    return f"amqp://{user}:{password}@{container_ip(node)}:5672/local"


class Consumer(threading.Thread):
    """Consumes QUEUE from whichever node answers; records every message id."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(daemon=True)
        self.urls = urls
        self.ids: list[str] = []
        self.reconnects = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        attempt = 0
        while not self.stopping.is_set():
            target = self.urls[attempt % len(self.urls)]
            attempt += 1
            try:
                conn = pika.BlockingConnection(pika.URLParameters(target))
                ch = conn.channel()
                ch.basic_qos(prefetch_count=200)
                for method, props, _body in ch.consume(QUEUE, inactivity_timeout=0.5):
                    if self.stopping.is_set():
                        break
                    if method is None:
                        continue
                    self.ids.append(props.message_id)
                    ch.basic_ack(method.delivery_tag)
                conn.close()
            except (pika.exceptions.AMQPError, OSError):
                self.reconnects += 1
                time.sleep(0.5)


def publish_all(publisher: SyncPublisher, batch: list, sent: list[str]) -> None:
    """Publish a batch; retry (same ids) until the broker confirmed every message."""
    pending = batch
    deadline = time.monotonic() + 180
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} messages never confirmed"
        results = publisher.publish_many(pending)
        failed = [enc for enc, res in zip(pending, results, strict=True) if res is not None]
        sent.extend(
            enc.properties.message_id
            for enc, res in zip(pending, results, strict=True)
            if res is None
        )
        pending = failed
        if pending:
            time.sleep(0.5)


@pytest.fixture(scope="module")
def clients(secrets):
    admin_pw = secrets["vault_broker_admin_password"]
    conn = pika.BlockingConnection(pika.URLParameters(url(NODES[1], "fedbus-admin", admin_pw)))
    ch = conn.channel()
    ch.queue_declare(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    ch.queue_bind(QUEUE, "amq.topic", routing_key=TOPIC)
    ch.queue_purge(QUEUE)
    conn.close()
    koji_pw = secrets["vault_fedbus_account_passwords"]["koji"]
    publisher = SyncPublisher([url(n, "koji", koji_pw) for n in NODES])
    consumer = Consumer([url(n, "fedbus-admin", admin_pw) for n in reversed(NODES)])
    consumer.start()
    yield publisher, consumer
    consumer.stopping.set()
    consumer.join(timeout=10)
    publisher.close()


def messages(n: int, tag: str) -> list:
    return [
        encode(new_message(TOPIC, {"probe": tag, "n": i}, schema="base.message")) for i in range(n)
    ]


def wait_received(consumer: Consumer, sent: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not set(sent) <= set(consumer.ids):
        time.sleep(0.5)
    missing = set(sent) - set(consumer.ids)
    assert not missing, f"{len(missing)} of {len(sent)} confirmed messages never arrived"


def test_cluster_has_three_running_nodes(host):
    status = host.check_output("rabbitmqctl cluster_status --formatter json")
    assert status.count("rabbit@cluster-broker") >= 6  # disk_nodes + running_nodes


def test_node_loss_loses_nothing(host, clients):
    publisher, consumer = clients
    sent: list[str] = []
    node = host  # cluster-broker1: the publisher's first URL, so it must fail over
    for n in range(30):
        publish_all(publisher, messages(50, f"loss-{n}"), sent)
        if n == 5:
            assert node.run("systemctl stop rabbitmq-server").rc == 0
        if n == 20:
            assert node.run("systemctl start rabbitmq-server").rc == 0
    assert node.run("rabbitmqctl await_startup --timeout 180").rc == 0
    assert len(sent) == 1500
    wait_received(consumer, sent)


def test_rolling_restart_loses_nothing(clients):
    publisher, consumer = clients
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    assert inventory, "run through molecule verify (MOLECULE_INVENTORY_FILE)"
    playbook = ROOT / "playbooks" / "broker_rolling_restart.yml"
    rollout = subprocess.Popen(
        ["ansible-playbook", "-i", inventory, str(playbook)],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sent: list[str] = []
    n = 0
    while rollout.poll() is None:
        publish_all(publisher, messages(50, f"roll-{n}"), sent)
        n += 1
    output = rollout.stdout.read() if rollout.stdout else ""
    Path(ROOT / "tests" / "output").mkdir(parents=True, exist_ok=True)
    (ROOT / "tests" / "output" / "cluster-rolling-restart.log").write_text(output)
    assert rollout.returncode == 0, output[-3000:]
    assert n > 0 and sent
    wait_received(consumer, sent)


OVERFLOW_TOPIC = "org.fedoraproject.local.buildsys.overflow.probe"
LIMIT = 5


def test_full_quorum_queue_with_a_node_down_affects_only_its_consumer(host, secrets):
    """Two quorum queues take the same topic, as the notifier's and a mirror's do; the
    "notifier" one is full (limit shortened to LIMIT; the role's policy gives drop-head and
    the dead-letter exchange) and a node is down.  Every publish is confirmed, the other
    queue gets each message once, the full one keeps its newest and its .dlq the rest."""
    admin_pw = secrets["vault_broker_admin_password"]
    conn = pika.BlockingConnection(pika.URLParameters(url(NODES[1], "fedbus-admin", admin_pw)))
    ch = conn.channel()
    quorum = {"x-queue-type": "quorum"}
    for q in ("overflow-notifier", "overflow-mirror"):
        ch.queue_declare(q, durable=True, arguments={**quorum, "x-max-length": LIMIT}
                         if q == "overflow-notifier" else quorum)  # fmt: skip
        ch.queue_declare(f"{q}.dlq", durable=True, arguments=quorum)
        ch.queue_bind(q, "amq.topic", routing_key=OVERFLOW_TOPIC)
        ch.queue_bind(f"{q}.dlq", "fedbus.dlx", arguments={
            "x-match": "all-with-x", "x-first-death-queue": q})  # fmt: skip
        ch.queue_purge(q)
        ch.queue_purge(f"{q}.dlq")
    conn.close()
    koji_pw = secrets["vault_fedbus_account_passwords"]["koji"]
    assert host.run("systemctl stop rabbitmq-server").rc == 0
    try:
        publisher = SyncPublisher([url(n, "koji", koji_pw) for n in NODES])
        batch = [encode(new_message(OVERFLOW_TOPIC, {"n": i}, schema="base.message"))
                 for i in range(10 * LIMIT)]  # fmt: skip
        results = publisher.publish_many(batch)
        publisher.close()
        assert results == [None] * len(batch)  # every one confirmed: no nack, no resend
        sent = [e.properties.message_id for e in batch]

        def drained(queue: str) -> list[tuple[str, str]]:
            out = []
            c = pika.BlockingConnection(pika.URLParameters(url(NODES[2], "fedbus-admin",
                                                               admin_pw)))  # fmt: skip
            channel = c.channel()
            while True:
                method, props, _ = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    break
                deaths = (props.headers or {}).get("x-death") or [{}]
                out.append((props.message_id, deaths[0].get("reason", "")))
            c.close()
            return out

        def ready(queue: str) -> int:
            c = pika.BlockingConnection(pika.URLParameters(url(NODES[2], "fedbus-admin",
                                                               admin_pw)))  # fmt: skip
            count = c.channel().queue_declare(queue, passive=True).method.message_count
            c.close()
            return int(count)

        deadline = time.monotonic() + 30  # quorum dead-lettering is asynchronous
        while ready("overflow-notifier.dlq") < 10 * LIMIT - LIMIT:
            assert time.monotonic() < deadline, f"{ready('overflow-notifier.dlq')} dead letters"
            time.sleep(0.5)
        assert [i for i, _ in drained("overflow-mirror")] == sent
        assert [i for i, _ in drained("overflow-notifier")] == sent[-LIMIT:]
        dead = drained("overflow-notifier.dlq")
        assert [i for i, _ in dead] == sent[:-LIMIT]
        assert {r for _, r in dead} == {"maxlen"}
        assert drained("overflow-mirror.dlq") == []
    finally:
        assert host.run("systemctl start rabbitmq-server").rc == 0
        assert host.run("rabbitmqctl await_startup --timeout 180").rc == 0
