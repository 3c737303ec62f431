"""A tiny HTTP/1.x client over a plain socket, for tests that must see the exact bytes.

`requests` and http.client hide what we want to check here: the raw status line, headers as sent,
whether the server closed the connection, and the order of pipelined answers. This client sends what
it is given, reads one response at a time from a shared buffer (so pipelined responses stay apart),
and knows when a response has no body (HEAD, 1xx, 204, 304). It never retries and never reconnects.
"""

import socket
import time
from dataclasses import dataclass, field

DEFAULT_TIMEOUT_S = 10.0


@dataclass
class Response:
    """One parsed response: status line, headers in order (names as sent), and the body bytes."""

    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    head: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None.

        >>> Response("HTTP/1.1", 200, "OK", [("Content-Type", "text/html")]).header("content-type")
        'text/html'
        """
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def header_names(self) -> set[str]:
        return {key.lower() for key, _ in self.headers}


def build_request(method: str, target: str, version: str = "HTTP/1.1",
                  headers: dict[str, str] | list[tuple[str, str]] | None = None,
                  body: bytes = b"", host: str | None = "localhost") -> bytes:
    """The bytes of one request; Host is added unless given (host=None leaves it out).

    >>> build_request("GET", "/a b", headers={"Connection": "close"})
    b'GET /a b HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'
    """
    items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if host is not None and not any(k.lower() == "host" for k, _ in items):
        items.insert(0, ("Host", host))
    lines = [f"{method} {target} {version}"] + [f"{k}: {v}" for k, v in items]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def parse_head(head: bytes) -> Response:
    """Parse a status line and header lines (without the blank line).

    >>> r = parse_head(b"HTTP/1.1 404 Not Found\\r\\nContent-Length: 0")
    >>> (r.status, r.reason, r.header("content-length"))
    (404, 'Not Found', '0')
    """
    lines = head.decode("latin-1").split("\r\n")
    version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"malformed header line {line!r} in {head!r}")
        headers.append((name, value.strip(" \t")))
    return Response(version, int(status), reason, headers, head=head)


class Connection:
    """One TCP connection to the server; use as a context manager.

        with Connection(server) as conn:
            conn.send(build_request("GET", "/"))
            response = conn.read_response()
    """

    def __init__(self, address, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        if hasattr(address, "host") and hasattr(address, "port"):
            address = (address.host, address.port)
        self.sock = socket.create_connection(address, timeout=timeout)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buffer = b""
        self.eof = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, method: str, target: str, **kwargs) -> Response:
        """Send one request and read its response."""
        self.send(build_request(method, target, **kwargs))
        return self.read_response(method)

    def _fill(self) -> bool:
        """Read more bytes into the buffer; False at EOF (or a reset, which ends the stream just the same)."""
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not self._fill():
                raise ConnectionError(f"connection closed after {len(self.buffer)} of {n} body bytes")
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _take_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError("connection closed inside a chunked body")
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def read_response(self, method: str = "GET") -> Response:
        """Read exactly one response; its body is framed by the usual rules (RFC 9112 §6.3)."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"connection closed before a complete response head: {self.buffer!r}")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        response = parse_head(head)
        if method == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200:
            return response
        if "chunked" in (response.header("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size = int(self._take_line().split(b";")[0], 16)
                if size == 0:
                    while self._take_line():            # trailers end with an empty line
                        pass
                    break
                body += self._take(size)
                self._take(2)
            response.body = body
        elif response.header("Content-Length") is not None:
            response.body = self._take(int(response.header("Content-Length")))
        else:
            response.body = self.read_until_close()
        return response

    def read_until_close(self) -> bytes:
        """Everything until the server closes the connection."""
        while self._fill():
            pass
        data, self.buffer = self.buffer, b""
        return data

    def closed_by_server(self, within: float = 2.0) -> bool:
        """True if the server closes the connection within `within` seconds (bytes that arrive meanwhile
        are kept in the buffer); False if it is still open then."""
        deadline = time.monotonic() + within
        try:
            while not self.eof:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.sock.settimeout(remaining)
                self._fill()
            return True
        except (socket.timeout, TimeoutError):
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def fetch(address, method: str, target: str, **kwargs) -> Response:
    """One request on a fresh connection, which is then closed."""
    with Connection(address) as conn:
        return conn.request(method, target, **kwargs)
