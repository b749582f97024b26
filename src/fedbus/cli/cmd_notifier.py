"""``fedbus notifier``: the notification server's processes.

fedbus notifier migrate [--database URL]      # create/upgrade the database (Alembic)
fedbus notifier worker                        # match bus messages, queue notification jobs
fedbus notifier sender --type email|irc       # deliver the jobs of one destination type
fedbus notifier digest [--once]               # send due hourly/daily digests
fedbus notifier web …                         # the web UI and REST API (fedbus.notifier.web)

Settings: /etc/fedbus/notifier.toml (``--settings FILE`` or $FEDBUS_NOTIFIER_CONFIG, see
fedbus.notifier.settings); the broker and the topic prefix come from fedbus.toml (``-c``).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from fedbus.cli.parsing import positive_float, positive_int
from fedbus.notifier import settings as notifier_settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "notifier",
        help="the notification server (worker, senders, digests, migrations, web)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--settings", metavar="FILE", help="notifier settings (notifier.toml)")
    sub = p.add_subparsers(dest="notifier_command", metavar="SUBCOMMAND", required=True)

    m = sub.add_parser("migrate", help="create or upgrade the database schema")
    m.add_argument("--database", metavar="URL", help="database URL (default: from settings)")
    m.add_argument("--revision", default="head", help="target revision (default head)")
    m.set_defaults(func=run_migrate)

    w = sub.add_parser("worker", help="match bus messages against preferences (one of many)")
    w.add_argument(
        "--concurrency",
        type=positive_int,
        default=8,
        help="messages handled at once (their job publishes overlap; default 8)",
    )
    w.set_defaults(func=_lazy("fedbus.notifier.worker", "run_cli"))

    s = sub.add_parser("sender", help="deliver notification jobs of one destination type")
    s.add_argument("--type", required=True, choices=("email", "irc"), dest="kind")
    s.set_defaults(func=_lazy("fedbus.notifier.senders.service", "run_cli"))

    d = sub.add_parser("digest", help="collect digest items and send due digests")
    d.add_argument("--once", action="store_true", help="send what is due now, then exit")
    d.add_argument("--interval", type=positive_float, default=60.0, help="seconds between checks")
    d.set_defaults(func=_lazy("fedbus.notifier.digest", "run_cli"))

    try:
        web = importlib.import_module("fedbus.notifier.web.cli")
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("fedbus.notifier.web"):
            raise
    else:
        web.register_web(sub)


def _lazy(module: str, name: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        return int(getattr(importlib.import_module(module), name)(args) or 0)

    return run


def run_migrate(args: argparse.Namespace) -> int:
    import logging

    from fedbus.notifier.migrate import upgrade

    if not getattr(args, "verbose", False):
        logging.getLogger("alembic").setLevel(logging.WARNING)
    url = args.database or notifier_settings.load_settings(args).database_url
    try:
        revision = upgrade(url, args.revision)
    except Exception as exc:  # the driver's own error, on one line
        from fedbus.errors import FedbusError

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FedbusError(f"migrate: {first}") from exc
    print(f"database at revision {revision}")
    return 0
