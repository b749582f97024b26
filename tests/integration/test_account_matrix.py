"""Every account of THE accounts table against every component's queues and topics, through
every exchange, on a real broker: only what the table grants succeeds.

The accounts come from ``inventories/common/bus.yml`` through the broker role's filter
(``plugins/filter/bus_accounts.py``) onto a fresh vhost laid out as ``roles/broker`` lays it
out (``fedbus.queues``, ``fedbus.dlx``, each consumer's queues and ``.dlq``).  What *should*
succeed is worked out here from the table alone, with AMQP's own topic matching and the
queue globs - not from the filter's regexes - and every attempt is made for real: a publish
with confirms, a ``basic.get``, a declare, a bind, a delete.  A refusal is the broker's
403 ACCESS_REFUSED; anything else is an error of the test.
"""

from __future__ import annotations

import fnmatch
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker
from support.broker_layout import (
    DLX,
    FOR_ALL,
    PREFIX,
    QUEUE_EXCHANGE,
    TABLE,
    bus_accounts,
    grant,
    queues,
)

pytestmark = pytest.mark.integration
EVENTS = "amq.rabbitmq.event"

# One concrete queue for each queue (glob) the table gives out.
QUEUES = [
    "notifier",
    "notifier.email",
    "notifier.irc",
    "notifier.digest",
    "fedbus.bridge",
    "mirror-tier1-mirror01",
    "mirror-tier2-mirror02",
    "fedbus.verify.run1",
]
# A topic of every component (relative to PREFIX), and the canary.
TOPICS = [
    "buildsys.build.state.change",
    "git.receive",
    "compose.status.change",
    "pungi.compose.status.change",
    "bodhi.update.comment",
    "pkgdb.package.new",
    "fas.user.create",
    "autoqa.result.complete",
    "bugzilla.bug.update",
    "zabbix.trigger.problem",
    "netapp.snapmirror.in_sync",
    "netapp.volume.offline",
    "notify.digest.sent",
    "bus.queue.created",
    "bus.canary.sent",
    "mirror.tier1.sync.complete",
    "mirror.tier2.sync.complete",
]


def topic_matches(pattern: str, topic: str) -> bool:
    """AMQP topic matching: ``*`` one word, ``#`` zero or more words."""

    def match(p: list[str], t: list[str]) -> bool:
        if not p:
            return not t
        if p[0] == "#":
            return any(match(p[1:], t[i:]) for i in range(len(t) + 1))
        return bool(t) and (p[0] == "*" or p[0] == t[0]) and match(p[1:], t[1:])

    return match(pattern.split("."), topic.split("."))


@dataclass(frozen=True)
class Grants:
    """What the accounts table says one account may do."""

    row: dict

    @property
    def publish(self) -> list[str]:
        own = list(self.row.get("publish") or [])
        return own + [p for p in FOR_ALL if p not in own] if own else []

    def may_publish(self, topic: str) -> bool:
        return any(topic_matches(p, topic) for p in self.publish)

    def owns(self, queue: str) -> bool:
        base = queue.removesuffix(".dlq")
        return any(fnmatch.fnmatchcase(base, g) for g in self.row.get("consume") or [])

    @property
    def consumer(self) -> bool:
        return bool(self.row.get("consume")) or bool(self.row.get("tail"))

    def may_bind(self, topic: str) -> bool:
        read = self.row.get("read") or []
        return self.consumer and (not read or any(topic_matches(p, topic) for p in read))


@dataclass(frozen=True)
class Account:
    name: str  # as in the table
    login: str  # on the broker (tagged, users are not per vhost)
    password: str
    grants: Grants


