"""Reading a queue empty in a test: one ``basic_get`` loop for every test that drains."""

from __future__ import annotations

import pika


def drain(url: str, queue: str) -> list[tuple[str, pika.BasicProperties, bytes]]:
    """Every message ``queue`` holds now, as ``(routing key, properties, body)``, taken off
    the queue (auto-ack), oldest first."""
    out = []
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        ch = conn.channel()
        while True:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append((method.routing_key, props, body))
