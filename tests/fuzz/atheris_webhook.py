"""The webhook's request handler on a socket pair: line 1 the path, line 2 the
Authorization value, the rest the body (Content-Length: its length)."""

import json
import re
import socket

import atheris

with atheris.instrument_imports(include=["fedbus"]):
    from fedbus.wedges.base import Sink
    from fedbus.wedges.webhook import Handler, WebhookServer

from atheris_lib import SPOOL, main
from fuzzlib import snapshot

TOKENS = {"pkgdb": "token-pkgdb-0123456789", "bodhi": "token-bodhi-0123456789"}
SERVER = WebhookServer(("127.0.0.1", 0), TOKENS, Sink(spool_dir=SPOOL))
STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")


def one_input(data: bytes) -> None:
    path, _, rest = data.partition(b"\n")
    auth, _, body = rest.partition(b"\n")
    path = re.sub(rb"[^\x21-\x7e]", b"", path) or b"/"  # one word, as str.split() sees it
    auth = re.sub(rb"[\r\n]", b"", auth)
    request = (
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + auth
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    before = snapshot(SPOOL)
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.sendall(request)
        ours.shutdown(socket.SHUT_WR)
        Handler(theirs, ("127.0.0.1", 0), SERVER)
        theirs.shutdown(socket.SHUT_WR)
        answer = b"".join(iter(lambda: ours.recv(65536), b""))
    found = STATUS.match(answer)
    assert found, answer[:200]
    status = int(found.group(1))
    assert status < 500 or status == 501, answer[:300]
    if status == 202:
        json.loads(answer.partition(b"\r\n\r\n")[2])
    else:
        assert snapshot(SPOOL)[2] == before[2], answer[:300]


if __name__ == "__main__":
    main(one_input)
