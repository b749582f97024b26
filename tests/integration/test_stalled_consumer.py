"""A stopped consumer never stops the bus, and gets back what it missed.

On a vhost laid out as ``roles/broker`` lays it out (its policies, with the queue length
limit shortened to LIMIT), the notifier runs as processes (worker, e-mail sender, a real SMTP
server).  Its worker is stopped; two relays (``fedbus relay``, one per "service host", each
with its own spool) then forward 10 x LIMIT Koji messages that the wedges put in their
spools.  Beside the notifier, a mirror consumes its own queue and ``fedbus tail`` watches.

- every relay keeps forwarding: its oldest waiting message never gets older than a few
  seconds, nothing is nacked or set aside;
- the mirror and the tail get every message exactly once;
- the notifier's queue keeps the newest LIMIT, its ``notifier.dlq`` the rest (``maxlen``),
  as ``fedbus dlq notifier`` shows;
- the worker comes back, ``fedbus dlq notifier --replay`` (as the notifier's account, with
  its rights from the accounts table) puts the rest back, and every message is mailed
  exactly once.

The figures of a run are printed (``-s``) and written to ``tests/output/stalled-consumer.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from koji_fedoramessaging_messages.build import BuildStateChangeV1
from support.broker_layout import DEFAULTS, DLX, ROOT, Accounts, policies, queues
from support.notifier_servers import SmtpServer, free_port
from support.notifier_stack import PREFIX, Stack
from support.polling import wait_for

from fedbus.relay import Spool, publish

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

LIMIT = 40
TOTAL = 10 * LIMIT
USERS = 4
TOPIC = f"{PREFIX}.buildsys.build.state.change"
FEDBUS = [sys.executable, "-m", "fedbus.cli.main"]


def koji_build(n: int) -> BuildStateChangeV1:
    name = f"pkg{n % USERS}"
    body = {"name": name, "version": "1.0", "release": f"{n}.fc43", "epoch": None,
            "attribute": "state", "old": 0, "new": 1, "build_id": 1000 + n, "task_id": None,
            "task": None, "owner": "builder", "instance": "primary", "request": None,
            "creation_time": "2026-11-30T04:00:00+00:00",
            "completion_time": "2026-11-30T04:10:00+00:00",
            "url": f"https://koji.fedoraproject.test/koji/buildinfo?buildID={n}"}  # fmt: skip
    return BuildStateChangeV1(topic=TOPIC, body=body)


class Watcher(threading.Thread):
    """A consumer of its own queue (pika, acking each delivery): records every message id
    it is given, duplicates included."""

    def __init__(self, url: str, queue: str) -> None:
        super().__init__(daemon=True)
        self.url, self.queue = url, queue
        self.ids: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with pika.BlockingConnection(pika.URLParameters(self.url)) as conn:
            ch = conn.channel()
            for method, props, _ in ch.consume(self.queue, inactivity_timeout=0.2):
                if self.stopping.is_set():
                    break
                if method is not None:
                    self.ids.append(props.message_id)
                    ch.basic_ack(method.delivery_tag)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def depth(broker, vhost: str, queue: str) -> int:
    """Messages ready in ``queue`` now (AMQP; the management API's figures lag)."""
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
        return conn.channel().queue_declare(queue, passive=True).method.message_count


def consumers(broker, vhost: str, queue: str) -> int:
    try:
        info = broker.api("GET", f"queues/{urllib.parse.quote(vhost, safe='')}/{queue}")
    except Exception:
        return 0
    return int(info.get("consumers", 0))


def test_stopped_notifier_does_not_stop_the_bus(broker, vhost, tmp_path, smtp):
    qv = urllib.parse.quote(vhost, safe="")
    policies(broker, vhost, max_length=LIMIT)
    # The short limit is the consumer queues' under test; the notifier's job queues keep
    # the role's default, as in a deployment (with 40 they overflow whenever the worker's
    # burst after the replay outruns the e-mail sender by more than 40 jobs).
    broker.api("PUT", f"policies/{qv}/jobs-default-length",
               {"pattern": r"^notifier\.(email|irc|digest)$", "apply-to": "queues",
                "priority": 2, "definition": {
                    "dead-letter-exchange": DLX,
                    "max-length": DEFAULTS["broker_queue_max_length"],
                    "overflow": DEFAULTS["broker_queue_overflow"]}})  # fmt: skip
    queues(broker, vhost, ["notifier", "mirror-tier1-m1"])
    for q in ("notifier", "mirror-tier1-m1"):
        broker.api("POST", f"bindings/{qv}/e/amq.topic/q/{q}", {"routing_key": f"{PREFIX}.#"})
    accounts = Accounts(broker, vhost, ["notifier"])
    (tmp_path / "notifier").mkdir()
    stack = Stack(tmp_path / "notifier", broker.amqp_url(vhost), smtp.port, free_port())
    procs: list[subprocess.Popen[str]] = []
    relays: list[subprocess.Popen[str]] = []
    stderr: dict[int, str] = {}
    env = {**os.environ, "FEDBUS_CONFIG": ""}
    mirror = Watcher(broker.amqp_url(vhost), "mirror-tier1-m1")
    try:
        for i in range(USERS):
            stack.verified(f"u{i}", "email", f"u{i}@example.org")
            stack.store.user(f"u{i}").add_rule("package", f"pkg{i}")
        stack.worker()
        stack.sender("email")
        wait_for(lambda: consumers(broker, vhost, "notifier") > 0, 60, "the worker")
        stack.kill("worker")  # a bad deploy: the workers are down
        wait_for(lambda: consumers(broker, vhost, "notifier") == 0, 30, "the worker to go")
        mirror.start()
        tail = subprocess.Popen(
            [*FEDBUS, "tail", "--json", "--url", broker.amqp_url(vhost), "--count", str(TOTAL),
             "--topic", f"{PREFIX}.#"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        procs.append(tail)
        bindings = f"exchanges/{qv}/amq.topic/bindings/source"
        wait_for(lambda: any(b["destination"].startswith("amq.gen")  # bound: it gets them all
                             for b in broker.api("GET", bindings)), 30, "the tail")  # fmt: skip

        spools = [tmp_path / f"spool{i}" for i in range(2)]
        for spool in spools:
            spool.mkdir()
            relay = subprocess.Popen([*FEDBUS, "relay", "--url", broker.amqp_url(vhost),
                                      "--spool", str(spool)],
                                     stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
            relays.append(relay)
            procs.append(relay)

        sent: list[str] = []
        oldest = 0.0

        def write(spool: Path, first: int) -> None:
            for n in range(first, TOTAL, 2):  # the two hosts take turns, ~200 msg/s each
                msg = koji_build(n)
                publish(msg, spool_dir=spool)
                sent.append(msg.id)
                time.sleep(0.005)

        writers = [threading.Thread(target=write, args=(s, i)) for i, s in enumerate(spools)]
        for w in writers:
            w.start()
        while any(w.is_alive() for w in writers) or any(Spool(s).totals()[0] for s in spools):
            for s in spools:
                with Spool(s) as sp:
                    oldest = max(oldest, sp.stats().oldest_age)
            time.sleep(0.05)
            assert oldest < 5, f"a relay stalled: its oldest message is {oldest:.1f}s old"
        assert len(sent) == TOTAL

        wait_for(lambda: len(mirror.ids) >= TOTAL, 60, "the mirror's messages")
        tail_out, tail_err = tail.communicate(timeout=60)
        assert tail.returncode == 0, tail_err
        tailed = [json.loads(line)["id"] for line in tail_out.splitlines()]
        time.sleep(1)  # a duplicate would arrive now
        for who, ids in (("mirror", mirror.ids), ("tail", tailed)):
            dups = sum(c - 1 for c in Counter(ids).values())
            assert dups == 0 and sorted(ids) == sorted(sent), f"{who}: {dups} duplicates"
        for spool in spools:
            with Spool(spool) as sp:
                assert sp.stats().dead == 0  # nothing set aside: the broker nacked nothing

        # where the overflow is: the newest LIMIT in the queue, the rest in its .dlq
        assert depth(broker, vhost, "notifier") == LIMIT
        wait_for(lambda: depth(broker, vhost, "notifier.dlq") == TOTAL - LIMIT, 10, "the dlq")
        config = tmp_path / "notifier-account.toml"
        config.write_text(f'[amqp]\nurls = ["{accounts.url("notifier", vhost)}"]\n')
        shown = subprocess.run([*FEDBUS, "-c", str(config), "dlq", "notifier", "--limit", "3"],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        head = f"notifier.dlq: {TOTAL - LIMIT} messages, oldest first:"
        assert shown.stdout.splitlines()[0] == head
        assert shown.stdout.count(f"{TOPIC}  broker: maxlen") == 3, shown.stdout
        assert depth(broker, vhost, "notifier.dlq") == TOTAL - LIMIT  # showing took nothing

        # the workers are back: the queue drains, then the replay brings the rest
        stack.worker()
        wait_for(lambda: len(smtp.accepted) >= LIMIT, 60, "the mails of the queue")
        replayed = subprocess.run(
            [*FEDBUS, "-c", str(config), "dlq", "notifier", "--replay", "--max-waiting", "10"],
            capture_output=True, text=True, timeout=120)  # fmt: skip
        assert replayed.returncode == 0, replayed.stderr
        assert replayed.stdout.strip() == (
            f"replayed {TOTAL - LIMIT} messages into notifier; 0 left in notifier.dlq"
        )
        wait_for(lambda: len(smtp.accepted) >= TOTAL, 120, f"{TOTAL} mails")
        time.sleep(2)  # anything doubled would arrive now
        mails = Counter(m["Message-ID"] for _, m, _ in smtp.accepted)
        assert len(smtp.accepted) == TOTAL and len(mails) == TOTAL
        assert Counter(r[0] for r, _, _ in smtp.accepted) == Counter(
            f"u{n % USERS}@example.org" for n in range(TOTAL)
        )
        assert depth(broker, vhost, "notifier.dlq") == 0
        figures = {"limit": LIMIT, "published": TOTAL, "relays": len(relays),
                   "oldest_backlog_s": round(oldest, 3),
                   "mirror_duplicates": len(mirror.ids) - len(set(mirror.ids)),
                   "tail_duplicates": len(tailed) - len(set(tailed)),
                   "notifier_queue_kept": LIMIT, "notifier_dlq": TOTAL - LIMIT,
                   "mails": len(smtp.accepted)}  # fmt: skip
        print(json.dumps(figures))
        out = ROOT / "tests" / "output"
        out.mkdir(parents=True, exist_ok=True)
        (out / "stalled-consumer.json").write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        mirror.stopping.set()
        for p in procs:
            if p.poll() is None:
                p.terminate()
                stderr[p.pid] = p.communicate(timeout=30)[1]
        stack.stop_all()
        accounts.delete()
        print(stack.logs())
    for relay in relays:
        assert relay.returncode == 0, stderr[relay.pid]
        assert "relay stopped" in stderr[relay.pid] and "nacked" not in stderr[relay.pid]
