"""(b) Local ``fedbus.relay.publish()`` latency with the broker up and down, and the relay's
drain rate after an outage.

    python benchmarks/relay_latency.py [--count 20000] [--fsync-count 3000]

A real ``fedbus relay`` process forwards the spool to the broker through a small TCP proxy
in this script; "broker down" closes the proxy (connections cut, connects refused) exactly
as an unreachable broker looks to the relay, then reopens it.  Latency is measured around
each ``publish()`` call (validation + encoding included) while the relay drains the same
spool concurrently.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TOPIC, Vhost, machine, percentile, write

from fedbus.message.envelope import encode, new_message
from fedbus.relay import Spool, publish


class Proxy:
    """TCP proxy 127.0.0.1:<port> -> broker, which can be taken down and up again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            br, bw = await asyncio.open_connection(*self.target)
        except OSError:
            w.close()
            return
        self.writers |= {w, bw}
        await asyncio.gather(self._pipe(r, bw), self._pipe(br, w))

    async def _up(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _down(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.writers):
            w.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()

    def up(self) -> None:
        self._call(self._up())

    def down(self) -> None:
        self._call(self._down())


def timed_publishes(spool: Path, count: int, fsync: bool, validate: bool = False,
                    rate: float = 0.0) -> list[float]:
    """``publish()`` of pre-encoded messages (the spool write), or of Message objects
    (``validate``: envelope.encode's topic and JSON-schema validation included)."""
    msgs: list = [new_message(TOPIC, {"i": i, "repo": "rpms/kernel", "rev": "a" * 40},
                              schema="base.message") for i in range(count)]
    if not validate:
        msgs = [encode(m) for m in msgs]
    publish(msgs[0], spool_dir=spool, fsync=fsync)  # open the spool outside the timing
    out = []
    start = time.perf_counter()
    for n, m in enumerate(msgs[1:]):
        if rate:  # paced: the n-th message goes at start + n / rate
            pause = start + n / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        t = time.perf_counter_ns()
        publish(m, spool_dir=spool, fsync=fsync)
        out.append((time.perf_counter_ns() - t) / 1000.0)
    return out


def row(label: str, lat: list[float]) -> str:
    return (f"| {label} | {len(lat):,} | {percentile(lat, 50):.0f} | {percentile(lat, 90):.0f} "
            f"| {percentile(lat, 99):.0f} | {percentile(lat, 99.9):.0f} | {max(lat):.0f} |")


def wait_empty(spool: Path, timeout: float) -> float:
    start = time.monotonic()
    s = Spool(spool)
    while s.totals()[0]:
        if time.monotonic() - start > timeout:
            raise SystemExit(f"spool not drained after {timeout}s")
        time.sleep(0.02)
    return time.monotonic() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--fsync-count", type=int, default=3000)
    ap.add_argument("--paced-count", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=1000.0, help="msg/s of the paced case")
    ap.add_argument("--relay-nice", type=int, default=10,
                    help="niceness of the relay process (docs/relay.md recommends Nice=10)")
    args = ap.parse_args()
    info = machine()
    vhost = Vhost()
    tmp = Path(tempfile.mkdtemp(prefix="fedbus-bench-"))
    spool = tmp / "spool"
    parts = urllib.parse.urlsplit(vhost.url)
    proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 5672))
    proxy.up()
    proxied = urllib.parse.urlunsplit(parts._replace(
        netloc=f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"))
    log = tmp / "relay.log"
    relay = subprocess.Popen(
        ["nice", "-n", str(args.relay_nice), sys.executable, "-m", "fedbus.cli.main", "relay",
         "--url", proxied,
         "--spool", str(spool), "--status-interval", "5"],
        env={**os.environ, "FEDBUS_CONFIG": ""}, stderr=open(log, "wb"),  # noqa: SIM115
    )
    try:
        vhost.queue()
        time.sleep(2)
        up = timed_publishes(spool, args.count, fsync=False)
        wait_empty(spool, 120)
        paced = timed_publishes(spool, args.paced_count, fsync=False, rate=args.rate)
        wait_empty(spool, 120)
        up_fsync = timed_publishes(spool, args.fsync_count, fsync=True)
        wait_empty(spool, 120)
        up_validate = timed_publishes(spool, args.fsync_count, fsync=False, validate=True)
        wait_empty(spool, 120)
        proxy.down()
        time.sleep(1)
        down = timed_publishes(spool, args.count, fsync=False)
        backlog = Spool(spool).totals()[0]
        time.sleep(2)
        proxy.up()
        outage_to_empty = wait_empty(spool, 300)
        depth = vhost.depth()
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(60)
        vhost.close()
    text = log.read_text()
    published = args.count * 2 + args.fsync_count * 2 + args.paced_count
    drained = re.findall(r"backlog drained: (\d+) messages in ([\d.]+)s \((\d+) msg/s\)", text)
    n, secs, rate = drained[-1]
    body = f"""
`fedbus.relay.publish()` latency in microseconds, measured in one process while a
`fedbus relay` process (run with `nice -n {args.relay_nice}`) drains the same spool.
"Flat out" publishes in a tight loop, so the writer, the relay and RabbitMQ compete for the
2 cores; "paced" is a busy service host's rate.  "spool write" = `publish(encoded)`: the
SQLite append, what a wedge pays once its message is built; the last row is
`publish(message)` with a `Message` object, which adds `envelope.encode()` (topic check and
the fedora-messaging JSON-schema validation) before the append:

| case | messages | p50 | p90 | p99 | p99.9 | max |
|---|---|---|---|---|---|---|
{row("spool write, broker up, fsync off (synchronous=NORMAL), flat out", up)}
{row(f"spool write, broker up, fsync off, paced at {args.rate:,.0f} msg/s", paced)}
{row("spool write, broker up, fsync on (synchronous=FULL)", up_fsync)}
{row("spool write, broker down, fsync off", down)}
{row("publish(Message) incl. validation, broker up, fsync off", up_validate)}

Goal: p99 < 1000 µs for the spool write (fsync off).  The validation in the last row is
`fedora_messaging.Message.validate()`, which runs `jsonschema.validate` and so re-checks the
schema itself against its meta-schema on every call (about 80 % of its cost in a profile);
a validator cached per schema would remove most of it.

Drain after the outage: backlog {backlog:,} messages; the relay reported
**{int(n):,} messages in {float(secs):.2f} s = {int(rate):,} msg/s** from reconnection to an
empty spool.  From the broker coming back to an empty spool (reconnection backoff included):
{outage_to_empty:.1f} s.  Messages in the queue at the end: {depth:,} (of {published:,}
published; more would mean resends after lost confirms).
"""
    notes = "Relay log lines of the run:\n\n```\n" + "\n".join(
        line for line in text.splitlines()
        if "fedbus" in line and not line.startswith(" ")) + "\n```\n"
    write("relay_latency", "Relay: local publish latency and drain rate", info, body, notes)


if __name__ == "__main__":
    main()
