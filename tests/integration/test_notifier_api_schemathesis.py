"""The REST API against its own OpenAPI document, with schemathesis (issue 14).

``fedbus notifier web`` runs under gunicorn over real TCP on a throw-away PostgreSQL
database (the production database: it refuses what SQLite takes, a NUL in text), with the
real broker for the verification tokens. Schemathesis reads ``/api/openapi.json`` from
that server and calls every operation as a normal user (the trusted proxy's
``X-Remote-User``, the way stg and prod authenticate):

- each operation alone, positive and negative data;
- stateful: the document's ``links`` chain a created rule, destination or package to the
  operations on its id (get, change, verify, new token, delete), each scenario as a new
  user (hypothesis replays a scenario: its answers must not depend on earlier ones);
- without credentials, every operation answers 401;
- another user's ids: everything by id answers 404, and the owner's objects are unchanged.

Checks: no 5xx, and every answer's status code, content type and body as the document
says. Bounded (``max_examples``) and derandomized, so a CI run is the same every time.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.notifier_servers import Postgres, free_port
from support.notifier_stack import Stack
from support.polling import wait_for

from fedbus.notifier.web.openapi import document

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

USER = "alice"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SETTINGS = settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Server:
    def __init__(self, stack: Stack, base: str) -> None:
        self.stack, self.base = stack, base

    def call(self, method: str, path: str, user: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{self.base}{path}", json=body, timeout=30,
                                headers={"X-Remote-User": user})  # fmt: skip


@pytest.fixture(scope="module")
def server(broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module: a private vhost, a PostgreSQL database, gunicorn."""
    vhost = f"test-{uuid.uuid4().hex[:12]}"
    quoted = urllib.parse.quote(vhost, safe="")
    broker.api("PUT", f"vhosts/{quoted}")
    broker.api("PUT", f"permissions/{quoted}/{broker.user}",
               {"configure": ".*", "write": ".*", "read": ".*"})  # fmt: skip
    pg = Postgres().start()
    stack = Stack(tmp_path_factory.mktemp("schemathesis"), broker.amqp_url(vhost),
                  free_port(), free_port(), db=pg.url)  # fmt: skip
    port = free_port()
    with stack.notifier_toml.open("a") as f:
        # room for many new destinations: the verification limits stay in the document
        f.write('[web]\nsecret_key = "schemathesis-secret"\ntrusted_proxies = ["127.0.0.0/8"]\n'
                "verify_limit_destination = 1000\nverify_limit_user = 1000\n")  # fmt: skip
    stack.start("web", "web", "--bind", f"127.0.0.1:{port}", "--workers", "2")
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(up, 60, "the web server")
        yield Server(stack, base)
    finally:
        stack.stop_all()
        print(stack.logs())
        pg.stop()
        broker.api("DELETE", f"vhosts/{quoted}")


BASE_URL = "https://notifications.test"  # the stack's base_url, as the server states it
# Loaded from the code at collection (schemathesis' lazy fixture loader does not work with
# this pytest); test_the_served_document_is_this_one proves the server serves this one.
schema = schemathesis.openapi.from_dict(document(BASE_URL))
schema.config.update(headers={"X-Remote-User": USER})


@schema.parametrize()
@SETTINGS
def test_every_operation_keeps_to_the_document(case: Any, server: Server) -> None:
    case.call_and_validate(base_url=server.base, checks=CHECKS)


def test_linked_operations_keep_to_the_document(server: Server) -> None:
    schema.config.update(base_url=server.base)
    machine = schema.as_state_machine()

    users = iter(range(10**6))

    class Links(machine):  # type: ignore[misc,valid-type]
        """Each scenario as a new user: its answers depend on its own steps only (hypothesis
        replays a scenario and needs the same answers to draw the same steps)."""

        def setup(self) -> None:
            self.user = f"linked{next(users)}"

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"X-Remote-User": self.user}}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    Links.run(settings=settings(SETTINGS, max_examples=40, stateful_step_count=8))


def test_every_operation_wants_credentials(server: Server) -> None:
    for path, ops in document(BASE_URL)["paths"].items():
        url = server.base + path.replace("{rule_id}", "1").replace("{dest_id}", "1")
        for method in ops:
            r = requests.request(method, url.replace("{package}", "bash"), json={}, timeout=30)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json() == {"error": "authentication required"}


