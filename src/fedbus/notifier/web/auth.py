"""Who is asking: the trusted proxy header, or the local login.

In ``stg`` and ``prod`` an authenticating reverse proxy (OIDC) sits in front of the web
server and names the user in a header (``X-Remote-User`` by default).  That header is
believed only when the TCP peer is one of the configured proxy addresses
(``trusted_proxies``, CIDRs); from anywhere else it is ignored (and logged), so nobody can
become someone else by sending it.  ``X-Forwarded-For`` is never consulted.

In ``local`` and ``publictest`` a local login (password) works too: the admin account's
password comes from the vault, the admin creates the other accounts (web page or
``fedbus notifier web adduser``).  The REST API also accepts the local password as HTTP
Basic authentication.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, session, url_for

from fedbus.notifier.web.accounts import Accounts
from fedbus.notifier.web.settings import WebSettings

log = logging.getLogger(__name__)
USERNAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")
F = TypeVar("F", bound=Callable[..., Any])


def valid_username(name: str) -> bool:
    return bool(USERNAME.match(name))


def settings() -> WebSettings:
    return cast(WebSettings, current_app.config["FEDBUS_SETTINGS"])


def check_local_password(username: str, password: str) -> bool:
    """The local login: the admin's password from the settings, others from the DB."""
    s = settings()
    if not s.local_login or not password:
        return False
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
    return value


def basic_user() -> str | None:
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username:
        return None
    if check_local_password(auth.username, auth.password or ""):
        return auth.username
    return None


def resolve_user(api: bool = False) -> tuple[str | None, str]:
    """``(user, how)``; how is ``proxy``, ``basic``, ``session`` or ``none``."""
    user = header_user()
    if user:
        return user, "proxy"
    if api:
        user = basic_user()
        if user:
            return user, "basic"
    user = session.get("user") if settings().local_login else None
    if isinstance(user, str) and valid_username(user):
        return user, "session"
    return None, "none"


def is_admin(user: str | None) -> bool:
    s = settings()
    return bool(user) and s.local_login and user == s.admin_user


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
    """Only same-site relative paths: no open redirect through ``?next=``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
