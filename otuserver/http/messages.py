"""Request and Response: the two messages that cross between the protocol and an application.

An application is any callable `app(request) -> Response`. The parser builds a
Request from bytes; a Response renders its own head with `wire_head`, and the
connection adds its fields and sends it. Neither class knows where the bytes
came from or go to.
A Response body is `bytes` or any sized object the server knows how to send
(the static-file handler uses an open-file body sent with sendfile).
"""

import re

from .errors import BadRequest
from .headers import TOKEN, Headers, header_tokens
from .status import reason_phrase
from .urls import parse_query, percent_decode


_FIELD_NAME = re.compile(TOKEN)  # RFC 9110 §5.1: a field name is a token


class Request:
    """One complete HTTP request: head fields plus the whole body.

    >>> r = Request("GET", "/space%20in%20name.txt?x=1", headers=[("Host", "h")])
    >>> r.path, r.query_string, r.query_params, r.keep_alive
    ('/space in name.txt', 'x=1', {'x': ['1']}, True)
    """

    __slots__ = ("method", "target", "version", "headers", "body",
                 "path", "query_string", "keep_alive", "client", "_query_params")

    def __init__(self, method: str, target: str, version: str = "HTTP/1.1",
                 headers: Headers | list[tuple[str, str]] | None = None,
                 body: bytes = b"", client: str = "", keep_alive: bool | None = None) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers if isinstance(headers, Headers) else Headers(headers or ())
        self.body = body
        self.client = client  # the peer's address, for logs; empty when there is none
        raw_path, _, self.query_string = target.partition("?")  # as urls.split_target, without a call
        if "%" in raw_path:
            raw_path = percent_decode(raw_path)
        if "\x00" in raw_path:
            raise BadRequest("NUL in request path")
        self.path = raw_path
        if keep_alive is None:  # the parser may know it already, from these fields seen before
            keep_alive = wants_keep_alive(version, self.headers.by_name.get("connection"))
        self.keep_alive = keep_alive
        self._query_params: dict[str, list[str]] | None = None

    def copy_for(self, client: str) -> "Request":
        """This request again, without a body, from `client`: for a parser that has read its head before.

        The copy shares the strings, which are immutable, and the Headers, which are
        read-only by contract, not by force: `by_name` stays a plain dict because the
        hot path reads it several times per request, so an application that wrote to
        it would change every later request with the same field lines. The query is
        parsed again on first use, so the copies share nothing else.
        """
        twin = _new_request(Request)
        twin.method, twin.target, twin.version = self.method, self.target, self.version
        twin.headers, twin.path, twin.query_string = self.headers, self.path, self.query_string
        twin.keep_alive, twin.body, twin.client, twin._query_params = self.keep_alive, b"", client, None
        return twin

    @property
    def query_params(self) -> dict[str, list[str]]:
        """The decoded query, parsed on first use: name -> list of values."""
        if self._query_params is None:
            self._query_params = parse_query(self.query_string)
        return self._query_params

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target} {self.version}>"


_new_request = object.__new__  # a Request without running __init__ (copy_for sets every slot)


def wants_keep_alive(version: str, connection: str | None) -> bool:
    """Does the client want the connection kept open after this exchange? (RFC 9112 §9.3)

    HTTP/1.1 persists unless the client says `close`; HTTP/1.0 only when it asks
    for `keep-alive` (RFC 9112 §C.2.2).
    >>> wants_keep_alive("HTTP/1.1", None), wants_keep_alive("HTTP/1.0", "Keep-Alive")
    (True, True)
    >>> wants_keep_alive("HTTP/1.1", "close"), wants_keep_alive("HTTP/1.0", None)
    (False, False)
    """
    if connection is None:
        return version == "HTTP/1.1"
    # One token ("close", "keep-alive") is what clients send: no list to split then.
    tokens = header_tokens(connection) if "," in connection else {connection.strip().lower()}
    if version == "HTTP/1.1":
        return "close" not in tokens
    return "keep-alive" in tokens and "close" not in tokens


class Response:
    """A status, header fields and a body.

    An application sets only what it means, e.g. `Content-Type`: `wire_head` adds
    `Content-Length`, and the server adds `Date`, `Server` and `Connection`. A
    Response whose body is bytes may be shared between requests (the static-file
    cache does), so its rendered head is kept after the first use.
    """

    __slots__ = ("status", "headers", "body", "_wire_head")

    def __init__(self, status: int = 200, headers: list[tuple[str, str]] | None = None,
                 body=b"") -> None:
        self.status = status
        self.headers = headers if headers is not None else []
        self.body = body
        self._wire_head: bytes | None = None

    def header(self, name: str) -> str | None:
        """The first value of field `name`, case-insensitively, or None."""
        name = name.lower()
        for field, value in self.headers:
            if field.lower() == name:
                return value
        return None

    def wire_head(self) -> bytes:
        """Status line, the application's fields and Content-Length as wire bytes, rendered once.

        The server's own fields (Date, Server, Connection) and the blank line follow.
        >>> Response(200, [("Content-Type", "text/plain")], b"hi").wire_head()
        b'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 2\\r\\n'
        """
        if self._wire_head is None:
            head = status_line(self.status) + render_fields(self.headers)
            if status_allows_body(self.status):
                # RFC 9110 §8.6; HEAD gets the same length GET would (§9.3.2).
                head += b"Content-Length: %d\r\n" % len(self.body)
            self._wire_head = head
        return self._wire_head

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)} bytes>"


def status_allows_body(status: int) -> bool:
    """1xx, 204 and 304 responses never carry content (RFC 9110 §6.4.1)."""
    return status >= 200 and status not in (204, 304)


_STATUS_LINES: dict[int, bytes] = {}


def status_line(status: int) -> bytes:
    """b"HTTP/1.1 200 OK\\r\\n", built once per status code (RFC 9112 §4)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {reason_phrase(status)}\r\n".encode("ascii")
    return line


def render_fields(headers: list[tuple[str, str]]) -> bytes:
    """Field lines as wire bytes, each ending in CRLF (RFC 9112 §5).

    >>> render_fields([("Content-Length", "0"), ("Allow", "GET, HEAD")])
    b'Content-Length: 0\\r\\nAllow: GET, HEAD\\r\\n'
    """
    lines = []
    for name, value in headers:
        line = _RENDERED.get((name, value))
        if line is None:
            line = _render_field(name, value)
            # An application repeats a handful (Content-Type, Allow) among one-offs (each
            # Location): all are dropped when full, so the handful comes back and no one-off stays.
            if len(_RENDERED) >= _MAX_RENDERED:
                _RENDERED.clear()
            _RENDERED[name, value] = line
        lines.append(line)
    return b"".join(lines)


_RENDERED: dict[tuple[str, str], bytes] = {}
_MAX_RENDERED = 256
_CHECKED_NAMES: set[str] = set()  # names already found to be tokens (at most _MAX_RENDERED)


def _render_field(name: str, value: str) -> bytes:
    # A CR or LF in a name or value would let data from an application split
    # the response in two (response splitting): a name must be a token
    # (RFC 9110 §5.1) and a value must hold no CR, LF or NUL (RFC 9110 §5.5).
    if name not in _CHECKED_NAMES:  # a handful of names, each checked once; values vary
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"invalid header field name {name!r}")
        if len(_CHECKED_NAMES) < _MAX_RENDERED:
            _CHECKED_NAMES.add(name)
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError(f"CR, LF or NUL in header field {name!r}")
    return f"{name}: {value}\r\n".encode("latin-1")
