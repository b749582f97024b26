"""Helpers of the wedge tests: a queue on the real broker, the relay, what arrived."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika

from fedbus.client import Publisher
from fedbus.message.envelope import SCHEMA_HEADER, decode
from fedbus.relay import Spool
from fedbus.relay.forwarder import Relay


@dataclass
class Arrived:
    topic: str
    schema: str
    headers: dict[str, Any]
    body: dict[str, Any]
    message: Any


def bind_queue(url: str, pattern: str = "org.fedoraproject.local.#") -> str:
    name = f"wedge-{uuid.uuid4().hex[:8]}"
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        ch = conn.channel()
        ch.queue_declare(name, durable=True)
        ch.queue_bind(name, "amq.topic", routing_key=pattern)
    return name


def relay_all(spool_dir: Path, url: str, timeout: float = 30) -> None:
    """Run the relay (in a thread) until the spool is empty."""
    loop = asyncio.new_event_loop()
    holder: dict[str, Relay] = {}
    started = threading.Event()

    async def main() -> None:
        holder["relay"] = Relay(Spool(spool_dir, reader=True),
                                Publisher(url, retry_timeout=None), status_interval=5.0)
        started.set()
        await holder["relay"].run()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        deadline = time.monotonic() + timeout
        while Spool(spool_dir).totals()[0]:
            assert time.monotonic() < deadline, "the relay did not drain the spool"
            time.sleep(0.05)
    finally:
        loop.call_soon_threadsafe(holder["relay"].stop)
        thread.join(30)
        loop.close()


def drain(url: str, queue: str, expect: int, timeout: float = 30) -> list[Arrived]:
    """The ``expect`` messages of ``queue`` (decoded and validated against their schema)."""
    out: list[Arrived] = []
    deadline = time.monotonic() + timeout
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        ch = conn.channel()
        while len(out) < expect:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                assert time.monotonic() < deadline, f"{len(out)}/{expect} messages arrived"
                time.sleep(0.05)
                continue
            msg = decode(method.routing_key, body, props)
            out.append(Arrived(method.routing_key, props.headers[SCHEMA_HEADER],
                               dict(props.headers), msg.body, msg))
        assert ch.basic_get(queue, auto_ack=True)[0] is None, "more messages than expected"
    return out


def spooled(spool_dir: Path) -> int:
    return Spool(spool_dir).totals()[0]
