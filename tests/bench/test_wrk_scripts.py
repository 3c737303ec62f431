"""The Lua the harness hands wrk sends the requests its scenario says, byte for byte.

A loopback peer records what one wrk connection sends and answers each request
with an empty 200; the test reads the request heads back. wrk is required: it
skips without it, and fails under CI=true.
"""

import re
import socket
import subprocess
import tempfile
import threading

from otuserver.bench.wrk import cycle_paths_script
from tests.conftest import require_tool

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def _record(script: str, path: str, want_requests: int) -> list[bytes]:
    """The request heads one wrk connection sends, the first `want_requests` of them."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]
    received = bytearray()

    def peer() -> None:
        # wrk opens a connection to check the address before its run: serve each in turn.
        while received.count(b"\r\n\r\n") < want_requests:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                while received.count(b"\r\n\r\n") < want_requests:
                    data = conn.recv(65536)
                    if not data:
                        break
                    received.extend(data)
                    conn.sendall(OK * data.count(b"\r\n\r\n"))

    thread = threading.Thread(target=peer, daemon=True)
    thread.start()
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua_file:
        lua_file.write(script)
        lua_file.flush()
        subprocess.run(["wrk", "-t1", "-c1", "-d1s", "-s", lua_file.name, f"http://127.0.0.1:{port}{path}"],
                       capture_output=True, timeout=30, check=True)
    listener.close()
    thread.join(timeout=10)
    heads = bytes(received).split(b"\r\n\r\n")[:want_requests]
    return [re.sub(rb"127\.0\.0\.1:\d+", b"HOST", head) for head in heads]


def test_cycle_paths_sends_each_path_in_turn_with_wrks_own_host():
    require_tool("wrk")
    heads = _record(cycle_paths_script("/api/scores/", 3), "/api/scores/1", 7)
    targets = [head.split(b" ")[1] for head in heads]
    # Every path of the cycle, in order, round and round (where wrk starts in it is wrk's business).
    start = int(targets[0].rsplit(b"/", 1)[1])
    assert targets == [b"/api/scores/%d" % ((start - 1 + k) % 3 + 1) for k in range(7)]
    assert all(head.endswith(b" HTTP/1.1\r\nHost: HOST") for head in heads), heads
