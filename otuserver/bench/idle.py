"""Hold many idle keep-alive connections open against a server, from a helper process.

The helper (`python -m otuserver.bench.idle HOST PORT COUNT PATH`) opens COUNT
connections in bounded batches, sends one keep-alive GET on each and reads the
whole response, so each is a real, served, idle keep-alive connection. It then
prints one JSON line ({"ready": ..., "open": n, "failed": n}) and waits until its
stdin closes; finally it counts how many the server has closed meanwhile and
prints a second JSON line. hold_idle_connections() runs it from the harness. It
knows nothing of the server it talks to beyond HTTP/1.1 with Content-Length.
"""

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import time
from typing import Iterator

from ..runner import REPO_ROOT

BATCH = 500                     # connections in flight at once: stays under the listen backlog
SETUP_TIMEOUT_S = 120.0
MAX_HOLD_S = 900.0              # the helper lets go after this even if nobody tells it to


class _Conn:
    __slots__ = ("sock", "buffer", "done")

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer, self.done = sock, b"", False


def response_complete(data: bytes) -> bool:
    """True once `data` holds a whole response head and its Content-Length body.

    >>> response_complete(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nhi")
    True
    >>> response_complete(b"HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\nh")
    False
    """
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


def _open_batch(host: str, port: int, count: int, request: bytes, deadline: float) -> tuple[list, int]:
    """Open `count` connections, send `request` on each, read each response; return (open, failed)."""
    poller = select.epoll()
    conns: dict[int, _Conn] = {}
    failed = 0
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex((host, port))
        conns[sock.fileno()] = _Conn(sock)
        poller.register(sock.fileno(), select.EPOLLOUT)
    pending = len(conns)
    while pending and time.monotonic() < deadline:
        for fd, events in poller.poll(1.0):
            conn = conns[fd]
            try:
                if events & select.EPOLLOUT:
                    err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    conn.sock.send(request)         # a few dozen bytes: one send suffices
                    poller.modify(fd, select.EPOLLIN)
                    continue
                chunk = conn.sock.recv(65536)
                if not chunk:
                    raise ConnectionResetError("closed before the response was complete")
                conn.buffer += chunk
                if response_complete(conn.buffer):
                    conn.done, conn.buffer = True, b""
                    poller.unregister(fd)
                    pending -= 1
            except OSError:
                poller.unregister(fd)
                conn.sock.close()
                failed += 1
                pending -= 1
    poller.close()
    alive = [c.sock for c in conns.values() if c.done]
    for c in conns.values():
        if not c.done and c.sock.fileno() >= 0:
            c.sock.close()
            failed += 1
    return alive, failed


def still_open(socks: list[socket.socket]) -> int:
    """How many of these idle sockets the server has not closed (a closed one polls readable)."""
    poller = select.epoll(sizehint=len(socks))
    for sock in socks:
        poller.register(sock.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
    closed = len(poller.poll(0, maxevents=len(socks) or 1))
    poller.close()
    return len(socks) - closed


def helper_main(host: str, port: int, count: int, path: str) -> None:
    """The helper process: open, report, hold until stdin closes, report again."""
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    started = time.monotonic()
    deadline = started + SETUP_TIMEOUT_S
    socks: list[socket.socket] = []
    failed = 0
    while len(socks) + failed < count and time.monotonic() < deadline:
        batch = min(BATCH, count - len(socks) - failed)
        opened, lost = _open_batch(host, port, batch, request, deadline)
        socks += opened
        failed += lost
    report = {"ready": True, "requested": count, "open": len(socks), "failed": failed,
              "setup_s": round(time.monotonic() - started, 2)}
    print(json.dumps(report), flush=True)
    select.select([sys.stdin], [], [], MAX_HOLD_S)
    print(json.dumps({"still_open": still_open(socks), "held_s": round(time.monotonic() - started, 2)}),
          flush=True)


@contextlib.contextmanager
def hold_idle_connections(host: str, port: int, count: int, path: str = "/") -> Iterator[dict]:
    """Run the helper; yield its first report; on exit add "still_open" to that same dict.

        with hold_idle_connections("127.0.0.1", 8080, 10_000) as idle:
            ...                    # idle["open"] connections are held while this block runs
        idle["still_open"]        # how many the server had not closed by the end
    """
    command = [sys.executable, "-m", "otuserver.bench.idle", host, str(port), str(count), path]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=str(REPO_ROOT))
    try:
        report = _read_json_line(proc, SETUP_TIMEOUT_S + 30)
        yield report
        proc.stdin.close()
        report.update(_read_json_line(proc, 60))
    finally:
        if proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                proc.stdin.close()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _read_json_line(proc: subprocess.Popen, timeout_s: float) -> dict:
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline() if ready else ""
    if not line:
        raise RuntimeError(f"the idle-connection helper said nothing (exit status {proc.poll()})")
    return json.loads(line)


if __name__ == "__main__":
    helper_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
