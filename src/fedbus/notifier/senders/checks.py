"""Validators the senders apply where a value is used (whatever the job or the row says).

- :func:`is_addr_spec`: one bare RFC 5322 addr-spec (dot-atom ``local@domain``, ASCII, no
  display name, no comment, no second recipient), at most 254 characters;
- :func:`is_nick`, :func:`is_channel`: an RFC 2812 nickname (at most :data:`NICKLEN`) and a
  ``#``/``&`` channel name (no space, comma, colon, BEL or any control character);
- :func:`clean_line`: one IRC line: CR, LF and every other whitespace run become one
  space, NUL and the other control characters (CTCP's ``\\x01``, colour codes) are dropped;
- :func:`has_control`: a header value or subject with any control character (CR, LF …);
- :func:`allowed_header`: the extra headers a job may ask for (``X-Fedbus-*``/``X-Fedora-*``).

Every check is a full match (``re.fullmatch``): ``$`` would accept a trailing newline.
"""

from __future__ import annotations

import re
import unicodedata

NICKLEN = 30
CHANNELLEN = 50
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDR_SPEC = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")
_SPECIAL = r"\[\]\\`_^{|}"
NICK = re.compile(rf"[A-Za-z{_SPECIAL}][A-Za-z0-9{_SPECIAL}-]{{0,{NICKLEN - 1}}}")
CHANNEL = re.compile(rf"[#&][^\x00-\x20\x7f,:]{{1,{CHANNELLEN - 1}}}")
HEADER = re.compile(r"X-(?:Fedbus|Fedora)-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
MAX_HEADER_VALUE = 900
_LOWER = str.maketrans("[]\\~", "{}|^")


def is_addr_spec(address: object) -> bool:
    return isinstance(address, str) and len(address) <= 254 and bool(ADDR_SPEC.fullmatch(address))


def is_nick(nick: object) -> bool:
    return isinstance(nick, str) and bool(NICK.fullmatch(nick))


def is_channel(name: object) -> bool:
    return isinstance(name, str) and bool(CHANNEL.fullmatch(name)) and name.isprintable()


def irc_lower(name: str) -> str:
    """RFC 2812 case mapping: ``[]\\~`` are the upper case of ``{}|^``."""
    return name.lower().translate(_LOWER)


def has_control(value: str) -> bool:
    """Any control character (category Cc: CR, LF, NUL, TAB, ESC …) or line separator."""
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value)


def clean_line(text: str) -> str:
    kept = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) != "Cc")
    return " ".join(kept.split())  # CR, LF, TAB, VT, FF, U+2028 …: one space


def allowed_header(name: object, value: object) -> bool:
    return (
        isinstance(name, str)
        and isinstance(value, str)
        and len(name) <= 64
        and bool(HEADER.fullmatch(name))
        and len(value) <= MAX_HEADER_VALUE
        and not has_control(value)
    )
