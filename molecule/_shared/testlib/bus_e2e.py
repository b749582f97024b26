"""End-to-end helpers of the scenarios that run the seed's use cases: an IRC client on
the real IRC server, the notifier's REST API called on its host, Koji's callbacks fired
through koji's plugin machinery, a git push, a recorder queue on the broker, and the
content checksums of a mirror tree."""

from __future__ import annotations

import functools
import json
import re
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pika
from bus_testlib import container_ip
from support.irc_client import IrcClient
from support.polling import wait_for

MAIL_DOMAIN = "example.org"  # the MTA stand-in delivers it to local mailboxes


#: molecule's checks poll containers (a ``docker exec`` each time): every half second
wait = functools.partial(wait_for, interval=0.5)


def api(host, method: str, path: str, user: str = "watcher", body: dict | None = None):
    """A REST call made on the notifier host itself (a trusted proxy address)."""
    cmd = (f"curl -sS -o /tmp/api.out -w '%{{http_code}}' -X {method} "
           f"-H 'X-Remote-User: {user}' -H 'Content-Type: application/json' "
           + (f"--data '{json.dumps(body)}' " if body is not None else "")
           + f"http://127.0.0.1:8080{path}")
    status = int(host.check_output(cmd))
    out = host.check_output("cat /tmp/api.out")
    return status, (json.loads(out) if out.strip() else None)


def mailbox(mta, local: str) -> str:
    return mta.run(f"cat /var/mail/{local}").stdout


def mail_subjects(mta, local: str) -> list[str]:
    return [line for line in mailbox(mta, local).splitlines() if line.startswith("Subject:")]


def verified_email(host, mta, user: str) -> dict:
    """``user`` with an email destination (``<user>@example.org``, a mailbox of its own on
    the MTA), verified with the token the notifier mailed."""
    mta.check_output(f"id -u {user} || useradd -m -s /usr/sbin/nologin {user}")
    before = mailbox(mta, user).count("enter this code:")
    status, email = api(host, "POST", "/api/v1/destinations", user,
                        {"kind": "email", "address": f"{user}@{MAIL_DOMAIN}"})
    assert status == 201 and email["token_sent"], email
    wait(lambda: mailbox(mta, user).count("enter this code:") > before, 90, "the token mail")
    token = re.findall(r"enter this code: (\S+)", mailbox(mta, user))[-1]
    status, out = api(host, "POST", f"/api/v1/destinations/{email['id']}/verify", user,
                      {"token": token})
    assert status == 200 and out == {"verified": True}
    return email


def add_rule(host, user: str, kind: str, value: str) -> dict:
    status, rule = api(host, "POST", "/api/v1/rules", user,
                       {"kind": kind, "value": value, "name": value})
    assert status == 201, rule
    return rule


def verified_watcher(host, mta, irc: IrcClient, user: str, nick: str, package: str) -> dict:
    """``user`` with a verified email (:func:`verified_email`) and IRC destination, and a
    rule on ``package``."""
    email = verified_email(host, mta, user)
    status, irc_dest = api(host, "POST", "/api/v1/destinations", user,
                           {"kind": "irc", "address": nick})
    assert status == 201 and irc_dest["token_sent"], irc_dest
    wait(lambda: any("with code" in line for line in irc.lines), 90, "the token on IRC")
    irc_token = re.search(r"with code (\S+)", next(x for x in irc.lines if "with code" in x))[1]
    status, out = api(host, "POST", f"/api/v1/destinations/{irc_dest['id']}/verify", user,
                      {"token": irc_token})
    assert status == 200 and out == {"verified": True}
    rule = add_rule(host, user, "package", package)
    time.sleep(3)  # the workers reload changed preferences every 2 s
    return {"user": user, "email": email, "irc": irc_dest, "rule": rule}


def pause_watcher(host, watcher: dict) -> None:
    """Delete the watcher's rule: a later run of the checks (same mailbox) is not doubled."""
    status, _ = api(host, "DELETE", f"/api/v1/rules/{watcher['rule']['id']}", watcher["user"])
    assert status in (200, 204, 404), status


