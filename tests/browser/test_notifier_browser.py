"""The notification server's web UI in a real headless browser (Debian's chromium).

Against the app served locally by ``fedbus notifier web`` (gunicorn, SQLite), with the real
worker and email sender on a test vhost of the host RabbitMQ and a real SMTP server
(aiosmtpd): log in, add an email destination and verify it from the link in the mail, add a
rule through the ``/settings/packages/kernel`` deep link, publish a Koji build message for
kernel and see it act: the mail arrives and the rules page lists the notification (its
summary, linked to the Koji build, and where it went).
Screenshots go to tests/output/browser/ on each run (docs/screenshots/ come from the
deployed UI: molecule/default/tests/test_web_ui.py). The driver and the page helpers are
molecule/_shared/testlib/bus_browser.py's, shared with the molecule scenarios.

Needs ``chromium`` and ``chromium-driver`` (scripts/host-deps.sh installs them); skipped otherwise.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bus_browser import chromium, shot, submit
from bus_e2e import koji_build
from support.notifier_servers import SmtpServer, free_port
from support.notifier_stack import PREFIX, Stack
from support.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]


CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
PASSWORD = "alice-password-1"
KOJI_URL = "https://koji.fedoraproject.org/koji/buildinfo?buildID=4242"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    pytest.mark.skipif(not (CHROMIUM and DRIVER),
                       reason="chromium and chromium-driver are not installed "
                              "(run scripts/host-deps.sh)"),
]




def queue_consumed(broker: Any, vhost: str, queue: str) -> bool:
    import urllib.parse

    try:
        info = broker.api("GET", f"queues/{urllib.parse.quote(vhost, safe='')}/{queue}")
    except Exception:
        return False
    return bool(info) and int(info.get("consumers", 0)) > 0


def up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture
def served(tmp_path: Path, broker: Any, vhost: str) -> Iterator[tuple[Stack, SmtpServer, str]]:
    smtp = SmtpServer().start()
    stack = Stack(tmp_path, broker.amqp_url(vhost), smtp.port, free_port())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with stack.notifier_toml.open("a") as f:
        f.write('[web]\nsecret_key = "browser-test-secret-key"\nlocal_login = true\n'
                'admin_password = "admin-password-12"\ntrusted_proxies = []\n')
    add = subprocess.run(
        [sys.executable, "-m", "fedbus.cli.main", "notifier", "--settings",
         str(stack.notifier_toml), "web", "adduser", "alice"],
        input=PASSWORD + "\n", capture_output=True, text=True, check=False)
    assert add.returncode == 0 and "account alice created" in add.stdout, add.stderr
    try:
        stack.start("web", "web", "--bind", f"127.0.0.1:{port}", "--workers", "1")
        stack.worker()
        stack.sender("email")
        wait_for(lambda: up(f"{base}/healthz"), 60, "the web server")
        wait_for(lambda: queue_consumed(broker, vhost, "notifier"), 60, "the worker")
        wait_for(lambda: queue_consumed(broker, vhost, "notifier.email"), 60, "the sender")
        yield stack, smtp, base
    finally:
        stack.stop_all()
        smtp.stop()
        print(stack.logs())


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def test_login_add_rule_and_see_it_act_on_the_next_message(
    served: tuple[Stack, SmtpServer, str], browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    stack, smtp, base = served
    b = browser
    # 1. an application's deep link; not logged in yet: the login page, then back
    b.get(f"{base}/settings/destinations")
    assert b.current_url.startswith(f"{base}/login")
    b.find_element(By.NAME, "username").send_keys("alice")
    b.find_element(By.NAME, "password").send_keys(PASSWORD)
    submit(b, By.CSS_SELECTOR, "#login button[type=submit]")
    assert b.current_url == f"{base}/settings/destinations"
    assert b.find_element(By.ID, "who").text.startswith("alice")

    # 2. an email destination, verified from the link in the mail it receives
    b.find_element(By.NAME, "address").send_keys("alice@example.org")
    submit(b, By.CSS_SELECTOR, "#destination-form button[type=submit]")
    assert "verification token was sent" in b.page_source
    wait_for(lambda: smtp.messages("alice@example.org"), 30, "the verification mail")
    text = smtp.messages("alice@example.org")[0].get_payload(decode=True).decode()
    link = re.search(r"https://notifications\.test(/settings/destinations/\d+/verify\?\S+)",
                     text)
    assert link, text
    b.get(base + link.group(1))
    submit(b, By.CSS_SELECTOR, "#verify-form button[type=submit]")
    assert "Verified." in b.page_source

    # 3. the Koji wedge's "notifications for this package" link pre-fills the rule
    b.get(f"{base}/settings/packages/kernel")
    assert b.find_element(By.NAME, "value").get_attribute("value") == "kernel"
    assert b.find_element(By.NAME, "kind").get_attribute("value") == "package"
    submit(b, By.ID, "save-rule")
    rows = b.find_elements(By.CSS_SELECTOR, "#rules tr.rule")
    assert len(rows) == 1 and "kernel" in rows[0].text
    (rule,) = stack.store.user("alice").list_rules()
    assert (rule.kind, rule.value) == ("package", "kernel")

    # 4. the next message acts on it: the build of kernel by someone else is mailed
    time.sleep(2.5)  # the workers pick up changed preferences within 2 s
    stack.publish([koji_build("kernel", "300.fc42", PREFIX),
                   koji_build("firefox", "300.fc42", PREFIX)])
    wait_for(lambda: len(smtp.messages("alice@example.org")) >= 2, 30, "the build mail")
    time.sleep(1.0)  # a wrong match (firefox) would arrive within this second too
    mails = smtp.messages("alice@example.org")[1:]
    assert len(mails) == 1 and "kernel" in mails[0]["Subject"], [m["Subject"] for m in mails]
    b.get(f"{base}/settings/rules")
    assert b.title == "Rules — Fedora Notifications"
    rows = b.find_elements(By.CSS_SELECTOR, "#recent tr.notification")
    builds = [r for r in rows if "Build" in r.text]  # the verification mail is listed too
    assert len(builds) == 1, [r.text for r in rows]
    assert "email: alice@example.org" in builds[0].text
    link = builds[0].find_element(By.TAG_NAME, "a")
    assert "kernel" in link.text and "firefox" not in link.text, link.text
    assert link.get_attribute("href") == KOJI_URL
    shot(b, "notifier-rules")

    # 5. a wrong address is a page of the site, with the way back
    b.get(f"{base}/settings/no-such-page")
    assert b.title == "Page not found — Fedora Notifications"
    submit(b, By.ID, "home")
    assert b.current_url == f"{base}/settings/rules"
