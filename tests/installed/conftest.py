"""The installed layer's fixtures: fedbus from the fresh virtualenv, and its notifier web UI
served as roles/notifier serves it.

These tests run only through ``tests/installed/harness.py`` (``scripts/test.sh installed``),
with the fresh virtualenv's python, from a copy of this directory: every test fails when
``fedbus`` is imported from anywhere but that virtualenv's site-packages (the source
tree, an editable install, the developer's .venv).
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest
from installed_support import (
    ADMIN_PASSWORD,
    ALICE_PASSWORD,
    BIN,
    Notifier,
    free_port,
    installed_copy_problem,
)


@pytest.fixture(scope="session", autouse=True)
def _fedbus_is_the_installed_copy() -> None:
    problem = installed_copy_problem()
    if problem:
        pytest.fail(f"tests/installed: {problem}", pytrace=False)


def run(cmd: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, input=stdin, env=env, capture_output=True, text=True, timeout=120)


REVISION_CHECK = """
from fedbus.notifier import settings
from fedbus.notifier.migrate import current, head
s = settings.load({settings!r})
try:
    now = current(s.database_url)
except Exception as exc:  # no database file yet
    now = None
print("current" if now == head() else f"behind {{now}} {{head()}}")
"""  # roles/notifier/tasks/configure.yml, "Database revision before the migrations"


@pytest.fixture(scope="session")
def notifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notifier]:
    """What roles/notifier sets up on a `local` host, with SQLite: settings and secrets,
    the migrations, a local account, ``fedbus … web`` (gunicorn).  The broker URL points at a
    closed port: nothing here needs RabbitMQ (sending a verification token fails, as with
    the broker down; the destination stays, unverified)."""
    d = tmp_path_factory.mktemp("notifier")
    (d / "fedbus.toml").write_text(
        f'environment = "local"\n[amqp]\nurls = ["amqp://nobody:nothing@127.0.0.1:{free_port()}/%2F"]\n'
    )
    (d / "notifier-secret-key").write_text("k" * 48 + "\n")
    (d / "notifier-admin-password").write_text(ADMIN_PASSWORD + "\n")
    database_url = f"sqlite:///{d / 'notifier.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # as roles/notifier/templates/etc/fedbus/notifier.toml.j2 renders it for `local`
    (d / "notifier.toml").write_text(f"""\
database_url = "{database_url}"
base_url = "{base}"
queue = "notifier"
bindings = []
prefetch = 50

[email]
host = "127.0.0.1"
port = 25
starttls = false
user = ""
sender = "notifications@example.org"
max_attempts = 8

[irc]
host = "127.0.0.1"
port = 6667
nick = "fedbus-notify"

[web]
secret_key_file = "{d / 'notifier-secret-key'}"
trusted_proxies = ["127.0.0.1/32"]
remote_user_header = "X-Remote-User"
local_login = true
admin_user = "admin"
admin_password_file = "{d / 'notifier-admin-password'}"
""")  # fmt: skip
    env = {**os.environ, "FEDBUS_CONFIG": str(d / "fedbus.toml")}
    # roles/notifier/vars/main.yml: _notifier_fedbus
    fedbus = [str(BIN / "fedbus"), "-c", str(d / "fedbus.toml"), "notifier",
              "--settings", str(d / "notifier.toml")]  # fmt: skip

    check = [str(BIN / "python"), "-c", REVISION_CHECK.format(settings=str(d / "notifier.toml"))]
    before = run(check, env)
    assert before.returncode == 0 and before.stdout.startswith("behind None "), before
    migrated = run([*fedbus, "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    head = before.stdout.split()[-1]
    assert migrated.stdout.strip() == f"database at revision {head}", migrated.stdout
    after = run(check, env)
    assert after.stdout.strip() == "current", after
    added = run([*fedbus, "web", "adduser", "alice"], env, stdin=ALICE_PASSWORD + "\n")
    assert added.returncode == 0 and "account alice created" in added.stdout, added

    log = d / "web.log"
    with log.open("w") as out:
        # roles/notifier/templates/etc/systemd/system/fedbus-notifier-web.service.j2
        server = subprocess.Popen(
            [*fedbus, "web", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"fedbus notifier web exited:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no answer on {base}:\n{log.read_text()}"
            time.sleep(0.2)
        yield Notifier(base, fedbus, env, log, database_url)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
