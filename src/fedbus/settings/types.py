"""Checked types for settings fields, used as ``Annotated[base, check, …]``.

The converter (:mod:`.convert`) first structures the value as ``base`` (strictly: no
coercion but int → float), then applies each :class:`Check` in order.  A failed check is
``expected <what>, got <value>``; a :func:`rule` check's own exception message is used as is.
Cross-field rules live in the classes' ``__attrs_post_init__`` and raise :class:`Invalid`.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import attrs


class Invalid(ValueError):
    """A bad value; ``key`` (dotted, relative to the table being built) when it is not the
    field the converter was structuring."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


@attrs.frozen
class Check:
    """``test(value)`` must be true; else "expected <expected>" (or, with ``expected`` empty,
    the message of the exception ``test`` raises)."""

    test: Callable[[Any], Any]
    expected: str = ""


def check(test: Callable[[Any], Any], expected: str) -> Check:
    return Check(test, expected)


def rule(raising: Callable[[Any], Any]) -> Check:
    """A check that raises itself (e.g. :func:`fedbus.message.topic.validate_pattern`)."""
    return Check(raising)


def at_least(minimum: int) -> Check:
    return Check(lambda v: v >= minimum, f"an integer >= {minimum}")


def above(minimum: float) -> Check:
    return Check(lambda v: v > minimum, f"a number > {minimum:g}")


def one_of(choices: Iterable[str]) -> Check:
    allowed = tuple(choices)
    return Check(lambda v: v in allowed, f"one of {', '.join(allowed)}")


def url(*schemes: str) -> Check:
    def ok(value: str) -> bool:
        parsed = urllib.parse.urlparse(value)
        return parsed.scheme in schemes and bool(parsed.hostname)

    return Check(ok, f"a {' or '.join(s + '://' for s in schemes)} URL")


#: marks a ``Path`` read relative to the settings file's directory
FROM_BASE = "relative to the file's directory"
#: marks a ``str`` holding the *content* of the file its key names (relative to the file's
#: directory); an empty name is no secret ("").  Never put one in a repr (``repr=False``).
SECRET_FILE = "read from the file named"

NonEmpty = Annotated[str, Check(lambda v: bool(v.strip()), "a non-empty string")]
RelPath = Annotated[Path, FROM_BASE]
Secret = Annotated[str, SECRET_FILE]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
