"""The broker-events bridge on the real broker: events in, fedbus messages out on amq.topic."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pika.exceptions
import pytest
from support.notifier_servers import free_port
from support.polling import wait_for
from support.prometheus import scrape

from fedbus.bridge.events import OWN_NAME, Translator
from fedbus.bridge.service import Bridge
from fedbus.client.blocking import pika_parameters
from fedbus.config import AmqpConfig
from fedbus.message.envelope import decode
from tests.conftest import Broker

pytestmark = pytest.mark.integration
PREFIX = "org.fedoraproject.stg"


@pytest.fixture
def bus(broker: Broker, vhost: str) -> Iterator[tuple[pika.BlockingConnection, str]]:
    """A listener on the test vhost's amq.topic for every bus.* message."""
    conn = pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost)))
    ch = conn.channel()
    queue = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(queue, "amq.topic", f"{PREFIX}.bus.#")
    yield conn, queue
    conn.close()


@pytest.fixture
def bridge(broker: Broker, vhost: str) -> Iterator[Bridge]:
    amqp = AmqpConfig(urls=(broker.amqp_url("/"),), heartbeat=10)
    translator = Translator(
        topic_prefix=PREFIX, management_url=broker.mgmt_url, only_vhosts=frozenset({vhost})
    )
    name = f"{OWN_NAME} test {uuid.uuid4().hex[:6]}"
    b = Bridge(
        translator,
        pika_parameters(amqp, (broker.amqp_url("/"),), name),
        pika_parameters(amqp, (broker.amqp_url(vhost),), name),
        queue="",
    )
    stop = threading.Event()
    thread = threading.Thread(target=b.serve, args=(stop,), daemon=True)
    thread.start()
    assert b.ready.wait(15), "bridge did not start"
    yield b
    stop.set()
    thread.join(10)


def _collect(
    conn: pika.BlockingConnection, queue: str, want: int, timeout: float = 15
) -> list[tuple[str, dict[str, object], object]]:
    ch = conn.channel()
    got: list[tuple[str, dict[str, object], object]] = []
    deadline = time.monotonic() + timeout
    for method, props, body in ch.consume(queue, inactivity_timeout=0.2):
        if method is not None:
            ch.basic_ack(method.delivery_tag)
            msg = decode(method.routing_key, body, props)  # validates against its schema
            got.append((method.routing_key, msg.body, msg))
        if len(got) >= want or time.monotonic() > deadline:
            break
    ch.cancel()
    return got


def test_events_are_bridged(
    broker: Broker, vhost: str, bus: tuple[pika.BlockingConnection, str], bridge: Bridge
) -> None:
    probe = f"probe-{uuid.uuid4().hex[:8]}"
    qname = f"q-{probe}"
    params = pika.URLParameters(broker.amqp_url(vhost))
    params.client_properties = {"connection_name": probe}
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.queue_declare(qname, durable=True, arguments={"x-max-length": 10})
    ch.queue_delete(qname)
    # the bridge's own connections are never announced
    own = pika.URLParameters(broker.amqp_url(vhost))
    own.client_properties = {"connection_name": f"{OWN_NAME} elsewhere"}
    pika.BlockingConnection(own).close()
    conn.close()
    bad_user = f"nobody-{uuid.uuid4().hex[:8]}"
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost, bad_user, "wrong")))

    got = _collect(*bus, want=5)
    # other tests run concurrently: auth failures of other users may show up; keep ours
    got = [g for g in got if not (g[0].endswith("failure") and g[1]["user"] != bad_user)]
    topics = [t for t, _, _ in got]
    assert topics == [
        f"{PREFIX}.bus.connection.created",
        f"{PREFIX}.bus.queue.created",
        f"{PREFIX}.bus.queue.deleted",
        f"{PREFIX}.bus.connection.closed",
        f"{PREFIX}.bus.user.authentication.failure",
    ], topics
    created, qcreated, qdeleted, closed, failure = (b for _, b, _ in got)

    assert created["client_name"] == probe
    assert (created["user"], created["vhost"], created["peer_host"]) == (
        "fedbus-test",
        vhost,
        "127.0.0.1",
    )
    assert created["protocol"] == "0-9-1" and created["tls"] is False
    quoted = urllib.parse.quote(str(created["connection"]), safe="")
    assert created["url"] == f"{broker.mgmt_url}/#/connections/{quoted}"

    assert qcreated["queue"] == qname and qcreated["vhost"] == vhost
    assert (qcreated["durable"], qcreated["exclusive"], qcreated["auto_delete"]) == (
        True,
        False,
        False,
    )
    assert qcreated["arguments"] == {"x-max-length": 10}
    assert qcreated["user"] == "fedbus-test"
    assert qdeleted["queue"] == qname and qdeleted["user"] == "fedbus-test"

    assert closed["connection"] == created["connection"]
    assert (closed["user"], closed["vhost"], closed["client_name"]) == ("fedbus-test", vhost, probe)

    assert failure["user"] == bad_user and failure["peer_host"] == "127.0.0.1"
    assert failure["error"] == f"user '{bad_user}' - invalid credentials"

    summaries = [m.summary for _, _, m in got]
    assert summaries[1] == f"fedbus-test created queue {qname} in vhost {vhost}"
    assert got[0][2].usernames == ["fedbus-test"]
    deadline = time.monotonic() + 5
    while bridge.stats.published < 5 and time.monotonic() < deadline:
        time.sleep(0.05)  # the confirm may come back after the delivery
    assert bridge.stats.published >= 5
    assert bridge.stats.skipped >= 2  # its own-named connection: created and closed


