"""The notification server as deployed: services, PostgreSQL + migrations, web auth, MTA, IRC."""

from __future__ import annotations

import time

import pytest
import requests
from bus_e2e import api
from bus_testlib import container_ip

testinfra_hosts = ["notifier-server"]

SERVER = "notifier-server"
MTA = "notifier-mta"
PY = "/opt/fedbus/venv/bin/python"


def test_services_are_running(host) -> None:
    for unit in ["fedbus-notifier-web", "postgresql", "exim4", "fedbus-relay",
                 "fedbus-notifier-digest"]:
        assert host.service(unit).is_running, unit
    for unit in ["fedbus-notifier-worker@1", "fedbus-notifier-worker@2",
                 "fedbus-notifier-sender@email", "fedbus-notifier-sender@irc",
                 "fedbus-notifier-digest"]:
        assert host.service(unit).is_enabled, unit


def test_database_is_postgresql_at_the_newest_revision(host) -> None:
    assert 'database_url = "postgresql+psycopg://notifier@localhost/notifier"' in \
        host.file("/etc/fedbus/notifier.toml").content_string
    head = host.check_output(f"{PY} -c 'from fedbus.notifier.migrate import head; print(head())'")
    version = host.check_output(
        "sudo -u postgres psql -d notifier -tAc 'select version_num from alembic_version'")
    assert version.strip() == head.strip()
    owner = host.check_output(
        "sudo -u postgres psql -tAc \"select pg_get_userbyid(datdba) from pg_database "
        "where datname='notifier'\"")
    assert owner.strip() == "notifier"


def test_secrets_are_not_world_readable(host) -> None:
    for name in ["notifier-secret-key", "notifier-admin-password", "notifier-db.password",
                 "notifier.toml"]:
        f = host.file(f"/etc/fedbus/{name}")
        assert f.mode & 0o007 == 0, name


def test_proxy_header_is_trusted_from_the_proxy_address(host) -> None:
    status, me = api(host, "GET", "/api/v1/me")
    assert status == 200 and me["name"] == "watcher"


def test_proxy_header_is_ignored_from_elsewhere() -> None:
    url = f"http://{container_ip(SERVER)}:8080"
    r = requests.get(f"{url}/api/v1/me", headers={"X-Remote-User": "watcher"}, timeout=10)
    assert r.status_code == 401
    r = requests.get(f"{url}/settings/rules", headers={"X-Remote-User": "watcher"},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_local_admin_login_from_the_vault(secrets) -> None:
    url = f"http://{container_ip(SERVER)}:8080/api/v1/me"
    ok = requests.get(url, auth=("admin", secrets["vault_notifier_local_admin_password"]),
                      timeout=10)
    assert ok.status_code == 200 and ok.json()["name"] == "admin"
    assert requests.get(url, auth=("admin", "wrong-password"), timeout=10).status_code == 401


def test_openapi_document_is_served() -> None:
    doc = requests.get(f"http://{container_ip(SERVER)}:8080/api/openapi.json", timeout=10).json()
    assert "/api/v1/rules" in doc["paths"]


def test_users_cannot_reach_each_other(host) -> None:
    status, rule = api(host, "POST", "/api/v1/rules", "alice",
                       {"kind": "package", "value": "kernel"})
    assert status == 201
    assert api(host, "GET", f"/api/v1/rules/{rule['id']}", "mallory")[0] == 404
    assert api(host, "DELETE", f"/api/v1/rules/{rule['id']}", "mallory")[0] == 404
    assert api(host, "GET", f"/api/v1/rules/{rule['id']}", "alice")[0] == 200
    assert api(host, "DELETE", f"/api/v1/rules/{rule['id']}", "alice")[0] == 204


def test_mail_goes_through_the_local_exim_to_the_mta(host) -> None:
    marker = f"molecule-{time.time_ns()}"
    host.check_output(
        f"printf 'Subject: {marker}\\n\\nhello\\n' | /usr/sbin/sendmail watcher@example.org")
    mta = host.get_host(f"docker://{MTA}")
    for _ in range(60):
        if marker in mta.run("cat /var/mail/watcher 2>/dev/null").stdout:
            return
        time.sleep(0.5)
    pytest.fail(f"mail {marker} not in notifier-mta:/var/mail/watcher; exim queue: "
                + host.run("exim -bp").stdout)


def test_irc_server_is_reachable(host) -> None:
    out = host.run("timeout 5 bash -c 'exec 3<>/dev/tcp/notifier-irc/6667; "
                   "printf \"NICK probe\\r\\nUSER probe 0 * :probe\\r\\n\" >&3; "
                   "head -c 300 <&3'")
    assert " 001 probe " in out.stdout, out.stdout + out.stderr


def test_irc_channels_and_web_tls_as_the_role_renders_them(host) -> None:
    """local: no channel listed (the senders write to nicks only) and plain HTTP, which the
    role allows off loopback in the local environment only."""
    assert "\nchannels = []\n" in host.file("/etc/fedbus/notifier.toml").content_string
    unit = host.file("/etc/systemd/system/fedbus-notifier-web.service").content_string
    assert "--bind 0.0.0.0:8080" in unit and "--certfile" not in unit
    assert not host.file("/etc/fedbus/notifier-web.key").exists
