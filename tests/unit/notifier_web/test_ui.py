"""The pages: rules (add/edit/delete), deep links, destinations, delivery, pause; CSRF."""

from __future__ import annotations

from flask import Flask

from fedbus.notifier.store import Store

from .conftest import Sent, csrf, proxied


def test_forms_refuse_a_post_without_csrf_token(app: Flask, store: Store) -> None:
    c = proxied(app, "alice")
    r = c.post("/settings/rules/new", data={"kind": "package", "value": "kernel"})
    assert r.status_code == 400
    r = c.post("/settings/destinations", data={"kind": "email", "address": "a@example.org"})
    assert r.status_code == 400
    assert store.user("alice").list_rules() == []


def test_rule_add_edit_delete(app: Flask, store: Store) -> None:
    c = proxied(app, "alice")
    token = csrf(c.get("/settings/rules/new").get_data(as_text=True))
    r = c.post("/settings/rules/new", data={
        "csrf_token": token, "name": "builds", "kind": "topic",
        "value": "org.fedoraproject.prod.buildsys.#", "min_severity": "warning",
        "exclude_mine": "y", "exclude_topics": "*.buildsys.tag\n", "exclude_services": "copr, ci",
        "enabled": "y"})
    assert r.status_code == 302
    (rule,) = store.user("alice").list_rules()
    assert (rule.kind, rule.value, rule.min_severity, rule.exclude_mine) == (
        "topic", "org.fedoraproject.prod.buildsys.#", "warning", True)
    assert rule.exclude_topics == ("*.buildsys.tag",)
    assert rule.exclude_services == ("copr", "ci")
    edit = c.get(f"/settings/rules/{rule.id}").get_data(as_text=True)
    assert "org.fedoraproject.prod.buildsys.#" in edit
    r = c.post(f"/settings/rules/{rule.id}", data={
        "csrf_token": csrf(edit), "name": "builds", "kind": "package", "value": "kernel"})
    assert r.status_code == 302
    (rule,) = store.user("alice").list_rules()
    assert (rule.kind, rule.value, rule.enabled, rule.exclude_mine) == (
        "package", "kernel", False, False)
    r = c.post(f"/settings/rules/{rule.id}/delete", data={"csrf_token": token})
    assert r.status_code == 302 and store.user("alice").list_rules() == []


def test_invalid_rule_is_refused_with_a_message(app: Flask, store: Store) -> None:
    c = proxied(app, "alice")
    token = csrf(c.get("/settings/rules/new").get_data(as_text=True))
    r = c.post("/settings/rules/new", data={"csrf_token": token, "kind": "package",
                                            "value": "not a package!"})
    assert r.status_code == 200 and "is not a package name" in r.get_data(as_text=True)
    assert store.user("alice").list_rules() == []


def test_deep_links_prefill_the_rule_form(app: Flask) -> None:
    c = proxied(app, "alice")
    for url, kind, value in [("/settings/packages/kernel", "package", "kernel"),
                             ("/settings/users/bob", "user", "bob"),
                             ("/settings/services/bodhi", "service", "bodhi"),
                             ("/settings/topics/org.fedoraproject.prod.git.%23", "topic",
                              "org.fedoraproject.prod.git.#")]:
        r = c.get(url, follow_redirects=True)
        html = r.get_data(as_text=True)
        assert r.status_code == 200, url
        assert f'<option selected value="{kind}">' in html, url
        assert f'value="{value}"' in html, url


def test_deep_link_survives_the_login(app: Flask) -> None:
    r = app.test_client().get("/settings/packages/kernel")
    assert r.status_code == 302 and r.location == "/login?next=/settings/packages/kernel"


def test_destination_verify_delivery_pause(app: Flask, store: Store, sent: Sent) -> None:
    c = proxied(app, "alice")
    token = csrf(c.get("/settings/destinations").get_data(as_text=True))
    r = c.post("/settings/destinations", data={"csrf_token": token, "kind": "irc",
                                               "address": "alice_"})
    assert r.status_code == 302
    (dest,) = store.user("alice").list_destinations()
    assert sent.items == [("alice", "irc", "alice_", sent.items[0][3])]
    r = c.post(f"/settings/destinations/{dest.id}/verify",
               data={"csrf_token": token, "token": "wrong"}, follow_redirects=True)
    assert "wrong or expired" in r.get_data(as_text=True)
    c.post(f"/settings/destinations/{dest.id}/verify",
           data={"csrf_token": token, "token": sent.items[0][3]})
    c.post(f"/settings/destinations/{dest.id}/delivery",
           data={"csrf_token": token, "delivery": "daily", "digest_cap": "20"})
    (dest,) = store.user("alice").list_destinations()
    assert (dest.verified, dest.delivery, dest.digest_cap) == (True, "daily", 20)
    page = c.get("/settings/pause").get_data(as_text=True)
    c.post("/settings/pause", data={"csrf_token": csrf(page), "paused": "y", "mute_hours": "2"})
    profile = store.user("alice").profile()
    assert profile.paused and profile.muted_until is not None


def test_verification_link_confirms_with_a_post(app: Flask, store: Store, sent: Sent) -> None:
    c = proxied(app, "alice")
    token = csrf(c.get("/settings/destinations").get_data(as_text=True))
    c.post("/settings/destinations", data={"csrf_token": token, "kind": "email",
                                           "address": "alice@example.org"})
    (dest,) = store.user("alice").list_destinations()
    secret = sent.items[0][3]
    page = c.get(f"/settings/destinations/{dest.id}/verify?token={secret}")
    assert page.status_code == 200 and f'value="{secret}"' in page.get_data(as_text=True)
    assert store.user("alice").list_destinations()[0].verified is False  # GET changes nothing
    c.post(f"/settings/destinations/{dest.id}/verify",
           data={"csrf_token": csrf(page.get_data(as_text=True)), "token": secret})
    assert store.user("alice").list_destinations()[0].verified is True
    assert proxied(app, "bob").get(
        f"/settings/destinations/{dest.id}/verify?token={secret}").status_code == 404
