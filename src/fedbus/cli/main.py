"""Entry point of the ``fedbus`` command.

Each subcommand lives in its own module ``fedbus.cli.cmd_<name>`` that defines
``register(subparsers)``; ``register`` adds a parser and sets ``func`` on it with
``parser.set_defaults(func=run)`` where ``run(args) -> int`` returns the exit code.

Errors a user can hit are raised as :class:`fedbus.errors.FedbusError` and printed
as one line on stderr (exit 1); usage errors exit 2 (argparse).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from fedbus import __version__
from fedbus.cli.parsing import OneLineParser, address
from fedbus.errors import FedbusError

# Subcommands, in the order ``fedbus --help`` lists them.  A subcommand whose module
# is missing from the installed package is skipped.
COMMANDS = (
    "publish", "tail", "stat", "freshness", "dlq", "catalog", "relay", "bridge", "notifier",
    "mirror", "wedge",
)


def commands_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The subcommand modules to import for ``argv``: only the one it names, so that
    ``fedbus publish`` (run by service hooks) does not import the notifier's web and
    database stack; every one for ``--help``, no command or an unknown one."""
    words = iter(argv)
    for word in words:
        if word in ("-c", "--config"):
            next(words, None)
        elif not word.startswith("-"):
            return (word,) if word in COMMANDS else COMMANDS
    return COMMANDS


def build_parser(commands: Sequence[str] = COMMANDS) -> argparse.ArgumentParser:
    parser = OneLineParser(prog="fedbus", description="The Fedora message bus.")
    parser.add_argument("--version", action="version", version=f"fedbus {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="configuration file (default /etc/fedbus/fedbus.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--metrics",
        type=address,
        metavar="HOST:PORT",
        help="serve the service's Prometheus metrics on http://HOST:PORT/metrics",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in commands:
        try:
            module = importlib.import_module(f"fedbus.cli.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"fedbus.cli.cmd_{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(commands_for(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.metrics:
            from fedbus import metrics  # only the services pay for prometheus-client

            metrics.serve(args.metrics)
        return int(args.func(args) or 0)
    except FedbusError as exc:
        print(f"fedbus: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