KOJI_FIRE = r'''
import copy, sys, koji, koji.plugin
from koji.context import context
release, package = sys.argv[1], sys.argv[2]
tracker = koji.plugin.PluginTracker(path="/usr/lib/koji-hub-plugins")
plugin = tracker.load("fedbus")
for v in vars(plugin).values():  # kojixmlrpc.HandlerRegistry.register_plugin
    if not isinstance(v, type) and callable(v) and getattr(v, "callbacks", None):
        for cb in v.callbacks:
            koji.plugin.register_callback(cb, v)
build = {"id": 2601234, "package_name": package, "name": package,
         "version": "0.1.0", "release": release, "epoch": None, "task_id": 130001234,
         "owner_name": "alice", "creation_time": "2026-11-30 03:00:00+00:00",
         "completion_time": "2026-11-30 03:10:00+00:00", "state": 1}
tag = {"id": 6401, "name": "f43-updates-candidate"}
context._threadclear()
koji.plugin.run_callbacks("postBuildStateChange", attribute="state", old=0, new=1,
                          info=copy.deepcopy(build))
koji.plugin.run_callbacks("postTag", tag=tag, build=build, user={"id": 3002, "name": "bodhi"},
                          force=False)
koji.plugin.run_callbacks("postCommit")
context._threadclear()
koji.plugin.run_callbacks("postUntag", tag=tag, build=build, user={"id": 1, "name": "x"})
context._threadclear()  # rolled back: never committed, never sent
print("fired")
'''


def fire_koji_callbacks(koji_host, release: str = "1.fc43",
                        package: str = "python-fedbus") -> None:
    """Koji's hub callbacks for a build of <package>-0.1.0-<release>, through koji's own
    plugin machinery, as the hub's user: state change and tag committed, an untag rolled back."""
    fire = koji_host.run("runuser -u www-data -- /opt/fedbus/venv/bin/python -c %s %s %s",
                         KOJI_FIRE, release, package)
    assert fire.rc == 0 and "fired" in fire.stdout, fire.stderr


def git_push(git_host, branch: str, summaries: list[str],
             repo: str = "/srv/git/rpms/python-fedbus.git", also: str | None = None) -> str:
    """Commits with ``summaries`` pushed as the git user to ``branch`` (and ``also``)."""
    commits = "".join(
        f" echo '{s}' >> python-fedbus.spec; git add .; git commit -qm '{s}';" for s in summaries)
    refs = f"{branch}" + (f" {branch}:{also}" if also else "")
    script = (
        f"set -e; rm -rf /tmp/wc; git clone -q {repo} /tmp/wc; cd /tmp/wc;"
        " git config user.name 'Alice Example'; git config user.email alice@example.org;"
        f" git checkout -q -b {branch};{commits} git push -q origin {refs} 2>&1")
    push = git_host.run("runuser -u git -- sh -c %s", script)
    assert push.rc == 0, push.stdout + push.stderr
    return push.stdout


def koji_build(name: str, release: str, prefix: str = "org.fedoraproject.local"):
    """Koji's build.state.change for <name>-6.12.1-<release> going COMPLETE, as
    koji-fedoramessaging publishes it."""
    from koji_fedoramessaging_messages.build import BuildStateChangeV1

    body = {"name": name, "version": "6.12.1", "release": release, "epoch": None,
            "attribute": "state", "old": 0, "new": 1, "build_id": 4242, "task_id": 9999,
            "task": None, "request": [f"git+https://src.fedoraproject.org/rpms/{name}.git#a",
                                      "rawhide", {}],
            "owner": "jdoe", "instance": "primary",
            "creation_time": "2026-11-30T04:00:00+00:00",
            "completion_time": "2026-11-30T04:10:00+00:00",
            "url": "https://koji.fedoraproject.org/koji/buildinfo?buildID=4242"}
    return BuildStateChangeV1(topic=f"{prefix}.buildsys.build.state.change", body=body)


