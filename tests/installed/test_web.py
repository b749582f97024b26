"""The notifier web UI from the installed wheel, served as the deployed unit serves it
(``fedbus -c fedbus.toml notifier --settings notifier.toml web``, gunicorn) on a SQLite
database migrated by ``fedbus … notifier … migrate``: every page renders for a logged-in
user, with its form, from the templates the wheel carries.

Who is logged in: ``alice`` with the local login (an account made by ``fedbus notifier web
adduser``), ``admin`` with the local login (its password file), ``bob`` named by the
trusted proxy's ``X-Remote-User`` header.
"""

from __future__ import annotations

import importlib.resources
import re
import urllib.parse

import pytest
from installed_support import ADMIN_PASSWORD, ALICE_PASSWORD, Client, Notifier, Page

# Each page template of the package → where the walk below renders it.  A new template
# must get its page here (test_every_page_template_is_walked); the layout and the macros
# (base.html, _*.html) are rendered by all of them.
PAGES = {
    "login.html": "test_login_page",
    "rules.html": "test_rules_page",
    "rule_form.html": "test_deep_link_prefills_the_rule_form, test_add_and_edit_a_rule",
    "destinations.html": "test_destinations_and_the_verify_page",
    "verify.html": "test_destinations_and_the_verify_page",
    "pause.html": "test_pause",
    "accounts.html": "test_accounts_for_the_admin_only",
    "error.html": "test_a_missing_page_is_a_404, test_accounts_for_the_admin_only",
}


def ok(page: Page, notifier: Notifier, status: int = 200) -> Page:
    assert page.status == status, f"{page.describe()}\n--- server log ---\n{notifier.log_tail()}"
    return page


def login(notifier: Notifier, user: str, password: str) -> Client:
    """Log in through the login form, as a browser does."""
    c = notifier.client()
    r = ok(c.submit("/login", {"username": user, "password": password}), notifier, 302)
    assert r.location == "/settings/rules", r.location
    return c


@pytest.fixture(scope="module")
def alice(notifier: Notifier) -> Client:
    return login(notifier, "alice", ALICE_PASSWORD)


def test_every_page_template_is_walked() -> None:
    templates = importlib.resources.files("fedbus.notifier.web") / "templates"
    pages = {t.name for t in templates.iterdir() if t.name.endswith(".html")}
    pages = {t for t in pages if t != "base.html" and not t.startswith("_")}
    unwalked = sorted(pages - set(PAGES))
    assert not unwalked, f"templates no test of {__name__} renders (add them to PAGES): {unwalked}"


def test_healthz(notifier: Notifier) -> None:
    assert ok(notifier.client().get("/healthz"), notifier).json() == {"status": "ok"}


def test_openapi_document(notifier: Notifier) -> None:
    doc = ok(notifier.client().get("/api/openapi.json"), notifier).json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/v1/rules", "/api/v1/destinations", "/api/v1/me"} <= set(doc["paths"])


def test_login_page(notifier: Notifier) -> None:
    page = ok(notifier.client().get("/login"), notifier)
    assert {"username", "password", "csrf_token"} <= page.fields.names


def test_a_page_sends_the_anonymous_to_the_login(notifier: Notifier) -> None:
    r = ok(notifier.client().get("/settings/rules"), notifier, 302)
    assert r.location.startswith("/login"), r.location


def test_a_wrong_password_is_refused(notifier: Notifier) -> None:
    r = notifier.client().submit("/login", {"username": "alice", "password": "not-the-one"})
    ok(r, notifier, 401)
    assert "password" in r.fields.names


def test_rules_page(notifier: Notifier, alice: Client) -> None:
    page = ok(alice.get("/settings/rules"), notifier)
    assert "/settings/rules/new" in page.text
    assert "alice" in page.text


def test_deep_link_prefills_the_rule_form(notifier: Notifier, alice: Client) -> None:
    r = ok(alice.get("/settings/packages/kernel"), notifier, 302)
    target = urllib.parse.urlsplit(r.location)
    assert target.path == "/settings/rules/new"
    assert urllib.parse.parse_qs(target.query)["value"] == ["kernel"]
    form = ok(alice.get(r.location), notifier).fields
    assert form.one("value") == "kernel"
    assert form.one("kind") == "package"


