"""``fedbus mirror``: the triggered mirror agent (master, tier-1 or tier-2).

fedbus mirror                               # run, settings from /etc/fedbus/mirror.toml
fedbus mirror --mirror-config FILE          # another settings file
fedbus mirror --url amqp://… --spool DIR    # broker and relay spool without fedbus.toml

Broker URLs, TLS, topic prefix and the relay spool come from fedbus.toml (-c); what to mirror
from mirror.toml (see docs/mirroring.md).  SIGTERM/SIGINT: abort a running pull (rsync's
--delay-updates leaves the tree as it was), exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any


def register(subparsers: Any) -> None:
    logging.getLogger("fedora_messaging.config").setLevel(logging.WARNING)
    logging.getLogger("aiormq.connection").setLevel(logging.CRITICAL)
    p = subparsers.add_parser(
        "mirror",
        help="run a triggered mirror agent (master, tier1, tier2)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--mirror-config", metavar="FILE",
                   help="mirror settings (default /etc/fedbus/mirror.toml)")
    p.add_argument("--url", action="append", metavar="URL",
                   help="broker URL (repeat for failover; default: amqp.urls of the config)")
    p.add_argument("--spool", metavar="DIR", help="relay spool (default: relay.spool_dir)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fedbus import config as fconfig
    from fedbus.cli.cmd_relay import settings
    from fedbus.mirror import settings as msettings
    from fedbus.mirror.agent import Agent, serve

    mirror = msettings.load(args.mirror_config)
    s = settings(args)
    cfg = fconfig.load(getattr(args, "config", None), missing_ok=True)
    agent = Agent(mirror, topic_prefix=cfg.topic_prefix, urls=s["urls"], tls=s["tls"],
                  spool_dir=str(s["spool_dir"]))
    asyncio.run(serve(agent))
    return 0
