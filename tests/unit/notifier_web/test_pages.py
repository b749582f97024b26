"""Every page's <title>; errors as pages of the site (HTML) or JSON (under /api/); a
failure is one log line with its cause and no traceback for the user."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from fedbus.notifier.store import Store, UserStore
from fedbus.notifier.web import create_app
from fedbus.notifier.web.settings import parse

from .conftest import ADMIN_PW, Sent, login, proxied, title_of

SITE = "Fedora Notifications"
#: pages that only redirect (to the rule form, pre-filled) and have no title of their own
REDIRECTS = {"ui.deep_package", "ui.deep_user", "ui.deep_service", "ui.deep_topic"}


def test_every_page_has_its_own_title(app: Flask, store: Store) -> None:
    me = store.user("admin")
    rule = me.add_rule("package", "kernel", name="builds")
    dest, _ = me.add_destination("email", "admin@example.org")
    pages = {
        "ui.login": ("/login", "Log in"),
        "ui.rules": ("/settings/rules", "Rules"),
        "ui.rule_new": ("/settings/rules/new", "Add a rule"),
        "ui.rule_edit": (f"/settings/rules/{rule.id}", "Edit the rule builds"),
        "ui.destinations": ("/settings/destinations", "Destinations"),
        "ui.destination_verify": (f"/settings/destinations/{dest.id}/verify",
                                  "Verify admin@example.org"),
        "ui.pause": ("/settings/pause", "Mute / pause"),
        "ui.accounts": ("/settings/accounts", "Local accounts"),
    }
    pages_of_the_app = {r.endpoint for r in app.url_map.iter_rules()
                        if r.endpoint.startswith("ui.") and "GET" in (r.methods or ())}
    assert pages_of_the_app - REDIRECTS == set(pages)
    anonymous, admin = app.test_client(), login(app, "admin", ADMIN_PW)
    for endpoint, (url, title) in pages.items():
        r = (anonymous if endpoint == "ui.login" else admin).get(url)
        assert r.status_code == 200, url
        assert title_of(r.get_data(as_text=True)) == f"{title} — {SITE}", url


def is_page(r: TestResponse, code: int, title: str) -> str:
    """The error page of the site: its layout, its title, a link home; returns the HTML."""
    html = r.get_data(as_text=True)
    assert r.status_code == code and r.mimetype == "text/html", html
    assert title_of(html) == f"{title} — {SITE}"
    assert "<header>" in html and f'data-code="{code}"' in html and 'href="/" id="home"' in html
    return html


def is_json(r: TestResponse, code: int, error: str) -> None:
    assert r.status_code == code and r.mimetype == "application/json"
    assert r.json == {"error": error}


def test_unknown_page_is_a_page_of_the_site(app: Flask) -> None:
    is_page(app.test_client().get("/no/such/page"), 404, "Page not found")
    c = proxied(app, "alice")
    html = is_page(c.get("/settings/rules/12345"), 404, "Page not found")  # abort(404)
    assert 'id="who">alice' in html  # still the user's navigation


def test_unknown_api_path_answers_json(app: Flask) -> None:
    c = proxied(app, "alice")
    is_json(c.get("/api/v1/nothing-here"), 404, "not found")
    is_json(c.get("/api/v2/rules"), 404, "not found")
    is_json(c.get("/api/v1/rules/12345"), 404, "no rule 12345")  # the API's own, unchanged
    r = c.put("/api/v1/rules", json={})
    is_json(r, 405, "method not allowed")
    assert set(r.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_other_errors_are_pages_too(app: Flask, store: Store, sent: Sent) -> None:
    c = proxied(app, "alice")
    is_page(c.get("/settings/accounts"), 403, "Forbidden")  # not the admin
    html = is_page(c.post("/settings/rules/new", data={"kind": "my_events"}), 400,
                   "Bad request")  # no CSRF token
    assert "reload the page" in html
    r = c.put("/settings/pause")
    is_page(r, 405, "Method not allowed")
    assert set(r.headers["Allow"].split(", ")) >= {"GET", "POST"}
    behind_proxy = create_app(parse({"secret_key": "s" * 32}), store, send_token=sent,
                              testing=True)  # fmt: skip
    is_page(behind_proxy.test_client().get("/settings/rules"), 401, "Not logged in")


@pytest.fixture
def failing(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """Reading the rules fails (as when the database goes away), and the app answers as in
    production, where Flask does not propagate the exception to the caller."""

    def fail(_self: UserStore) -> None:
        raise RuntimeError("the database\nis on fire")

    monkeypatch.setattr(UserStore, "list_rules", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_a_failure_is_a_page_and_one_log_line(failing: Flask,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    html = is_page(proxied(failing, "alice").get("/settings/rules"), 500,
                   "Something went wrong")  # fmt: skip
    assert "Traceback" not in html and "on fire" not in html and "RuntimeError" not in html
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert record.getMessage() == (
        "GET /settings/rules failed: RuntimeError: the database is on fire")


def test_a_failure_in_the_api_is_json_and_its_traceback_only_at_debug(
    failing: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    is_json(proxied(failing, "alice").get("/api/v1/rules"), 500, "internal server error")
    errors = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [r.getMessage() for r in errors] == [
        "GET /api/v1/rules failed: RuntimeError: the database is on fire"]
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert [r.levelno for r in tracebacks] == [logging.DEBUG]
