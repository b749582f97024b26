"""The publisher against the real broker: confirms, returns, topic-permission refusals."""

from __future__ import annotations

import asyncio
import urllib.parse
import uuid

import pytest
from support.amqp import drain
from support.wedge_lab import bind_queue

from fedbus.client import (
    BrokerUnavailable,
    Publisher,
    PublishRefused,
    PublishReturned,
    SyncPublisher,
)
from fedbus.message.envelope import Encoded, decode, encode, new_message

pytestmark = pytest.mark.integration

TOPIC = "org.fedoraproject.local.git.commit.receive"


def message(i: int = 0, topic: str = TOPIC) -> Encoded:
    return encode(new_message(topic, {"i": i}, schema="base.message"))



def test_confirmed_publish_keeps_exact_properties(broker, vhost):
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    sent = message(1)

    async def go() -> None:
        async with Publisher(url) as pub:
            await pub.publish(sent)

    asyncio.run(go())
    [(routing_key, props, body)] = drain(url, queue)
    assert routing_key == sent.routing_key
    assert body == sent.body
    p = sent.properties
    assert (props.content_type, props.content_encoding, props.delivery_mode) == (
        p.content_type, p.content_encoding, p.delivery_mode)
    assert props.message_id == p.message_id
    assert props.priority == p.priority
    assert props.headers == p.headers
    assert decode(routing_key, body, props).body == {"i": 1}


def test_pipelined_publish_many_in_order(broker, vhost):
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    sent = [message(i) for i in range(2000)]

    async def go() -> list[BaseException | None]:
        async with Publisher(url, window=200) as pub:
            return await pub.publish_many(sent)

    assert asyncio.run(go()) == [None] * len(sent)
    got = drain(url, queue)
    assert [p.message_id for _, p, _ in got] == [m.properties.message_id for m in sent]


def test_unroutable_raises_publish_returned(broker, vhost):
    url = broker.amqp_url(vhost)

    async def go() -> None:
        async with Publisher(url) as pub:
            await pub.publish(message(), mandatory=False)  # fine: nobody listens
            with pytest.raises(PublishReturned) as err:
                await pub.publish(message(), mandatory=True)
            assert "\n" not in str(err.value) and "NO_ROUTE" in str(err.value)

    asyncio.run(go())


@pytest.fixture
def git_user(broker, vhost):
    """A user who may publish only org.fedoraproject.local.git.* on amq.topic."""
    user = f"git-{uuid.uuid4().hex[:6]}"
    qv = urllib.parse.quote(vhost, safe="")
    broker.api("PUT", f"users/{user}", {"password": "pw", "tags": ""})
    broker.api("PUT", f"permissions/{qv}/{user}", {"configure": "", "write": ".*", "read": ""})
    broker.api("PUT", f"topic-permissions/{qv}/{user}",
               {"exchange": "amq.topic", "write": r"^org\.fedoraproject\.local\.git\.",
                "read": ".*"})
    yield broker.amqp_url(vhost, user=user, password="pw")
    broker.api("DELETE", f"users/{user}")


def test_topic_permission_refusal_only_fails_the_guilty(broker, vhost, git_user):
    admin = broker.amqp_url(vhost)
    queue = bind_queue(admin)
    forbidden = message(99, "org.fedoraproject.local.bodhi.update.comment")
    batch = [message(0), message(1), forbidden, message(3), message(4)]
    after = message(5)

    async def go() -> list[BaseException | None]:
        async with Publisher(git_user, window=10) as pub:
            results = await pub.publish_many(batch)
            await pub.publish(after)  # the publisher carries on
            return results

    results = asyncio.run(go())
    assert [r is None for r in results] == [True, True, False, True, True]
    err = results[2]
    assert isinstance(err, PublishRefused) and err.reply_code == 403
    assert "\n" not in str(err) and "not allowed to publish" in str(err)
    got = [p.message_id for _, p, _ in drain(admin, queue)]
    expected = [m.properties.message_id for m in [*batch, after] if m is not forbidden]
    # Every allowed message arrived, the forbidden one never.  Those in flight on the channel
    # the broker closed lost their confirms and were sent again: at-least-once (consumers
    # dedupe on message_id).
    assert set(got) == set(expected)


def test_sync_publisher_and_url_failover(broker, vhost):
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    dead = url.replace(f":{broker.amqp_port}/", ":1/")
    with SyncPublisher([dead, url], retry_timeout=10) as pub:
        pub.publish(message(7))
        assert pub.publish_many([message(8), message(9)]) == [None, None]
    assert [decode(rk, b, p).body["i"] for rk, p, b in drain(url, queue)] == [7, 8, 9]


def test_unreachable_broker_is_one_line_error():
    async def go() -> None:
        pub = Publisher("amqp://u:p@127.0.0.1:1/%2F", retry_timeout=1.0)
        with pytest.raises(BrokerUnavailable) as err:
            await pub.publish(message())
        assert "\n" not in str(err.value) and "127.0.0.1:1" in str(err.value)
        assert ":p@" not in str(err.value)

    asyncio.run(go())
