"""A deliberately blocking HTTP server: one process, one thread, one connection at a time.

This is the first stage of the lessons' story (accept, read the request, answer,
close, repeat), kept here so the slow-client benchmark can show what an epoll
loop fixes: while this server waits for one slow client's request, every other
client waits in the listen queue. It serves GET for files under a root, answers
with `Connection: close`, and owns nothing else; it shares no code with
otuserver.server on purpose, so that the comparison is between two designs.

    python -m otuserver.bench.blocking --port 8081 --root docroot
"""

import argparse
import os
import socket

from ..http.errors import BadRequest
from ..http.urls import percent_decode

MAX_HEAD_BYTES = 16384
BACKLOG = 128


def read_head(conn: socket.socket) -> bytes:
    """Block until the blank line that ends the request head (or the client goes away).

    This is the whole problem with the design: nothing else runs while recv() waits.
    """
    data = b""
    while b"\r\n\r\n" not in data and len(data) < MAX_HEAD_BYTES:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def resolve(root: str, target: str) -> str | None:
    """The file for a request target, or None if it leaves the root or is not a file.

    >>> resolve("/nonexistent-root", "/../etc/passwd") is None
    True
    """
    try:
        path = percent_decode(target.split("?", 1)[0])  # ours: the task forbids urllib in a server
    except BadRequest:
        return None
    if "\x00" in path:
        return None
    if path.endswith("/"):
        path += "index.html"
    real = os.path.realpath(os.path.join(root, path.lstrip("/")))
    if not real.startswith(root + os.sep) or not os.path.isfile(real):
        return None
    return real


def respond(conn: socket.socket, root: str) -> None:
    """Answer one request on `conn`: the file, or 404."""
    request_line = read_head(conn).split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(request_line) != 3:
        return
    path = resolve(root, request_line[1]) if request_line[0] in ("GET", "HEAD") else None
    if path is None:
        status, body = "404 Not Found", b"404 Not Found\n"
    else:
        status = "200 OK"
        with open(path, "rb") as f:
            body = f.read()
    head = (f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: text/html\r\nConnection: close\r\n\r\n").encode()
    conn.sendall(head if request_line[0] == "HEAD" else head + body)


def serve(host: str, port: int, root: str) -> None:
    """Accept and answer connections one after another, forever (stop it with SIGTERM)."""
    root = os.path.realpath(root)
    with socket.create_server((host, port), backlog=BACKLOG) as listener:
        print(f"listening on http://{host}:{listener.getsockname()[1]}", flush=True)
        while True:
            conn, _ = listener.accept()
            with conn:
                try:
                    respond(conn, root)
                except OSError:
                    pass                # the client left; the next one is waiting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--root", required=True)
    args = parser.parse_args()
    serve(args.host, args.port, args.root)


if __name__ == "__main__":
    main()
