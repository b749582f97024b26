"""Who is asking: the trusted proxy header, or the local login.

In ``stg`` and ``prod`` an authenticating reverse proxy (OIDC) sits in front of the web
server and names the user in a header (``X-Remote-User`` by default).  That header is
believed only when the TCP peer is one of the configured proxy addresses
(``trusted_proxies``, CIDRs); from anywhere else it is ignored (and logged), so nobody can
become someone else by sending it.  ``X-Forwarded-For`` is never consulted.

In ``local`` and ``publictest`` a local login (password) works too: the admin account's
password comes from the vault, the admin creates the other accounts (web page or
``fedbus notifier web adduser``).  The REST API also accepts the local password as HTTP
Basic authentication (:func:`api_user`: presented credentials must be right).

Against an adversary (issue 14):

- **Admin rights come from how one logged in**, never from a name: only a session made by
  the local login of ``admin_user`` with the admin password (the cookie carries a keyed
  fingerprint of that password: a new password ends the old admin sessions) is admin.
  Where the local login is on, the proxy header naming ``admin_user`` is ignored (logged):
  the proxy cannot become the local admin nor share its preferences.
- **Failed logins are limited** (form and HTTP Basic) per client address and per account
  name, in the database (every worker counts): past a limit :class:`Limited` is raised
  BEFORE the password hash is checked (the answer is 429 with ``Retry-After``).
- **Sessions can end**: a cookie carries its login time (older than ``session_hours``:
  refused) and the user's session epoch (:class:`~fedbus.notifier.store.WebLimits`), which
  a logout, a password change or the account's deletion bumps.
- ``?next=`` is followed only to a same-site path (:func:`safe_next`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from fedbus.notifier.store import WebLimits
from fedbus.notifier.web.accounts import Accounts
from fedbus.notifier.web.settings import WebSettings

log = logging.getLogger(__name__)
USERNAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")
F = TypeVar("F", bound=Callable[..., Any])


def valid_username(name: str) -> bool:
    return bool(USERNAME.match(name))


def settings() -> WebSettings:
    return cast(WebSettings, current_app.config["FEDBUS_SETTINGS"])


class Limited(Exception):
    """Too many failed logins from this address or for this account."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins, retry in {retry_after} s")
        self.retry_after = retry_after


def limits() -> WebLimits:
    return cast(WebLimits, current_app.config["FEDBUS_LIMITS"])


def _login_keys(username: str) -> tuple[str, str]:
    """The limits' keys; a name no account can have (a NUL, which PostgreSQL cannot store,
    a lone surrogate, …) is counted under a digest of it."""
    if not valid_username(username):
        raw = username.encode("utf-8", "surrogatepass")
        username = "!" + hashlib.sha256(raw).hexdigest()[:32]
    return f"login-addr:{request.remote_addr or '-'}", f"login-user:{username}"


def check_local_password(username: str, password: str) -> bool:
    """The local login, rate limited (raises :class:`Limited` before any hash check)."""
    s = settings()
    if not s.local_login or not password:
        return False
    window = dt.timedelta(seconds=s.limits["login_window"])
    addr, user = _login_keys(username)
    wait = max(
        limits().retry_after([addr], s.limits["login_limit_address"], window),
        limits().retry_after([user], s.limits["login_limit_account"], window),
    )
    if wait:
        log.warning("login of %r from %s refused: rate limited", username, request.remote_addr)
        raise Limited(wait)
    if valid_username(username) and _password_matches(username, password):
        return True
    limits().record([addr, user], window)
    return False


def _password_matches(username: str, password: str) -> bool:
    """The admin's password from the settings, the others' from the DB."""
    s = settings()
    if username == s.admin_user:
        return bool(s.admin_password) and hmac.compare_digest(
            s.admin_password.encode(), password.encode()
        )
    accounts: Accounts = current_app.config["FEDBUS_ACCOUNTS"]
    return accounts.check(username, password)


def header_user() -> str | None:
    """The user the proxy named, if the peer is a trusted proxy; else ``None``."""
    s = settings()
    value = request.headers.get(s.remote_user_header)
    if value is None:
        return None
    if not s.trusts(request.remote_addr):
        log.warning(
            "ignoring %s from untrusted address %s", s.remote_user_header, request.remote_addr
        )
        return None
    value = value.strip()
    if not valid_username(value):
        log.warning("ignoring %s with a malformed user name", s.remote_user_header)
        return None
    if s.local_login and value == s.admin_user:
        log.warning("ignoring %s naming the local admin %r", s.remote_user_header, value)
        return None
    return value


def basic_user() -> str | None:
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username:
        return None
    if check_local_password(auth.username, auth.password or ""):
        return auth.username
    return None


def api_user() -> str | None:
    """The user of an API call: the proxy header, else HTTP Basic; ``None`` if neither.

    Credentials that are presented must be right: where the local login is on, a request
    with an ``Authorization`` header is that account's or nobody's, even when the proxy
    header (or another method) would name someone (a wrong password is never ignored, so
    it always counts as a failed login).  Where it is off, Basic is no method of this
    server and the header is not looked at."""
    if settings().local_login and "Authorization" in request.headers:
        user = basic_user()
        proxied = header_user()
        if user is None or (proxied is not None and proxied != user):
            return None
        return user
    return header_user()


def resolve_user() -> tuple[str | None, str]:
    """``(user, how)`` of a page; how is ``proxy``, ``session`` or ``none``."""
    user = header_user()
    if user:
        return user, "proxy"
    user = session_user()
    if user:
        return user, "session"
    return None, "none"


def admin_mark() -> str:
    """A keyed fingerprint of the admin password: an admin session carries it."""
    s = settings()
    return hmac.new(s.secret_key.encode(), s.admin_password.encode(), hashlib.sha256).hexdigest()


def start_session(username: str) -> None:
    """A fresh session for ``username``, just logged in with its password."""
    session.clear()
    session.permanent = True
    session["user"] = username
    session["at"] = int(time.time())
    session["epoch"] = limits().epoch(username)
    if username == settings().admin_user:
        session["admin"] = admin_mark()


def session_user() -> str | None:
    """The user of a valid session cookie: not too old, not ended since."""
    s = settings()
    user, at = session.get("user"), session.get("at")
    if not s.local_login or not isinstance(user, str) or not valid_username(user):
        return None
    if not isinstance(at, int) or time.time() - at > s.limits["session_hours"] * 3600:
        return None
    if user == s.admin_user and not hmac.compare_digest(str(session.get("admin")), admin_mark()):
        return None
    if session.get("epoch") != limits().epoch(user):
        return None
    return user


def end_sessions(username: str) -> None:
    """Every session of ``username`` ends (logout, password change, deletion)."""
    limits().bump_epoch(username)


def is_admin() -> bool:
    """Admin: the local admin's own login session (see the module), nothing else."""
    s = settings()
    return s.local_login and g.get("auth") == "session" and g.get("user") == s.admin_user


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user, how = resolve_user()
        if user is None:
            if not settings().local_login:
                abort(401)
            return redirect(url_for("ui.login", next=request.full_path.rstrip("?")))
        g.user, g.auth = user, how
        return view(*args, **kwargs)

    return cast(F, wrapper)


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a same-site path, else ``default``: no open redirect through
    ``?next=``.  Browsers drop tabs, CR and LF from a URL and read ``\\`` as ``/``
    (``/\t/evil.com`` is ``//evil.com`` to them): any control character or backslash is
    refused, then the path must start with exactly one ``/`` and have no scheme or host."""
    if not target or "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