def test_add_and_edit_a_rule(notifier: Notifier, alice: Client) -> None:
    page = ok(alice.get("/settings/rules/new"), notifier)
    assert {"name", "kind", "value", "min_severity", "exclude_topics", "enabled"} <= (
        page.fields.names
    )
    rule_form = {"name": "my kernel", "kind": "package", "value": "kernel-installed",
                 "enabled": "y"}  # fmt: skip
    r = alice.submit("/settings/rules/new", rule_form)
    assert ok(r, notifier, 302).location == "/settings/rules"
    rules = ok(alice.api("GET", "/api/v1/rules", "alice", ALICE_PASSWORD), notifier).json()
    [rule] = [x for x in rules if x["value"] == "kernel-installed"]
    assert "kernel-installed" in ok(alice.get("/settings/rules"), notifier).text
    form = ok(alice.get(f"/settings/rules/{rule['id']}"), notifier).fields
    assert form.one("value") == "kernel-installed"
    assert form.one("name") == "my kernel"
    assert form.one("kind") == "package"


def test_destinations_and_the_verify_page(notifier: Notifier, alice: Client) -> None:
    page = ok(alice.get("/settings/destinations"), notifier)
    assert {"kind", "address"} <= page.fields.names
    # the token cannot be sent (no broker): the destination stays, unverified
    r = alice.submit("/settings/destinations", {"kind": "email", "address": "alice@example.org"})
    assert ok(r, notifier, 302).location == "/settings/destinations"
    assert "alice@example.org" in ok(alice.get("/settings/destinations"), notifier).text
    dests = ok(alice.api("GET", "/api/v1/destinations", "alice", ALICE_PASSWORD), notifier)
    [dest] = [x for x in dests.json() if x["address"] == "alice@example.org"]
    assert dest["verified"] is False
    page = ok(alice.get(f"/settings/destinations/{dest['id']}/verify?token=abc123"), notifier)
    assert page.fields.one("token") == "abc123"
    assert "alice@example.org" in page.text


def test_pause(notifier: Notifier, alice: Client) -> None:
    page = ok(alice.get("/settings/pause"), notifier)
    assert {"paused", "mute_hours"} <= page.fields.names
    r = alice.submit("/settings/pause", {"paused": "y", "mute_hours": "0"})
    assert ok(r, notifier, 302).location == "/settings/pause"
    assert ok(alice.get("/settings/pause"), notifier).fields.one("paused") == "y"
    me = ok(alice.api("GET", "/api/v1/me", "alice", ALICE_PASSWORD), notifier).json()
    assert me["paused"] is True


def test_accounts_for_the_admin_only(notifier: Notifier, alice: Client) -> None:
    ok(alice.get("/settings/accounts"), notifier, 403)
    admin = login(notifier, "admin", ADMIN_PASSWORD)
    page = ok(admin.get("/settings/accounts"), notifier)
    assert {"username", "password"} <= page.fields.names
    assert "alice" in page.text
    r = admin.submit("/settings/accounts", {"username": "carol", "password": "carol-password-1"})
    assert ok(r, notifier, 302).location == "/settings/accounts"
    login(notifier, "carol", "carol-password-1")


def test_the_trusted_proxy_names_the_user(notifier: Notifier) -> None:
    bob = notifier.client(**{"X-Remote-User": "bob"})  # from 127.0.0.1, a trusted proxy
    page = ok(bob.get("/settings/rules"), notifier)
    assert "bob" in page.text
    assert "kernel-installed" not in page.text  # alice's rule
    ok(bob.get("/settings/destinations"), notifier)


def test_a_missing_page_is_a_404(notifier: Notifier, alice: Client) -> None:
    r = ok(alice.get("/settings/rules/999999"), notifier, 404)
    assert "Traceback" not in r.text


def test_logout(notifier: Notifier) -> None:
    c = login(notifier, "alice", ALICE_PASSWORD)
    token = ok(c.get("/settings/pause"), notifier).fields.one("csrf_token")
    assert token
    assert ok(c.post("/logout", {"csrf_token": token}), notifier, 302).location == "/login"
    ok(c.get("/settings/rules"), notifier, 302)


def test_no_request_failed_on_the_server(notifier: Notifier) -> None:
    """Last: whatever the pages above showed, the server answered no request with a 5xx
    (gunicorn's access log) and found every template."""
    log = notifier.log.read_text(errors="replace")
    failures = [line for line in log.splitlines() if re.search(r'" 5\d\d ', line)]
    assert not failures, "\n".join(failures)
    assert "TemplateNotFound" not in log, notifier.log_tail()
