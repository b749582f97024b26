"""Putting dead letters back: ``<queue>.dlq`` → ``<queue>``, the original topic kept.

A consumer's ``.dlq`` holds two kinds of message: what the broker dropped from the head of
the full queue (``x-death`` reason ``maxlen``: the consumer was stopped or slow) and what
the consumer itself refused (``x-fedbus-reason``).  :func:`replay` moves them back into the
consumer's own queue, oldest first, through ``fedbus.queues`` — never through
``amq.topic``, so no other consumer sees a message twice — and acks each dead letter only
once the broker confirmed its copy, so an interrupted replay loses nothing (a message
copied but not yet acked is delivered again, and the consumer's dedupe by message id
drops it).

A message published to ``fedbus.queues`` arrives with the queue's name as its routing key;
the topic it was first published under travels in the ``x-fedbus-topic`` header, and
:func:`delivered_topic` gives the framework the topic to decode with.  Only the queue's
owner (its account's topic permissions on ``fedbus.queues``) or the broker's
administrator can publish there, so the header is trusted exactly as far as the
consumer's own credentials are.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions

from fedbus.consumer.deadletter import FAILED_AT, ORIGINAL_TOPIC, REASON, TOPIC_HEADER
from fedbus.consumer.queues import QUEUE_EXCHANGE
from fedbus.errors import FedbusError

REPLAYED_HEADER = "x-fedbus-replayed"
DLQ_SUFFIX = ".dlq"
#: headers the broker or the framework added when the message died
_DEATH_HEADERS = ("x-death", "x-first-death-", "x-last-death-", "x-fedbus-")


def _text(value: Any) -> str | None:
    """A header value as text (AMQP tables may carry strings as bytes); None if it is not a
    non-empty string."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) and value else None


def delivered_topic(routing_key: str, exchange: str, headers: Mapping[str, Any] | None) -> str:
    """The topic of a delivery: its routing key, unless it came back to its queue through
    ``fedbus.queues`` (a replay or a job requeued), where the header carries it."""
    if exchange == QUEUE_EXCHANGE and headers:
        return _text(headers.get(TOPIC_HEADER)) or routing_key
    return routing_key


def original_topic(headers: Mapping[str, Any]) -> str | None:
    """The topic a dead letter was first published under: the framework's own header, or
    the first routing key of the broker's ``x-death`` record (``maxlen``, ``expired``)."""
    for value in (headers.get(TOPIC_HEADER), headers.get(ORIGINAL_TOPIC)):
        topic = _text(value)
        if topic and not topic.endswith(DLQ_SUFFIX):
            return topic
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[-1], Mapping):
        keys = deaths[-1].get("routing-keys")
        if isinstance(keys, list) and keys:
            return _text(keys[0])
    return None


def reason(headers: Mapping[str, Any]) -> str:
    """Why a dead letter died, in one short phrase."""
    text = _text(headers.get(REASON))
    if text:
        return text
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        return f"broker: {_text(deaths[0].get('reason'))}"
    return "unknown"


def replay_headers(headers: Mapping[str, Any], topic: str) -> dict[str, Any]:
    """The headers of the copy put back: the death records removed, the topic kept."""
    out = {k: v for k, v in headers.items() if not k.startswith(_DEATH_HEADERS)}
    out[TOPIC_HEADER] = topic
    out[REPLAYED_HEADER] = int(headers.get(REPLAYED_HEADER) or 0) + 1
    return out


@dataclass(frozen=True)
class Replayed:
    """What :func:`replay` did."""

    moved: int
    left: int  # still in the .dlq (beyond ``limit``, or arrived during the replay)


def consumer_queue(queue: str) -> str:
    """``queue`` if it names a consumer queue (not a ``.dlq``, not a broker-named one)."""
    if not queue or queue.endswith(DLQ_SUFFIX) or queue.startswith("amq."):
        raise FedbusError(f"dlq: {queue!r} is not a consumer queue (name the queue, not its .dlq)")
    return queue


def _wait_for_room(channel: Any, queue: str, max_waiting: int, stall_timeout: float) -> None:
    """Return once ``queue`` holds fewer than ``max_waiting`` messages: replaying into a
    queue faster than its consumer drains it would only push its head out again."""
    deadline = time.monotonic() + stall_timeout
    while True:
        waiting = channel.queue_declare(queue, passive=True).method.message_count
        if waiting < max_waiting:
            return
        if time.monotonic() > deadline:
            raise FedbusError(
                f"dlq: {queue} has held {waiting} messages for {stall_timeout:.0f}s: is its "
                "consumer running? the rest is left in the .dlq"
            )
        channel.connection.sleep(0.2)


