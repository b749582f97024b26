"""End to end on the deployed notifier: a user and rules made through the REST API, a Koji
build message and a git push message published on the broker → the watcher's mailbox on
the MTA holds the mails and an IRC client on ngircd receives the lines; the workers stopped
mid-stream and started again → nothing lost, nothing doubled."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from bus_e2e import api, koji_build, publish_direct, wait
from bus_testlib import container_ip
from support.irc_client import IrcClient
from support.notifier_stack import commit

testinfra_hosts = ["notifier-server"]

PREFIX = "org.fedoraproject.local"
MAILBOX = "/var/mail/watcher"
RUN = uuid.uuid4().hex[:6]
NICK = f"watch{RUN}"
USER = f"watcher{RUN}"  # a new user each run: the verify step may be rerun


def publish(account: str, password: str, ca_file: str, messages: list) -> None:
    publish_direct("notifier-broker", account, password, ca_file, messages)


@pytest.fixture(scope="module")
def mta(host):
    return host.get_host("docker://notifier-mta")


@pytest.fixture(scope="module")
def irc():
    return IrcClient(container_ip("notifier-irc"), 6667, NICK)


@pytest.fixture(scope="module")
def watcher(host, mta, irc) -> dict:
    """User `watcher`: an email and an IRC destination, verified with the tokens they got."""
    before = mta.run(f"cat {MAILBOX}").stdout.count("enter this code:")
    status, email = api(host, "POST", "/api/v1/destinations", USER,
                        {"kind": "email", "address": "watcher@example.org"})
    assert status == 201 and email["token_sent"], email
    status, nick = api(host, "POST", "/api/v1/destinations", USER,
                       {"kind": "irc", "address": NICK})
    assert status == 201 and nick["token_sent"], nick
    wait(lambda: mta.run(f"cat {MAILBOX}").stdout.count("enter this code:") > before, 60,
         "the token mail")
    mail_token = re.findall(r"enter this code: (\S+)", mta.check_output(f"cat {MAILBOX}"))[-1]
    wait(lambda: any("with code" in line for line in irc.lines), 60, "the token on IRC")
    irc_token = re.search(r"with code (\S+)", next(x for x in irc.lines if "with code" in x))[1]
    for dest, token in ((email, mail_token), (nick, irc_token)):
        status, out = api(host, "POST", f"/api/v1/destinations/{dest['id']}/verify", USER,
                          {"token": token})
        assert status == 200 and out == {"verified": True}
    status, rule = api(host, "POST", "/api/v1/rules", USER,
                       {"kind": "package", "value": "kernel", "name": "kernel"})
    assert status == 201
    time.sleep(3)  # the workers reload changed preferences every 2 s
    return {"email": email, "irc": nick, "rule": rule}


def subjects(mta) -> list[str]:
    return [line for line in mta.run(f"cat {MAILBOX}").stdout.splitlines()
            if line.startswith("Subject:")]


def test_koji_build_and_git_push_reach_mailbox_and_irc(watcher, mta, irc, secrets,
                                                       ca_file) -> None:
    pw = secrets["vault_fedbus_account_passwords"]
    release = f"1{RUN}.fc42"
    started = time.monotonic()
    publish("koji", pw["koji"], ca_file, [koji_build("kernel", release)])
    publish("git", pw["git"], ca_file, [commit("jdoe", "kernel", f"Bump {RUN}")])
    wait(lambda: sum(s.endswith(f"-{release}") for s in subjects(mta)) == 1
         and sum(s.startswith("Subject: [rpms/kernel]") and f"Bump {RUN}" in s
                 for s in subjects(mta)) == 1, 60, "both mails")
    wait(lambda: sum(f"-{release}" in x for x in irc.lines) == 1
         and sum(f"Bump {RUN}" in x for x in irc.lines) == 1, 60, "both IRC lines")
    elapsed = time.monotonic() - started
    print(f"publish -> mailbox and IRC: {elapsed:.1f} s")
    assert elapsed < 60


def test_workers_stopped_mid_stream_nothing_lost_nothing_doubled(host, watcher, mta, irc,
                                                                  secrets, ca_file) -> None:
    pw = secrets["vault_fedbus_account_passwords"]
    releases = [f"{i}{RUN}.fc42" for i in range(2, 22)]
    messages = [koji_build("kernel", r) for r in releases]
    publish("koji", pw["koji"], ca_file, messages[:5])
    host.check_output("systemctl stop 'fedbus-notifier-worker@*'")
    publish("koji", pw["koji"], ca_file, messages[5:])
    time.sleep(2)
    host.check_output("systemctl start fedbus-notifier-worker@1 fedbus-notifier-worker@2")

    def all_there() -> bool:
        s = subjects(mta)
        return all(any(x.endswith(f"-{r}") for x in s) for r in releases) and \
            all(any(f"-{r}" in x for x in irc.lines) for r in releases)

    wait(all_there, 90, "all 20 builds in the mailbox and on IRC")
    time.sleep(3)  # a duplicate would show up now
    s = subjects(mta)
    for r in releases:
        assert sum(x.endswith(f"-{r}") for x in s) == 1, f"mail for {r}"
        assert sum(f"-{r}" in x for x in irc.lines) == 1, f"IRC for {r}"
