"""``fedbus wedge``: the services' extension points that are programs.

fedbus wedge git-post-receive           # hooks/post-receive of a bare repository
fedbus wedge pungi-notify ACTION        # Pungi's notification_script (JSON on stdin)
fedbus wedge zabbix-alert name=value…   # Zabbix script media type
fedbus wedge webhook --listen H:P --tokens FILE   # JSON webhook endpoint (Bodhi, PkgDB…)
fedbus wedge netapp-watch --url https://filer …  # SnapMirror watcher (ONTAP REST API)
fedbus wedge bugzilla-poll --url https://bz --product Fedora  # poller fallback

Each spools its messages for the local relay (``--spool`` or the configuration's
``relay.spool_dir``) and returns at once, broker up or down.  Bad input: one line on stderr
and exit 1.  (The Koji wedge is a hub plugin: :mod:`fedbus.wedges.koji_plugin`.)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from typing import Any

from fedbus.cli.parsing import address, positive_float, positive_int
from fedbus.errors import ConfigError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("wedge", help="service extension points (git, Pungi, Zabbix, "
                              "webhook)", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spool", metavar="DIR", help="spool directory (default: relay.spool_dir)")
    p.add_argument("--config", dest="wedge_config", metavar="FILE", help=argparse.SUPPRESS)
    p.add_argument("--metrics", dest="wedge_metrics", type=address, metavar="HOST:PORT",
                   help="webhook, netapp-watch, bugzilla-poll: serve Prometheus metrics on "
                        "http://HOST:PORT/metrics (as fedbus --metrics)")
    sub = p.add_subparsers(dest="wedge", metavar="WEDGE", required=True)
    g = sub.add_parser("git-post-receive", help="git post-receive hook (stdin: old new ref)")
    g.add_argument("--git-dir", help="the repository (default: $GIT_DIR or .)")
    n = sub.add_parser("pungi-notify", help="Pungi notification_script")
    n.add_argument("action", nargs=argparse.REMAINDER, help="Pungi's action")
    z = sub.add_parser("zabbix-alert", help="Zabbix alert script")
    z.add_argument("params", nargs=argparse.REMAINDER, help="name=value parameters")
    w = sub.add_parser("webhook", help="authenticated JSON webhook endpoint")
    w.add_argument("--listen", default="127.0.0.1:8095", help="HOST:PORT (default %(default)s)")
    w.add_argument("--tokens", default="/etc/fedbus/webhook-tokens.toml",
                   help="TOML file of service = \"token\" (default %(default)s)")
    w.add_argument("--request-timeout", type=positive_float, default=10.0, metavar="S",
                   help="seconds a client has to send its whole request (default %(default)s)")
    w.add_argument("--max-connections", type=positive_int, default=64, metavar="N",
                   help="connections served at once, more get 503 (default %(default)s)")
    w.add_argument("--bugzilla-product", action="append", metavar="PRODUCT",
                   help="Bugzilla product published from /hook/bugzilla (repeat; default: "
                   "Fedora, Fedora EPEL)")
    w.add_argument("--bugzilla-users", metavar="FILE",
                   help="TOML file of \"e-mail\" = \"FAS name\" for Bugzilla's people "
                   "(default: none; addresses not in it give no name)")
    a = sub.add_parser("netapp-watch", help="NetApp SnapMirror watcher (ONTAP REST API)")
    a.add_argument("--url", required=True, help="the cluster's management URL")
    a.add_argument("--user", help="ONTAP user (HTTP basic auth)")
    a.add_argument("--password-file", help="file holding the ONTAP user's password")
    a.add_argument("--host", help="filer name put in the messages (default: from --url)")
    a.add_argument("--ca", help="CA bundle for the cluster's certificate")
    a.add_argument("--max-lag", type=float, default=3600.0,
                   help="lag (seconds) beyond which a relationship is out of sync")
    a.add_argument("--interval", type=positive_float, default=30.0, help="seconds between polls")
    a.add_argument("--volume", action="append", default=[], metavar="DEST=NAME",
                   help="tree name of a destination path (svm:volume=fedora-pub)")
    a.add_argument("--once", action="store_true", help="poll once and exit")
    b = sub.add_parser("bugzilla-poll", help="Bugzilla poller (fallback for its webhooks)")
    b.add_argument("--url", required=True, help="Bugzilla's URL (https://bugzilla.example.org)")
    b.add_argument("--api-key-file", help="file holding a Bugzilla API key")
    b.add_argument("--product", action="append", required=True, help="product to watch")
    b.add_argument("--users", metavar="FILE",
                   help="TOML file of \"e-mail\" = \"FAS name\" (default: none; addresses "
                   "not in it give no name)")
    b.add_argument("--interval", type=positive_float, default=60.0,
                   help="seconds between polls")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fedbus.wedges.base import Sink, setup_script_logging

    name = f"fedbus-{args.wedge}"
    if args.wedge != "webhook":
        setup_script_logging(name)
    else:
        logging.getLogger("fedora_messaging").setLevel(logging.WARNING)
    try:
        config = getattr(args, "wedge_config", None) or getattr(args, "config", None)
        target = Sink.load(config, args.spool)
    except ConfigError as exc:
        logging.getLogger(name).error("fedbus: %s", exc)
        return 1
    if args.wedge == "git-post-receive":
        from fedbus.wedges.git_hook import post_receive

        git_dir = args.git_dir or os.environ.get("GIT_DIR") or "."
        code, _ = post_receive(sys.stdin.read(), git_dir, target)
        return code
    if args.wedge == "pungi-notify":
        from fedbus.wedges.pungi import notify

        return notify(list(args.action), sys.stdin.read(), target)
    if args.wedge == "zabbix-alert":
        from fedbus.wedges.zabbix import alert

        return alert(list(args.params), target)
    if getattr(args, "wedge_metrics", None):  # ``fedbus-wedge --metrics HOST:PORT webhook``
        from fedbus import metrics

        metrics.serve(args.wedge_metrics)
    if args.wedge == "netapp-watch":
        return _netapp(args, target)
    if args.wedge == "bugzilla-poll":
        return _bugzilla(args, target)
    return _webhook(args, target)


def _netapp(args: argparse.Namespace, target: Any) -> int:
    import urllib.parse
    from pathlib import Path

    from fedbus.wedges.netapp import Watcher

    auth = None
    if args.user:
        if not args.password_file:
            raise ConfigError("--user needs --password-file")
        try:
            auth = (args.user, Path(args.password_file).read_text().strip())
        except OSError as exc:
            raise ConfigError(f"{args.password_file}: cannot read: {exc.strerror}") from exc
    volumes = dict(v.split("=", 1) for v in args.volume if "=" in v)
    watcher = Watcher(args.url, args.host or urllib.parse.urlparse(args.url).hostname or "?",
                      target, auth=auth, max_lag=args.max_lag, verify=args.ca or True,
                      volumes=volumes)
    if args.once:
        watcher.poll_once()
        return 0
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        watcher.run(args.interval)
    return 0


def _webhook(args: argparse.Namespace, target: Any) -> int:
    from fedbus.wedges.bugzilla import DEFAULT_PRODUCTS, Policy, load_users
    from fedbus.wedges.webhook import WebhookServer, load_tokens

    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--listen {args.listen!r}: expected HOST:PORT")
    policy = Policy(tuple(args.bugzilla_product or DEFAULT_PRODUCTS),
                    load_users(args.bugzilla_users) if args.bugzilla_users else {})
    server = WebhookServer((host, int(port)), load_tokens(args.tokens), target,
                           bugzilla=policy, request_timeout=args.request_timeout,
                           max_connections=args.max_connections)
    logging.getLogger("fedbus.wedges.webhook").info(
        "webhook listening on %s:%d for %s", host, server.server_address[1],
        ", ".join(sorted(server.tokens)))
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


def _bugzilla(args: argparse.Namespace, target: Any) -> int:
    import time
    from pathlib import Path

    import bugzilla

    from fedbus.wedges.base import one_line
    from fedbus.wedges.bugzilla import Policy, load_users
    from fedbus.wedges.bugzilla_poll import Poller

    key = None
    if args.api_key_file:
        try:
            key = Path(args.api_key_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{args.api_key_file}: cannot read: {exc.strerror}") from exc
    users = load_users(args.users) if args.users else {}
    Policy(tuple(args.product), users)  # a bad product fails here, before connecting
    log = logging.getLogger("fedbus.wedges.bugzilla")
    poller = None
    while poller is None:
        try:
            bz = bugzilla.Bugzilla(f"{args.url.rstrip('/')}/rest", api_key=key,
                                   force_rest=True, use_creds=False)
            poller = Poller(bz, list(args.product), target, args.url.rstrip("/"), users=users)
        except Exception as exc:  # Bugzilla unreachable: try again later
            log.error("bugzilla: cannot connect to %s: %s", args.url, one_line(exc))
            time.sleep(args.interval)
    while True:
        poller.poll_once()
        time.sleep(args.interval)


def main(argv: list[str] | None = None) -> int:
    """``fedbus-wedge WEDGE …`` = ``fedbus wedge WEDGE …`` without importing the rest of
    the CLI (Flask, SQLAlchemy, aio-pika…): what hooks and scripts run, started in a
    fraction of the time (see benchmarks/results/wedge_push.md)."""
    from fedbus.cli.parsing import OneLineParser
    from fedbus.errors import FedbusError

    parser = OneLineParser(prog="fedbus")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["wedge", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except FedbusError as exc:
        print(f"fedbus-wedge: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
