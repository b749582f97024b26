"""The metrics of the notifier's processes, the mirror agent and the webhook, served by the
real processes with ``--metrics`` on a free port and scraped as Prometheus scrapes them
(tests/support/prometheus.py) after real work: mail through a real SMTP server, pulls
from a real rsync daemon, requests over real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.notifier_servers import SmtpServer, free_port, listening
from support.notifier_stack import Stack, commit
from support.polling import wait_for
from support.prometheus import answers, families

from tests.integration.test_mirror import Net, Recorder, write
from tests.integration.test_notifier_delivery import queue_ready

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def sample(port: int, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` whose labels include ``labels`` (None: none)."""
    for family in families(port).values():
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return s.value
    return None


def reaches(port: int, name: str, at_least: float, what: str, **labels: str) -> None:
    wait_for(lambda: (sample(port, name, **labels) or 0) >= at_least, 90, what)


# -- the notifier --------------------------------------------------------------------------


@pytest.fixture
def stack(tmp_path: Path, broker: Any, vhost: str, smtp: SmtpServer) -> Iterator[Stack]:
    s = Stack(tmp_path, broker.amqp_url(vhost), smtp.port, free_port())
    smtp.accepted.clear()
    smtp.fail_next(0)
    smtp.delay = 0.0
    try:
        yield s
    finally:
        s.stop_all()
        print(s.logs())


def test_worker_and_email_sender_count_a_mail_and_its_retry(
        stack: Stack, smtp: SmtpServer, broker: Any, vhost: str) -> None:
    stack.verified("dave", "email", "dave@example.org")
    stack.store.user("dave").add_rule("package", "bash")
    worker, sender = free_port(), free_port()
    stack.start("worker", "worker", metrics=worker)
    stack.start("sender-email", "sender", "--type", "email", metrics=sender)
    wait_for(lambda: answers(worker) and answers(sender), 30, "the metrics endpoints")
    for queue in ("notifier", "notifier.email"):  # bound and consumed before we publish
        wait_for(lambda q=queue: queue_ready(broker, vhost, q), 60, f"a consumer on {queue}")
    smtp.fail_next(1, "451 4.3.0 try again later")  # the first try fails, the retry sends
    stack.publish([commit("x", "bash")])
    wait_for(lambda: smtp.messages("dave@example.org"), 90, "the mail after one 451")
    # the mail is out; the counts that follow it (the ack, the latency) may lag a little
    expected = [
        (sender, "fedbus_sender_sent_total", {"type": "email"}, 1),
        (sender, "fedbus_sender_failed_total", {"type": "email"}, 1),
        (sender, "fedbus_sender_retried_total", {"type": "email"}, 1),
        (sender, "fedbus_sender_dead_total", {"type": "email"}, 0),
        (sender, "fedbus_consumer_received_total", {"queue": "notifier.email"}, 2),
        (sender, "fedbus_consumer_acked_total", {"queue": "notifier.email"}, 1),
        (sender, "fedbus_consumer_handler_seconds_count", {"queue": "notifier.email"}, 2),
        (worker, "fedbus_consumer_acked_total", {"queue": "notifier"}, 1),
        (worker, "fedbus_handler_jobs_total", {"queue": "notifier"}, 1),
    ]

    def seen() -> list[tuple[str, dict[str, str], float | None]]:
        return [(name, labels, sample(port, name, **labels))
                for port, name, labels, _ in expected]

    wait_for(lambda: [v for *_, v in seen()] == [want for *_, want in expected], 60,
             "the counts of one mail sent after one 451")


def test_the_digest_service_counts_its_rounds(stack: Stack) -> None:
    port = free_port()
    stack.start("digest", "digest", "--interval", "0.2", metrics=port)
    wait_for(lambda: answers(port), 30, "the digest's metrics endpoint")
    reaches(port, "fedbus_digest_runs_total", 3, "three digest rounds", result="ok")
    assert (sample(port, "fedbus_digest_last_run_timestamp_seconds") or 0) > 0
    assert (sample(port, "fedbus_digest_last_success_timestamp_seconds") or 0) > 0
    assert sample(port, "fedbus_digest_runs_total", result="failed") == 0
    assert sample(port, "fedbus_digest_sent_total") == 0  # nothing was due


