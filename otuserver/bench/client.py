"""A small HTTP/1.1 client over one keep-alive socket, to seed and probe a server before it is measured.

It owns one connection to a loopback server (127.0.0.1 or ::1; any other host is refused): it writes
a request, reads exactly one response -- status line, headers, then a Content-Length, chunked or
read-until-close body, framed as RFC 9112 §6.3 says -- and keeps the connection for the next request
unless either side said `Connection: close`. It must not know which server it talks to, the API, or
the measurements: callers judge the status. request() returns a Response (status, headers with
lower-cased names, body); it raises ResponseError for a malformed answer, TimeoutError when one whole
exchange takes longer than timeout_s, and ConnectionError when the server hangs up mid-response.
It never retries: a failed request closes the connection, and the next one opens a fresh one.
"""

import socket
import time
from typing import Iterable, NamedTuple

LOOPBACK_HOSTS = ("127.0.0.1", "::1")
TIMEOUT_S = 10.0
MAX_LINE_BYTES = 65536          # a status line, a header block or a chunk-size line longer than this is refused
RECV_BYTES = 65536
HEX_DIGITS = b"0123456789abcdefABCDEF"


class ResponseError(Exception):
    """The server's answer is not an HTTP/1.x response as RFC 9112 frames one."""


class Response(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


def split_base_url(base_url: str) -> tuple[str, int]:
    """The loopback (host, port) of an `http://HOST:PORT` base URL; ValueError for any other.

    >>> split_base_url("http://127.0.0.1:8080")
    ('127.0.0.1', 8080)
    >>> split_base_url("http://[::1]:8080/")
    ('::1', 8080)
    """
    scheme, _, authority = base_url.partition("://")
    host, sep, port = authority.rstrip("/").rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if scheme != "http" or not sep or host not in LOOPBACK_HOSTS or not port.isdigit():
        raise ValueError(f"not an http:// URL of 127.0.0.1 or [::1] with a port: {base_url!r}")
    return host, int(port)


def encode_request(method: str, path: str, host: str, body: bytes = b"",
                   headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """The bytes of one request; Host and Content-Length are added here, never by the caller.

    >>> encode_request("POST", "/api/scores", "127.0.0.1:80", b"{}", [("X-A", "1")])
    b'POST /api/scores HTTP/1.1\\r\\nHost: 127.0.0.1:80\\r\\nX-A: 1\\r\\nContent-Length: 2\\r\\n\\r\\n{}'
    """
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{name}: {value}" for name, value in headers)]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    if any("\r" in line or "\n" in line for line in lines):
        raise ValueError("CR or LF inside a request line or header would split the request")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_head(head: bytes) -> tuple[str, int, dict[str, str]]:
    """The version, status and headers of a response head (without its blank line).

    Repeated fields are joined with ", " (RFC 9110 §5.3).

    >>> parse_head(b"HTTP/1.1 404 Not Found\\r\\nContent-Length: 0\\r\\nVia: a\\r\\nvia: b")
    ('HTTP/1.1', 404, {'content-length': '0', 'via': 'a, b'})
    """
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not (code.isdigit() and len(code) == 3) or rest[3:4] not in ("", " "):
        raise ResponseError(f"not an HTTP/1.x status line: {status_line!r}")
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():     # RFC 9112 §5.1: no whitespace before the colon
            raise ResponseError(f"malformed header line: {line!r}")
        name, value = name.lower(), value.strip(" \t")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return version, int(code), headers


def _tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",")}


