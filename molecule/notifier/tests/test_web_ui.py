"""The deployed notification server's web UI (PostgreSQL behind it), as a contributor
meets it, in headless Chromium on the controller: an admin makes a local account; the
contributor logs in, adds an email address and verifies it from the link in the mail on the
real MTA (notifier-mta), adds a rule from the deep link /settings/packages/<name>, and a Koji
build of that package published on the broker with Koji's account reaches the mailbox and
shows on the rules page.  Screenshots: tests/output/molecule-notifier/."""

from __future__ import annotations

import uuid

import pytest
from bus_browser import chromium, ui_journey
from bus_e2e import MAIL_DOMAIN, koji_build, mailbox, publish_direct
from bus_testlib import container_ip

testinfra_hosts = ["notifier-server"]

RUN = uuid.uuid4().hex[:6]  # molecule's verify step may run twice on the same containers


@pytest.fixture(scope="module")
def mta(host):
    return host.get_host("docker://notifier-mta")


def test_a_contributor_sets_up_notifications_in_the_browser(mta, secrets, ca_file) -> None:
    user, package, release = f"web{RUN}", f"fedbus-web-{RUN}", f"1.{RUN}.fc43"
    mta.check_output(f"id -u {user} || useradd -m -s /usr/sbin/nologin {user}")
    koji_password = secrets["vault_fedbus_account_passwords"]["koji"]

    def fire(name: str) -> None:
        publish_direct("notifier-broker", "koji", koji_password, ca_file,
                       [koji_build(name, release)])

    with chromium() as b:
        seen = ui_journey(
            b, f"http://{container_ip('notifier-server')}:8080",
            admin=("admin", secrets["vault_notifier_local_admin_password"]),
            user=user, password=f"pw-{RUN}-{uuid.uuid4().hex}", address=f"{user}@{MAIL_DOMAIN}",
            mailbox_text=lambda: mailbox(mta, user), package=package, fire_build=fire,
            build_subject=f"{package}-6.12.1-{release}")
    assert seen.build_mail is not None
    assert f"{package}-6.12.1-{release}" in seen.recent, seen.recent
    assert f"email: {user}@{MAIL_DOMAIN}" in seen.recent, seen.recent
    assert "https://koji.fedoraproject.org/koji/buildinfo?buildID=4242" in seen.links
