"""A plain IRC client on a raw socket, for the tests that read what the notifier sends to
IRC (integration tests against ngircd, molecule scenarios against the IRC host)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from support.polling import wait_for


class IrcClient:
    """Registers ``nick`` on ``host:port``, joins ``channels``, answers PINGs and records
    every PRIVMSG it receives as (sender, target, text) in :attr:`messages`."""

    def __init__(
        self, host: str, port: int, nick: str, channels: tuple[str, ...] = ()
    ) -> None:
        self.nick = nick
        self.messages: list[tuple[str, str, str]] = []
        self.joins: list[tuple[str, str]] = []  # (who, channel) seen joining
        self.sock = socket.create_connection((host, port), 10)
        self.sock.settimeout(None)  # idle for minutes is fine: wait for lines
        self._stop = False
        self._welcome = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self._send(f"NICK {nick}")
        self._send(f"USER {nick} 0 * :test client")
        if not self._welcome.wait(15):
            raise AssertionError(f"IRC {host}:{port}: no welcome for {nick}")
        for channel in channels:
            self._send(f"JOIN {channel}")
        if channels:
            wait_for(lambda: {c for who, c in self.joins if who == nick} >= set(channels),
                     15, f"{nick} to join {', '.join(channels)}")

    @property
    def lines(self) -> list[str]:
        """The text of every PRIVMSG received, in order."""
        return [text for _, _, text in self.messages]

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
                self._handle(raw.decode(errors="replace"))

    def _handle(self, line: str) -> None:
        prefix = ""
        if line.startswith(":"):
            prefix, _, line = line[1:].partition(" ")
        command, _, rest = line.partition(" ")
        sender = prefix.split("!")[0]
        if command == "PING":
            self._send(f"PONG {rest}")
        elif command == "001":
            self._welcome.set()
        elif command == "PRIVMSG":
            target, _, text = rest.partition(" :")
            self.messages.append((sender, target, text))
        elif command == "JOIN":
            self.joins.append((sender, rest.lstrip(":")))

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self._send("QUIT :bye")
            time.sleep(0.1)
            self.sock.close()
