"""``fedbus notifier web``: serve the web UI and REST API (gunicorn), manage local accounts.

fedbus notifier web [--bind 127.0.0.1:8080] [--workers 2]   # serve (behind the proxy)
fedbus notifier web --bind 0.0.0.0:8443 --certfile C --keyfile K   # serve over TLS
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
    p.add_argument("--certfile", metavar="FILE",
                   help="serve HTTPS with this PEM certificate (chain); needs --keyfile")
    p.add_argument("--keyfile", metavar="FILE", help="the certificate's PEM private key")
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
    tls = tls_files(getattr(args, "certfile", None), getattr(args, "keyfile", None))
    app = create_app(settings, amqp_config=getattr(args, "config", None))
    if getattr(args, "metrics", None):  # ``fedbus --metrics HOST:PORT notifier web``
        from fedbus import metrics
        from fedbus.notifier.web.metrics import RequestCounts

        counts = RequestCounts()  # shared with the workers gunicorn forks
        metrics.REGISTRY.register(counts)
        app.wsgi_app = counts.wrap(app.wsgi_app)  # type: ignore[assignment]
    serve(app, args.bind, args.workers, tls)
    return 0


def tls_files(certfile: str | None, keyfile: str | None) -> tuple[str, str] | None:
    """(certificate, key) when serving HTTPS; a FedbusError of one line when only one is
    given, a file cannot be read, or the key does not match the certificate."""
    if certfile is None and keyfile is None:
        return None
    if not certfile or not keyfile:
        raise FedbusError("--certfile and --keyfile go together (give both or neither)")
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except OSError as exc:
        where = exc.filename or f"{certfile} or {keyfile}"
        raise FedbusError(f"--certfile/--keyfile: cannot read {where}: {exc.strerror}") from exc
    except ssl.SSLError as exc:
        raise FedbusError(f"--certfile/--keyfile: {certfile}, {keyfile}: {exc.reason}") from exc
    return certfile, keyfile


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


def serve(app: Any, bind: str, workers: int, tls: tuple[str, str] | None = None) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", [bind])
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            self.cfg.set("forwarded_allow_ips", "")  # never believe X-Forwarded-*
            self.cfg.set("graceful_timeout", 10)
            if tls is not None:
                self.cfg.set("certfile", tls[0])
                self.cfg.set("keyfile", tls[1])

        def load(self) -> Any:
            return app

    _App().run()
