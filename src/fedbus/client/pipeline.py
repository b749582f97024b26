"""Batched writes of ``basic.publish`` on one confirm-mode channel.

aiormq's ``basic_publish`` takes the channel lock, writes one message and waits for the
socket to drain before the next one may go: one system call and several event-loop turns
per message.  :class:`Pipeline` registers each message's confirmation with the aiormq
channel exactly as ``basic_publish`` does (delivery tag, ``confirmations``, the message-id
map used for ``basic.return``) but queues the frames and writes everything queued during
one event-loop turn as a single payload.  Confirms, nacks, returns and channel/connection
failures then reach the returned futures through aiormq's own frame handling.

All publishing on the channel must go through the pipeline (delivery tags are counted
here); channel operations other than publish are not affected.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiormq
from aiormq.abc import ChannelFrame
from pamqp import commands as spec
from pamqp.header import ContentHeader

from fedbus.message.envelope import AmqpProperties, Encoded


def amqp_properties(p: AmqpProperties) -> spec.Basic.Properties:
    """The wire properties for ``p`` (priority left unset when None, as fedora-messaging)."""
    return spec.Basic.Properties(
        content_type=p.content_type,
        content_encoding=p.content_encoding,
        delivery_mode=p.delivery_mode,
        message_id=p.message_id or None,
        headers=dict(p.headers),
        priority=p.priority,
    )


class Pipeline:
    """Publish on ``channel`` (an aiormq channel in confirm mode) to ``exchange``."""

    def __init__(self, channel: Any, exchange: str) -> None:
        self.channel = channel
        self.exchange = exchange
        self._frames: list[Any] = []
        self._scheduled = False
        self._put: asyncio.Future[None] | None = None
        self._loop = asyncio.get_running_loop()

    @property
    def is_closed(self) -> bool:
        return bool(self.channel.is_closed)

    def publish(self, encoded: Encoded, mandatory: bool) -> asyncio.Future[Any]:
        """Queue one message; the future resolves with the broker's confirm (or fails:
        aiormq's PublishError for a return, DeliveryError for a nack, ChannelClosed…)."""
        ch = self.channel
        if ch.is_closed:
            raise aiormq.exceptions.ChannelInvalidStateError(f"{ch!r} closed")
        props = amqp_properties(encoded.properties)
        ch.delivery_tag += 1
        tag = ch.delivery_tag
        confirmation: asyncio.Future[Any] = ch.create_future()
        ch.confirmations[tag] = confirmation
        message_id = props.message_id
        if message_id:
            ch.message_id_delivery_tag[message_id] = tag

            def forget(_: asyncio.Future[Any]) -> None:
                if ch.message_id_delivery_tag.get(message_id) == tag:
                    ch.message_id_delivery_tag.pop(message_id)

            confirmation.add_done_callback(forget)
        self._frames.append(
            spec.Basic.Publish(exchange=self.exchange, routing_key=encoded.routing_key,
                               mandatory=mandatory)
        )
        self._frames.append(ContentHeader(properties=props, body_size=len(encoded.body)))
        self._frames.extend(ch._split_body(encoded.body))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)
        return confirmation

    def _flush(self) -> None:
        self._scheduled = False
        frames, self._frames = self._frames, []
        if not frames or self.channel.is_closed:
            return
        payload = ChannelFrame.marshall(channel_number=self.channel.number, frames=frames)
        queue: asyncio.Queue[ChannelFrame] = self.channel.write_queue
        if self._put is None or self._put.done():
            try:
                queue.put_nowait(payload)
                return
            except asyncio.QueueFull:
                self._put = asyncio.ensure_future(queue.put(payload))
        else:  # keep the order behind the write still waiting for room
            self._put = asyncio.ensure_future(self._after(self._put, queue, payload))

    @staticmethod
    async def _after(previous: asyncio.Future[None], queue: asyncio.Queue[ChannelFrame],
                     payload: ChannelFrame) -> None:
        await asyncio.shield(previous)
        await queue.put(payload)
