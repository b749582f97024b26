"""How broker answers map to fedbus errors (pure; the broker tests cover the real frames)."""

from __future__ import annotations

import aiormq
import aiormq.abc
from pamqp import commands as spec

from fedbus.client.errors import PublishNacked, PublishRefused, PublishReturned
from fedbus.client.pipeline import amqp_properties
from fedbus.client.publisher import ChannelBroken, ConnectionLost, classify
from fedbus.message.envelope import AmqpProperties

RK = "org.fedoraproject.local.git.commit.receive"


def test_return_nack_refusal_and_loss():
    frame = spec.Basic.Return(reply_code=312, reply_text="NO_ROUTE", exchange="amq.topic",
                              routing_key=RK)
    delivered = aiormq.abc.DeliveredMessage(delivery=frame, header=None, body=b"", channel=None)
    returned = classify(aiormq.exceptions.PublishError(delivered, frame), RK, True)
    assert isinstance(returned, PublishReturned) and returned.reply_code == 312
    nack = aiormq.exceptions.DeliveryError(None, spec.Basic.Nack(delivery_tag=1))
    assert isinstance(classify(nack, RK, True), PublishNacked)
    refused = classify(aiormq.exceptions.ChannelAccessRefused("ACCESS_REFUSED - no"), RK, True)
    assert isinstance(refused, ChannelBroken) and refused.code == 403
    # A channel closed because the whole connection went is a loss, not a refusal.
    assert isinstance(classify(aiormq.exceptions.ChannelAccessRefused("x"), RK, False),
                      ConnectionLost)
    assert isinstance(classify(ConnectionResetError("reset"), RK, True), ConnectionLost)


def test_refusal_message_is_one_line():
    err = PublishRefused(RK, 403, "ACCESS_REFUSED - access to topic\n 'x' refused")
    assert str(err) == (f"not allowed to publish {RK!r}: 403 ACCESS_REFUSED - access to "
                        "topic 'x' refused")


def test_wire_properties_leave_priority_unset():
    props = amqp_properties(AmqpProperties(message_id="m", headers={"a": 1}))
    assert props.priority is None and props.delivery_mode == 2
    assert props.message_id == "m" and props.headers == {"a": 1}