def replay(
    channel: Any,
    queue: str,
    limit: int | None = None,
    *,
    ids: frozenset[str] | None = None,
    max_waiting: int = 10_000,
    stall_timeout: float = 120.0,
) -> Replayed:
    """Move up to ``limit`` dead letters (all there are when it starts, by default) from
    ``<queue>.dlq`` back into ``queue``, pausing while ``queue`` holds ``max_waiting``
    messages or more.  With ``ids``, only the dead letters with those message ids are
    moved; the others stay in the ``.dlq``, in their order (held unacked while the ``.dlq``
    is read, returned when ``channel`` closes).  ``channel`` is a pika channel; confirms
    are switched on here."""
    queue = consumer_queue(queue)
    dlq = queue + DLQ_SUFFIX
    try:
        waiting = channel.queue_declare(dlq, passive=True).method.message_count
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise FedbusError(f"dlq: {dlq}: {exc.reply_code} {exc.reply_text}") from exc
    todo = waiting if limit is None or ids is not None else min(limit, waiting)
    step = max(1, max_waiting // 4)  # the queue never exceeds max_waiting + step
    channel.confirm_delivery()
    moved = seen = 0
    missing = set(ids or ())
    while seen < todo and (ids is None or missing):
        method, props, body = channel.basic_get(dlq, auto_ack=False)
        if method is None:
            break
        seen += 1
        if ids is not None and (props.message_id or "") not in missing:
            continue  # not chosen: stays unacked, so it goes back where it was
        missing.discard(props.message_id or "")
        if moved % step == 0:
            _wait_for_room(channel, queue, max_waiting, stall_timeout)
        _put_back(channel, method, props, body, queue, moved)
        moved += 1
    if missing:
        raise FedbusError(
            f"dlq: {moved} moved; not in {dlq}: {', '.join(sorted(missing))}"
        )
    left = waiting - moved if ids is not None else (
        channel.queue_declare(dlq, passive=True).method.message_count)
    return Replayed(moved, left)


def _put_back(channel: Any, method: Any, props: Any, body: bytes, queue: str, moved: int) -> None:
    """Publish one dead letter's copy to ``queue`` and ack it once the broker confirmed."""
    dlq = queue + DLQ_SUFFIX
    headers = dict(props.headers or {})
    topic = original_topic(headers)
    if topic is None:
        channel.basic_nack(method.delivery_tag, requeue=True)
        raise FedbusError(f"dlq: message {props.message_id} in {dlq} carries no topic; left there")
    props.headers = replay_headers(headers, topic)
    try:
        channel.basic_publish(QUEUE_EXCHANGE, queue, body, props, mandatory=True)
    except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
        channel.basic_nack(method.delivery_tag, requeue=True)
        raise FedbusError(
            f"dlq: {QUEUE_EXCHANGE} did not take the copy for {queue!r} "
            f"({type(exc).__name__}); {moved} moved, the rest left in {dlq}"
        ) from exc
    channel.basic_ack(method.delivery_tag)


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter as :func:`peek` shows it."""

    message_id: str
    topic: str
    reason: str
    failed_at: str
    start: str = ""  # the body's first characters, control characters escaped


def preview(body: bytes, width: int = 60) -> str:
    """The first ``width`` characters of a body, as one printable line."""
    text = body[: width * 4].decode("utf-8", "replace")
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text[:width] + ("…" if len(text) > width or len(body) > width * 4 else "")


def peek(channel: Any, queue: str, limit: int = 20) -> tuple[int, list[DeadLetter]]:
    """The number of dead letters of ``queue`` and the oldest ``limit`` of them, left in
    place (fetched unacked, then returned to the queue when the channel closes)."""
    dlq = consumer_queue(queue) + DLQ_SUFFIX
    try:
        count = channel.queue_declare(dlq, passive=True).method.message_count
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise FedbusError(f"{dlq}: {exc.reply_code} {exc.reply_text}") from exc
    out: list[DeadLetter] = []
    for _ in range(min(limit, count)):
        method, props, body = channel.basic_get(dlq, auto_ack=False)
        if method is None:
            break
        headers = dict(props.headers or {})
        failed: Any = headers.get(FAILED_AT) or ""
        if not failed and isinstance(headers.get("x-death"), list) and headers["x-death"]:
            failed = headers["x-death"][0].get("time") or ""
        if isinstance(failed, datetime.datetime):  # the broker's x-death time (UTC)
            failed = failed.replace(tzinfo=failed.tzinfo or datetime.UTC)
            failed = failed.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(
            DeadLetter(
                props.message_id or "",
                original_topic(headers) or "?",
                reason(headers),
                _text(failed) or "",
                preview(body),
            )
        )
    return count, out
