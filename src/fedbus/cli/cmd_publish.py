"""``fedbus publish``: publish one message (for shell hooks and scripts).

fedbus publish TOPIC --json '{"k": "v"}'      # body as an argument
fedbus publish TOPIC --file body.json         # body from a file
echo '{"k": "v"}' | fedbus publish TOPIC      # body on stdin
  --schema NAME     schema (default: the catalog's schema for TOPIC)
  --severity N      10 debug, 20 info (default), 30 warning, 40 error
  --direct          straight to the broker, waiting for its confirm (default: through the
                    local relay's spool: returns at once, works while the broker is down)

Prints the message id.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from fedbus.errors import ValidationError
from fedbus.message.envelope import encode, loads_json, new_message


def register(subparsers: Any) -> None:
    # fedora-messaging says at INFO that its own config file is absent: not ours to use.
    logging.getLogger("fedora_messaging.config").setLevel(logging.WARNING)
    p = subparsers.add_parser(
        "publish",
        help="publish one message (through the local relay, or --direct)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("topic", help="full topic, e.g. org.fedoraproject.prod.git.receive")
    body = p.add_mutually_exclusive_group()
    body.add_argument("--json", metavar="BODY", help="the body, a JSON object")
    body.add_argument("--file", metavar="FILE", help="read the body from FILE ('-' = stdin)")
    p.add_argument("--schema", help="schema name (default: the catalog's for the topic)")
    p.add_argument("--severity", type=int, default=20, choices=(10, 20, 30, 40))
    p.add_argument("--direct", action="store_true", help="publish to the broker with confirms")
    p.add_argument("--mandatory", action="store_true",
                   help="with --direct: fail if no queue is bound for the topic")
    p.add_argument("--url", action="append", metavar="URL", help="broker URL (with --direct)")
    p.add_argument("--spool", metavar="DIR", help="spool directory (default: relay.spool_dir)")
    p.set_defaults(func=run)


def read_body(args: argparse.Namespace) -> dict[str, Any]:
    if args.json is not None:
        text, where = args.json, "--json"
    elif args.file and args.file != "-":
        try:
            text, where = Path(args.file).read_text(encoding="utf-8"), args.file
        except OSError as exc:
            raise ValidationError(f"{args.file}: cannot read: {exc.strerror}") from exc
    else:
        text, where = sys.stdin.read(), "stdin"
    body = loads_json(text, where)  # strict: no NaN, duplicate keys; one-line error
    if not isinstance(body, dict):
        raise ValidationError(f"{where}: the body must be a JSON object")
    return body


def run(args: argparse.Namespace) -> int:
    from fedbus.cli.cmd_relay import settings

    message = new_message(args.topic, read_body(args), schema=args.schema,
                          severity=args.severity)
    encoded = encode(message)
    s = settings(args, broker=args.direct)
    if args.direct:
        from fedbus.client import SyncPublisher

        with SyncPublisher(s["urls"], tls=s["tls"], retry_timeout=30.0, window=1) as pub:
            pub.publish(encoded, mandatory=args.mandatory)
    else:
        from fedbus.relay.api import publish

        publish(encoded, spool_dir=s["spool_dir"], fsync=s["fsync"],
                max_bytes=s["max_bytes"], max_messages=s["max_messages"])
    print(encoded.properties.message_id)
    return 0
