"""The bridge's AMQP loop: consume broker events, publish fedbus messages with confirms.

An event is acknowledged only after the broker confirmed the message it became (or after it
was skipped), so nothing is lost while the bridge's queue exists.  With a named queue (the
default, durable, bounded) events that happen while the bridge restarts wait for it; with
``queue=""`` the queue is exclusive and goes away with the bridge.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from fedbus.bridge.events import OWN_NAME, SCHEMAS, Translator
from fedbus.client.blocking import amqp_reason
from fedbus.errors import ValidationError
from fedbus.message.envelope import encode, new_message

log = logging.getLogger(__name__)

EVENT_EXCHANGE = "amq.rabbitmq.event"
BUS_EXCHANGE = "amq.topic"
QUEUE_MAX_LENGTH = 100_000


def connection_name() -> str:
    """The client-given name of the bridge's connections (the translator skips them)."""
    return f"{OWN_NAME} {socket.gethostname()} {os.getpid()}"


@dataclass
class Stats:
    received: int = 0
    published: int = 0
    skipped: int = 0
    invalid: int = 0


class Bridge:
    """Consume ``amq.rabbitmq.event`` through ``source``, publish on ``target``'s amq.topic.

    ``source``/``target`` are pika connection parameters in failover order.
    """

    def __init__(
        self,
        translator: Translator,
        source: Sequence[pika.ConnectionParameters],
        target: Sequence[pika.ConnectionParameters],
        *,
        queue: str = "fedbus.bridge",
        exchange: str = BUS_EXCHANGE,
    ) -> None:
        self.translator = translator
        self.source = list(source)
        self.target = list(target)
        self.queue = queue
        self.exchange = exchange
        self.stats = Stats()
        self.ready = threading.Event()  # set once the bridge's queue is bound

    def serve(self, stop: threading.Event | None = None, retry_max: float = 30.0) -> Stats:
        """Run until ``stop`` is set, reconnecting (with back-off) when a connection drops."""
        stop = stop or threading.Event()
        delay = 1.0
        while not stop.is_set():
            try:
                self._session(stop)
                delay = 1.0
            except (pika.exceptions.AMQPError, OSError) as exc:
                self.ready.clear()
                log.warning("bridge: %s; reconnecting in %.0f s", amqp_reason(exc), delay)
                stop.wait(delay)
                delay = min(delay * 2, retry_max)
        return self.stats

    def _session(self, stop: threading.Event) -> None:
        target = pika.BlockingConnection(self.target)
        try:
            out = target.channel()
            out.confirm_delivery()
            source = pika.BlockingConnection(self.source)
            try:
                self._consume(source, out, target, stop)
            finally:
                _close(source)
        finally:
            _close(target)

    def _declare(self, conn: pika.BlockingConnection, ch: BlockingChannel) -> str:
        if self.queue:
            # Passively if it exists: the broker role declares the accounts table's queues
            # (of broker_queue_type, bounded by its policy), and a declaration with other
            # arguments would be refused (PRECONDITION_FAILED) — the probe's channel is the
            # one the broker closes when the queue is missing.
            probe = conn.channel()
            try:
                probe.queue_declare(self.queue, passive=True)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code != 404:
                    raise
                args = {"x-max-length": QUEUE_MAX_LENGTH}
                ch.queue_declare(self.queue, durable=True, arguments=args)
            else:
                probe.close()
            name = self.queue
        else:
            name = ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.translator.own_queues.add(name)
        for key in SCHEMAS:
            ch.queue_bind(name, EVENT_EXCHANGE, routing_key=key)
        ch.basic_qos(prefetch_count=100)
        return name

    def _consume(
        self,
        source: pika.BlockingConnection,
        out: BlockingChannel,
        target: pika.BlockingConnection,
        stop: threading.Event,
    ) -> None:
        ch = source.channel()
        queue = self._declare(source, ch)
        log.info("bridge: consuming broker events from queue %s", queue)
        self.ready.set()
        for method, props, _body in ch.consume(queue, inactivity_timeout=0.5):
            if stop.is_set():
                break
            if method is None:
                target.process_data_events(0)  # heartbeats on the idle publishing side
                continue
            self.stats.received += 1
            self._handle(method.routing_key, props.headers, out)
            ch.basic_ack(method.delivery_tag)
        ch.cancel()

    def _handle(
        self, routing_key: str, headers: dict[str, object] | None, out: BlockingChannel
    ) -> None:
        bridged = self.translator.translate(routing_key, headers)
        if bridged is None:
            self.stats.skipped += 1
            return
        try:
            enc = encode(new_message(bridged.topic, bridged.body, schema=bridged.schema))
        except ValidationError as exc:
            self.stats.invalid += 1
            log.error("bridge: dropping %s event: %s", routing_key, exc)
            return
        # Raises NackError/UnroutableError/connection errors: the event stays unacked and the
        # session restarts, so it is retried.
        out.basic_publish(self.exchange, enc.routing_key, enc.body, enc.properties.to_pika())
        self.stats.published += 1
        log.debug("bridge: %s -> %s", routing_key, enc.routing_key)


def _close(conn: pika.BlockingConnection) -> None:
    try:
        if conn.is_open:
            conn.close()
    except pika.exceptions.AMQPError:
        pass
