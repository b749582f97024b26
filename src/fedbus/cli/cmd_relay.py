"""``fedbus relay``: forward the local spool to the broker (the service on each host).

fedbus relay                          # run (URLs, spool, limits from the configuration)
fedbus relay --url amqp://… --spool D # explicit, no configuration file needed
fedbus relay status                   # backlog, oldest message, dead messages
fedbus relay requeue-dead             # put buried messages back after fixing the cause

SIGTERM/SIGINT: stop taking messages from the spool, wait for the confirms of those in
flight, exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
from pathlib import Path
from typing import Any

from fedbus import health
from fedbus.cli.parsing import positive_int
from fedbus.client import Backoff, Publisher, TlsOptions
from fedbus.relay.forwarder import Relay
from fedbus.relay.spool import Spool


def register(subparsers: Any) -> None:
    # fedora-messaging says at INFO that its own config file is absent: not ours to use.
    logging.getLogger("fedora_messaging.config").setLevel(logging.WARNING)
    # aiormq logs each failed connection attempt with a traceback; the relay says the same
    # in one line ("no broker reachable …; retrying in …").
    logging.getLogger("aiormq.connection").setLevel(logging.CRITICAL)
    p = subparsers.add_parser(
        "relay",
        help="forward the local spool to the broker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", action="append", metavar="URL",
                   help="broker URL (repeat for failover; default: amqp.urls of the config)")
    p.add_argument("--spool", metavar="DIR", help="spool directory (default: relay.spool_dir)")
    p.add_argument("--window", type=positive_int, default=500,
                   help="messages in flight (default 500)")
    p.add_argument("--unroutable", choices=("ignore", "dead"), default="ignore",
                   help="what to do with a message no queue is bound for (default ignore)")
    p.add_argument("--max-nacks", type=positive_int, default=5, metavar="N",
                   help="bury a message the broker nacked N times (default 5)")
    p.add_argument("--status-interval", type=float, default=60.0, metavar="SECONDS",
                   help="log the backlog and rate this often (default 60)")
    p.add_argument("action", nargs="?", choices=("run", "status", "requeue-dead"), default="run")
    p.set_defaults(func=run)


def settings(args: argparse.Namespace, *, broker: bool = True) -> dict[str, Any]:
    """URLs, TLS and spool settings: options first, then the configuration file.

    ``broker=False`` (a writer of the spool, e.g. ``fedbus publish`` without ``--direct``):
    no URLs, so the broker password (``amqp.password_file``, which the spool writers may
    not read) is not read.
    """
    from fedbus import config as fconfig

    cfg = fconfig.load(getattr(args, "config", None), missing_ok=True)
    return {
        "urls": (
            list(args.url) if getattr(args, "url", None)
            else list(cfg.amqp.effective_urls()) if broker
            else []
        ),
        "tls": TlsOptions.from_config(cfg.amqp.tls),
        "spool_dir": Path(args.spool) if getattr(args, "spool", None) else cfg.relay.spool_dir,
        "max_bytes": cfg.relay.max_bytes,
        "max_messages": cfg.relay.max_messages,
        "fsync": cfg.relay.fsync,
    }


def run(args: argparse.Namespace) -> int:
    s = settings(args, broker=args.action == "run")
    spool = Spool(s["spool_dir"], max_bytes=s["max_bytes"], max_messages=s["max_messages"],
                  fsync=s["fsync"], reader=True)
    if args.action == "status":
        st = spool.stats()
        print(f"spool {spool.directory}: {st.count} messages ({st.bytes} bytes), "
              f"oldest {st.oldest_age:.0f}s, dead {st.dead}")
        return 0
    if args.action == "requeue-dead":
        print(f"requeued {spool.requeue_dead()} messages")
        return 0
    # Backoff capped at 10 s: after an outage the relay is back within seconds.
    publisher = Publisher(s["urls"], tls=s["tls"], window=args.window, retry_timeout=None,
                          backoff=Backoff(0.5, 10.0),
                          name=health.RELAY_PREFIX + socket.gethostname())
    relay = Relay(spool, publisher, window=args.window, on_unroutable=args.unroutable,
                  status_interval=args.status_interval, max_nacks=args.max_nacks)
    if args.metrics:  # ``fedbus --metrics HOST:PORT relay``
        from fedbus import metrics
        from fedbus.relay.metrics import RelayCollector

        metrics.REGISTRY.register(RelayCollector(relay))
    asyncio.run(_serve(relay))
    return 0


async def _serve(relay: Relay) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, relay.stop)
    await relay.run()
