"""The incremental HTTP/1.1 request parser (RFC 9112), sans I/O.

Bytes go in with `receive_data`; `next_request` gives back one complete Request
(head and whole body), or None when it needs more bytes. It never reads a
socket and never blocks, so it can be fed any chunking: whole, byte by byte,
or several pipelined requests at once, whose leftover bytes wait for the next call.

Anything malformed raises an HTTPError carrying its status (400, 413, 414, 431,
501, 505); after that the parser is finished, because the byte stream can no
longer be trusted to be in step (request smuggling starts exactly there).
"""

import re
from dataclasses import dataclass

from .errors import (BadRequest, ContentTooLarge, HeaderFieldsTooLarge,
                     HTTPError, NotImplementedByServer, URITooLong, VersionNotSupported)
from .headers import Headers
from .messages import Request

# RFC 9112 §2.1: the head ends with an empty line. A lone LF is accepted as a
# line terminator (RFC 9112 §2.2 allows it), so the end is LF, optional CR, LF.
_HEAD_END = re.compile(rb"\n\r?\n")

# RFC 9110 §5.6.2:  token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# RFC 9112 §2.3:  HTTP-version = HTTP-name "/" DIGIT "." DIGIT
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")

# RFC 9110 §5.5: field values are VCHAR, SP, HTAB and obs-text; other controls
# (and DEL) are invalid anywhere in a head. CR and LF are handled as line ends.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# RFC 9112 §7.1:  chunk-size = 1*HEXDIG ; we cap the digits so int() stays cheap.
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")

_MAX_CHUNK_LINE_BYTES = 4096


@dataclass(frozen=True)
class Limits:
    """How big a request may be before it is refused, and with which status."""

    max_request_line: int = 8190     # 414 past this (nginx's default is 8 KiB too)
    max_head_bytes: int = 65536      # 431: request line + fields + blank line
    max_header_fields: int = 100     # 431
    max_body_bytes: int = 1 << 20    # 413


# What the parser is waiting for.
_HEAD, _FIXED_BODY, _CHUNK_SIZE_LINE, _CHUNK_DATA, _TRAILERS, _FAILED = range(6)