@pytest.fixture(scope="module")
def table(broker) -> Iterator[tuple[str, dict[str, Account]]]:
    rows = TABLE
    tag = uuid.uuid4().hex[:6]
    vhost = f"test-matrix-{tag}"
    qv = urllib.parse.quote(vhost, safe="")
    named = [{**r, "name": f"{tag}-{r['name']}", "password": f"pw-{tag}-{r['name']}-0123"}
             for r in rows]  # fmt: skip
    users = bus_accounts.broker_users(named, PREFIX, vhost, publish_for_all=FOR_ALL)
    broker.api("PUT", f"vhosts/{qv}")
    broker.api("PUT", f"permissions/{qv}/{broker.user}",
               {"configure": ".*", "write": ".*", "read": ".*"})  # fmt: skip
    queues(broker, vhost, QUEUES)  # the layout of roles/broker (tasks/objects.yml)
    for u in users:
        broker.api("PUT", f"users/{u['user']}", {"password": u["password"], "tags": u["tags"]})
    grant(broker, vhost, users)
    accounts = {
        r["name"]: Account(r["name"], f"{tag}-{r['name']}", f"pw-{tag}-{r['name']}-0123",
                           Grants(r))
        for r in rows
    }  # fmt: skip
    yield vhost, accounts
    for u in users:
        broker.api("DELETE", f"users/{u['user']}")
    broker.api("DELETE", f"vhosts/{qv}")


class Session:
    """One account's connection; each attempt on a channel of its own (a refusal closes it)."""

    def __init__(self, broker, vhost: str, account: Account) -> None:
        url = broker.amqp_url(vhost, user=account.login, password=account.password)
        self.connection = pika.BlockingConnection(pika.URLParameters(url))

    def attempt(self, action: Callable[[BlockingChannel], object]) -> bool:
        """True if the broker let ``action`` through, False on 403 ACCESS_REFUSED."""
        channel = self.connection.channel()
        try:
            action(channel)
        except ChannelClosedByBroker as exc:
            if exc.reply_code != 403:
                raise
            return False
        channel.close()
        return True

    def close(self) -> None:
        self.connection.close()


def publisher(exchange: str, key: str, headers: dict | None = None):
    def act(ch: BlockingChannel) -> None:
        ch.confirm_delivery()
        props = pika.BasicProperties(headers=headers, delivery_mode=2)
        ch.basic_publish(exchange, key, b'{"matrix": true}', props)

    return act


def own_queue_of(account: Account) -> str | None:
    return next((q for q in QUEUES if account.grants.owns(q)), None)


def attempts(account: Account) -> Iterator[tuple[str, Callable[[BlockingChannel], object], bool]]:
    """(what, action, whether the table grants it) for one account."""
    g = account.grants
    for topic in TOPICS:
        yield (f"publish amq.topic {topic}", publisher("amq.topic", f"{PREFIX}.{topic}"),
               g.may_publish(topic))  # fmt: skip
    yield ("publish amq.topic in another environment",
           publisher("amq.topic", "org.fedoraproject.prod.buildsys.tag"), False)  # fmt: skip
    for q in QUEUES + [f"{q}.dlq" for q in QUEUES]:
        yield f"publish amq.default -> {q}", publisher("", q), False
        yield (f"publish {DLX} (x-first-death-queue={q})",
               publisher(DLX, "", {"x-first-death-queue": q.removesuffix(".dlq")}), False)
        yield f"publish {QUEUE_EXCHANGE} -> {q}", publisher(QUEUE_EXCHANGE, q), g.owns(q)
        yield f"basic.get {q}", lambda ch, q=q: ch.basic_get(q), g.owns(q)
        yield (f"declare {q}", lambda ch, q=q: ch.queue_declare(q, durable=True),
               g.owns(q))  # fmt: skip
    yield "declare exchange fedbus.evil", lambda ch: ch.exchange_declare("fedbus.evil"), False
    other = next(q for q in QUEUES if not g.owns(q))
    yield f"delete {other}", lambda ch: ch.queue_delete(other), False
    yield f"purge {other}", lambda ch: ch.queue_purge(other), False
    own = own_queue_of(account)
    if own is not None:
        for topic in TOPICS:
            yield (f"bind {own} to amq.topic {topic}",
                   lambda ch, t=topic: ch.queue_bind(own, "amq.topic", f"{PREFIX}.{t}"),
                   g.may_bind(topic))  # fmt: skip
        for key in ("#", "*.dlq", "fedbus.bridge.dlq", "notifier.email"):
            yield (f"bind {own} to {QUEUE_EXCHANGE} {key}",
                   lambda ch, k=key: ch.queue_bind(own, QUEUE_EXCHANGE, k),
                   g.owns(key) and "#" not in key and "*" not in key)  # fmt: skip
    elif account.grants.row.get("tail"):
        def tail(ch: BlockingChannel, exchange: str, key: str) -> None:
            name = ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
            ch.queue_bind(name, exchange, key)

        yield "tail: bind a server-named queue to amq.topic #", lambda ch: tail(
            ch, "amq.topic", "#"), True  # fmt: skip
        yield f"tail: bind a server-named queue to {QUEUE_EXCHANGE} #", lambda ch: tail(
            ch, QUEUE_EXCHANGE, "#"), False  # fmt: skip
    else:
        yield ("bind another's queue notifier to amq.topic",
               lambda ch: ch.queue_bind("notifier", "amq.topic", "#"), False)  # fmt: skip


