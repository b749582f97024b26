"""Notifier end-to-end latency: publish → accepted by the SMTP server, at a steady rate.

The real thing on this machine: the test RabbitMQ (a fresh vhost), ``fedbus notifier
worker`` and ``fedbus notifier sender --type email`` as processes, SQLite, and aiosmtpd as
the SMTP server on loopback.  500 users with a package rule and a verified address; the
messages (Fedora's git hook ``CommitV1``) are published at ``--rate`` per second for
``--seconds``, each matching one user.  The latency of a message is the time from its
publish to the SMTP server's acceptance of its mail (both clocks of this machine).  The
baseline in the same run is the broker alone: publish → delivered to a plain consumer of a
queue bound to the same topics, at the same rate.

    python benchmarks/notifier_latency.py [--rate 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import pika
from _common import Vhost, api, machine, percentile, write
from support.notifier_servers import SmtpServer
from support.notifier_stack import PREFIX, Stack, commit
from support.polling import wait_for

USERS = 500
CPU_PARTS = ("workers", "sender", "broker", "publisher + SMTP server")


def paced(stack: Stack, rate: float, seconds: float, sent_at: dict[str, float]) -> None:
    """Publish CommitV1 messages at ``rate``/s, recording each publish time by message id."""
    with pika.BlockingConnection(pika.URLParameters(stack.amqp_url)) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        total = int(rate * seconds)
        start = time.monotonic()
        for n in range(total):
            due = start + n / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            m = commit("bench", f"pkg{n % USERS}", summary=f"n{n}")
            sent_at[str(m.id)] = time.time()
            ch.basic_publish("amq.topic", m._encoded_routing_key, m._encoded_body, m._properties)


def broker_baseline(url: str, rate: float, seconds: float) -> list[float]:
    """Publish → delivered to a plain consumer, same rate: the floor of any latency here."""
    got: list[float] = []
    sent: dict[str, float] = {}
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    q = ch.queue_declare(f"baseline-{uuid.uuid4().hex[:6]}", exclusive=True).method.queue
    ch.queue_bind(q, "amq.topic", f"{PREFIX}.git.#")
    total = int(rate * seconds)

    def publish() -> None:
        with pika.BlockingConnection(pika.URLParameters(url)) as pconn:
            pch = pconn.channel()
            pch.confirm_delivery()
            start = time.monotonic()
            for n in range(total):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                m = commit("bench", f"pkg{n}")
                sent[str(m.id)] = time.time()
                pch.basic_publish("amq.topic", m._encoded_routing_key, m._encoded_body,
                                  m._properties)  # fmt: skip

    thread = threading.Thread(target=publish)
    thread.start()
    for _method, props, _body in ch.consume(q, auto_ack=True, inactivity_timeout=10):
        if props is None:
            break
        got.append(time.time() - sent.get(props.message_id, time.time()))
        if len(got) >= total:
            break
    thread.join()
    conn.close()
    return got


def consuming(vhost: Vhost, want: dict[str, int]) -> bool:
    """Each queue of ``want`` has at least that many consumers."""
    queues = api("GET", f"queues/{urllib.parse.quote(vhost.name, safe='')}")
    assert isinstance(queues, list)
    have = {x["name"]: int(x.get("consumers") or 0) for x in queues}
    return all(have.get(name, 0) >= n for name, n in want.items())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes(stack: Stack) -> dict[str, int]:
    """What takes part, by name: the notifier's processes, the broker, this process (the
    publisher and the SMTP server)."""
    out = {}
    for name, proc in stack.procs.items():
        part = "workers" if name.startswith("worker") else "sender"
        out[f"{part}:{proc.pid}"] = proc.pid
    found = subprocess.run(["pgrep", "-u", "rabbitmq", "beam.smp"], capture_output=True,
                           text=True).stdout.split()  # fmt: skip
    if len(found) == 1:  # the test broker (host-rabbitmq.sh) runs as rabbitmq
        out[f"broker:{found[0]}"] = int(found[0])
    out[f"publisher + SMTP server:{os.getpid()}"] = os.getpid()
    return out


def measure(stack: Stack, smtp: SmtpServer, rate: float, seconds: float
            ) -> tuple[list[float], dict[str, float]]:  # fmt: skip
    """Latencies of one run at ``rate``, and the CPU milliseconds per message of each part."""
    smtp.accepted.clear()
    sent_at: dict[str, float] = {}
    pids = processes(stack)
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    paced(stack, rate, seconds, sent_at)
    total = len(sent_at)
    wait_for(lambda: len(smtp.accepted) >= total, 900, f"{total} mails")
    cpu: dict[str, float] = {}
    for name, pid in pids.items():
        part = name.split(":")[0]
        cpu[part] = cpu.get(part, 0.0) + (cpu_seconds(pid) - before[name]) * 1000 / total
    lat = [accepted - sent_at[m["X-Fedbus-Message-Id"]] for _, m, accepted in smtp.accepted
           if m["X-Fedbus-Message-Id"] in sent_at]  # fmt: skip
    return lat, cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="200,50", help="publish rates, msg/s (the first "
                        "is the goal's; the others show the latency below saturation)")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    info = machine()
    vhost = Vhost()
    smtp = SmtpServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="fedbus-notifier-latency-"))
    stack = Stack(tmp, vhost.url, smtp.port, 9)
    results: list[tuple[float, list[float], dict[str, float], str]] = []
    try:
        for i in range(USERS):
            stack.verified(f"u{i}", "email", f"u{i}@example.org")
            stack.store.user(f"u{i}").add_rule("package", f"pkg{i}")
        for w in range(args.workers):
            stack.worker(f"worker-{w}")
        stack.sender("email")
        # every process connected and consuming (a worker loads its index first; on a
        # loaded machine the start-up alone can take longer than any fixed sleep)
        want = {"notifier": args.workers, "notifier.email": 1}
        wait_for(lambda: consuming(vhost, want), 120, "the workers and the sender to consume")
        paced(stack, 50, 2, {})  # warm-up, not measured
        wait_for(lambda: len(smtp.accepted) >= 100, 120, "warm-up mails")
        for rate in rates:
            lat, cpu = measure(stack, smtp, rate, args.seconds)
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            results.append((rate, lat, cpu, load))
        base = broker_baseline(vhost.url, rates[0], args.seconds)
    finally:
        stack.stop_all()
        smtp.stop()
        vhost.close()
    rows, cpu_rows = [], []
    for rate, lat, cpu, load in results:
        p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
        rows.append(f"| **publish → accepted by the SMTP server** at {rate:.0f} msg/s "
                    f"({len(lat):,} messages) | **{p50:.1f}** | **{p99:.1f}** "
                    f"| {max(lat) * 1000:.1f} | {load} |")  # fmt: skip
        parts = " | ".join(f"{cpu.get(k, 0.0):.2f}" for k in CPU_PARTS)
        cpu_rows.append(f"| {rate:.0f} msg/s | {parts} | {sum(cpu.values()):.2f} |")
    b50, b99 = percentile(base, 50) * 1000, percentile(base, 99) * 1000
    worst = max(base) * 1000
    rows.append(f"| baseline: publish → delivered to a plain consumer (broker only) at "
                f"{rates[0]:.0f} msg/s | {b50:.1f} | {b99:.1f} | {worst:.1f} | |")  # fmt: skip
    total_cpu = sum(results[0][2].values())
    body = (
        f"Each rate for {args.seconds:.0f} s; each message matches one of {USERS} users "
        f"(package rule, verified address); {args.workers} worker process(es) (competing "
        "consumers, 8 messages at once each), one email sender (8 concurrent jobs on a pool "
        "of kept SMTP connections), SQLite.  Everything runs on this machine's 2 CPUs, shared "
        "with other work (load average after each run in the table).\n\n"
        "| path | p50 ms | p99 ms | max ms | load average after |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n"
        "Where the time goes: CPU milliseconds per message of each process during the run "
        "(from /proc; the workers together, the broker is the test RabbitMQ node, the last "
        "part is this benchmark's own publisher and SMTP server).\n\n"
        f"| rate | {' | '.join(CPU_PARTS)} | total |\n|---|{'---|' * (len(CPU_PARTS) + 1)}\n"
        + "\n".join(cpu_rows)
        + "\n\n"
        f"At {rates[0]:.0f} msg/s all parts together need {total_cpu:.1f} ms of CPU per "
        f"message, i.e. {total_cpu * rates[0] / 1000:.1f} CPUs: when that exceeds what the "
        "machine gives them, the latency is queueing and grows with the run's length.  Scale "
        "out: more workers (competing consumers on one queue) and more email senders (the "
        "ledger lets several share `notifier.email`).\n"
    )
    write("notifier_latency", "Notifier end-to-end latency (publish → SMTP accepted)", info,
          body)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
