"""The relay scenario: a service host publishes through its local relay."""

from __future__ import annotations

import json
import ssl
import time

import pika
import pytest
from bus_testlib import container_ip

testinfra_hosts = ["relay-services"]

BROKER = "relay-broker"
SERVICES = "relay-services"
PREFIX = "org.fedoraproject.local"


def admin_connection(tls_context: ssl.SSLContext, secrets) -> pika.BlockingConnection:
    return pika.BlockingConnection(
        pika.ConnectionParameters(
            host=container_ip(BROKER),
            port=5671,
            virtual_host="local",
            credentials=pika.PlainCredentials(
                "fedbus-admin", secrets["vault_broker_admin_password"]
            ),
            ssl_options=pika.SSLOptions(tls_context, server_hostname=BROKER),
            connection_attempts=30,
            retry_delay=2,
        )
    )


@pytest.fixture
def admin_channel(tls_context: ssl.SSLContext, secrets):
    conn = admin_connection(tls_context, secrets)
    yield conn.channel()
    if conn.is_open:
        conn.close()


def bound_queue(channel, pattern: str) -> str:
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "amq.topic", routing_key=pattern)
    return queue


def drain(channel, queue: str, count: int, timeout: float = 60.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        method, props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            channel.connection.sleep(0.2)
            continue
        got.append((method.routing_key, props, json.loads(body)))
    return got


def publish(host, topic: str, body: dict, user: str = "fedbus"):
    cmd = host.run(
        "runuser -u %s -- fedbus publish %s --schema base.message --json %s",
        user,
        topic,
        json.dumps(body),
    )
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def test_fedbus_installed(host):
    out = host.check_output("fedbus --version")
    assert out.startswith("fedbus ")
    assert host.file("/opt/fedbus/venv/bin/fedbus").exists


def test_fedbus_messages_installed_with_fedbus_version(host):
    """roles/runtime installs the fedbus-messages wheel (the schemas) next to fedbus."""
    py = "/opt/fedbus/venv/bin/python"
    versions = host.check_output(
        "%s -c %s",
        py,
        "import importlib.metadata as m; print(m.version('fedbus'), m.version('fedbus-messages'))",
    ).split()
    assert len(versions) == 2 and versions[0] == versions[1], versions
    check = host.run("%s -m pip check --disable-pip-version-check", py)
    assert check.rc == 0, check.stdout + check.stderr
    catalog = host.check_output("fedbus catalog")
    assert "fedbus.bus.canary.v1" in catalog


def test_relay_running(host):
    service = host.service("fedbus-relay")
    assert service.is_running
    assert service.is_enabled


def test_config_holds_no_secret_and_is_not_world_readable(host, secrets):
    config = host.file("/etc/fedbus/fedbus.toml")
    assert (config.user, config.group, config.mode) == ("root", "fedbus-spool", 0o640)
    text = config.content_string
    assert 'user = "git"' in text and "amqps://git:" not in text
    assert 'password_file = "/etc/fedbus/amqp.password"' in text
    assert secrets["vault_fedbus_account_passwords"]["git"] not in text


def test_only_the_fedbus_group_reads_the_broker_password(host):
    password = host.file("/etc/fedbus/amqp.password")
    assert (password.user, password.group, password.mode) == ("root", "fedbus", 0o640)
    assert host.run("runuser -u fedbus -- cat /etc/fedbus/amqp.password").rc == 0
    # The spool writer (www-data here; git, apache … on the real hosts) may not.
    denied = host.run("runuser -u www-data -- cat /etc/fedbus/amqp.password")
    assert denied.rc != 0 and "Permission denied" in denied.stderr
    groups = host.check_output("id -nG www-data").split()
    assert "fedbus-spool" in groups and "fedbus" not in groups


def test_the_spool_belongs_to_the_spool_group(host):
    spool = host.file("/var/spool/fedbus/relay")
    assert (spool.user, spool.group, spool.mode) == ("fedbus", "fedbus-spool", 0o2770)
    for name in ("spool.sqlite3", "spool.sqlite3-wal", "spool.sqlite3-shm"):
        f = host.file(f"/var/spool/fedbus/relay/{name}")
        if f.exists:
            assert (f.group, f.mode) == ("fedbus-spool", 0o660), name


def test_a_spool_writer_publishes_without_the_password(host, admin_channel):
    topic = f"{PREFIX}.git.relay.writer"
    queue = bound_queue(admin_channel, topic)
    message_id = publish(host, topic, {"probe": "www-data"}, user="www-data")
    ((routing_key, props, body),) = drain(admin_channel, queue, 1)
    assert (routing_key, body, props.message_id) == (topic, {"probe": "www-data"}, message_id)
    # and --direct, which needs the broker password, says why it cannot
    direct = host.run(
        "runuser -u www-data -- fedbus publish %s --direct --schema base.message --json '{}'",
        topic,
    )
    assert direct.rc != 0
    assert "amqp.password_file: cannot read /etc/fedbus/amqp.password" in direct.stderr


def test_published_message_reaches_the_broker(host, admin_channel):
    topic = f"{PREFIX}.git.relay.probe"
    queue = bound_queue(admin_channel, topic)
    message_id = publish(host, topic, {"probe": "relay-up"})
    ((routing_key, props, body),) = drain(admin_channel, queue, 1)
    assert routing_key == topic
    assert body == {"probe": "relay-up"}
    assert props.message_id == message_id
    assert props.delivery_mode == 2
    assert props.headers["fedora_messaging_severity"] == 20


def test_broker_outage_loses_nothing_and_keeps_order(host, tls_context, secrets):
    topic = f"{PREFIX}.git.relay.outage"
    queue = "relay-test-outage"
    conn = admin_connection(tls_context, secrets)
    ch = conn.channel()
    ch.queue_declare(queue, durable=True)
    ch.queue_purge(queue)
    ch.queue_bind(queue, "amq.topic", routing_key=topic)
    conn.close()

    broker = host.get_host(f"ansible://{BROKER}", ansible_inventory=host.backend.ansible_inventory)
    assert broker.run("systemctl stop rabbitmq-server").rc == 0
    try:
        started = time.monotonic()
        ids = [publish(host, topic, {"n": n}) for n in range(20)]  # the broker is down
        assert time.monotonic() - started < 60
        backlog = host.run("runuser -u fedbus -- fedbus relay status")
        assert backlog.rc == 0 and "20 messages" in backlog.stdout, backlog.stdout
    finally:
        broker.run("systemctl start rabbitmq-server")
    assert broker.run("rabbitmqctl await_startup --timeout 120").rc == 0

    conn = admin_connection(tls_context, secrets)
    try:
        got = drain(conn.channel(), queue, 20, timeout=120)
        assert [body["n"] for _, _, body in got] == list(range(20))
        assert [props.message_id for _, props, _ in got] == ids
        conn.channel().queue_delete(queue)
    finally:
        conn.close()


def test_foreign_topic_is_buried_not_lost(host):
    """The git account may not publish buildsys topics: the relay keeps the message aside."""
    publish(host, f"{PREFIX}.buildsys.relay.forged", {"forged": True})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = host.run("runuser -u fedbus -- fedbus relay status")
        if status.stdout.rstrip().endswith("dead 1"):
            break
        time.sleep(1)
    assert status.stdout.rstrip().endswith("dead 1"), status.stdout
    assert host.service("fedbus-relay").is_running
