"""The command line's parser: every usage error is one line and exit status 2.

``fedbus`` and ``fedbus-wedge`` build their parsers from :class:`OneLineParser`; argparse
makes every subcommand's parser of the same class, so no subcommand can forget it.
"""

from __future__ import annotations

import argparse
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """``fedbus tail: error: … (see fedbus tail --help)`` instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
