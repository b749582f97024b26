"""A minimal IRC client (RFC 1459): NICK/USER, PING/PONG, JOIN, PRIVMSG, reconnect.

:meth:`IrcClient.send` delivers one notification to a nick (or a ``#channel``, joined on
first use) and then sends ``PING`` with a fresh token: when the matching ``PONG`` comes
back, the server has processed the ``PRIVMSG`` — that is the "accepted" a sender records.
An ``ERR_NOSUCHNICK``/``ERR_NOSUCHCHANNEL``/``ERR_CANNOTSENDTOCHAN`` seen before the PONG
is permanent (:class:`Reject`: dead-lettered with the reason).  A broken connection raises;
the next send reconnects.

Checked where used: the target must be an RFC 2812 nick or a ``#channel`` of the
configured ``channels`` (the bot joins no other; anything else is :class:`Reject`); the
text becomes ONE line (:func:`~.checks.clean_line`: no CR, LF, NUL or other control
character), sent in at most :data:`MAX_LINES` PRIVMSGs of :data:`MAX_BYTES`; and
:meth:`IrcClient._write` refuses any line with CR, LF or NUL, whatever its caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging

from fedbus.consumer.errors import Reject
from fedbus.notifier.senders.checks import clean_line, irc_lower, is_channel, is_nick
from fedbus.notifier.settings import IrcSettings

log = logging.getLogger("fedbus.notifier.irc")
FATAL = {"401": "no such nick", "403": "no such channel", "404": "cannot send to channel"}
MAX_BYTES = 400  # of text per PRIVMSG line (512 with the prefix and the command)
MAX_LINES = 3  # PRIVMSGs per notification: the rest is cut


def split_text(text: str) -> list[str]:
    """The text as one clean line, in pieces of at most :data:`MAX_BYTES` (UTF-8)."""
    lines: list[str] = []
    data = clean_line(text).encode()
    while len(data) > MAX_BYTES and len(lines) < MAX_LINES:
        cut = MAX_BYTES
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # do not split a UTF-8 sequence
            cut -= 1
        lines.append(data[:cut].decode())
        data = data[cut:].lstrip()
    if data.strip() and len(lines) < MAX_LINES:
        lines.append(data.decode())
    return lines


def check_target(target: str, channels: tuple[str, ...]) -> str:
    """``target`` if the bot may write to it, else :class:`Reject` with the reason."""
    if target.startswith(("#", "&")):
        if not is_channel(target):
            raise Reject(f"IRC: {target[:60]!r} is not a valid channel name")
        if irc_lower(target) not in {irc_lower(c) for c in channels}:
            raise Reject(f"IRC: channel {target!r} is not allowed (settings: [irc] channels)")
        return target
    if not is_nick(target):
        raise Reject(f"IRC: {target[:60]!r} is not a valid nick")
    return target


class IrcClient:
    def __init__(self, settings: IrcSettings) -> None:
        self.settings = settings
        self.nick = settings.nick
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._welcome = asyncio.Event()
        self._pongs: dict[str, asyncio.Future[list[tuple[str, str]]]] = {}
        self._errors: list[tuple[str, str]] = []
        self._joined: set[str] = set()
        self._tokens = itertools.count(1)
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._writer is not None and self._task is not None and not self._task.done()

    async def connect(self) -> None:
        s = self.settings
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(s.host, s.port), s.timeout
        )
        self._welcome = asyncio.Event()
        self._joined.clear()
        self._task = asyncio.get_running_loop().create_task(self._read())
        if s.password:
            self._write(f"PASS {s.password}")
        self.nick = s.nick
        self._write(f"NICK {self.nick}")
        self._write(f"USER {s.nick} 0 * :fedbus notifier")
        try:
            await asyncio.wait_for(self._welcome.wait(), s.timeout)
        except TimeoutError:
            await self.close()
            raise ConnectionError(f"IRC {s.host}:{s.port}: no welcome from the server") from None
        log.info("IRC: connected to %s:%d as %s", s.host, s.port, self.nick)

    def _write(self, line: str) -> None:
        if self._writer is None:
            raise ConnectionError("IRC: not connected")
        if any(ch in line for ch in "\r\n\0"):
            raise ValueError("IRC: refusing to write a line with CR, LF or NUL")
        self._writer.write(line.encode() + b"\r\n")

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while True:
                raw = await self._reader.readline()
                if not raw:
                    break
                self._line(raw.decode(errors="replace").rstrip("\r\n"))
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.warning("IRC: connection lost: %s", exc)
        finally:
            for fut in self._pongs.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("IRC connection lost"))
            self._pongs.clear()

    def _line(self, line: str) -> None:
        prefix = ""
        if line.startswith(":"):
            prefix, _, line = line[1:].partition(" ")
        command, _, rest = line.partition(" ")
        params = rest.split(" :", 1)
        if command == "PING":
            self._write(f"PONG {clean_line(rest)}")
        elif command == "001":
            self._welcome.set()
        elif command == "433" and not self._welcome.is_set():  # nick in use
            self.nick = (self.nick + "_")[:30]
            self._write(f"NICK {self.nick}")
        elif command == "PONG":
            token = params[-1].strip().lstrip(":")
            fut = self._pongs.pop(token, None)
            if fut is not None and not fut.done():
                fut.set_result(self._errors)
                self._errors = []
        elif command in FATAL:
            target = params[0].split(" ")[1] if " " in params[0] else params[0]
            self._errors.append((target, FATAL[command]))
        elif command == "JOIN" and prefix.split("!")[0] == self.nick:
            self._joined.add(irc_lower(params[-1].lstrip(":")))
        elif command == "ERROR":
            log.warning("IRC: server error: %s", rest)

    async def send(self, target: str, text: str) -> None:
        check_target(target, self.settings.channels)
        lines = split_text(text)
        if not lines:
            raise Reject("IRC: nothing to send (empty text)")
        async with self._lock:
            if not self.connected:
                await self.connect()
            if target.startswith(("#", "&")) and irc_lower(target) not in self._joined:
                self._write(f"JOIN {target}")
            for line in lines:
                self._write(f"PRIVMSG {target} :{line}")
            token = f"fedbus{next(self._tokens)}"
            fut: asyncio.Future[list[tuple[str, str]]] = asyncio.get_running_loop().create_future()
            self._pongs[token] = fut
            self._write(f"PING :{token}")
            assert self._writer is not None
            await self._writer.drain()
            errors = await asyncio.wait_for(fut, self.settings.timeout)
        for who, why in errors:
            if who.lower() == target.lower():
                raise Reject(f"IRC: {target}: {why}")

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._write("QUIT :bye")
                await self._writer.drain()
                self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        self._writer = self._reader = None
        self._task = None
