"""The deployed notification server's web UI, as a contributor meets it, in headless
Chromium on the controller: an admin makes a local account; the contributor logs in, adds
an email address and verifies it from the link in the mail on the MTA stand-in (bus-infra),
adds a rule from the deep link /settings/packages/<name>, and a Koji build of that package
(the hub's callbacks fired through koji's plugin machinery on bus-koji) reaches the mailbox
and shows on the rules page.  Screenshots: tests/output/molecule-default/."""

from __future__ import annotations

import uuid

import pytest
from bus_browser import chromium, publish_doc_shot, ui_journey
from bus_e2e import MAIL_DOMAIN, fire_koji_callbacks, mailbox
from bus_testlib import container_ip

testinfra_hosts = ["bus-notifier"]

RUN = uuid.uuid4().hex[:6]  # molecule's verify step may run twice on the same containers


@pytest.fixture(scope="module")
def mta(host):
    return host.get_host("docker://bus-infra")


def test_a_contributor_sets_up_notifications_in_the_browser(host, mta, secrets) -> None:
    user, package, release = f"web{RUN}", f"fedbus-web-{RUN}", f"1.{RUN}.fc43"
    mta.check_output(f"id -u {user} || useradd -m -s /usr/sbin/nologin {user}")
    koji = host.get_host("docker://bus-koji")
    with chromium() as b:
        seen = ui_journey(
            b, f"http://{container_ip('bus-notifier')}:8080",
            admin=("admin", secrets["vault_notifier_local_admin_password"]),
            user=user, password=f"pw-{RUN}-{uuid.uuid4().hex}", address=f"{user}@{MAIL_DOMAIN}",
            mailbox_text=lambda: mailbox(mta, user), package=package,
            fire_build=lambda name: fire_koji_callbacks(koji, release, name),
            build_subject=f"{package}-0.1.0-{release}")
    assert seen.build_mail is not None
    # the page says what happened, not a message id: the build, where it went
    assert f"{package}-0.1.0-{release}" in seen.recent, seen.recent
    assert f"email: {user}@{MAIL_DOMAIN}" in seen.recent, seen.recent
    assert "https://koji.fedoraproject.org/koji/buildinfo?buildID=2601234" in seen.links
    for path in seen.screenshots:
        publish_doc_shot(path)
