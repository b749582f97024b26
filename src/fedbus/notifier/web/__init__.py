"""The notification server's web UI and REST API (Flask).

:func:`create_app` builds the WSGI application from :class:`~.settings.WebSettings` and a
:class:`~fedbus.notifier.store.Store`; ``fedbus notifier web`` serves it with gunicorn.
Every page and API call works on the preferences of the authenticated user only, through
:meth:`Store.user` — the store's queries are scoped to that user (see
:mod:`fedbus.notifier.store`), so a user can never reach another user's settings.

Pages live under ``/settings/…`` (deep links: ``/settings/packages/<name>``,
``/settings/users/<name>``, ``/settings/services/<name>``, ``/settings/topics/<glob>``),
the REST API under ``/api/v1/…`` with its OpenAPI document at ``/api/openapi.json``.
Errors are pages of the site, or JSON under ``/api/`` (:mod:`.errors`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, redirect, url_for
from flask_wtf.csrf import CSRFProtect

from fedbus.notifier.store import DestinationView, Store, WebLimits
from fedbus.notifier.web.accounts import Accounts
from fedbus.notifier.web.settings import WebSettings

log = logging.getLogger(__name__)
TokenSender = Callable[[str, DestinationView, str], None]
#: Sent with every answer: no framing (clickjacking), no inline script or style, forms
#: post to this site only, no MIME sniffing, no full URL leaked to other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def default_token_sender(store: Store, base_url: str, config_path: str | None) -> TokenSender:
    """The engine's verification sender: one confirmed job on ``notifier.email``/``.irc``
    (broker URLs and TLS from fedbus.toml, read on first use)."""

    def send(user: str, dest: DestinationView, token: str) -> None:
        from fedbus.notifier import verify
        from fedbus.notifier.settings import amqp_settings

        urls, tls, _prefix = amqp_settings(config_path)
        me = store.user(user)
        verify.send_verification(
            urls,
            tls,
            user_id=me.user_id,
            user=user,
            destination=dest,
            token=token,
            base_url=base_url,
        )

    return send


def create_app(
    settings: WebSettings,
    store: Store | None = None,
    *,
    send_token: TokenSender | None = None,
    amqp_config: str | None = None,
    testing: bool = False,
) -> Flask:
    from fedbus.notifier.web import api, errors, views

    app = errors.App(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        SESSION_COOKIE_NAME="fedbus_notifier",
        WTF_CSRF_TIME_LIMIT=None,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.limits["session_hours"]),
        TESTING=testing,
        FEDBUS_SETTINGS=settings,
    )
    store = store or Store.open(settings.database_url)
    app.config["FEDBUS_STORE"] = store
    app.config["FEDBUS_ACCOUNTS"] = Accounts(store.engine)
    app.config["FEDBUS_LIMITS"] = WebLimits(store.engine)
    app.config["FEDBUS_SEND_TOKEN"] = send_token or default_token_sender(
        store, settings.base_url, amqp_config
    )
    csrf = CSRFProtect(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # JSON only, see api.py: no form posts, no cookies accepted
    errors.register(app)

    @app.after_request
    def _headers(resp: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(name, value)
        return resp

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"title": settings.title}

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("ui.rules"))

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app
