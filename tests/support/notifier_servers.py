"""Real servers for the notifier's integration tests (imported by test_notifier_*.py).

- :class:`SmtpServer`: aiosmtpd (a real SMTP server) on 127.0.0.1, keeping what it accepts;
  ``fail_next(n, code)`` answers the next ``n`` DATA commands with ``code`` (451, 550 …);
- :class:`IrcServer`: Debian's ngircd on 127.0.0.1 with a temporary configuration, and
  :class:`IrcListener`, a raw-socket IRC client that records the PRIVMSGs it receives;
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


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


class IrcListener:
    """A plain IRC client on a socket: registers ``nick``, answers PINGs, records PRIVMSGs."""

    def __init__(self, port: int, nick: str, channels: tuple[str, ...] = ()) -> None:
        self.nick = nick
        self.lines: list[tuple[str, str, str]] = []  # (sender, target, text)
        self.joins: list[tuple[str, str]] = []  # (who, channel) seen joining
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        self.sock.settimeout(None)  # idle for minutes is fine: wait for lines
        self._send(f"NICK {nick}")
        self._send(f"USER {nick} 0 * :listener")
        self._stop = False
        self._welcome = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self._welcome.wait(15):
            raise AssertionError("IRC listener: no welcome")
        for channel in channels:
            self._send(f"JOIN {channel}")
        time.sleep(0.3)

    def _send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def _run(self) -> None:
        buf = b""
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\r\n" in buf:
                raw, buf = buf.split(b"\r\n", 1)
                line = raw.decode(errors="replace")
                prefix = ""
                if line.startswith(":"):
                    prefix, _, line = line[1:].partition(" ")
                command, _, rest = line.partition(" ")
                if command == "PING":
                    self._send(f"PONG {rest}")
                elif command == "001":
                    self._welcome.set()
                elif command == "PRIVMSG":
                    target, _, text = rest.partition(" :")
                    self.lines.append((prefix.split("!")[0], target, text))
                elif command == "JOIN":
                    self.joins.append((prefix.split("!")[0], rest.lstrip(":")))

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self._send("QUIT :bye")
            self.sock.close()


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
