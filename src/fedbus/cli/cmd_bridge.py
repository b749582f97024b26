"""``fedbus bridge``: republish the broker's events (connections, authentication failures,
queues) on the bus as ``<topic_prefix>.bus.<event>`` messages.

    fedbus bridge                              # from the configuration file
    fedbus bridge --url amqp://u:p@h/%2Fstg    # publish there instead
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from fedbus import config
from fedbus.bridge.events import Translator
from fedbus.bridge.service import Bridge, connection_name
from fedbus.client.blocking import pika_parameters, quiet_pika


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bridge",
        help="bridge broker events onto the bus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--url",
        action="append",
        metavar="URL",
        help="AMQP URL to publish to (repeatable, failover order; default: [amqp])",
    )
    p.add_argument(
        "--events-url",
        action="append",
        metavar="URL",
        help="AMQP URL of the vhost holding amq.rabbitmq.event "
        "(default: the publish URLs with --events-vhost)",
    )
    p.add_argument(
        "--events-vhost",
        default="/",
        metavar="VHOST",
        help="vhost of the event exchange (rabbitmq_event_exchange.vhost; default /)",
    )
    p.add_argument(
        "--only-vhost",
        action="append",
        metavar="VHOST",
        help="bridge only events about this vhost (repeatable)",
    )
    p.add_argument(
        "--queue",
        default="fedbus.bridge",
        help='the bridge\'s queue (durable, bounded); "" for an exclusive one',
    )
    p.set_defaults(func=run)


def build(args: argparse.Namespace, cfg: config.Config) -> Bridge:
    name = connection_name()
    amqp = cfg.amqp
    target_urls = tuple(args.url) if args.url else amqp.effective_urls()
    source_urls = (
        tuple(args.events_url)
        if args.events_url
        else tuple(config.with_vhost(u, args.events_vhost) for u in target_urls)
    )
    translator = Translator(
        topic_prefix=cfg.topic_prefix,
        management_url=cfg.management.url,
        only_vhosts=frozenset(args.only_vhost) if args.only_vhost else None,
    )
    return Bridge(
        translator,
        pika_parameters(amqp, source_urls, name),
        pika_parameters(amqp, target_urls, name),
        queue=args.queue,
    )


def run(args: argparse.Namespace) -> int:
    cfg = config.load(args.config, missing_ok=bool(args.url))
    quiet_pika(args.verbose)
    bridge = build(args, cfg)
    if args.metrics:  # ``fedbus --metrics HOST:PORT bridge``
        from fedbus import metrics
        from fedbus.bridge.metrics import BridgeCollector

        metrics.REGISTRY.register(BridgeCollector(bridge))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        bridge.serve(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0
