"""The REST API: JSON only, one-line errors, and the OpenAPI document covers every route."""

from __future__ import annotations

import re

from flask import Flask

from .conftest import proxied


def test_writes_must_be_json(app: Flask) -> None:
    r = proxied(app, "alice").post("/api/v1/rules", data={"kind": "my_events"})
    assert r.status_code == 415


def test_bad_values_answer_400_with_the_reason(app: Flask) -> None:
    c = proxied(app, "alice")
    r = c.post("/api/v1/rules", json={"kind": "package", "value": "x y"})
    assert r.status_code == 400 and "is not a package name" in r.json["error"]
    r = c.post("/api/v1/rules", json={"kind": "topic", "value": "a.#", "colour": "red"})
    assert r.status_code == 400 and r.json["error"] == "unknown field(s): colour"
    r = c.patch("/api/v1/me", json={"muted_until": "tomorrow"})
    assert r.status_code == 400


def test_rule_round_trip_and_pause(app: Flask) -> None:
    c = proxied(app, "alice")
    rule = c.post("/api/v1/rules", json={"kind": "user", "value": "bob",
                                         "exclude_services": ["copr"]}).json
    assert rule["exclude_services"] == ["copr"] and rule["kind"] == "user"
    assert c.patch(f"/api/v1/rules/{rule['id']}", json={"enabled": False}).json["enabled"] is False
    me = c.patch("/api/v1/me", json={"paused": True,
                                     "muted_until": "2030-01-01T00:00:00+00:00"}).json
    assert me["paused"] is True and me["muted_until"].startswith("2030-01-01T00:00:00")
    assert c.post("/api/v1/packages", json={"package": "kernel"}).status_code == 201
    assert [p["package"] for p in c.get("/api/v1/packages").json] == ["kernel"]
    assert c.delete("/api/v1/packages/kernel").status_code == 204
    assert c.delete(f"/api/v1/rules/{rule['id']}").status_code == 204
    assert c.get(f"/api/v1/rules/{rule['id']}").status_code == 404


def test_openapi_documents_every_api_route(app: Flask) -> None:
    doc = app.test_client().get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method.lower()))
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented
