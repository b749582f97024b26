"""The one settings layer: TOML files into frozen, typed attrs classes (via cattrs).

Every component declares its settings as attrs classes whose fields are typed with the
checked types of :mod:`.types`; :func:`.convert.structure` builds them from a decoded TOML
table and turns every problem into one :class:`~fedbus.errors.ConfigError` line naming the
file and the dotted key (:mod:`.errors`).  :mod:`.files` reads the files (TOML, secrets).

This package imports nothing above it (no cli, notifier, mirror).
"""

from __future__ import annotations

from fedbus.settings.convert import structure
from fedbus.settings.files import read_password_file, read_toml
from fedbus.settings.types import (
    Check,
    Invalid,
    Network,
    NonEmpty,
    RelPath,
    Secret,
    above,
    at_least,
    check,
    one_of,
    rule,
    url,
)

__all__ = [
    "Check",
    "Invalid",
    "Network",
    "NonEmpty",
    "RelPath",
    "Secret",
    "above",
    "at_least",
    "check",
    "one_of",
    "read_password_file",
    "read_toml",
    "rule",
    "structure",
    "url",
]