def test_fedbus_bridge_command(
    broker: Broker, vhost: str, bus: tuple[pika.BlockingConnection, str], tmp_path: Path
) -> None:
    """The command as systemd runs it: config file, its metrics endpoint, SIGTERM to stop."""
    port = free_port()
    conf = tmp_path / "fedbus.toml"
    conf.write_text(
        f'environment = "stg"\n[amqp]\nurls = ["{broker.amqp_url("/")}"]\nvhost = "{vhost}"\n'
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fedbus.cli.main",
            "-c",
            str(conf),
            "--metrics",
            f"127.0.0.1:{port}",
            "bridge",
            "--only-vhost",
            vhost,
            "--queue",
            "",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # wait for its binding on the event exchange
            bindings = broker.api("GET", "exchanges/%2F/amq.rabbitmq.event/bindings/source")
            assert isinstance(bindings, list)
            if any(
                b["routing_key"] == "queue.created" and b["destination"].startswith("amq.gen")
                for b in bindings
            ):
                break
            time.sleep(0.1)
        qname = f"cli-{uuid.uuid4().hex[:8]}"
        conn = pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost)))
        conn.channel().queue_declare(qname, exclusive=True)
        got = _collect(*bus, want=2)
        conn.close()
        seen = scrape(port)
        assert seen["fedbus_bridge_consuming"] == 1
        assert seen["fedbus_bridge_published_total"] >= 2
        assert seen["fedbus_bridge_events_total"] >= seen["fedbus_bridge_published_total"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err
    created = [b for t, b, _ in got if t == f"{PREFIX}.bus.queue.created"]
    assert [(b["queue"], b["exclusive"]) for b in created] == [(qname, True)]


@pytest.mark.parametrize("queue_type", [None, "classic", "quorum"])
def test_a_queue_the_broker_role_declared_is_used_as_it_is(
    broker: Broker, vhost: str, queue_type: str | None
) -> None:
    """The broker role declares the accounts table's queues (fedbus.bridge among them) with
    its own arguments; the bridge consumes that queue, where declaring it with its length
    limit would be refused as inequivalent. A queue that does not exist it declares."""
    name = f"bridge-{uuid.uuid4().hex[:8]}"
    if queue_type:
        broker.api("PUT", f"queues/%2F/{name}",
                   {"durable": True, "arguments": {"x-queue-type": queue_type}})
    amqp = AmqpConfig(urls=(broker.amqp_url("/"),), heartbeat=10)
    translator = Translator(topic_prefix=PREFIX, management_url=broker.mgmt_url,
                            only_vhosts=frozenset({vhost}))
    b = Bridge(translator, pika_parameters(amqp, (broker.amqp_url("/"),), OWN_NAME),
               pika_parameters(amqp, (broker.amqp_url(vhost),), OWN_NAME), queue=name)
    stop = threading.Event()
    thread = threading.Thread(target=b.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        assert b.ready.wait(15), "the bridge did not consume its queue"
        def consumed() -> dict | None:
            info = broker.api("GET", f"queues/%2F/{name}")
            return info if isinstance(info, dict) and info.get("consumers") == 1 else None

        info = wait_for(consumed, 15, "one consumer on the queue")
        expected = {"x-queue-type": queue_type} if queue_type else {"x-max-length": 100_000}
        assert {k: v for k, v in info["arguments"].items() if k in expected} == expected
    finally:
        stop.set()
        thread.join(10)
        broker.api("DELETE", f"queues/%2F/{name}")
