"""Issue 14 (trust boundaries) for the wedges: what Bugzilla may put on the bus, which
schema a service may use, strict JSON, the webhook's limits and its /health."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fedbus.errors import ConfigError, ValidationError
from fedbus.message.envelope import loads_json
from fedbus.wedges.base import Sink
from fedbus.wedges.bugzilla import Dropped, Policy, check_users, from_webhook
from fedbus.wedges.bugzilla_poll import Poller
from fedbus.wedges.hooks import Outbox, schema_for
from fedbus.wedges.webhook import WebhookServer

T = Sink(topic_prefix="org.fedoraproject.stg")
USERS = {"alice@example.org": "alice", "bob@example.org": "bob"}


def payload(**over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "event": {"action": "create", "target": "comment", "time": "2026-11-30T03:00:00Z",
                  "user": {"login": "alice@example.org"},
                  "changes": [{"field": "cc", "added": "carol@fedoraproject.org, "
                               "devel@lists.fedoraproject.org", "removed": ""},
                              {"field": "flag.needinfo", "added": "? (bob@example.org)",
                               "removed": ""}]},
        "bug": {"id": 1, "is_private": False, "product": {"name": "Fedora"},
                "reporter": {"login": "mallory@example.com"},
                "assigned_to": {"login": "bob@example.org"}},
        "comment": {"id": 9, "body": "hi", "is_private": False},
    }
    for key, value in over.items():
        p[key] = value
    return p


@pytest.mark.parametrize(("change", "reason"), [
    ({"comment": {"id": 9, "body": "embargoed", "is_private": True}}, "private comment"),
    ({"bug": {"id": 1, "is_private": True, "product": {"name": "Fedora"}}}, "private bug"),
    ({"bug": {"id": 1, "product": {"name": "Red Hat Enterprise Linux 9"}}}, "not published"),
    ({"comment": None}, "non-public"),
    ({"attachment": {"id": 3, "is_private": True}}, "private attachment"),
])
def test_bugzilla_drops_what_is_not_public(change: dict[str, Any], reason: str) -> None:
    p = payload(**change)
    if p.get("comment") is None:
        del p["comment"]
    with pytest.raises(Dropped, match=reason):
        from_webhook(p, Policy(users=USERS))


def test_bugzilla_people_are_fas_names_from_the_map_only() -> None:
    _, body, _ = from_webhook(payload(), Policy(users=USERS))
    assert body["agent_name"] == "alice"
    # mallory@example.com is not in the map: no name (not "mallory"); lists left out
    assert body["usernames"] == ["alice", "bob", "carol"]
    _, body, _ = from_webhook(payload(), Policy())
    assert body["agent_name"] is None and body["usernames"] == ["carol"]


def test_bugzilla_policy_refuses_bad_settings() -> None:
    with pytest.raises(ConfigError, match="no product"):
        Policy(products=())
    with pytest.raises(ConfigError, match="expected an e-mail"):
        check_users({"alice": "alice"})
    with pytest.raises(ConfigError, match="expected a FAS user name"):
        check_users({"alice@example.org": "Alice Liddell"})


class FakeBz:
    def __init__(self, raw: dict[str, Any], comments: list[dict[str, Any]]) -> None:
        self.raw, self.comments = raw, comments

    def query(self, _q: Any) -> list[dict[str, Any]]:
        return [self.raw]

    def get_comments(self, ids: list[int]) -> dict[str, Any]:
        return {"bugs": {str(ids[0]): {"comments": self.comments}}}


def _raw(**over: Any) -> dict[str, Any]:
    return {"id": 5, "creation_time": "2020-01-01T00:00:00Z", "groups": [],
            "last_change_time": "2030-01-01T00:00:00Z", "product": "Fedora",
            "creator": "alice@example.org", **over}


@pytest.mark.parametrize(("raw", "comment_private"), [
    (_raw(groups=["redhat"]), False),       # private bug
    (_raw(product="RHEL"), False),          # product not watched
    (_raw(), True),                          # private comment
])
def test_poller_publishes_nothing_private(tmp_path: Path, raw: dict[str, Any],
                                          comment_private: bool) -> None:
    comments = [{"id": 1, "text": "secret", "creation_time": "2030-01-01T00:00:00Z",
                 "creator": "alice@example.org", "is_private": comment_private}]
    from datetime import UTC, datetime
    poller = Poller(FakeBz(raw, comments), ["Fedora"], Sink(spool_dir=tmp_path / "s"),
                    "https://bz", since=datetime(2025, 1, 1, tzinfo=UTC), users=USERS)
    assert poller.poll_once() == 0


@pytest.mark.parametrize(("suffix", "schema"), [
    ("bodhi.update.comment", "noggin.user.create.v1"),   # another topic's schema
    ("bodhi.update.comment", "base.message"),            # no body validation
    ("pkgdb.package.new", "fedbus.bus.canary.v1"),
])
def test_a_service_may_only_use_its_topics_schemas(suffix: str, schema: str) -> None:
    with pytest.raises(ValidationError, match="is not a schema of topic"):
        schema_for(suffix, schema)
    outbox = Outbox(suffix.split(".")[0], T)
    assert not outbox.add(suffix, {"msg": {"agent": "admin", "user": "mallory"}}, schema)


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '[-Infinity]',
                                  '{"a": 1, "a": 2}', "[" * 100_000, "{nope"])
def test_loads_json_is_strict_and_one_line(text: str) -> None:
    with pytest.raises(ValidationError, match=r"^body is not JSON: [^\n]+$"):
        loads_json(text)


TOKENS = {"pkgdb": "token-pkgdb-0123456789", "bugzilla": "token-bugzilla-0123456789"}
GOOD = {"topic": "pkgdb.package.new",
        "body": {"package": "p", "namespace": "rpms", "agent": "alice", "owner": "alice"}}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[WebhookServer, Path]]:
    spool = tmp_path / "spool"
    srv = WebhookServer(("127.0.0.1", 0), TOKENS, Sink(spool_dir=spool),
                        request_timeout=1.0, max_connections=4)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, spool
    srv.shutdown()
    srv.server_close()


def spooled(spool: Path) -> int:
    return sum(1 for p in spool.rglob("*") if p.is_file()) if spool.exists() else 0


def ask(srv: WebhookServer, data: bytes, timeout: float = 5.0) -> tuple[int, dict[str, Any]]:
    with socket.create_connection(srv.server_address[:2], timeout=timeout) as sock:
        sock.sendall(data)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    try:
        return status, json.loads(body)
    except ValueError:
        return status, {}


def post(length: bytes | None, body: bytes, service: str = "pkgdb") -> bytes:
    head = (f"POST /hook/{service} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {TOKENS[service]}\r\n").encode()
    if length is not None:
        head += b"Content-Length: " + length + b"\r\n"
    return head + b"\r\n" + body


@pytest.mark.parametrize(("length", "body", "status"), [
    (b"-1", json.dumps(GOOD).encode() * 2, 400),
    (b"abc", b"{}", 400),
    (b"+3", b"{}", 400),
    (None, b"{}", 411),
    (b"99999999", b"", 413),
    (b"100000", b"[" * 100_000, 400),
    (b"10", b'{"a": NaN}', 400),
])
def test_webhook_content_length_is_strict(server: tuple[WebhookServer, Path], length: Any,
                                          body: bytes, status: int) -> None:
    srv, spool = server
    assert ask(srv, post(length, body))[0] == status
    assert spooled(spool) == 0


def test_webhook_refuses_chunked_bodies(server: tuple[WebhookServer, Path]) -> None:
    srv, spool = server
    req = post(None, b"").replace(b"\r\n\r\n", b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert ask(srv, req + b"2\r\n{}\r\n0\r\n\r\n")[0] == 411
    assert spooled(spool) == 0


def test_webhook_cuts_off_slow_clients_and_bounds_connections(
        server: tuple[WebhookServer, Path]) -> None:
    srv, _ = server
    half = [socket.create_connection(srv.server_address[:2]) for _ in range(4)]
    for sock in half:
        sock.sendall(b"POST /hook/pkgdb HTTP/1.1\r\nContent-")
    time.sleep(0.3)
    assert ask(srv, b"GET /health HTTP/1.0\r\n\r\n")[0] == 503  # all 4 slots held
    time.sleep(2.5)  # past request_timeout: the stalled ones are cut off
    assert ask(srv, b"GET /health HTTP/1.0\r\n\r\n")[0] == 200
    for sock in half:
        sock.close()
    assert threading.active_count() < 20


def test_webhook_health_names_no_service(server: tuple[WebhookServer, Path]) -> None:
    srv, _ = server
    assert ask(srv, b"GET /health HTTP/1.0\r\n\r\n") == (200, {"status": "ok"})


def test_webhook_drops_a_private_bugzilla_comment(server: tuple[WebhookServer, Path]) -> None:
    srv, spool = server
    data = json.dumps(payload(comment={"id": 9, "body": "x", "is_private": True})).encode()
    status, answer = ask(srv, post(str(len(data)).encode(), data, "bugzilla"))
    assert status == 200 and "private comment" in answer["dropped"]
    assert spooled(spool) == 0


def test_webhook_refuses_a_foreign_schema(server: tuple[WebhookServer, Path]) -> None:
    srv, spool = server
    data = json.dumps({**GOOD, "schema": "noggin.user.create.v1"}).encode()
    status, answer = ask(srv, post(str(len(data)).encode(), data))
    assert status == 400 and "is not a schema of topic" in answer["error"]
    assert spooled(spool) == 0


def test_webhook_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="request_timeout"):
        WebhookServer(("127.0.0.1", 0), TOKENS, T, request_timeout=0)
    with pytest.raises(ConfigError, match="max_connections"):
        WebhookServer(("127.0.0.1", 0), TOKENS, T, max_connections=0)


@pytest.mark.parametrize("argv", [
    ["webhook", "--request-timeout", "0"], ["webhook", "--request-timeout", "nan"],
    ["webhook", "--max-connections", "1.5"], ["bugzilla-poll", "--url", "u",
                                              "--product", "F", "--interval", "-1"],
])
def test_cli_refuses_bad_limits(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from fedbus.cli.cmd_wedge import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and "expected a" in capsys.readouterr().err


def test_cli_refuses_a_bad_user_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fedbus.cli.cmd_wedge import main

    users = tmp_path / "users.toml"
    users.write_text('"alice" = "alice"\n')
    tokens = tmp_path / "tokens.toml"
    tokens.write_text('bugzilla = "t"\n')
    code = main(["--spool", str(tmp_path / "s"), "webhook", "--listen", "127.0.0.1:0",
                 "--tokens", str(tokens), "--bugzilla-users", str(users)])
    assert code == 1 and "expected an e-mail address" in capsys.readouterr().err


def test_webhook_reaper_ends_with_the_server() -> None:
    srv = WebhookServer(("127.0.0.1", 0), TOKENS, T, request_timeout=0.2)
    srv.server_close()
    srv._reaper.join(timeout=2)
    assert not srv._reaper.is_alive()
