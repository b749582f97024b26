"""``fedbus notifier web``: serve the web UI and REST API (gunicorn), manage local accounts.

fedbus notifier web [--bind 127.0.0.1:8080] [--workers 2]   # serve (behind the proxy)
fedbus notifier web adduser NAME < password                 # local account (local, publictest)

Settings: the ``[web]`` table of notifier.toml (see fedbus.notifier.web.settings).  The
database must be migrated first (``fedbus notifier migrate``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fedbus.errors import FedbusError


def register_web(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "web",
        help="serve the web UI and REST API",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--bind", default="127.0.0.1:8080", help="address:port (default %(default)s)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument("action", nargs="?", choices=("serve", "adduser"), default="serve")
    p.add_argument("name", nargs="?", help="adduser: the account name")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fedbus.notifier.web import create_app
    from fedbus.notifier.web import settings as web_settings

    settings = web_settings.load(getattr(args, "settings", None))
    if args.action == "adduser":
        return adduser(settings, args.name)
    if args.workers < 1:
        raise FedbusError("--workers must be at least 1")
    app = create_app(settings, amqp_config=getattr(args, "config", None))
    serve(app, args.bind, args.workers)
    return 0


def adduser(settings: Any, name: str | None) -> int:
    from fedbus.notifier.store import Store
    from fedbus.notifier.web.accounts import Accounts
    from fedbus.notifier.web.auth import valid_username

    if not name or not valid_username(name):
        raise FedbusError(f"adduser: {name!r} is not an account name (lowercase, digits, _ . -)")
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise FedbusError("adduser: give a password of at least 8 characters on stdin")
    created = Accounts(Store.open(settings.database_url).engine).set_password(name, password)
    print(f"account {name} {'created' if created else 'updated'}")
    return 0


def serve(app: Any, bind: str, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", [bind])
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            self.cfg.set("forwarded_allow_ips", "")  # never believe X-Forwarded-*
            self.cfg.set("graceful_timeout", 10)

        def load(self) -> Any:
            return app

    _App().run()
