"""Real servers for the notifier's integration tests (imported by test_notifier_*.py).

- :class:`SmtpServer`: aiosmtpd (a real SMTP server) on 127.0.0.1, keeping what it accepts;
  ``fail_next(n, code)`` answers the next ``n`` DATA commands with ``code`` (451, 550 …);
- :class:`IrcServer`: Debian's ngircd on 127.0.0.1 with a temporary configuration (its
  client in the tests: :class:`support.irc_client.IrcClient`);
- :class:`Postgres`: a throw-away PostgreSQL cluster (initdb in a temporary directory, run
  as the ``postgres`` user, trust authentication on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from support.polling import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port`` yet."""
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
    except OSError:
        return False
    return True


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        with self.server.lock:
            if self.server.failures:
                self.server.failures -= 1
                self.server.refused += 1
                return self.server.failure_reply
            msg = email.message_from_bytes(envelope.content)
            self.server.accepted.append((list(envelope.rcpt_tos), msg, time.time()))
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.accepted: list[tuple[list[str], Message, float]] = []
        self.lock = threading.Lock()
        self.failures = 0
        self.refused = 0
        self.failure_reply = "451 try again later"
        self.delay = 0.0  # seconds before answering DATA (a slow MTA)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def fail_next(self, n: int, reply: str = "451 try again later") -> None:
        with self.lock:
            self.failures, self.failure_reply = n, reply

    def messages(self, to: str | None = None) -> list[Message]:
        with self.lock:
            return [m for rcpt, m, _ in self.accepted if to is None or to in rcpt]


class IrcServer:
    def __init__(self, tmp: Path) -> None:
        if shutil.which("ngircd") is None and not Path("/usr/sbin/ngircd").exists():
            raise RuntimeError("ngircd is not installed (apt-get install ngircd)")
        self.port = free_port()
        self.dir = tmp
        self.conf = tmp / "ngircd.conf"
        motd = tmp / "motd"
        motd.write_text("test\n")
        self.conf.write_text(
            "[Global]\nName = irc.test.local\nInfo = fedbus test\nListen = 127.0.0.1\n"
            f"Ports = {self.port}\nMotdFile = {motd}\n"
            "[Limits]\nMaxNickLength = 30\nPingTimeout = 120\nPongTimeout = 60\n"
            "MaxConnectionsIP = 0\n"
            "[Options]\nPAM = no\nIdent = no\nDNS = no\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> IrcServer:
        binary = shutil.which("ngircd") or "/usr/sbin/ngircd"
        self.proc = subprocess.Popen([binary, "-n", "-f", str(self.conf)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        wait_for(self._listening, 15, "ngircd to listen")
        return self

    def _listening(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Postgres:
    """A private PostgreSQL cluster; ``url`` is a SQLAlchemy URL to database ``notifier``."""

    def __init__(self) -> None:
        # not under pytest's tmp_path: its parents are private to root, postgres cannot enter
        self.top = Path(tempfile.mkdtemp(prefix="fedbus-pg-"))
        self.top.chmod(0o755)
        self.dir = self.top / "pg"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/notifier"

    def _as_postgres(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=check,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    def start(self) -> Postgres:
        bindir = Path("/usr/lib/postgresql")
        versions = sorted(bindir.glob("*/bin/initdb")) if bindir.exists() else []
        if not versions:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = versions[-1].parent
        self.dir.mkdir(parents=True)
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.dir), "-A", "trust",
                          "-U", "postgres", "--no-sync")  # fmt: skip
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-o", opts, "-w",
                          "-l", str(self.dir / "log"), "start")  # fmt: skip
        self._as_postgres(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                          "-U", "postgres", "notifier")  # fmt: skip
        return self

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "immediate",
                          "stop", check=False)  # fmt: skip
        shutil.rmtree(self.top, ignore_errors=True)