def test_only_what_the_table_grants_succeeds(broker, table):
    vhost, accounts = table
    wrong: list[str] = []
    tried = refused = 0
    for account in accounts.values():
        session = Session(broker, vhost, account)
        try:
            for what, action, granted in attempts(account):
                allowed = session.attempt(action)
                tried += 1
                refused += not allowed
                if allowed != granted:
                    verdict = "succeeded" if allowed else "was refused"
                    wrong.append(f"{account.name}: {what} {verdict}")
        finally:
            session.close()
    print(f"account matrix: {len(accounts)} accounts, {tried} attempts, {refused} refused")
    assert not wrong, "\n".join(wrong)
    assert len(accounts) >= 18 and tried > 1500


EVENT_QUEUES = ["fedbus.bridge", "notifier", "mirror-tier1-mirror01"]


@pytest.fixture(scope="module")
def events_vhost(broker, table) -> Iterator[str]:
    """The same accounts on vhost ``/``, where the test broker's event exchange is (roles/broker
    puts it in the environment's vhost), with a queue of three consumers."""
    _vhost, accounts = table
    rows = TABLE
    named = [{**r, "name": accounts[r["name"]].login, "password": accounts[r["name"]].password}
             for r in rows]  # fmt: skip
    users = bus_accounts.broker_users(named, PREFIX, "/", publish_for_all=FOR_ALL)
    existing = {q["name"] for q in broker.api("GET", "queues/%2F")}  # type: ignore[union-attr]
    assert not existing & set(EVENT_QUEUES), "a queue of this test is in / already"
    for q in EVENT_QUEUES:
        broker.api("PUT", f"queues/%2F/{q}", {"durable": False, "auto_delete": False})
    grant(broker, "/", users)
    yield "/"
    for q in EVENT_QUEUES:
        broker.api("DELETE", f"queues/%2F/{q}")
    for u in users:
        broker.api("DELETE", f"permissions/%2F/{u['user']}")
        broker.api("DELETE", f"topic-permissions/%2F/{u['user']}")


def test_only_the_bridge_reads_broker_events(broker, table, events_vhost):
    _vhost, accounts = table
    wrong: list[str] = []
    for account in accounts.values():
        session = Session(broker, events_vhost, account)
        checks: list[tuple[str, Callable[[BlockingChannel], object], bool]] = [
            ("publish amq.rabbitmq.event", publisher(EVENTS, "queue.created"), False)
        ]
        for q in EVENT_QUEUES:
            if account.grants.owns(q):
                checks.append((f"bind {q} to {EVENTS}",
                               lambda ch, q=q: ch.queue_bind(q, EVENTS, "queue.#"),
                               EVENTS in (account.grants.row.get("read_exchanges") or [])))
        if account.grants.row.get("tail"):
            def tail(ch: BlockingChannel) -> None:
                name = ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
                ch.queue_bind(name, EVENTS, "#")

            checks.append(("tail: bind a server-named queue to amq.rabbitmq.event", tail, False))
        try:
            for what, action, granted in checks:
                if session.attempt(action) != granted:
                    wrong.append(f"{account.name}: {what} {'refused' if granted else 'allowed'}")
        finally:
            session.close()
    assert not wrong, "\n".join(wrong)
    assert accounts["bridge"].grants.owns("fedbus.bridge")


