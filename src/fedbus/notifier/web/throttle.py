"""Verification messages, limited per destination (all users together) and per user.

A destination's token goes to an address nobody has verified yet: without a limit, the UI
and the API would mail or message anyone, as often as asked.  :func:`wait` says how long
until one more may be sent (0: now), :func:`sent` counts one; the counters are in the
database (:class:`~fedbus.notifier.store.WebLimits`), shared by every worker.
"""

from __future__ import annotations

import datetime as dt

from fedbus.notifier.web import auth


class TooMany(Exception):
    """Too many verification messages to this destination or from this user."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(f"too many verification messages: try again in about {minutes} minute(s)")
        self.retry_after = retry_after


def _keys(user: str, kind: str, address: str) -> tuple[str, str]:
    return f"verify-dest:{kind}:{address.strip().lower()[:254]}", f"verify-user:{user}"


def _window() -> dt.timedelta:
    return dt.timedelta(seconds=auth.settings().limits["verify_window"])


def check(user: str, kind: str, address: str) -> None:
    """Raises :class:`TooMany` if no verification message may go out now."""
    limits, s = auth.limits(), auth.settings().limits
    dest, who = _keys(user, kind, address)
    wait = max(
        limits.retry_after([dest], s["verify_limit_destination"], _window()),
        limits.retry_after([who], s["verify_limit_user"], _window()),
    )
    if wait:
        raise TooMany(wait)


def sent(user: str, kind: str, address: str) -> None:
    auth.limits().record(list(_keys(user, kind, address)), _window())