def test_another_users_ids_answer_404(server: Server) -> None:
    owner, other = "bob", "mallory"
    rule = server.call("POST", "/api/v1/rules", owner, {"kind": "package", "value": "kernel"})
    dest = server.call("POST", "/api/v1/destinations", owner,
                       {"kind": "email", "address": "bob@example.org"})  # fmt: skip
    pkg = server.call("POST", "/api/v1/packages", owner, {"package": "bash"})
    assert (rule.status_code, dest.status_code, pkg.status_code) == (201, 201, 201)
    rid, did = rule.json()["id"], dest.json()["id"]

    def state() -> tuple[Any, ...]:
        return tuple(server.call("GET", f"/api/v1/{what}", owner).json()
                     for what in ("rules", "destinations", "packages"))  # fmt: skip

    before = state()
    attempts = [
        ("GET", f"/api/v1/rules/{rid}", None),
        ("PATCH", f"/api/v1/rules/{rid}", {"enabled": False}),
        ("DELETE", f"/api/v1/rules/{rid}", None),
        ("PATCH", f"/api/v1/destinations/{did}", {"delivery": "digest"}),
        ("POST", f"/api/v1/destinations/{did}/verify", {"token": "x" * 20}),
        ("POST", f"/api/v1/destinations/{did}/token", {}),
        ("DELETE", f"/api/v1/destinations/{did}", None),
    ]
    for method, path, body in attempts:
        r = server.call(method, path, other, body)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert set(r.json()) == {"error"}
    # a package is named, not numbered: "removing" bob's leaves bob's alone
    assert server.call("DELETE", "/api/v1/packages/bash", other).status_code in (204, 404)
    assert state() == before
    assert server.call("GET", "/api/v1/rules", other).json() == []
    assert server.call("GET", "/api/v1/destinations", other).json() == []


def test_the_served_document_is_this_one(server: Server) -> None:
    r = requests.get(f"{server.base}/api/openapi.json", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert json.loads(r.text) == document(BASE_URL)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/rules", {"kind": "my_events", "name": "a\x00b"}),
        ("/api/v1/rules", {"kind": "topic", "value": "a\x00b"}),
        ("/api/v1/rules", {"kind": "service", "value": "s" * 256}),
        ("/api/v1/rules", {"kind": "topic", "value": "org." + "t" * 300}),
        ("/api/v1/rules", {"kind": "my_events", "name": "n" * 101}),
        ("/api/v1/destinations", {"kind": "email", "address": "a" * 250 + "@example.org"}),
        ("/api/v1/destinations", {"kind": "irc", "address": "#a\x00"}),
    ],
)
def test_what_postgresql_refuses_is_a_400(server: Server, path: str, body: Any) -> None:
    # text PostgreSQL cannot store (a NUL, longer than the column): refused, never a 500
    r = server.call("POST", path, "zoe", body)
    assert r.status_code == 400, (r.status_code, r.text)
    assert server.call("GET", "/api/v1/rules", "zoe").json() == []


def test_text_postgresql_cannot_store_in_a_path_or_as_json_is_refused(server: Server) -> None:
    r = server.call("DELETE", "/api/v1/packages/a%00b", "zoe")
    assert r.status_code == 404, r.text
    lone_surrogate = '{"kind": "my_events", "name": "\\ud800"}'
    headers = {"X-Remote-User": "zoe", "Content-Type": "application/json"}
    r = requests.post(f"{server.base}/api/v1/rules", data=lone_surrogate, headers=headers,
                      timeout=30)  # fmt: skip
    assert r.status_code == 400, r.text


def test_basic_with_a_nul_in_the_name_is_401_on_postgresql(server: Server) -> None:
    # the local login (off on the gunicorn server above) in process, on the same database
    import base64

    from fedbus.notifier.store import Store
    from fedbus.notifier.web import create_app
    from fedbus.notifier.web.settings import parse

    store = Store.open(server.stack.db)
    try:
        app = create_app(parse({"secret_key": "s" * 32, "local_login": True,
                                "admin_password": "admin-pw-123"}), store,
                         send_token=lambda *_: None)  # fmt: skip
        basic = "Basic " + base64.b64encode(b"a\x00b:pw").decode()
        r = app.test_client().get("/api/v1/me", headers={"Authorization": basic})
        assert r.status_code == 401, r.get_data(as_text=True)
    finally:
        store.engine.dispose()
