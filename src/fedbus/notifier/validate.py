"""Validation of preference values: one-line :class:`InvalidPreference` errors naming the
field, fit for a form or a 400 answer.  Used by :mod:`fedbus.notifier.store`."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence

from fedbus.errors import FedbusError
from fedbus.message.topic import validate_pattern
from fedbus.notifier.models import DELIVERY_MODES, DESTINATION_KINDS, RULE_KINDS, SEVERITIES


class InvalidPreference(FedbusError):
    """A preference value that cannot be stored (the message says which and why)."""


NAME_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$", re.IGNORECASE)
EMAIL_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
NICK_RE = re.compile(r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}$")
CHANNEL_RE = re.compile(r"^#[^\s,:\x07]{1,49}$")
PACKAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$")
TOKEN_TTL = dt.timedelta(days=2)


def text_ok(value: str, limit: int = 255) -> bool:
    """Text the database can store: not too long, no NUL, valid UTF-8 (no lone surrogate,
    which JSON's ``\\ud800`` gives); PostgreSQL refuses the others (a 500)."""
    if len(value) > limit or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def check_text(value: str, what: str, limit: int = 255) -> str:
    """``value`` if :func:`text_ok`, else :class:`InvalidPreference` naming ``what``."""
    if not text_ok(value, limit):
        raise InvalidPreference(f"{what}: at most {limit} characters, no NUL, valid Unicode")
    return value


def severity_name(level: int) -> str:
    for name, value in SEVERITIES.items():
        if value == level:
            return name
    return "debug" if level <= 10 else "info"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_user_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidPreference(f"user name {name!r}: letters, digits, _ . - (at most 64)")
    return name


def check_severity(value: str | int | None) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int):
        if value < 0:
            raise InvalidPreference(f"min_severity {value}: must be >= 0")
        return value
    level = SEVERITIES.get(str(value).lower())
    if level is None:
        raise InvalidPreference(f"min_severity {value!r}: one of {', '.join(SEVERITIES)}")
    return level


def check_globs(values: Sequence[str] | None, what: str) -> list[str]:
    out: list[str] = []
    for v in values or ():
        if not isinstance(v, str) or not v.strip():
            raise InvalidPreference(f"{what}: {v!r} is not a non-empty string")
        check_text(v, what)
        try:
            validate_pattern(v.strip())
        except Exception as exc:
            raise InvalidPreference(f"{what}: {v!r}: {exc}") from exc
        out.append(v.strip())
    return out


def check_services(values: Sequence[str] | None) -> list[str]:
    out = []
    for v in values or ():
        if not isinstance(v, str) or not re.match(r"^[a-z0-9_-]+$", v):
            raise InvalidPreference(f"exclude_services: {v!r} is not a service name")
        out.append(v)
    return out


def check_rule_value(kind: str, value: str) -> str:
    if kind not in RULE_KINDS:
        raise InvalidPreference(f"rule kind {kind!r}: one of {', '.join(RULE_KINDS)}")
    value = check_text((value or "").strip(), "value")
    if kind in ("owned_packages", "my_events"):
        return ""
    if not value:
        raise InvalidPreference(f"rule kind {kind!r} needs a value")
    if kind == "topic":
        check_globs([value], "topic")
    elif kind == "service" and not re.match(r"^[a-z0-9_-]+$", value):
        raise InvalidPreference(f"service {value!r}: lower-case letters, digits, _ -")
    elif kind == "package" and not PACKAGE_RE.match(value):
        raise InvalidPreference(f"package {value!r} is not a package name")
    elif kind == "user":
        check_user_name(value)
    return value


def check_address(kind: str, address: str) -> str:
    if kind not in DESTINATION_KINDS:
        raise InvalidPreference(f"destination kind {kind!r}: one of {', '.join(DESTINATION_KINDS)}")
    address = check_text((address or "").strip(), "address", 254)
    if any(ord(c) < 32 or ord(c) == 127 for c in address):
        raise InvalidPreference(f"address {address!r}: control characters are not allowed")
    if kind == "email" and not EMAIL_RE.match(address):
        raise InvalidPreference(f"email address {address!r} is not valid")
    if kind == "irc" and not (NICK_RE.match(address) or CHANNEL_RE.match(address)):
        raise InvalidPreference(f"IRC nick or #channel {address!r} is not valid")
    return address


def check_delivery(mode: str, cap: int) -> tuple[str, int]:
    if mode not in DELIVERY_MODES:
        raise InvalidPreference(f"delivery {mode!r}: one of {', '.join(DELIVERY_MODES)}")
    if not isinstance(cap, int) or not 1 <= cap <= 1000:
        raise InvalidPreference(f"digest_cap {cap!r}: an integer from 1 to 1000")
    return mode, cap
