"""The relay against the real broker: order, concurrent writers, refusals, the CLI."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pika
import pytest
from support.amqp import drain
from support.wedge_lab import bind_queue

from fedbus.client import Publisher
from fedbus.message.envelope import decode, encode, new_message
from fedbus.relay import Spool, publish
from fedbus.relay.forwarder import Relay

pytestmark = pytest.mark.integration

TOPIC = "org.fedoraproject.local.git.commit.receive"


def message(body: dict, topic: str = TOPIC):
    return new_message(topic, body, schema="base.message")



def depth(url: str, queue: str) -> int:
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        return conn.channel().queue_declare(queue, passive=True).method.message_count


def wait_depth(url: str, queue: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while depth(url, queue) < count:
        assert time.monotonic() < deadline, f"queue {queue}: {depth(url, queue)} < {count}"
        time.sleep(0.1)


def drain_bodies(url: str, queue: str) -> list[dict]:
    return [decode(key, body, props).body for key, props, body in drain(url, queue)]


@contextmanager
def running_relay(spool_dir: Path, url: str, **kwargs) -> Iterator[Relay]:
    """The relay in a thread of this process (its own event loop)."""
    started = threading.Event()
    holder: dict[str, Relay] = {}
    loop = asyncio.new_event_loop()

    async def main() -> None:
        relay = Relay(Spool(spool_dir, reader=True), Publisher(url, retry_timeout=None),
                      status_interval=1.0, **kwargs)
        holder["relay"] = relay
        started.set()
        await relay.run()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield holder["relay"]
    finally:
        loop.call_soon_threadsafe(holder["relay"].stop)
        thread.join(30)
        loop.close()


def test_relay_forwards_in_order_and_empties_the_spool(broker, vhost, tmp_path):
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    for i in range(300):
        publish(message({"i": i}), spool_dir=tmp_path)
    with running_relay(tmp_path, url):
        wait_depth(url, queue, 300)
        for i in range(300, 400):  # while it runs
            publish(message({"i": i}), spool_dir=tmp_path)
        wait_depth(url, queue, 400)
    assert [b["i"] for b in drain_bodies(url, queue)] == list(range(400))
    assert Spool(tmp_path).totals() == (0, 0)


def _writer(spool_dir: str, tag: str, count: int) -> None:
    for i in range(count):
        publish(new_message(TOPIC, {"w": tag, "i": i}, schema="base.message"),
                spool_dir=spool_dir)


def test_concurrent_writers_while_relaying(broker, vhost, tmp_path):
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    ctx = multiprocessing.get_context("spawn")
    with running_relay(tmp_path, url):
        procs = [ctx.Process(target=_writer, args=(str(tmp_path), f"w{n}", 250))
                 for n in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        wait_depth(url, queue, 1000)
    bodies = drain_bodies(url, queue)
    assert len(bodies) == 1000
    for n in range(4):
        assert [b["i"] for b in bodies if b["w"] == f"w{n}"] == list(range(250))


def test_refused_topic_is_buried_and_the_queue_moves_on(broker, vhost, tmp_path):
    admin = broker.amqp_url(vhost)
    queue = bind_queue(admin)
    user = f"git-{uuid.uuid4().hex[:6]}"
    qv = urllib.parse.quote(vhost, safe="")
    broker.api("PUT", f"users/{user}", {"password": "pw", "tags": ""})
    broker.api("PUT", f"permissions/{qv}/{user}", {"configure": "", "write": ".*", "read": ""})
    broker.api("PUT", f"topic-permissions/{qv}/{user}",
               {"exchange": "amq.topic", "write": r"^org\.fedoraproject\.local\.git\.",
                "read": ".*"})
    try:
        publish(message({"i": 0}), spool_dir=tmp_path)
        publish(message({"i": 1}, "org.fedoraproject.local.bodhi.update.comment"),
                spool_dir=tmp_path)
        for i in range(2, 6):
            publish(message({"i": i}), spool_dir=tmp_path)
        with running_relay(tmp_path, broker.amqp_url(vhost, user=user, password="pw")):
            deadline = time.monotonic() + 30
            while Spool(tmp_path).totals()[0] and time.monotonic() < deadline:
                time.sleep(0.1)
        bodies = drain_bodies(admin, queue)
        first_seen = list(dict.fromkeys(b["i"] for b in bodies))  # after dedupe
        assert first_seen == [0, 2, 3, 4, 5]
        [dead] = Spool(tmp_path).dead()
        record = json.loads(dead.read_text())
        assert "403" in record["reason"] and "ACCESS_REFUSED" in record["reason"]
        assert record["routing_key"].endswith("bodhi.update.comment")
    finally:
        broker.api("DELETE", f"users/{user}")


def test_nacked_message_is_set_aside_and_the_rest_goes_on(broker, vhost, tmp_path):
    """A queue that refuses what it is routed (full, reject-publish) makes the broker nack
    messages that the other queues took: the relay resends each at most max_nacks times,
    then sets it aside with the reason, and what follows is forwarded at once."""
    url = broker.amqp_url(vhost)
    other = bind_queue(url, TOPIC)
    other_topic = "org.fedoraproject.local.bodhi.update.comment"
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        ch = conn.channel()
        ch.queue_declare("full", durable=True,
                         arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
        ch.queue_bind("full", "amq.topic", routing_key=TOPIC)
        ch.queue_bind(other, "amq.topic", routing_key=other_topic)
        ch.basic_publish("", "full", b"{}")  # "full" is full now
    for i in range(3):
        publish(message({"i": i}), spool_dir=tmp_path)
    publish(message({"i": 3}, other_topic), spool_dir=tmp_path)
    with running_relay(tmp_path, url, max_nacks=2) as relay:
        deadline = time.monotonic() + 30
        while Spool(tmp_path).totals()[0] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert relay.counters.buried == 3
    bodies = [b["i"] for b in drain_bodies(url, other)]
    assert sorted(bodies) == [0, 0, 1, 1, 2, 2, 3]  # each refused one twice, no more
    dead = [json.loads(p.read_text()) for p in Spool(tmp_path).dead()]
    assert len(dead) == 3 and all("nacked by the broker 2 times" in d["reason"] for d in dead)
    assert Spool(tmp_path).totals() == (0, 0)


def test_cli_publish_then_relay_then_sigterm(broker, vhost, tmp_path):
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    fedbus = [sys.executable, "-m", "fedbus.cli.main"]
    env = {**os.environ, "FEDBUS_CONFIG": ""}
    for i in range(3):
        subprocess.run([*fedbus, "publish", TOPIC, "--schema", "base.message",
                        "--json", json.dumps({"i": i}), "--spool", str(tmp_path)],
                       check=True, env=env, capture_output=True)
    subprocess.run([*fedbus, "publish", TOPIC, "--schema", "base.message", "--spool",
                    str(tmp_path)], input=b'{"i": 3}', check=True, env=env, capture_output=True)
    bad = subprocess.run([*fedbus, "publish", TOPIC, "--schema", "base.message",
                          "--json", "{nope", "--spool", str(tmp_path)], env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.startswith("fedbus: error: --json is not JSON")
    relay = subprocess.Popen([*fedbus, "relay", "--url", url, "--spool", str(tmp_path)],
                             env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_depth(url, queue, 4)
    finally:
        relay.send_signal(signal.SIGTERM)
        _, err = relay.communicate(timeout=30)
    assert relay.returncode == 0, err
    assert "relay stopped: 4 forwarded" in err
    assert [b["i"] for b in drain_bodies(url, queue)] == [0, 1, 2, 3]
    direct = subprocess.run([*fedbus, "publish", TOPIC, "--schema", "base.message", "--json",
                             "{}", "--direct", "--url", url], env=env, capture_output=True,
                            text=True)
    assert direct.returncode == 0, direct.stderr
    assert depth(url, queue) == 1


def test_encoded_messages_keep_their_id_through_the_relay(broker, vhost, tmp_path):
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    enc = encode(message({"i": 42}))
    publish(enc, spool_dir=tmp_path)
    with running_relay(tmp_path, url):
        wait_depth(url, queue, 1)
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        _, props, body = conn.channel().basic_get(queue, auto_ack=True)
    assert props.message_id == enc.properties.message_id and body == enc.body
    assert props.headers == enc.properties.headers


def test_relay_takes_its_account_from_fedbus_toml_and_the_password_file(broker, vhost, tmp_path):
    """As the role writes it: URLs without an account, ``user`` and ``password_file`` in
    ``[amqp]``. A spool writer publishes without the password file; the relay reads it."""
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    user, password = f"relay-{uuid.uuid4().hex[:8]}", "p@ss/w:rd %x"
    broker.api("PUT", f"users/{user}", {"password": password, "tags": ""})
    broker.api("PUT", f"permissions/{urllib.parse.quote(vhost, safe='')}/{user}",
               {"configure": "", "write": "amq.topic", "read": ""})
    spool = tmp_path / "spool"
    secret = tmp_path / "amqp.password"
    config = tmp_path / "fedbus.toml"
    config.write_text(
        f'[amqp]\nurls = ["amqp://{broker.host}:{broker.amqp_port}/"]\n'
        f"vhost = {json.dumps(vhost)}\nuser = {json.dumps(user)}\n"
        f'password_file = "amqp.password"\n\n[relay]\nspool_dir = "{spool}"\n'
    )
    fedbus = [sys.executable, "-m", "fedbus.cli.main", "-c", str(config)]
    try:
        # the password file is not there yet: publishing through the spool needs none
        done = subprocess.run([*fedbus, "publish", TOPIC, "--schema", "base.message",
                               "--json", '{"i": 0}'], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        status = subprocess.run([*fedbus, "relay", "status"], capture_output=True, text=True)
        assert status.returncode == 0 and "1 messages" in status.stdout, status.stderr
        # connecting needs it, and says so in one line
        direct = subprocess.run([*fedbus, "publish", TOPIC, "--schema", "base.message",
                                 "--json", "{}", "--direct"], capture_output=True, text=True)
        assert direct.returncode == 1
        assert direct.stderr.strip() == (
            f"fedbus: error: fedbus.toml: amqp.password_file: cannot read {secret}: "
            "No such file or directory"
        )
        secret.write_text(password + "\n")
        relay = subprocess.Popen([*fedbus, "relay"], stderr=subprocess.PIPE, text=True)
        try:
            wait_depth(url, queue, 1)
        finally:
            relay.send_signal(signal.SIGTERM)
            _, err = relay.communicate(timeout=30)
        assert relay.returncode == 0, err
        assert password not in err and urllib.parse.quote(password, safe="") not in err
        assert [b["i"] for b in drain_bodies(url, queue)] == [0]
    finally:
        broker.api("DELETE", f"users/{user}")
