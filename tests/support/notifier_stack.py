"""The notifier as processes (``fedbus notifier worker|sender|digest``) on a test vhost,
with a SQLite database, for the integration tests (imported by test_notifier_*.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from fedora_messaging_git_hook_messages.commit import CommitV1

from fedbus.message.envelope import new_message
from fedbus.notifier.migrate import upgrade
from fedbus.notifier.store import Store

PREFIX = "org.fedoraproject.local"


class Stack:
    def __init__(
        self, tmp: Path, amqp_url: str, smtp_port: int, irc_port: int, db: str | None = None
    ) -> None:
        """``db``: a SQLAlchemy URL (a :class:`~notifier_servers.Postgres` database); by
        default a SQLite file in ``tmp``."""
        self.tmp = tmp
        self.amqp_url = amqp_url
        self.db = db or f"sqlite:///{tmp / 'notifier.db'}"
        upgrade(self.db)
        self.store = Store.open(self.db)
        self.fedbus_toml = tmp / "fedbus.toml"
        self.fedbus_toml.write_text(f'environment = "local"\n[amqp]\nurls = ["{amqp_url}"]\n')
        self.notifier_toml = tmp / "notifier.toml"
        self.notifier_toml.write_text(
            f'database_url = "{self.db}"\nbase_url = "https://notifications.test"\n'
            "prefetch = 20\n"
            f'[email]\nhost = "127.0.0.1"\nport = {smtp_port}\nmax_attempts = 4\n'
            'sender = "notifications@fedoraproject.test"\ntimeout = 10\n'
            f'[irc]\nhost = "127.0.0.1"\nport = {irc_port}\nnick = "fedbus-bot"\ntimeout = 10\n'
        )
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, metrics: int | None = None) -> subprocess.Popen[bytes]:
        """``metrics``: the port of its ``fedbus --metrics`` endpoint (none by default)."""
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the process
        served = ["--metrics", f"127.0.0.1:{metrics}"] if metrics else []
        cmd = [sys.executable, "-m", "fedbus.cli.main", "-c", str(self.fedbus_toml), *served,
               "notifier", "--settings", str(self.notifier_toml), *args]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
        self.procs[name] = proc
        return proc

    def worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self.start(name, "worker")

    def sender(self, kind: str) -> subprocess.Popen[bytes]:
        return self.start(f"sender-{kind}", "sender", "--type", kind)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(30)

    def stop_all(self) -> None:
        for name in list(self.procs):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            del self.procs[name]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in self.tmp.glob("*.log"))

    def publish(self, messages: list[Any]) -> None:
        """Publish as fedora-messaging does (the git hook's topics have five words, which
        fedbus's own publisher refuses for new topics), with publisher confirms."""
        import pika

        with pika.BlockingConnection(pika.URLParameters(self.amqp_url)) as conn:
            ch = conn.channel()
            ch.confirm_delivery()
            for m in messages:
                m.validate()
                ch.basic_publish("amq.topic", m._encoded_routing_key, m._encoded_body,
                                 m._properties)  # fmt: skip

    def verified(self, user: str, kind: str, address: str, **kw: Any) -> int:
        me = self.store.user(user)
        dest, token = me.add_destination(kind, address, **kw)
        assert me.verify_destination(dest.id, token)
        return dest.id


def commit(agent: str, repo: str, summary: str = "Fix the build", rev: str | None = None) -> Any:
    rev = rev or uuid.uuid4().hex + "abcdefgh"
    body = {"agent": agent, "commit": {
        "name": agent, "email": f"{agent}@fedoraproject.test", "username": agent,
        "summary": summary, "message": f"{summary}\n\nSigned-off-by: {agent}\n",
        "stats": {"files": {"kernel.spec": {"additions": 1, "deletions": 1, "lines": 2}},
                  "total": {"additions": 1, "deletions": 1, "lines": 2, "files": 1}},
        "rev": rev, "path": f"/srv/git/repositories/rpms/{repo}.git", "repo": repo,
        "namespace": "rpms", "branch": "rawhide",
        "patch": f"diff --git a/{repo}.spec b/{repo}.spec\n-Release: 1\n+Release: 2\n",
        "date": "2026-11-30T04:00:00+00:00",
        "url": f"https://src.fedoraproject.test/rpms/{repo}/c/{rev}",
    }}  # fmt: skip
    return CommitV1(topic=f"{PREFIX}.git.receive", body=body)


def pkgdb_owner(user: str, package: str, action: str = "added") -> Any:
    from fedora_messaging.message import Message

    body = {"package": package, "user": user, "relation": "owner", "action": action,
            "agent": "admin"}  # fmt: skip
    return new_message(f"{PREFIX}.pkgdb.owner.update", body, schema=Message)
