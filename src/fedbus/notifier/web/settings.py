"""Settings of the notification server's web UI and REST API.

They are the ``[web]`` table of the notifier's settings file (``/etc/fedbus/notifier.toml``,
see :mod:`fedbus.notifier.settings`, written by ``roles/notifier``); ``database_url`` and
``base_url`` come from its top level::

    [web]
    secret_key_file = "/etc/fedbus/notifier-secret-key"
    trusted_proxies = ["127.0.0.1/32", "10.3.0.0/24"]   # who may set the user header
    remote_user_header = "X-Remote-User"
    local_login = true                                   # `local` and `publictest` only
    admin_user = "admin"
    admin_password_file = "/etc/fedbus/notifier-admin-password"
    session_hours = 12                # a login cookie's lifetime (also ended by logout,
                                      # a password change or the account's deletion)
    login_window = 900                # seconds over which failed logins are counted
    login_limit_address = 20          # failed logins per client address in that window
    login_limit_account = 10          # failed logins per account name in that window
    verify_window = 3600              # seconds over which verification messages count
    verify_limit_destination = 3      # messages to one address/nick (all users together)
    verify_limit_user = 10            # messages one user may have sent

Past a limit the login answers 429 with ``Retry-After`` (the password is not checked),
and so does the API; the web UI says so.  The counters are in the database: shared by
every gunicorn worker.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any

import attrs

from fedbus.notifier import settings as notifier_settings
from fedbus.notifier.settings import NotifierSettings
from fedbus.settings import Invalid, Network, Secret, check, structure

Positive = Annotated[int, check(lambda v: v >= 1, "a positive integer")]
_LIMIT_KEYS = ("session_hours", "login_window", "login_limit_address", "login_limit_account",
               "verify_window", "verify_limit_destination", "verify_limit_user")  # fmt: skip


def _no_slash(url: str) -> str:
    return url.rstrip("/")


@attrs.frozen
class WebSettings:
    database_url: str = "sqlite:///notifier.db"
    base_url: str = attrs.field(default="http://localhost:8080", converter=_no_slash)
    secret_key: str = attrs.field(default="", repr=False)
    # the contents of secret_key_file / admin_password_file, used when the key itself is empty
    secret_key_from_file: Secret = attrs.field(
        default="", repr=False, metadata={"key": "secret_key_file"}
    )
    trusted_proxies: tuple[Network, ...] = ()
    remote_user_header: str = "X-Remote-User"
    local_login: bool = False
    admin_user: str = "admin"
    admin_password: str = attrs.field(default="", repr=False)  # empty: no local admin
    admin_password_from_file: Secret = attrs.field(
        default="", repr=False, metadata={"key": "admin_password_file"}
    )
    title: str = "Fedora Notifications"
    session_hours: Positive = 12
    login_window: Positive = 900
    login_limit_address: Positive = 20
    login_limit_account: Positive = 10
    verify_window: Positive = 3600
    verify_limit_destination: Positive = 3
    verify_limit_user: Positive = 10

    def __attrs_post_init__(self) -> None:
        if not self.secret_key:
            object.__setattr__(self, "secret_key", self.secret_key_from_file)
        if not self.admin_password:
            object.__setattr__(self, "admin_password", self.admin_password_from_file)
        if not self.secret_key:
            raise Invalid("secret_key or secret_key_file is required")

    @property
    def limits(self) -> dict[str, int]:
        """The rate limits and lifetimes (:data:`LIMITS`' keys) as set."""
        return {key: getattr(self, key) for key in LIMITS}

    def trusts(self, address: str | None) -> bool:
        """Whether a request from ``address`` may name its user in the header."""
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted_proxies)


#: positive integer settings and their defaults
LIMITS: dict[str, int] = {
    key: getattr(WebSettings(secret_key="-"), key) for key in _LIMIT_KEYS
}


def parse(
    data: dict[str, Any], name: str = "notifier.toml", base: Path = Path(".")
) -> WebSettings:
    """Build the web settings from the ``[web]`` table ``data`` of the file ``name``; secret
    files are read relative to ``base``."""
    return structure(WebSettings, data, name, base, within="web")


def from_notifier(ns: NotifierSettings) -> WebSettings:
    """The web settings of the notifier settings ``ns`` (its ``[web]`` table); the secret
    files are read now, relative to the notifier's settings file."""
    name = ns.source.name if ns.source else "notifier.toml"
    base = ns.source.parent if ns.source else Path(".")
    data = dict(ns.web)
    data.setdefault("database_url", ns.database_url)
    data.setdefault("base_url", ns.base_url)
    return parse(data, name, base)


def load(path: str | os.PathLike[str] | None = None) -> WebSettings:
    return from_notifier(notifier_settings.load(path, missing_ok=False))
