"""Who is asking: the proxy header only from trusted addresses; local login; no open redirect."""

from __future__ import annotations

import pytest
from flask import Flask

from fedbus.errors import ConfigError
from fedbus.notifier.web.settings import parse

from .conftest import ADMIN_PW, PROXY, STRANGER, csrf, login, proxied


def test_header_from_a_trusted_proxy_names_the_user(app: Flask) -> None:
    r = proxied(app, "alice").get("/api/v1/me")
    assert r.status_code == 200 and r.json["name"] == "alice"
    page = proxied(app, "alice").get("/settings/rules")
    assert page.status_code == 200 and 'id="who">alice' in page.get_data(as_text=True)


def test_header_from_an_untrusted_address_is_ignored(app: Flask) -> None:
    c = proxied(app, "alice", addr=STRANGER)
    assert c.get("/api/v1/me").status_code == 401
    r = c.get("/settings/rules")
    assert r.status_code == 302 and r.location.startswith("/login")
    # ...even together with a forwarded-for naming the proxy
    c.environ_base["HTTP_X_FORWARDED_FOR"] = PROXY
    assert c.get("/api/v1/me").status_code == 401


def test_malformed_header_is_ignored(app: Flask) -> None:
    assert proxied(app, "Robert'); DROP").get("/api/v1/me").status_code == 401


def test_untrusted_header_does_not_override_a_session(app: Flask) -> None:
    c = login(app, "admin", ADMIN_PW)
    c.environ_base.update({"REMOTE_ADDR": STRANGER, "HTTP_X_REMOTE_USER": "alice"})
    assert 'id="who">admin' in c.get("/settings/rules").get_data(as_text=True)


def test_local_login_wrong_password(app: Flask) -> None:
    c = app.test_client()
    token = csrf(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"username": "admin", "password": "nope", "csrf_token": token})
    assert r.status_code == 401 and "Wrong user name or password" in r.get_data(as_text=True)
    assert c.get("/settings/rules").status_code == 302


def test_admin_creates_an_account_which_can_log_in(app: Flask) -> None:
    admin = login(app, "admin", ADMIN_PW)
    page = admin.get("/settings/accounts").get_data(as_text=True)
    r = admin.post("/settings/accounts", data={"username": "carol", "password": "carol-pw-1",
                                                 "csrf_token": csrf(page)})
    assert r.status_code == 302
    carol = login(app, "carol", "carol-pw-1")
    assert 'id="who">carol' in carol.get("/settings/rules").get_data(as_text=True)
    assert carol.get("/settings/accounts").status_code == 403
    # basic auth on the API with the same account
    r = app.test_client().get("/api/v1/me", auth=("carol", "carol-pw-1"))
    assert r.status_code == 200 and r.json["name"] == "carol"
    assert app.test_client().get("/api/v1/me", auth=("carol", "wrong")).status_code == 401


def test_api_ignores_the_session_cookie(app: Flask) -> None:
    c = login(app, "admin", ADMIN_PW)
    assert c.get("/api/v1/me").status_code == 401


def test_no_local_login_when_disabled(settings: object, store: object) -> None:
    from fedbus.notifier.web import create_app

    s = parse({"secret_key": "k" * 32, "trusted_proxies": ["10.0.0.0/24"],
               "admin_password": ADMIN_PW})
    app = create_app(s, store, send_token=lambda *a: None, testing=True)  # type: ignore[arg-type]
    c = app.test_client()
    assert c.get("/login").status_code == 404
    assert c.get("/settings/rules").status_code == 401
    assert c.get("/api/v1/me", auth=("admin", ADMIN_PW)).status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "\\\\evil"])
def test_login_never_redirects_off_site(app: Flask, target: str) -> None:
    c = app.test_client()
    token = csrf(c.get("/login").get_data(as_text=True))
    r = c.post(f"/login?next={target}", data={"username": "admin", "password": ADMIN_PW,
                                               "csrf_token": token})
    assert r.status_code == 302 and r.location == "/settings/rules"


def test_settings_errors_are_one_line() -> None:
    cidr = r"notifier\.toml: web\.trusted_proxies\[0\]: 'ten' is not a CIDR"
    with pytest.raises(ConfigError, match=cidr):
        parse({"secret_key": "k", "trusted_proxies": ["ten"]})
    with pytest.raises(ConfigError, match="secret_key or secret_key_file is required"):
        parse({})
    with pytest.raises(ConfigError, match=r"notifier\.toml: web\.bind: unknown key"):
        parse({"secret_key": "k", "bind": "x"})


def test_api_refuses_wrong_basic_credentials_beside_a_trusted_header(app: Flask) -> None:
    # presented credentials must be right, even when the proxy header alone would do
    app.config["FEDBUS_ACCOUNTS"].set_password("alice", "alice-pw-1")
    app.config["FEDBUS_ACCOUNTS"].set_password("carol", "carol-pw-1")
    c = proxied(app, "alice")
    assert c.get("/api/v1/me").status_code == 200
    r = c.get("/api/v1/me", auth=("alice", "wrong"))
    assert r.status_code == 401 and r.json == {"error": "authentication required"}
    assert c.get("/api/v1/me", headers={"Authorization": "Bearer xyz"}).status_code == 401
    # right credentials of someone else than the header names: neither is believed
    assert c.get("/api/v1/me", auth=("carol", "carol-pw-1")).status_code == 401
    r = c.get("/api/v1/me", auth=("alice", "alice-pw-1"))
    assert r.status_code == 200 and r.json["name"] == "alice"


def test_wrong_basic_credentials_beside_a_header_count_as_failed_logins(
    settings: object, store: object, sent: object
) -> None:
    from fedbus.notifier.web import create_app

    limited = parse({"secret_key": "s" * 32, "trusted_proxies": ["10.0.0.0/24"],
                     "local_login": True, "admin_password": ADMIN_PW,
                     "login_limit_account": 2})
    c = proxied(create_app(limited, store, send_token=sent, testing=True), "alice")  # type: ignore[arg-type]
    codes = [c.get("/api/v1/me", auth=("alice", "wrong")).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_authorization_is_not_looked_at_without_the_local_login(store: object,
                                                                sent: object) -> None:
    from fedbus.notifier.web import create_app

    proxy_only = parse({"secret_key": "s" * 32, "trusted_proxies": ["10.0.0.0/24"]})
    c = proxied(create_app(proxy_only, store, send_token=sent, testing=True), "alice")  # type: ignore[arg-type]
    r = c.get("/api/v1/me", auth=("alice", "anything"))
    assert r.status_code == 200 and r.json["name"] == "alice"


def test_basic_with_a_name_no_account_can_have_is_401_and_counted(
    store: object, sent: object
) -> None:
    # a NUL in the name was a 500 on PostgreSQL (the limits and the account looked it up)
    import base64

    from fedbus.notifier.web import create_app

    limited = parse({"secret_key": "s" * 32, "local_login": True, "admin_password": ADMIN_PW,
                     "login_limit_account": 2, "login_limit_address": 100})
    app = create_app(limited, store, send_token=sent, testing=True)  # type: ignore[arg-type]
    looked_up: list[str] = []
    app.config["FEDBUS_ACCOUNTS"].check = lambda name, _pw: looked_up.append(name) or False
    basic = "Basic " + base64.b64encode(b"a\x00b:pw").decode()
    c = app.test_client()
    codes = [c.get("/api/v1/me", headers={"Authorization": basic}).status_code
             for _ in range(3)]  # fmt: skip
    assert codes == [401, 401, 429] and looked_up == []
