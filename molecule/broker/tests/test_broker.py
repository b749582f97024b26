"""The broker scenario: RabbitMQ as roles/broker leaves it, checked with real clients."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import urllib.error
import urllib.request
import uuid

import pika
import pika.exceptions
import pytest
from bus_testlib import container_ip

# The broker scenario's container, or a node of the cluster scenario, whose verifier runs
# these checks too (FEDBUS_BROKER_NODE in molecule/cluster/molecule.yml).
BROKER = os.environ.get("FEDBUS_BROKER_NODE", "broker-rabbitmq")
testinfra_hosts = [BROKER]
VHOST = "local"
PREFIX = "org.fedoraproject.local"


@pytest.fixture(scope="module")
def ip() -> str:
    return container_ip(BROKER)


def amqps_params(ip: str, tls_context: ssl.SSLContext, user: str, password: str):
    return pika.ConnectionParameters(
        host=ip,
        port=5671,
        virtual_host=VHOST,
        credentials=pika.PlainCredentials(user, password),
        ssl_options=pika.SSLOptions(tls_context, server_hostname=BROKER),
        connection_attempts=3,
        retry_delay=1,
    )


def test_service_running_and_enabled(host):
    service = host.service("rabbitmq-server")
    assert service.is_running
    assert service.is_enabled


@pytest.mark.parametrize("port", [5671, 5672, 15671, 15692])
def test_listening(host, port):
    assert (
        host.socket(f"tcp://0.0.0.0:{port}").is_listening
        or host.socket(f"tcp://:::{port}").is_listening
    )


def test_plugins_enabled(host):
    enabled = host.file("/etc/rabbitmq/enabled_plugins").content_string
    for plugin in (
        "rabbitmq_management",
        "rabbitmq_prometheus",
        "rabbitmq_event_exchange",
    ):
        assert plugin in enabled
    # no client logs in by certificate: the EXTERNAL mechanism's plugin stays off
    assert "rabbitmq_auth_mechanism_ssl" not in enabled


def test_tls_key_is_private(host):
    key = host.file("/etc/rabbitmq/tls/server.key")
    assert key.mode == 0o640
    assert key.group == "rabbitmq"


def test_tls_handshake_against_collection_ca(ip, tls_context):
    with (
        socket.create_connection((ip, 5671), timeout=10) as raw,
        tls_context.wrap_socket(raw, server_hostname=BROKER) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        names = [v for k, v in tls.getpeercert()["subjectAltName"] if k == "DNS"]
        assert BROKER in names


def test_tls_refuses_wrong_name(ip, tls_context):
    with (
        socket.create_connection((ip, 5671), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        tls_context.wrap_socket(raw, server_hostname="not-the-broker.example")


def test_guest_refused(ip):
    params = pika.ConnectionParameters(
        host=ip, port=5672, credentials=pika.PlainCredentials("guest", "guest")
    )
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(params)


def test_service_publishes_own_topic_confirmed(ip, tls_context, secrets):
    topic = f"{PREFIX}.buildsys.build.state.change"
    admin = pika.BlockingConnection(
        amqps_params(ip, tls_context, "fedbus-admin", secrets["vault_broker_admin_password"])
    )
    try:
        admin_ch = admin.channel()
        queue = admin_ch.queue_declare("", exclusive=True).method.queue
        admin_ch.queue_bind(queue, "amq.topic", routing_key=topic)

        koji = pika.BlockingConnection(
            amqps_params(ip, tls_context, "koji", secrets["vault_fedbus_account_passwords"]["koji"])
        )
        try:
            ch = koji.channel()
            ch.confirm_delivery()
            body = f'{{"id": "{uuid.uuid4()}"}}'.encode()
            # Raises if the broker nacks or returns it; returns once confirmed.
            ch.basic_publish(
                "amq.topic",
                topic,
                body,
                mandatory=True,
                properties=pika.BasicProperties(delivery_mode=2),
            )
        finally:
            koji.close()
        method, _props, got = admin_ch.basic_get(queue, auto_ack=True)
        assert method is not None and got == body
    finally:
        admin.close()


def test_service_refused_on_foreign_topic(ip, tls_context, secrets):
    koji = pika.BlockingConnection(
        amqps_params(ip, tls_context, "koji", secrets["vault_fedbus_account_passwords"]["koji"])
    )
    try:
        ch = koji.channel()
        ch.confirm_delivery()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            ch.basic_publish("amq.topic", f"{PREFIX}.git.receive", b"{}")
        assert refused.value.reply_code == 403
    finally:
        if koji.is_open:
            koji.close()


def _mgmt(ip: str, ca_file: str, auth: tuple[str, str] | None) -> int:
    req = urllib.request.Request(f"https://{ip}:15671/api/overview")
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.check_hostname = False  # the container is reached by IP; the CA is still verified
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_management_api_needs_credentials(ip, ca_file, secrets):
    assert _mgmt(ip, ca_file, None) == 401
    assert _mgmt(ip, ca_file, ("fedbus-admin", secrets["vault_broker_admin_password"])) == 200


def test_event_exchange_in_environment_vhost(host):
    exchanges = host.run("rabbitmqctl list_exchanges -p local name type --quiet --formatter json")
    assert exchanges.rc == 0
    assert {"name": "amq.rabbitmq.event", "type": "topic"} in json.loads(exchanges.stdout)


def test_dead_letter_objects(host, secrets):
    queues = host.run("rabbitmqctl list_queues -p local name --quiet --formatter json")
    assert queues.rc == 0
    names = {q["name"] for q in json.loads(queues.stdout)}
    assert {"notifier", "notifier.dlq", "fedbus.bridge", "fedbus.bridge.dlq"} <= names
    policies = host.run("rabbitmqctl list_policies -p local --quiet --formatter json").stdout
    assert "fedbus-queues" in policies and "fedbus-dead-letters" in policies


def test_queue_exchange_reaches_each_queue_by_name(host):
    out = host.run(
        "rabbitmqctl list_bindings -p local source_name destination_name routing_key"
        " --quiet --formatter json"
    )
    assert out.rc == 0
    bindings = {(b["source_name"], b["destination_name"], b["routing_key"])
                for b in json.loads(out.stdout)}  # fmt: skip
    for queue in ("notifier", "notifier.dlq", "fedbus.bridge", "fedbus.bridge.dlq"):
        assert ("fedbus.queues", queue, queue) in bindings


def test_consumer_account_cannot_write_the_default_exchange(ip, tls_context, secrets):
    # the default exchange reaches every queue: no account of the table may publish there
    password = secrets["vault_fedbus_account_passwords"]["notifier"]
    conn = pika.BlockingConnection(amqps_params(ip, tls_context, "notifier", password))
    try:
        for exchange, key in (("", "fedbus.bridge"), ("fedbus.queues", "fedbus.bridge.dlq")):
            ch = conn.channel()
            ch.confirm_delivery()
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
                ch.basic_publish(exchange, key, b"{}")
            assert refused.value.reply_code == 403
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish("fedbus.queues", "notifier.dlq", b"{}", mandatory=True)  # its own
    finally:
        if conn.is_open:
            conn.close()


def test_amqp_offers_password_mechanisms_only(ip, tls_context):
    # Connection.Start lists the SASL mechanisms; EXTERNAL is not among them
    with (
        socket.create_connection((ip, 5671), timeout=10) as raw,
        tls_context.wrap_socket(raw, server_hostname=BROKER) as tls,
    ):
        tls.sendall(b"AMQP\x00\x00\x09\x01")
        start = b""
        while b"\xce" not in start[7:]:
            chunk = tls.recv(4096)
            assert chunk, "the broker closed before Connection.Start"
            start += chunk
    assert b"PLAIN" in start
    assert b"EXTERNAL" not in start


def test_full_queue_drops_its_oldest_into_its_own_dlq(host):
    policies = json.loads(
        host.run("rabbitmqctl list_policies -p local --quiet --formatter json").stdout
    )
    (queues,) = [p for p in policies if p["name"] == "fedbus-queues"]
    definition = queues["definition"]
    definition = json.loads(definition) if isinstance(definition, str) else definition
    assert definition["overflow"] == "drop-head"
    assert "expires" not in definition  # the components' queues outlive any outage
    out = host.run(
        "rabbitmqctl list_bindings -p local source_name destination_name arguments"
        " --quiet --formatter json"
    )
    dlx = [b for b in json.loads(out.stdout) if b["source_name"] == "fedbus.dlx"]
    assert dlx and all("all-with-x" in json.dumps(b["arguments"]) for b in dlx)
