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
from fedbus.errors import FedbusError

# Subcommands, in the order ``fedbus --help`` lists them.  A module that is not
# there yet (a component still being built) is skipped.
COMMANDS = ("publish", "tail", "stat", "catalog", "relay", "bridge", "notifier", "mirror", "wedge")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fedbus", description="The Fedora message bus.")
    parser.add_argument("--version", action="version", version=f"fedbus {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="configuration file (default /etc/fedbus/fedbus.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"fedbus.cli.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"fedbus.cli.cmd_{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except FedbusError as exc:
        print(f"fedbus: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