def publish_direct(broker: str, account: str, password: str, ca_file: str,
                   messages: list) -> None:
    """Validated messages published on ``broker`` (a container) with ``account``,
    confirmed by the broker (the way a service without a relay publishes)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    params = pika.ConnectionParameters(
        host=container_ip(broker), port=5671, virtual_host="local",
        credentials=pika.PlainCredentials(account, password),
        ssl_options=pika.SSLOptions(ctx, server_hostname=broker))
    with pika.BlockingConnection(params) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        for m in messages:
            m.validate()
            ch.basic_publish("amq.topic", m._encoded_routing_key, m._encoded_body,
                             m._properties, mandatory=True)


@contextmanager
def recorder(broker_ip: str, broker_name: str, admin_password: str, ca_file: str,
             pattern: str = "#") -> Iterator[Callable[[float], list[tuple[str, dict]]]]:
    """A queue on the broker bound to ``pattern``; yields drain(quiet) -> [(topic, body)]."""
    ctx = ssl.create_default_context(cafile=ca_file)
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        host=broker_ip, port=5671, virtual_host="local",
        credentials=pika.PlainCredentials("fedbus-admin", admin_password),
        ssl_options=pika.SSLOptions(ctx, server_hostname=broker_name),
        connection_attempts=30, retry_delay=2))
    ch = conn.channel()
    queue = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(queue, "amq.topic", routing_key=pattern)

    def drain(quiet: float = 4.0) -> list[tuple[str, dict]]:
        got: list[tuple[str, dict]] = []
        last = time.monotonic()
        while time.monotonic() - last < quiet:
            method, _props, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                conn.sleep(0.2)
                continue
            got.append((method.routing_key, json.loads(body)))
            last = time.monotonic()
        return got

    try:
        yield drain
    finally:
        if conn.is_open:
            conn.close()


def sh(container: str, script: str) -> str:
    return subprocess.run(["docker", "exec", container, "sh", "-c", script], check=True,
                          capture_output=True, text=True, timeout=60).stdout


def tree_sums(container: str, tree: str = "/srv/mirror/pub") -> str:
    """sha256 of every file of a mirror tree (rsync's staging directories skipped)."""
    return sh(container, f"cd {tree} && find . -name .~tmp~ -prune -o -type f -print0 "
                         "| sort -z | xargs -0 -r sha256sum 2>/dev/null; true")


def wait_mirrors_converged(master: str, mirrors: list[str], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        want = tree_sums(master)
        behind = [c for c in mirrors if tree_sums(c) != want]
        if not behind:
            return
        assert time.monotonic() < deadline, f"not converged with {master}: {behind}"
        time.sleep(0.5)


class WireRecorder:
    """Every message of the environment, as it was on the wire, from start() to stop():
    an exclusive queue bound to ``<prefix>.#`` consumed by a thread with a connection of its
    own (exclusive, and with a consumer: `fedbus stat` does not count it as a consumer queue
    left without one)."""

    def __init__(self, broker_ip: str, broker_name: str, admin_password: str, ca_file: str,
                 prefix: str = "org.fedoraproject.local") -> None:
        self.params = pika.ConnectionParameters(
            host=broker_ip, port=5671, virtual_host="local",
            credentials=pika.PlainCredentials("fedbus-admin", admin_password),
            ssl_options=pika.SSLOptions(ssl.create_default_context(cafile=ca_file),
                                        server_hostname=broker_name),
            connection_attempts=30, retry_delay=2)
        self.prefix = prefix
        self.records: list[dict] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="wire-recorder", daemon=True)

    def _run(self) -> None:
        try:
            conn = pika.BlockingConnection(self.params)
            ch = conn.channel()
            queue = ch.queue_declare("", exclusive=True).method.queue
            ch.queue_bind(queue, "amq.topic", routing_key=f"{self.prefix}.#")

            def keep(_ch, method, props, body) -> None:
                self.records.append({"topic": method.routing_key,
                                     "headers": dict(props.headers or {}),
                                     "body": body.decode("utf-8", "replace")})

            ch.basic_consume(queue, keep, auto_ack=True)
            self._ready.set()
            while not self._stop.is_set():
                conn.process_data_events(time_limit=0.5)
            conn.close()
        except BaseException as exc:  # reported by stop()
            self._error = exc
            self._ready.set()

    def start(self) -> WireRecorder:
        self._thread.start()
        if not self._ready.wait(120):
            raise RuntimeError("the wire recorder did not connect within 120 s")
        if self._error is not None:
            raise RuntimeError(f"the wire recorder failed: {self._error!r}")
        return self

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(30)
        if self._error is not None:
            raise RuntimeError(f"the wire recorder failed: {self._error!r}")
        return list(self.records)
