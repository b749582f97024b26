"""The command line's parser: every usage error is one line and exit status 2.

``fedbus`` and ``fedbus-wedge`` build their parsers from :class:`OneLineParser`; argparse
makes every subcommand's parser of the same class, so no subcommand can forget it.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """``fedbus tail: error: … (see fedbus tail --help)`` instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) → (host, port); argparse type."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        number = int(port)
        if host:
            ipaddress.ip_address(host)
    except ValueError:
        number = -1
    if not sep or not host or not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (an IP address), got {text!r}")
    return host, number


def positive_int(text: str) -> int:
    """A whole number >= 1 (counts, limits, thresholds); argparse type."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (seconds: intervals, timeouts); argparse type."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value
