"""The REST API: JSON only, one-line errors, and the OpenAPI document covers every route."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from fedbus.notifier.validate import check_address, check_rule_value
from fedbus.notifier.web import openapi

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


BY_ID = [("get", "/api/v1/rules/{}", None), ("patch", "/api/v1/rules/{}", {"enabled": False}),
         ("delete", "/api/v1/rules/{}", None),
         ("patch", "/api/v1/destinations/{}", {"delivery": "daily"}),
         ("post", "/api/v1/destinations/{}/verify", {"token": "t"}),
         ("post", "/api/v1/destinations/{}/token", {}),
         ("delete", "/api/v1/destinations/{}", None)]  # fmt: skip


@pytest.mark.parametrize("big", [2**31, 2**63, 2**64 + 1])
@pytest.mark.parametrize(("method", "path", "body"), BY_ID)
def test_an_id_beyond_the_database_integer_is_404(
    app: Flask, method: str, path: str, body: Any, big: int
) -> None:
    # found by schemathesis: PostgreSQL's integer overflowed (500); SQLite's at 2**63
    r = getattr(proxied(app, "alice"), method)(path.format(big), json=body)
    assert r.status_code == 404 and r.json == {"error": f"no such id {big}"}


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/api/v1/rules", {"kind": ["user"], "value": "bob"}, "kind: ['user'] is not a string"),
        ("/api/v1/rules", {"kind": "user", "value": "bob", "min_severity": ["info"]},
         "min_severity: ['info'] is not a string or null"),
        ("/api/v1/rules", {"kind": "user", "value": "bob", "destination_ids": ["x"]},
         "destination_ids: ['x'] is not a list of ids"),
        ("/api/v1/rules", {"kind": "user", "value": "bob", "destination_ids": [2**40]},
         f"destination_ids: [{2**40}] is not a list of ids"),
        ("/api/v1/rules", {"kind": "user", "value": "bob", "enabled": "no"},
         "enabled: 'no' is not true or false"),
        ("/api/v1/rules", {"kind": "topic", "value": "a.#", "exclude_topics": "a.#"},
         "exclude_topics: 'a.#' is not a list of strings"),
        ("/api/v1/destinations", {"kind": ["email"], "address": "a@example.org"},
         "kind: ['email'] is not a string"),
        ("/api/v1/destinations", {"kind": "email", "address": "a@example.org",
                                  "digest_cap": True}, "digest_cap: True is not an integer"),
        ("/api/v1/packages", {"package": ["kernel"]}, "package: ['kernel'] is not a string"),
    ],
)  # fmt: skip
def test_a_field_of_the_wrong_type_is_400_and_nothing_is_stored(
    app: Flask, sent: Any, path: str, body: dict[str, Any], reason: str
) -> None:
    # a list where a name goes was a 500 (unhashable), a string id a 500 (int()), and a
    # string where true/false goes was taken as true
    c = proxied(app, "alice")
    r = c.post(path, json=body)
    assert r.status_code == 400 and r.json == {"error": reason}
    assert c.get(path).json == [] and sent.items == []


def test_a_new_token_takes_an_empty_object(app: Flask, sent: Any) -> None:
    c = proxied(app, "alice")
    dest = c.post("/api/v1/destinations", json={"kind": "email", "address": "a@example.org"}).json
    r = c.post(f"/api/v1/destinations/{dest['id']}/token", json={"force": True})
    assert r.status_code == 400 and r.json == {"error": "unknown field(s): force"}
    r = c.post(f"/api/v1/destinations/{dest['id']}/token", json={})
    assert r.status_code == 200 and r.json == {"token_sent": True} and len(sent.items) == 2


def test_the_document_links_created_objects_to_the_operations_on_them(app: Flask) -> None:
    doc = app.test_client().get("/api/openapi.json").json
    ops = {op["operationId"]: (path, op) for path, item in doc["paths"].items()
           for op in item.values()}  # fmt: skip
    assert len(ops) == sum(len(item) for item in doc["paths"].values())  # ids are unique
    linked = set()
    for _path, op in ops.values():
        for answer in op["responses"].values():
            for link in answer.get("links", {}).values():
                target_path, _ = ops[link["operationId"]]
                assert set(link["parameters"]) <= set(re.findall(r"{(\w+)}", target_path))
                linked.add(link["operationId"])
    assert linked == {i for i, (path, _op) in ops.items() if "{" in path}
    for _path, op in ops.values():  # every body can be refused as not JSON, all can be 429
        assert ("415" in op["responses"]) == ("requestBody" in op)
        assert "429" in op["responses"]


@pytest.mark.parametrize(
    ("pattern", "accepts"),
    [
        (openapi.EMAIL, lambda v: check_address("email", v)),
        (openapi.NICK, lambda v: check_address("irc", v)),
        (openapi.CHANNEL, lambda v: check_address("irc", v)),
        (openapi.PACKAGE, lambda v: check_rule_value("package", v)),
        (openapi.USER, lambda v: check_rule_value("user", v)),
        (openapi.SERVICE, lambda v: check_rule_value("service", v)),
    ],
)
def test_what_the_document_allows_the_validation_accepts(pattern: str, accepts: Any) -> None:
    @settings(max_examples=60, derandomize=True, database=None)
    @given(st.from_regex(pattern, fullmatch=True))
    def holds(value: str) -> None:
        accepts(value)  # raises InvalidPreference if the document promised too much

    holds()


@pytest.mark.parametrize("until", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_mute_time_out_of_range_in_utc_is_400(app: Flask, until: str) -> None:
    # a date-time the document allows whose UTC time is before year 1 or after 9999: 500
    c = proxied(app, "alice")
    r = c.patch("/api/v1/me", json={"muted_until": until})
    assert r.status_code == 400 and "an ISO 8601 time or null" in r.json["error"]
    assert c.get("/api/v1/me").json["muted_until"] is None


def test_a_bad_mute_time_changes_nothing(app: Flask) -> None:
    c = proxied(app, "alice")
    r = c.patch("/api/v1/me", json={"paused": True, "muted_until": "tomorrow"})
    assert r.status_code == 400 and c.get("/api/v1/me").json["paused"] is False


@pytest.mark.parametrize(
    ("body", "field", "limit"),
    [
        ({"kind": "my_events", "name": "a\x00b"}, "name", 100),
        ({"kind": "my_events", "name": "n" * 101}, "name", 100),
        ({"kind": "service", "value": "s" * 256}, "value", 255),
        ({"kind": "topic", "value": "a.#", "exclude_topics": ["x\x00"]}, "exclude_topics", 255),
    ],
)
def test_text_the_database_cannot_store_is_400(
    app: Flask, body: dict[str, Any], field: str, limit: int
) -> None:
    # PostgreSQL refuses a NUL, a lone surrogate and text longer than the column: a 500
    # (tests/integration/test_notifier_api_schemathesis.py has the real database)
    c = proxied(app, "alice")
    r = c.post("/api/v1/rules", json=body)
    assert r.status_code == 400
    assert r.json == {"error": f"{field}: at most {limit} characters, no NUL, valid Unicode"}
    r = c.post("/api/v1/rules", data='{"kind": "my_events", "name": "\\ud800"}',
               content_type="application/json")  # fmt: skip
    assert r.status_code == 400 and c.get("/api/v1/rules").json == []
    assert c.delete("/api/v1/packages/a%00b").status_code == 404
