"""The deployed notification server's web UI driven by a real headless browser.

Debian's ``chromium`` and ``chromium-driver`` on the controller (scripts/host-deps.sh
installs them) reach the notifier container's port over the scenario's docker network.
:func:`ui_journey` is what a contributor does, in the order they do it: an admin makes a
local account, the contributor logs in, adds an email address, follows the verification
link from the mail that landed in their mailbox, adds a rule from an application's deep
link (``/settings/packages/<name>``), and — after a build of that package — finds the
mail in the mailbox and the notification on the rules page.  Every step leaves a
screenshot in ``tests/output/molecule-<scenario>/``.

Also used by tests/browser (the same UI served from the installed package on the test
machine): the driver, ``submit`` and ``shot`` are written once, here.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[3]
DOC_SHOTS = ROOT / "docs" / "screenshots"


def output_dir() -> Path:
    scenario = os.environ.get("MOLECULE_SCENARIO_NAME")
    path = ROOT / "tests" / "output" / (f"molecule-{scenario}" if scenario else "browser")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def chromium(width: int = 1280, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium under chromedriver; fails (does not skip) when either is
    missing: the deployed UI is part of what the scenario proves."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver_path, (
        "chromium and chromium-driver are needed on the controller (scripts/host-deps.sh)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def is_gone(element: Any) -> bool:
    """The element's page has been replaced.  Selenium's ``staleness_of`` knows only
    ``StaleElementReferenceException``; while the next page loads, chromedriver may answer
    "Node with given id does not belong to the document" instead."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        if "does not belong to the document" in str(e):
            return True
        raise
    return False


def submit(b: Any, by: str, selector: str) -> None:
    """Click a submit button and wait until the browser has loaded the next page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = b.find_element(By.TAG_NAME, "html")
    b.find_element(by, selector).click()
    WebDriverWait(b, 30).until(lambda _: is_gone(page))


def shot(b: Any, name: str) -> Path:
    path = output_dir() / f"{name}.png"
    b.save_screenshot(str(path))
    return path


def publish_doc_shot(path: Path) -> None:
    """docs/screenshots/<name> is refreshed from a run when FEDBUS_UPDATE_SCREENSHOTS=1
    (or when it is missing)."""
    target = DOC_SHOTS / path.name
    if not target.exists() or os.environ.get("FEDBUS_UPDATE_SCREENSHOTS") == "1":
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def mails(mbox_text: str) -> list[EmailMessage]:
    """The messages of an mbox file's text (as exim4 writes /var/mail/<user>), decoded."""
    with tempfile.NamedTemporaryFile("w", suffix=".mbox", delete=False) as f:
        f.write(mbox_text)
    try:
        box = mailbox.mbox(f.name, create=False)
        try:
            return [email.message_from_bytes(box.get_bytes(k), policy=email.policy.default)
                    for k in box.iterkeys()]  # type: ignore[misc]
        finally:
            box.close()
    finally:
        os.unlink(f.name)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


@dataclass
class Journey:
    """What the UI journey saw, for the scenario's own assertions."""

    user: str
    address: str
    package: str
    screenshots: list[Path] = field(default_factory=list)
    build_mail: EmailMessage | None = None
    recent: str = ""
    links: list[str] = field(default_factory=list)


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def ui_journey(b: Any, base: str, *, admin: tuple[str, str], user: str, password: str,
               address: str, mailbox_text: Callable[[], str], package: str,
               fire_build: Callable[[str], None], build_subject: str) -> Journey:
    """A contributor's first visit to the deployed notification server, end to end.

    ``base`` is the URL the browser reaches (the container's address); links in mails
    name the server's configured base URL and are followed on ``base`` instead.
    ``mailbox_text()`` reads the mbox of ``address``; ``fire_build(package)`` makes a
    build of ``package`` happen (a Koji wedge host's callbacks, or a message on the bus);
    ``build_subject`` is a text the build's mail subject carries."""
    from selenium.webdriver.common.by import By

    j = Journey(user=user, address=address, package=package)

    def step(name: str) -> None:
        assert b.title, f"page without a title at {b.current_url}"
        j.screenshots.append(shot(b, name))

    # 1. the admin makes the contributor's local account
    b.get(f"{base}/login")
    step("notifier-01-login")
    _login(b, *admin)
    b.get(f"{base}/settings/accounts")
    b.find_element(By.NAME, "username").send_keys(user)
    b.find_element(By.NAME, "password").send_keys(password)
    submit(b, By.CSS_SELECTOR, "#account-form button[type=submit]")
    assert user in b.find_element(By.ID, "accounts").text, b.page_source[-2000:]
    step("notifier-02-accounts")
    submit(b, By.CSS_SELECTOR, "#who button[type=submit]")  # log out

    # 2. an application's deep link, before logging in: the login page, then back
    b.get(f"{base}/settings/destinations")
    assert urlsplit(b.current_url).path == "/login", b.current_url
    _login(b, user, password)
    assert urlsplit(b.current_url).path == "/settings/destinations", b.current_url
    assert b.find_element(By.ID, "who").text.startswith(user)

    # 3. an email destination, verified from the link in the mail it receives
    before = len(mails(mailbox_text()))
    b.find_element(By.NAME, "address").send_keys(address)
    submit(b, By.CSS_SELECTOR, "#destination-form button[type=submit]")
    assert "verification token was sent" in b.page_source, b.page_source[-2000:]
    step("notifier-03-destination-added")
    token_mail = _wait(lambda: mails(mailbox_text())[before:], 120, "the verification mail")[0]
    link = re.search(r"https?://\S+?(/settings/destinations/\d+/verify\?\S+)",
                     text_of(token_mail))
    assert link, text_of(token_mail)
    b.get(base + link.group(1))
    step("notifier-04-verify")
    submit(b, By.CSS_SELECTOR, "#verify-form button[type=submit]")
    assert "Verified." in b.page_source, b.page_source[-2000:]
    step("notifier-05-verified")

    # 4. the deep link of a package pre-fills the rule
    b.get(f"{base}/settings/packages/{package}")
    assert b.find_element(By.NAME, "value").get_attribute("value") == package
    assert b.find_element(By.NAME, "kind").get_attribute("value") == "package"
    step("notifier-06-rule-from-deep-link")
    submit(b, By.ID, "save-rule")
    rows = b.find_elements(By.CSS_SELECTOR, "#rules tr.rule")
    assert [r for r in rows if package in r.text], [r.text for r in rows]

    # 5. a build of the package: the mail in the mailbox, the notification on the page
    time.sleep(3)  # the workers reload changed preferences every 2 s
    seen = len(mails(mailbox_text()))
    fire_build(package)

    def build_mails() -> list[EmailMessage]:
        return [m for m in mails(mailbox_text())[seen:] if build_subject in str(m["Subject"])]

    j.build_mail = _wait(build_mails, 180, f"the mail about {build_subject}")[0]

    def recent() -> str:
        b.get(f"{base}/settings/rules")
        text = b.find_element(By.ID, "recent").text
        return text if address in text else ""

    j.recent = _wait(recent, 60, "the notification on the rules page")
    j.links = [a.get_attribute("href") for a in b.find_elements(By.CSS_SELECTOR, "#recent a")]
    step("notifier-07-rules-with-notification")
    return j


def _login(b: Any, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    b.find_element(By.NAME, "username").send_keys(name)
    b.find_element(By.NAME, "password").send_keys(password)
    submit(b, By.CSS_SELECTOR, "#login button[type=submit]")
    assert urlsplit(b.current_url).path != "/login", b.page_source[-2000:]