class Client:
    """One keep-alive connection to a loopback server, opened on the first request.

        with Client("http://127.0.0.1:8080") as client:
            status, headers, body = client.request("GET", "/")
    """

    def __init__(self, base_url: str, timeout_s: float = TIMEOUT_S) -> None:
        self.host, self.port = split_base_url(base_url)
        self.host_header = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        self.timeout_s = timeout_s
        self.connections_opened = 0
        self._sock: socket.socket | None = None
        self._buffer = bytearray()      # bytes received and not yet consumed
        self._deadline = 0.0

    def request(self, method: str, path: str, body: bytes = b"",
                headers: Iterable[tuple[str, str]] = ()) -> Response:
        """Send one request and read its whole response; connect first if no connection is open."""
        headers = list(headers)
        data = encode_request(method, path, self.host_header, body, headers)
        self._deadline = time.monotonic() + self.timeout_s
        try:
            if self._sock is None:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
                self.connections_opened += 1
            self._sock.settimeout(self._remaining_s())
            self._sock.sendall(data)
            version, status, response_headers = parse_head(self._read_until(b"\r\n\r\n"))
            while 100 <= status < 200:          # interim responses (RFC 9110 §15.2): the final one follows
                version, status, response_headers = parse_head(self._read_until(b"\r\n\r\n"))
            body_read, until_close = self._read_body(method, status, response_headers)
        except BaseException:
            self.close()                        # a half-read response leaves the connection unusable
            raise
        connection = _tokens(response_headers.get("connection", ""))
        closing = ("close" in connection or until_close
                   or (version == "HTTP/1.0" and "keep-alive" not in connection)
                   or any(n.lower() == "connection" and "close" in _tokens(v) for n, v in headers))
        if closing:
            self.close()
        return Response(status, response_headers, body_read)

    def _read_body(self, method: str, status: int, headers: dict[str, str]) -> tuple[bytes, bool]:
        """The body as RFC 9112 §6.3 frames it, and whether it ran until the server closed."""
        if method == "HEAD" or status in (204, 304):
            return b"", False
        if "transfer-encoding" in headers:      # §6.3: Transfer-Encoding overrides Content-Length
            if headers["transfer-encoding"].rsplit(",", 1)[-1].strip().lower() == "chunked":
                return self._read_chunked(), False
            return self._read_to_close(), True
        if "content-length" in headers:
            length = headers["content-length"]
            if not length.isdigit():
                raise ResponseError(f"bad Content-Length: {length!r}")
            return self._read_exactly(int(length)), False
        return self._read_to_close(), True

    def _read_chunked(self) -> bytes:
        """Chunks up to the zero-size one, then the trailer fields (read and dropped) and the blank line."""
        chunks = []
        while True:
            line = self._read_until(b"\r\n").split(b";", 1)[0].strip(b" \t")   # §7.1.1: drop extensions
            if not line or line.strip(HEX_DIGITS):
                raise ResponseError(f"bad chunk size: {line!r}")
            size = int(line, 16)
            if size == 0:
                break
            chunks.append(self._read_exactly(size))
            if self._read_exactly(2) != b"\r\n":
                raise ResponseError("chunk data not followed by CRLF")
        while self._read_until(b"\r\n"):
            pass
        return b"".join(chunks)

    def _read_until(self, delimiter: bytes) -> bytes:
        """Consume and return the buffered bytes before `delimiter` (which is consumed too)."""
        searched = 0
        while (end := self._buffer.find(delimiter, searched)) < 0:
            if len(self._buffer) > MAX_LINE_BYTES:
                raise ResponseError(f"no {delimiter!r} within {MAX_LINE_BYTES} bytes")
            searched = max(0, len(self._buffer) - len(delimiter) + 1)   # never rescan what was searched
            self._receive_or_fail()
        found = bytes(self._buffer[:end])
        del self._buffer[:end + len(delimiter)]
        return found

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._receive_or_fail()
        found = bytes(self._buffer[:size])
        del self._buffer[:size]
        return found

    def _read_to_close(self) -> bytes:
        while self._receive():
            pass
        found = bytes(self._buffer)
        self._buffer.clear()
        return found

    def _receive_or_fail(self) -> None:
        if not self._receive():
            raise ConnectionError("the server closed the connection in the middle of a response")

    def _receive(self) -> bool:
        """Append what the socket has to the buffer; False once the server has closed."""
        self._sock.settimeout(self._remaining_s())
        chunk = self._sock.recv(RECV_BYTES)
        self._buffer += chunk
        return bool(chunk)

    def _remaining_s(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no whole response within {self.timeout_s} s")
        return remaining

    def close(self) -> None:
        """Close the connection, if one is open; the next request opens a new one."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buffer.clear()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