def test_the_table_grants_each_component_its_own_path(table):
    """The oracle itself is not vacuous: each consumer owns its queues, each service its
    topics, and nobody owns another component's."""
    _vhost, accounts = table
    assert accounts["notifier"].grants.owns("notifier.email.dlq")
    assert not accounts["mirror-tier1"].grants.owns("notifier.email")
    assert accounts["mirror-tier1"].grants.owns("mirror-tier1-mirror01")
    assert not accounts["mirror-tier1"].grants.owns("mirror-tier2-mirror02")
    assert accounts["koji"].grants.may_publish("buildsys.build.state.change")
    assert not accounts["koji"].grants.may_publish("git.receive")
    assert accounts["mirror-tier2"].grants.may_bind("mirror.tier1.sync.complete")
    assert not accounts["mirror-tier2"].grants.may_bind("git.receive")
    assert not accounts["operator"].grants.publish


def test_consumers_reach_their_own_queues_with_only_their_table_rights(broker, table):
    """What the matrix takes away is not needed: with nothing but its table account, a
    mirror's consumer sets up a queue of its own and dead-letters a bad message there
    with the reason, and the notifier publishes and consumes its jobs."""
    import asyncio

    from fedbus.consumer import Consumer
    from fedbus.notifier.jobs import Job, JobConsumer, JobPublisher

    vhost, accounts = table
    tier1, notifier = accounts["mirror-tier1"], accounts["notifier"]
    t1_url = broker.amqp_url(vhost, user=tier1.login, password=tier1.password)
    n_url = broker.amqp_url(vhost, user=notifier.login, password=notifier.password)
    queue = f"mirror-tier1-{uuid.uuid4().hex[:6]}"  # not declared by anyone before
    topic = f"{PREFIX}.netapp.snapmirror.in_sync"
    handled: list[Job] = []

    async def scenario() -> None:
        consumer = Consumer(t1_url, queue, [topic], lambda message: None)
        task = asyncio.ensure_future(consumer.run())
        await asyncio.wait_for(consumer.ready.wait(), 15)
        admin = broker.amqp_url(vhost)
        with pika.BlockingConnection(pika.URLParameters(admin)) as conn:
            conn.channel().basic_publish("amq.topic", topic, b"{not json")  # no schema either
        for _ in range(200):
            if consumer.counters["dead"]:
                break
            await asyncio.sleep(0.05)
        consumer.stop()
        await asyncio.wait_for(task, 30)

        publisher = JobPublisher([n_url])
        job = Job("m-1", 1, "alice", 2, "email", "alice@example.org", "immediate",
                  f"{PREFIX}.git.receive", "a summary")  # fmt: skip
        await publisher.publish([("notifier.email", job)])
        await publisher.close()

        async def keep(j: Job) -> None:
            handled.append(j)

        jobs = JobConsumer([n_url], "notifier.email", keep)
        task = asyncio.ensure_future(jobs.run())
        for _ in range(200):
            if handled:
                break
            await asyncio.sleep(0.05)
        jobs.stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(scenario())
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
        method, props, _body = conn.channel().basic_get(f"{queue}.dlq", auto_ack=True)
    assert method is not None, "the dead letter did not reach the queue's .dlq"
    assert "fedora_messaging_schema" in props.headers["x-fedbus-reason"]
    assert [j.key for j in handled] == ["m-1/1/2"]


def test_the_web_sends_a_verification_with_the_notifier_account(broker, table):
    """The web UI's verification job (pika, from a WSGI request) goes through fedbus.queues
    too: with the notifier's table account it reaches notifier.irc, even before the
    sender ever declared that queue."""
    from fedbus.notifier.jobs import Job
    from fedbus.notifier.store import DestinationView
    from fedbus.notifier.verify import send_verification

    vhost, accounts = table
    notifier = accounts["notifier"]
    url = broker.amqp_url(vhost, user=notifier.login, password=notifier.password)
    qv = urllib.parse.quote(vhost, safe="")
    broker.api("DELETE", f"queues/{qv}/notifier.irc")  # first use: not declared yet
    dest = DestinationView(id=7, kind="irc", address="alice", verified=False,
                           delivery="immediate", digest_cap=50)  # fmt: skip
    job = send_verification([url], None, user_id=1, user="alice", destination=dest,
                            token="t0k3n", base_url="https://n.test")  # fmt: skip
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
        method, _props, body = conn.channel().basic_get("notifier.irc", auto_ack=True)
    assert method is not None, "the verification job did not reach notifier.irc"
    assert Job.decode(body).key == job.key