class RequestParser:
    """Turns a stream of bytes into Requests, one at a time.

    >>> p = RequestParser()
    >>> p.receive_data(b"GET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\nGET /b HT")
    >>> p.next_request()
    <Request GET / HTTP/1.1>
    >>> p.next_request() is None          # the second request is not complete yet
    True
    >>> p.receive_data(b"TP/1.1\\r\\nHost: a\\r\\n\\r\\n")
    >>> p.next_request().target
    '/b'
    """

    def __init__(self, limits: Limits = Limits(), client: str = "") -> None:
        self.limits = limits
        self.client = client
        self._buffer = bytearray()
        self._scan_from = 0          # where the search for the head's end resumes
        self._state = _HEAD
        self._head: tuple[str, str, str, Headers] | None = None
        self._body = bytearray()
        self._remaining = 0          # bytes still due in a fixed body or the current chunk
        self._error: HTTPError | None = None
        self.expects_continue = False  # the client waits for "100 Continue" before its body

    # -- feeding ------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Append bytes as they arrived; nothing is parsed until next_request()."""
        self._buffer += data

    @property
    def in_progress(self) -> bool:
        """True when part of a request has arrived (the server then applies its read timeout)."""
        return self._state != _HEAD or bool(self._buffer.strip(b"\r\n"))

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)

    # -- the state machine --------------------------------------------------

    def next_request(self) -> Request | None:
        """The next complete request, or None if more bytes are needed; raises HTTPError."""
        if self._error is not None:
            raise self._error
        try:
            return self._advance()
        except HTTPError as error:
            self._state, self._error = _FAILED, error
            self._buffer.clear()
            raise

    def _advance(self) -> Request | None:
        if self._state == _HEAD and not self._read_head():
            return None
        while self._state != _HEAD:
            if self._state == _FIXED_BODY:
                done = self._read_fixed_body()
            elif self._state == _CHUNK_SIZE_LINE:
                done = self._read_chunk_size()
            elif self._state == _CHUNK_DATA:
                done = self._read_chunk_data()
            else:
                done = self._read_trailers()
            if not done:
                return None
        return self._finish()

    def _finish(self) -> Request:
        method, target, version, headers = self._head
        body = bytes(self._body)
        self._head, self._body = None, bytearray()
        self.expects_continue = False
        return Request(method, target, version, headers, body, self.client)

    # -- the head (RFC 9112 §2.1) -------------------------------------------

    def _read_head(self) -> bool:
        buffer = self._buffer
        # RFC 9112 §2.2: a server SHOULD ignore empty lines before the request-line
        # (the http-test-suite sends a lone "\n").
        while buffer[:1] == b"\n" or buffer[:2] == b"\r\n":
            del buffer[:1 if buffer[:1] == b"\n" else 2]
        # Search only the bytes not searched before (backing up 2 for a split "\n\r\n").
        match = _HEAD_END.search(buffer, max(0, self._scan_from - 2))
        if match is None:
            self._scan_from = len(buffer)
            self._check_incomplete_head()
            return False
        end = match.end()
        head = bytes(buffer[:match.start()])
        del buffer[:end]
        self._scan_from = 0
        if end > self.limits.max_head_bytes:
            raise HeaderFieldsTooLarge(f"request head exceeds {self.limits.max_head_bytes} bytes")
        self._start_message(*self._parse_head(head))
        return True

    def _check_incomplete_head(self) -> None:
        # Refuse before buffering more: a head we would reject anyway.
        size, limits = len(self._buffer), self.limits
        if size > limits.max_request_line and self._buffer.find(b"\n", 0, limits.max_request_line + 2) < 0:
            raise URITooLong(f"request line exceeds {limits.max_request_line} bytes")
        if size > limits.max_head_bytes:
            raise HeaderFieldsTooLarge(f"request head exceeds {limits.max_head_bytes} bytes")

    def _parse_head(self, head: bytes) -> tuple[str, str, str, Headers]:
        if _CONTROL.search(head):
            raise BadRequest("control character in request head")
        lines = head.split(b"\n")
        request_line = _strip_cr(lines[0])
        if len(request_line) > self.limits.max_request_line:
            raise URITooLong(f"request line exceeds {self.limits.max_request_line} bytes")
        method, target, version = _parse_request_line(request_line)
        if len(lines) - 1 > self.limits.max_header_fields:
            raise HeaderFieldsTooLarge(f"more than {self.limits.max_header_fields} header fields")
        headers = Headers(_parse_field_line(_strip_cr(line)) for line in lines[1:])
        if version == "HTTP/1.1" and len(headers.get_all("host")) != 1:
            # RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request
            # that lacks a Host field or has more than one.
            raise BadRequest("HTTP/1.1 request needs exactly one Host header")
        return method, target, version, headers

    # -- framing (RFC 9112 §6) ----------------------------------------------

    def _start_message(self, method: str, target: str, version: str, headers: Headers) -> None:
        self._head = (method, target, version, headers)
        transfer_encoding = headers.get_all("transfer-encoding")
        content_length = headers.get_all("content-length")
        if transfer_encoding:
            if content_length:
                # RFC 9112 §6.1: both at once is how requests get smuggled past a proxy.
                raise BadRequest("both Transfer-Encoding and Content-Length")
            if version == "HTTP/1.0":
                raise BadRequest("Transfer-Encoding in an HTTP/1.0 request")  # RFC 9112 §6.1
            _check_chunked_only(transfer_encoding)
            self._state = _CHUNK_SIZE_LINE
        elif content_length:
            self._remaining = _parse_content_length(content_length)
            if self._remaining > self.limits.max_body_bytes:
                raise ContentTooLarge(f"body exceeds {self.limits.max_body_bytes} bytes")
            self._state = _FIXED_BODY if self._remaining else _HEAD
        else:
            self._state = _HEAD  # RFC 9112 §6.3 rule 7: no framing fields, no body
        # RFC 9110 §10.1.1: a client may wait for "100 Continue" before sending its body.
        self.expects_continue = (self._state != _HEAD and version == "HTTP/1.1"
                                 and (headers.get("expect") or "").lower() == "100-continue")

    def _read_fixed_body(self) -> bool:
        take = min(self._remaining, len(self._buffer))
        self._body += self._buffer[:take]
        del self._buffer[:take]
        self._remaining -= take
        if self._remaining:
            return False
        self._state = _HEAD
        return True

    # -- chunked bodies (RFC 9112 §7.1) -------------------------------------

    def _read_chunk_size(self) -> bool:
        line = self._take_line(_MAX_CHUNK_LINE_BYTES, "chunk-size line")
        if line is None:
            return False
        size_text = line.split(b";", 1)[0].rstrip(b" \t")  # chunk extensions are ignored
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise BadRequest(f"bad chunk size {bytes(size_text[:20])!r}")
        size = int(size_text, 16)
        if len(self._body) + size > self.limits.max_body_bytes:
            raise ContentTooLarge(f"body exceeds {self.limits.max_body_bytes} bytes")
        self._remaining = size
        self._state = _CHUNK_DATA if size else _TRAILERS
        return True

    def _read_chunk_data(self) -> bool:
        # The chunk's data, then exactly CRLF.
        if len(self._buffer) < self._remaining + 2:
            return False
        end = self._remaining
        if self._buffer[end:end + 2] != b"\r\n":
            raise BadRequest("chunk data not followed by CRLF")
        self._body += self._buffer[:end]
        del self._buffer[:end + 2]
        self._state = _CHUNK_SIZE_LINE
        return True

    def _read_trailers(self) -> bool:
        # Trailer fields are parsed for validity and then dropped: nothing here uses them.
        while True:
            line = self._take_line(self.limits.max_head_bytes, "trailer section")
            if line is None:
                return False
            if not line:
                self._state = _HEAD
                return True
            if _CONTROL.search(line):
                raise BadRequest("control character in trailer field")
            _parse_field_line(line)

    def _take_line(self, limit: int, what: str) -> bytes | None:
        end = self._buffer.find(b"\n", 0, limit + 1)
        if end < 0:
            if len(self._buffer) > limit:
                raise BadRequest(f"{what} too long")
            return None
        line = _strip_cr(bytes(self._buffer[:end]))
        del self._buffer[:end + 1]
        return line


