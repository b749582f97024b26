"""A user can never read or change another user's settings: REST API and UI."""

from __future__ import annotations

from flask import Flask

from fedbus.notifier.store import Store

from .conftest import Sent, csrf, proxied


def _alice_setup(app: Flask, sent: Sent) -> tuple[int, int]:
    alice = proxied(app, "alice")
    rule = alice.post("/api/v1/rules", json={"kind": "package", "value": "kernel",
                                             "name": "alice's kernel"})
    assert rule.status_code == 201, rule.json
    dest = alice.post("/api/v1/destinations", json={"kind": "email",
                                                   "address": "alice@example.org"})
    assert dest.status_code == 201 and dest.json["token_sent"] is True
    assert sent.items[-1][:3] == ("alice", "email", "alice@example.org")
    return rule.json["id"], dest.json["id"]


def test_rest_api_never_reaches_someone_elses_settings(app: Flask, sent: Sent) -> None:
    rule_id, dest_id = _alice_setup(app, sent)
    token = sent.items[-1][3]
    bob = proxied(app, "bob")
    assert bob.get("/api/v1/rules").json == []
    assert bob.get("/api/v1/destinations").json == []
    for method, url, body in [
        ("get", f"/api/v1/rules/{rule_id}", None),
        ("patch", f"/api/v1/rules/{rule_id}", {"enabled": False}),
        ("delete", f"/api/v1/rules/{rule_id}", None),
        ("patch", f"/api/v1/destinations/{dest_id}", {"delivery": "daily"}),
        ("post", f"/api/v1/destinations/{dest_id}/verify", {"token": token}),
        ("post", f"/api/v1/destinations/{dest_id}/token", {}),
        ("delete", f"/api/v1/destinations/{dest_id}", None),
    ]:
        r = getattr(bob, method)(url, json=body)
        assert r.status_code == 404, (method, url, r.status_code)
    # bob cannot attach alice's destination to his own rule either
    r = bob.post("/api/v1/rules", json={"kind": "my_events", "destination_ids": [dest_id]})
    assert r.status_code == 404
    alice = proxied(app, "alice")
    rule = alice.get(f"/api/v1/rules/{rule_id}").json
    assert rule["enabled"] is True and rule["name"] == "alice's kernel"
    (dest,) = alice.get("/api/v1/destinations").json
    assert dest["verified"] is False and dest["delivery"] == "immediate"
    # and alice herself can verify with the token that was sent to her
    ok = alice.post(f"/api/v1/destinations/{dest_id}/verify", json={"token": token})
    assert ok.status_code == 200 and ok.json == {"verified": True}


def test_ui_never_reaches_someone_elses_settings(app: Flask, sent: Sent, store: Store) -> None:
    rule_id, dest_id = _alice_setup(app, sent)
    bob = proxied(app, "bob")
    page = bob.get("/settings/rules")
    html = page.get_data(as_text=True)
    assert "kernel" not in html and "alice" not in html
    token = csrf(bob.get("/settings/destinations").get_data(as_text=True))
    assert bob.get(f"/settings/rules/{rule_id}").status_code == 404
    assert bob.post(f"/settings/rules/{rule_id}",
                    data={"kind": "topic", "value": "#", "csrf_token": token}).status_code == 404
    assert bob.post(f"/settings/rules/{rule_id}/delete",
                    data={"csrf_token": token}).status_code == 404
    for action, data in [("verify", {"token": sent.items[-1][3]}),
                         ("delivery", {"delivery": "daily", "digest_cap": "5"}),
                         ("token", {}), ("delete", {})]:
        r = bob.post(f"/settings/destinations/{dest_id}/{action}",
                     data={**data, "csrf_token": token})
        assert r.status_code == 404, action
    assert "alice@example.org" not in bob.get("/settings/destinations").get_data(as_text=True)
    alice = store.user("alice")
    assert [r.id for r in alice.list_rules()] == [rule_id]
    (d,) = alice.list_destinations()
    assert (d.verified, d.delivery) == (False, "immediate")
