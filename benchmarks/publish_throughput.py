"""(a) Publish throughput with confirms: fedbus Publisher vs raw aio-pika (same window, same
run, alternating rounds) and vs fedora-messaging ``api.publish``.

    python benchmarks/publish_throughput.py [--count 10000] [--window 500] [--rounds 3]
                                            [--fm-count 1000]

Persistent ~400-byte fedora-messaging-format messages to ``amq.topic``, routed to one
durable queue (purged between rounds).  Every publish waits for its confirm.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
_conf = Path(tempfile.mkdtemp()) / "fedora-messaging.toml"
os.environ["FEDORA_MESSAGING_CONF"] = str(_conf)  # before fedora_messaging reads its config

import aio_pika  # noqa: E402
from _common import TOPIC, Vhost, machine, median, write  # noqa: E402

from fedbus.client import Publisher  # noqa: E402
from fedbus.message.envelope import Encoded, encode, new_message  # noqa: E402


def messages(n: int) -> list[Encoded]:
    return [encode(new_message(TOPIC, {"i": i, "repo": "rpms/kernel", "user": "someone",
                                       "rev": "a" * 40}, schema="base.message"))
            for i in range(n)]


async def raw_aio_pika(url: str, msgs: list[Encoded], window: int) -> float:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("amq.topic", ensure=False)
        slots = asyncio.Semaphore(window)

        async def one(e: Encoded) -> None:
            p = e.properties
            async with slots:
                await exchange.publish(
                    aio_pika.Message(e.body, content_type=p.content_type,
                                     content_encoding=p.content_encoding,
                                     delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                     message_id=p.message_id, headers=dict(p.headers)),
                    e.routing_key, mandatory=False)

        start = time.perf_counter()
        await asyncio.gather(*(one(e) for e in msgs))
        return len(msgs) / (time.perf_counter() - start)


async def fedbus_publisher(url: str, msgs: list[Encoded], window: int) -> float:
    async with Publisher(url, window=window) as pub:
        start = time.perf_counter()
        results = await pub.publish_many(msgs)
        rate = len(msgs) / (time.perf_counter() - start)
    assert results == [None] * len(msgs), {type(r) for r in results}
    return rate


async def fedbus_gather(url: str, msgs: list[Encoded], window: int) -> float:
    """One ``await publish()`` coroutine per message, as a simple caller would write it."""
    async with Publisher(url, window=window) as pub:
        start = time.perf_counter()
        await asyncio.gather(*(pub.publish(e) for e in msgs))
        return len(msgs) / (time.perf_counter() - start)


def fedora_messaging_publish(url: str, count: int) -> float:
    _conf.write_text(f'amqp_url = "{url}"\npublish_exchange = "amq.topic"\ntopic_prefix = ""\n'
                     '[client_properties]\napp = "fedbus-benchmark"\n')
    from fedora_messaging import api, config

    config.conf.load_config(str(_conf))

    msgs = [new_message(TOPIC, {"i": i, "repo": "rpms/kernel", "user": "someone",
                                "rev": "a" * 40}, schema="base.message") for i in range(count)]
    api.publish(msgs[0])  # connect outside the timing
    start = time.perf_counter()
    for m in msgs[1:]:
        api.publish(m)
    return (count - 1) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--window", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fm-count", type=int, default=1000)
    args = ap.parse_args()
    info = machine()
    vhost = Vhost()
    try:
        vhost.queue()
        msgs = messages(args.count)
        size = len(msgs[0].body) + sum(len(str(k)) + len(str(v))
                                       for k, v in msgs[0].properties.headers.items())
        raw, ours, each = [], [], []
        for _ in range(args.rounds):
            raw.append(asyncio.run(raw_aio_pika(vhost.url, msgs, args.window)))
            vhost.purge()
            ours.append(asyncio.run(fedbus_publisher(vhost.url, msgs, args.window)))
            vhost.purge()
            each.append(asyncio.run(fedbus_gather(vhost.url, msgs, args.window)))
            vhost.purge()
        fm = fedora_messaging_publish(vhost.url, args.fm_count)
    finally:
        vhost.close()
    r, o, g = median(raw), median(ours), median(each)
    rows = "\n".join(f"| {i + 1} | {a:,.0f} | {b:,.0f} | {b / a:.2f} | {c:,.0f} | {c / a:.2f} |"
                     for i, (a, b, c) in enumerate(zip(raw, ours, each, strict=True)))
    table = [
        "| | msg/s (median) | ratio |",
        "|---|---|---|",
        f"| raw aio-pika 10.2, window {args.window} | {r:,.0f} | 1.00 |",
        f"| **fedbus `Publisher.publish_many`**, window {args.window} | **{o:,.0f}** "
        f"| **{o / r:.2f}x aio-pika** |",
        f"| fedbus `await publish()` x N with `asyncio.gather`, window {args.window} "
        f"| {g:,.0f} | {g / r:.2f}x aio-pika |",
        f"| fedora-messaging 3.9.1 `api.publish` ({args.fm_count:,} messages) | {fm:,.0f} "
        f"| fedbus = **{o / fm:.1f}x** |",
    ]
    body = f"""
{args.count:,} persistent messages per round (body {len(msgs[0].body)} bytes, ~{size} bytes
with headers) to `amq.topic`, routed to one durable queue; every publish confirmed; window
{args.window} messages in flight for both aio-pika and fedbus; rounds alternate.

| round | raw aio-pika (msg/s) | fedbus `publish_many` (msg/s) | ratio | fedbus `publish()` \
x N (msg/s) | ratio |
|---|---|---|---|---|---|
{rows}

{chr(10).join(table)}

Goals: fedbus >= 0.8x raw aio-pika (same window, same run); >= 10x fedora-messaging.
"""
    notes = """fedbus is faster than raw aio-pika because it writes the frames of all messages
published during one event-loop turn in one system call (`fedbus.client.pipeline`), where
aio-pika/aiormq take a lock and wait for the socket to drain after every message.
fedora-messaging waits for each confirm before the next publish (one round trip each)."""
    write("publish_throughput", "Publish throughput with confirms", info, body, notes)


if __name__ == "__main__":
    main()