# -- pieces of the head, as pure functions -------------------------------------

def _strip_cr(line: bytes) -> bytes:
    if line.endswith(b"\r"):
        line = line[:-1]
    if b"\r" in line:
        raise BadRequest("bare CR in request head")  # RFC 9112 §2.2
    return line


def _parse_request_line(line: bytes) -> tuple[str, str, str]:
    """request-line = method SP request-target SP HTTP-version (RFC 9112 §3).

    >>> _parse_request_line(b"GET /index.html HTTP/1.1")
    ('GET', '/index.html', 'HTTP/1.1')
    """
    parts = line.split(b" ")
    if len(parts) != 3:
        raise BadRequest("request line is not 'METHOD TARGET VERSION'")
    method, target, version = parts
    if not _TOKEN.fullmatch(method):
        raise BadRequest("invalid method")
    match = _VERSION.fullmatch(version)
    if match is None:
        raise BadRequest("invalid HTTP version")
    if match.group(1) != b"1" or match.group(2) not in (b"0", b"1"):
        raise VersionNotSupported(f"{version.decode('ascii')} is not supported")
    return method.decode("ascii"), _origin_form(method, target), version.decode("ascii")


def _origin_form(method: bytes, target: bytes) -> str:
    """Reduce a request-target to origin-form, the only form a file server needs (RFC 9112 §3.2).

    >>> _origin_form(b"GET", b"http://localhost:8080/a?b")
    '/a?b'
    """
    if not target.isascii():
        raise BadRequest("request target is not ASCII (RFC 3986 wants it percent-encoded)")
    text = target.decode("ascii")
    if text.startswith("/"):
        return text
    if text == "*" and method == b"OPTIONS":
        return text  # asterisk-form, RFC 9112 §3.2.4
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        # absolute-form, RFC 9112 §3.2.2: a server MUST accept it; we serve one
        # site, so the authority is dropped and the path kept.
        rest = text.split("://", 1)[1]
        slash = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=-1)
        if slash < 0:
            return "/"
        return rest[slash:] if rest[slash] == "/" else "/" + rest[slash:]
    raise BadRequest("request target must be origin-form ('/path')")


def _parse_field_line(line: bytes) -> tuple[str, str]:
    """field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).

    >>> _parse_field_line(b"Content-Type:  text/html ")
    ('Content-Type', 'text/html')
    """
    if line[:1] in (b" ", b"\t"):
        # RFC 9112 §5.2: obs-fold is obsolete; a server may reject it with 400.
        raise BadRequest("obsolete line folding in header")
    name, colon, value = line.partition(b":")
    if not colon:
        raise BadRequest("header line without a colon")
    if not _TOKEN.fullmatch(name):
        # This also catches whitespace before the colon, which RFC 9112 §5.1 says MUST get 400.
        raise BadRequest(f"invalid header name {name[:40]!r}")
    return name.decode("ascii"), value.strip(b" \t").decode("latin-1")


def _parse_content_length(values: list[str]) -> int:
    """The one length that all Content-Length values agree on (RFC 9110 §8.6, RFC 9112 §6.3).

    >>> _parse_content_length(["42", "42, 42"])
    42
    """
    lengths = {item.strip() for value in values for item in value.split(",")}
    if len(lengths) != 1:
        raise BadRequest("conflicting Content-Length values")
    (length,) = lengths
    if not (length.isascii() and length.isdigit()):
        raise BadRequest(f"invalid Content-Length {length[:20]!r}")
    if len(length) > 18:
        raise ContentTooLarge("Content-Length is absurdly large")
    return int(length)


def _check_chunked_only(values: list[str]) -> None:
    """Accept exactly `Transfer-Encoding: chunked` (RFC 9112 §6.1, §7).

    We implement no other coding, so any other is 501 (RFC 9112 §6.1); a list
    without chunked last, or chunked twice, is a framing error (400).
    """
    codings = [item.strip().lower() for value in values for item in value.split(",")]
    unknown = [c for c in codings if c != "chunked"]
    if any(not c for c in unknown):
        raise BadRequest("empty transfer coding")
    if unknown:
        raise NotImplementedByServer(f"transfer coding {unknown[0]!r} is not implemented")
    if len(codings) != 1:
        raise BadRequest("chunked applied more than once")
