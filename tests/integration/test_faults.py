"""Fault tests: a broker outage while producing through the relay, a relay SIGKILL; and TLS.

They run against a second, private RabbitMQ node (``fedbus-fault@localhost``, its own ports;
see private_rabbitmq.py for where its data lives) so that stopping it does not disturb anyone
using the shared test node; it also has a TLS listener with a throw-away CA.  The outage is
``rabbitmqctl stop_app`` / ``start_app``: the broker closes every connection and its
listener, then recovers its durable queues and persistent messages.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from support import private_rabbitmq
from support.polling import wait_for

from fedbus.consumer import Consumer, Deduplicator
from fedbus.message.envelope import new_message
from fedbus.relay import Spool, publish
from fedbus.relay.forwarder import FLUSH_COUNT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOPIC = "org.fedoraproject.local.git.commit.receive"
NODE = "fedbus-fault@localhost"
AMQP_PORT, MGMT_PORT, DIST_PORT, TLS_PORT = 5679, 15679, 25679, 5680


def make_pki(d: Path) -> None:
    """A throw-away CA and a server certificate for localhost / 127.0.0.1."""
    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=fedbus-test-ca", "-keyout", "ca.key", "-out", "ca.pem")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
        "-out", "server.csr")
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem")


@pytest.fixture(scope="module")
def fault_node(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[private_rabbitmq.PrivateNode]:
    pki = tmp_path_factory.mktemp("fault-pki")
    make_pki(pki)
    d = private_rabbitmq.data_dir(NODE)
    tls = [f"listeners.ssl.default = 127.0.0.1:{TLS_PORT}",
           f"ssl_options.cacertfile = {d}/ca.pem", f"ssl_options.certfile = {d}/server.pem",
           f"ssl_options.keyfile = {d}/server.key",
           "ssl_options.verify = verify_none", "ssl_options.fail_if_no_peer_cert = false"]
    with private_rabbitmq.node(
        NODE, amqp_port=AMQP_PORT, dist_port=DIST_PORT, mgmt_port=MGMT_PORT, conf=tls,
        files={name: pki / name for name in ("ca.pem", "server.pem", "server.key")},
    ) as node:
        yield node


def test_tls_publish_verifies_the_broker_certificate(
    fault_node: private_rabbitmq.PrivateNode,
) -> None:
    """amqps:// with the CA: confirmed publish; without the CA: a one-line refusal."""
    from fedbus.client import BrokerUnavailable, Publisher, TlsOptions

    url = fault_node.url
    queue = bind_queue(url)
    tls_url = f"amqps://fedbus-test:fedbus-test@localhost:{TLS_PORT}/%2F"
    message = new_message(TOPIC, {"i": 1}, schema="base.message")

    async def go() -> None:
        async with Publisher(tls_url, tls=TlsOptions(ca_file=str(fault_node.base / "ca.pem"))
                             ) as pub:
            await pub.publish(message)
        stranger = Publisher(tls_url, tls=TlsOptions(), retry_timeout=1.0)
        with pytest.raises(BrokerUnavailable) as err:
            await stranger.publish(message)
        assert "\n" not in str(err.value) and "CERTIFICATE_VERIFY_FAILED" in str(err.value)

    asyncio.run(go())
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        _, props, _ = conn.channel().basic_get(queue, auto_ack=True)
    assert props.message_id == message.id


def bind_queue(url: str) -> str:
    name = f"faults-{uuid.uuid4().hex[:8]}"
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        ch = conn.channel()
        ch.queue_declare(name, durable=True)
        ch.queue_bind(name, "amq.topic", routing_key="org.fedoraproject.local.#")
    return name


def start_relay(url: str, spool: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "fedbus.cli.main", "relay", "--url", url, "--spool", str(spool),
         "--status-interval", "1"],
        env={**os.environ, "FEDBUS_CONFIG": ""}, stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),
    )


def test_broker_outage_while_producing(
    fault_node: private_rabbitmq.PrivateNode, tmp_path: Path
) -> None:
    """Producer keeps publishing through the relay while the broker goes away and comes
    back: every message reaches the consumer exactly once after dedupe, in order."""
    url, spool_dir, total = fault_node.url, tmp_path / "spool", 1500
    queue = bind_queue(url)
    handled: list[int] = []
    loop = asyncio.new_event_loop()

    async def handler(message) -> None:
        handled.append(message.body["i"])

    consumer = Consumer(url, queue, ["org.fedoraproject.local.#"], handler, prefetch=100,
                        dedupe=Deduplicator(path=tmp_path / "seen.sqlite3"))
    consuming = threading.Thread(target=loop.run_until_complete, args=(consumer.run(),))
    consuming.start()
    relay = start_relay(url, spool_dir, tmp_path / "relay.log")
    outage = {"down": 0.0, "up": 0.0}
    try:
        start = time.monotonic()
        for i in range(total):  # ~5 s of traffic at ~300 msg/s
            publish(new_message(TOPIC, {"i": i}, schema="base.message"), spool_dir=spool_dir)
            if i == 400:
                fault_node.stop_app()
                outage["down"] = time.monotonic() - start
            if i == 900:
                fault_node.start_app()
                outage["up"] = time.monotonic() - start
            time.sleep(1 / 300)
        wait_for(lambda: Spool(spool_dir).totals()[0] == 0, 90, "the spool to drain")
        wait_for(lambda: len(handled) >= total, 90, "the consumer")
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(30)
        loop.call_soon_threadsafe(consumer.stop)
        consuming.join(60)
    log = (tmp_path / "relay.log").read_text()
    assert "broker unreachable; spooling" in log and "backlog drained" in log, log[-3000:]
    assert outage["up"] > outage["down"] > 0
    assert handled == list(range(total))  # each once, in order


def test_relay_sigkill_mid_stream_loses_nothing(
    fault_node: private_rabbitmq.PrivateNode, tmp_path: Path
) -> None:
    url, spool_dir, total = fault_node.url, tmp_path / "spool", 6000
    queue = bind_queue(url)
    for i in range(total):
        publish(new_message(TOPIC, {"i": i}, schema="base.message"), spool_dir=spool_dir)

    def depth() -> int:
        with pika.BlockingConnection(pika.URLParameters(url)) as conn:
            return conn.channel().queue_declare(queue, passive=True).method.message_count

    relay = start_relay(url, spool_dir, tmp_path / "relay.log")
    wait_for(lambda: depth() >= 1000, 60, "the relay to start forwarding")
    relay.send_signal(signal.SIGKILL)
    relay.wait(10)
    assert Spool(spool_dir).totals()[0] > 0 and depth() < total, "killed mid-stream"
    relay = start_relay(url, spool_dir, tmp_path / "relay.log")
    try:
        wait_for(lambda: Spool(spool_dir).totals()[0] == 0, 60, "the spool to drain")
    finally:
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(30) == 0
    seen: list[int] = []
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        ch = conn.channel()
        for method, _, body in ch.consume(queue, auto_ack=True, inactivity_timeout=1):
            if method is None:
                break
            seen.append(json.loads(body)["i"])
    first = list(dict.fromkeys(seen))  # after dedupe
    assert first == list(range(total))
    # Resent at most: the window in flight (500) + confirmed but not yet deleted (a batch).
    assert len(seen) - total <= 500 + FLUSH_COUNT