def test_web_requests_of_every_gunicorn_worker_are_served_by_the_master(stack: Stack) -> None:
    port, web = free_port(), free_port()
    with stack.notifier_toml.open("a") as f:
        f.write('[web]\nsecret_key = "integration-secret"\n')
    stack.start("web", "web", "--bind", f"127.0.0.1:{web}", "--workers", "2", metrics=port)

    def get(path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{web}{path}", timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def up() -> bool:
        try:
            return get("/healthz") == 200
        except OSError:
            return False

    wait_for(up, 60, "the web server")
    for _ in range(20):  # new connections each: both workers take some
        assert get("/healthz") == 200
    assert get("/no-such-page") == 404
    reaches(port, "fedbus_web_requests_total", 21, "the requests counted",
            method="GET", status="200")
    assert sample(port, "fedbus_web_requests_total", method="GET", status="404") == 1
    assert (sample(port, "fedbus_web_request_seconds_count") or 0) >= 22


# -- the mirror agent ----------------------------------------------------------------------


@pytest.fixture
def net(broker: Any, vhost: str, tmp_path: Path) -> Iterator[Net]:
    url = broker.amqp_url(vhost)
    rec = Recorder(url)  # the test_mirror fixture's: it also declares nothing we need
    rec.start()
    assert rec.ready.wait(10)
    n = Net(tmp_path, url)
    try:
        yield n
    finally:
        n.close()
        rec.stop()
        print(n.logs())


def test_mirror_agent_counts_pulls_bytes_and_lag(net: Net) -> None:
    n = net
    write(n.tree("master"), {f"d{i}/f": "x" * 1000 for i in range(4)})
    n.start_daemon(["master"])
    port = free_port()
    n.agent("master", "master")
    n.agent("t1", "tier1", n.upstream("master"), metrics=port, retry_initial=0.5,
            retry_max=1.0)
    wait_for(lambda: answers(port), 30, "the agent's metrics endpoint")
    labels = {"mirror": "t1", "mode": "tier1"}
    reaches(port, "fedbus_mirror_syncs_total", 1, "the startup pull", result="ok", **labels)
    assert (sample(port, "fedbus_mirror_bytes_total", **labels) or 0) >= 4000
    assert (sample(port, "fedbus_mirror_files_total", **labels) or 0) >= 4
    started = sample(port, "fedbus_mirror_last_sync_start_timestamp_seconds", **labels)
    assert started and started > 0
    wait_for(lambda: sample(port, "fedbus_mirror_lag_seconds", **labels) == 0, 60,
             "caught up with the master's in_sync")

    # the upstream's daemon goes away, then the master changes: the in_sync cannot be
    # caught up with, and the lag grows while the pulls fail
    assert n.daemon is not None
    n.daemon.terminate()
    n.daemon.wait(10)
    write(n.tree("master"), {"d9/new": "y" * 500})
    reaches(port, "fedbus_mirror_syncs_total", 1, "a failed pull", result="failed", **labels)
    reaches(port, "fedbus_mirror_lag_seconds", 1, "the lag to grow", **labels)
    n.start_daemon(["master"])
    wait_for(lambda: sample(port, "fedbus_mirror_lag_seconds", **labels) == 0, 60,
             "caught up again once the upstream is back")
    assert (sample(port, "fedbus_mirror_syncs_total", result="ok", **labels) or 0) >= 2
    assert (sample(port, "fedbus_mirror_last_sync_success_timestamp_seconds", **labels)
            or 0) > started


# -- the webhook ---------------------------------------------------------------------------


def test_webhook_counts_requests_published_and_refused(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text('pkgdb = "token-pkgdb-0123456789"\n')
    listen, port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fedbus.cli.cmd_wedge", "--spool", str(tmp_path / "spool"),
         "--metrics", f"127.0.0.1:{port}", "webhook", "--listen", f"127.0.0.1:{listen}",
         "--tokens", str(tokens)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: answers(port), 30, "the webhook's metrics endpoint")

        def post(token: str, topic: str = "pkgdb.package.new") -> int:
            body = json.dumps({"topic": topic, "body": {
                "package": "p", "namespace": "rpms", "agent": "alice", "owner": "alice"}})
            req = urllib.request.Request(f"http://127.0.0.1:{listen}/hook/pkgdb",
                                         data=body.encode(), method="POST",
                                         headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status
            except urllib.error.HTTPError as exc:
                return exc.code

        wait_for(lambda: listening(listen), 30, "the webhook")
        assert post("token-pkgdb-0123456789") == 202
        assert post("token-pkgdb-0123456789") == 202
        assert post("not-the-token-0123456789") == 401
        assert post("token-pkgdb-0123456789", "koji.build.tag") == 403
        assert sample(port, "fedbus_webhook_requests_total", route="/hook/pkgdb",
                      status="202") == 2
        assert sample(port, "fedbus_webhook_published_total", service="pkgdb") == 2
        assert sample(port, "fedbus_webhook_refused_total", reason="token") == 1
        assert sample(port, "fedbus_webhook_refused_total", reason="topic") == 1
    finally:
        proc.terminate()
        proc.wait(10)
