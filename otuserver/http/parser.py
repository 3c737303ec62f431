"""The incremental HTTP/1.1 request parser (RFC 9112), sans I/O.

Bytes go in with `receive_data`; `next_request` gives back one complete Request
(head and whole body), or None when it needs more bytes. It never reads a
socket and never blocks, so it can be fed any chunking: whole, byte by byte,
or several pipelined requests at once, whose leftover bytes wait for the next call.

A head read whole in one pass, as nearly every client sends it, is remembered
byte for byte (`_Seen`): the same bytes again give the same request without being
parsed again, and the same field lines under another request line the same Headers,
with what they settle about the body and the connection already worked out.

Anything malformed raises an HTTPError carrying its status (400, 413, 414, 417,
431, 501, 505); after that the parser is finished, because the byte stream can no
longer be trusted to be in step (request smuggling starts exactly there), and
`target` still names the request it failed on, if its request line had been read.
It knows nothing of routes: what a target means is the application's business.
"""

import re
from dataclasses import dataclass

from .errors import (BadRequest, ContentTooLarge, ExpectationFailed, HeaderFieldsTooLarge,
                     HTTPError, NotImplementedByServer, URITooLong, VersionNotSupported)
from .headers import TOKEN, Headers, header_tokens
from .messages import Request, wants_keep_alive

# RFC 9112 §2.1: the head ends with an empty line. A lone LF is accepted as a
# line terminator (RFC 9112 §2.2 allows it), so the end is LF, optional CR, LF.
_HEAD_END = re.compile(rb"\n\r?\n")

# RFC 9110 §5.6.2: a token (headers.TOKEN). As bytes for what is matched raw (methods, a
# field name checked line by line, chunk extensions); the field-block patterns below
# match decoded text and use TOKEN itself.
_TCHARS = TOKEN.encode("ascii")
_TOKEN = re.compile(_TCHARS)

# RFC 9112 §2.3:  HTTP-version = HTTP-name "/" DIGIT "." DIGIT
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")

# RFC 9110 §5.5: field values are VCHAR, SP, HTAB and obs-text; other controls
# (and DEL) are invalid anywhere in a head. CR and LF are handled as line ends.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# RFC 9112 §3: the request-line is method, target and version, all visible ASCII
# (a target with other octets must be percent-encoded, RFC 3986 §2.1), separated by
# SP. Anything else -- a TLS handshake, a NUL, a CR not followed by LF (RFC 9112
# §2.2) -- can be refused as soon as it arrives, without waiting for a line end.
_NOT_IN_REQUEST_LINE = re.compile(rb"[^\x21-\x7e \r\n]|\r(?=[^\n])")

# RFC 9110 §7.2:  Host = uri-host [ ":" port ]   (RFC 3986 §3.2.2)
#   uri-host = IP-literal / IPv4address / reg-name ; reg-name = *( unreserved / pct-encoded / sub-delims )
_HOST = re.compile(r"(?:\[[0-9A-Za-z:._~!$&'()*+,;=-]+\]|(?:[0-9A-Za-z._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)"
                   r"(?::[0-9]*)?")

# RFC 9112 §7.1:
#   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF ;  chunk-size = 1*HEXDIG
#   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
#   chunk-ext-val = token / quoted-string   (quoted-string: RFC 9110 §5.6.4)
# Leading zeros are skipped and the significant digits capped, so int() stays cheap.
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_CHUNK_LINE = re.compile(rb"0*([0-9A-Fa-f]{1,15})(?:[ \t]*;[ \t]*%s(?:[ \t]*=[ \t]*(?:%s|%s))?)*"
                         % (_TCHARS, _TCHARS, _QUOTED))

_MAX_CHUNK_LINE_BYTES = 4096

# A server is asked for a handful of host names, again and again: the ones found
# valid are remembered (a few hundred at most) instead of matched every time.
_VALID_HOSTS: set[str] = set()
_MAX_VALID_HOSTS = 256

# The fast path for field lines that break no rule: each a token, a colon, and a
# value without controls other than HTAB (RFC 9110 §5.5, RFC 9112 §5). A block it
# does not match goes line by line through _parse_field_line, which names the rule.
_VALUE_CHARS = r"[^\x00-\x08\x0a-\x1f\x7f]"         # VCHAR, SP, HTAB, obs-text
_FIELD_TEXT = r"(%s):(%s*)" % (TOKEN, _VALUE_CHARS)
_VALID_FIELD_BLOCK = re.compile(r"(?:%s\n)*%s" % (_FIELD_TEXT, _FIELD_TEXT))
_FIELD_LINE = re.compile(_FIELD_TEXT)

# The one-pass head: what nearly every client sends, matched whole once it has all
# arrived -- a token method, an origin-form target, HTTP/1.0 or 1.1, CRLF line ends
# and field lines that break no rule. Anything else, or a head arriving in pieces,
# takes the step-by-step path below, which accepts the same heads and names the
# rule a bad one breaks; the property tests hold the two paths to the same answers.
_SIMPLE_REQUEST_LINE = re.compile(rb"(%s) (/[\x21-\x7e]*) HTTP/1\.([01])\r\n" % _TCHARS)
# One field line, from a line start to its CRLF; findall over the field lines yields
# as many (name, value) pairs as there are lines only if every line is well formed.
_SIMPLE_FIELD = re.compile(r"^(%s):[ \t]*(%s*)\r\n" % (TOKEN, _VALUE_CHARS), re.MULTILINE)

# Shortcuts past the regexes for what nearly every request sends (all valid tokens).
# Each common method's bytes -> its text, made once.
_COMMON_METHODS = {method: method.decode("ascii")
                   for method in (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH")}
_SUPPORTED_VERSIONS = {b"HTTP/1.1": "HTTP/1.1", b"HTTP/1.0": "HTTP/1.0"}
_CR_LF = (0x0D, 0x0A)


@dataclass(frozen=True)
class Limits:
    """How big a request may be before it is refused, and with which status."""

    max_request_line: int = 8190     # 414 past this (nginx's default is 8 KiB too)
    max_head_bytes: int = 65536      # 431: request line + fields + blank line
    max_header_fields: int = 100     # 431
    max_body_bytes: int = 1 << 20    # 413


class _Seen:
    """Heads and field blocks the one-pass path accepted, remembered byte for byte.

    Parsing is a pure function of the bytes (and the Limits), and a server reads the
    same few heads again and again: a client repeats its fields on every request of
    a connection (often its whole head, when it polls or checks health), and every
    connection of one client looks alike. So an accepted head without a body maps to
    its Request (from its second arrival on: most heads that come once never come
    again), and a field block to its Headers and what they settle about framing
    (`_FieldBlock`), both treated as read-only from then on.
    Only the one-pass path uses this, only for bytes that passed every check, and at
    most MAX_ENTRIES of at most MAX_KEY_BYTES each are kept (all dropped when full),
    so a client sending ever-new heads costs a dict lookup, not memory.
    """

    MAX_ENTRIES = 256
    MAX_KEY_BYTES = 1024
    _per_limits: dict[Limits, "_Seen"] = {}
    _last: tuple[Limits | None, "_Seen | None"] = (None, None)  # a server asks with one Limits object

    __slots__ = ("heads", "once", "fields")

    def __init__(self) -> None:
        self.heads: dict[bytes, Request] = {}    # a whole head -> its Request, from no client
        self.once: dict[bytes, None] = {}        # heads seen once so far (most never come again)
        self.fields: dict[bytes, _FieldBlock] = {}  # field lines and the blank line -> what they say

    @classmethod
    def under(cls, limits: Limits) -> "_Seen":
        """The memory shared by every parser with these limits (what they accept depends on them)."""
        last_limits, seen = cls._last
        if limits is last_limits:
            return seen  # the usual case, without hashing a dataclass once per connection
        seen = cls._per_limits.get(limits)
        if seen is None:
            seen = cls._per_limits[limits] = cls()
        cls._last = (limits, seen)
        return seen

    @classmethod
    def forget_all(cls) -> None:
        """Start again from nothing seen (tests and lessons show a parser's first encounter)."""
        cls._per_limits.clear()
        cls._last = (None, None)

    def remember_head(self, head: bytes, request: Request) -> None:
        """Keep a head's Request from its second arrival on: a head that comes once costs less.

        The Request kept is a copy, so that nothing an application does to its own
        request reaches the next one.
        """
        if head in self.once:
            self.remember(self.heads, head, request.copy_for(""))
        else:
            self.remember(self.once, head, None)

    def remember(self, memo: dict, key: bytes, value) -> None:
        """Keep `key` -> `value` in `memo` unless the key is too long; a full memo is emptied first."""
        if len(key) <= self.MAX_KEY_BYTES:
            if len(memo) >= self.MAX_ENTRIES:
                memo.clear()
            memo[key] = value


class _FieldBlock:
    """A field block the one-pass path accepted: its Headers, and what they settle about framing.

    Whether a request has a body, and whether its Host is acceptable, depends on its
    fields and its version alone (RFC 9112 §3.2, §6.3). So `bodiless` maps each
    version under which these fields pass the Host check and announce no body and
    no expectation (no Content-Length, Transfer-Encoding or Expect) to whether such a
    request keeps the connection open. With one of those versions, a request line
    and this block make a complete request; any other takes every framing check.
    """

    __slots__ = ("headers", "bodiless")

    def __init__(self, headers: Headers) -> None:
        self.headers = headers
        self.bodiless: dict[str, bool] = {}
        by_name = headers.by_name
        if "content-length" in by_name or "transfer-encoding" in by_name or "expect" in by_name:
            return
        for version in ("HTTP/1.1", "HTTP/1.0"):
            try:
                _check_host(version, headers)
            except BadRequest:
                continue
            self.bodiless[version] = wants_keep_alive(version, by_name.get("connection"))


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
        # A line longer than the head limit could never be accepted either.
        self._max_line = min(limits.max_request_line, limits.max_head_bytes)
        self._buffer = bytearray()
        self._scan_from = 0          # where the search for a line end resumes
        self._line_end = -1          # index of the request line's LF, once it has been parsed
        self._request_line: tuple[str, str, str] | None = None
        self._fields_seen = 0        # complete field lines buffered so far (for the 431 limit)
        self._state = _HEAD
        self._request: Request | None = None
        self._body = bytearray()
        self._remaining = 0          # bytes still due in a fixed body or the current chunk
        self._trailer_bytes = 0      # the trailer section counts against the head limits
        self._trailer_fields = 0
        self._error: HTTPError | None = None
        self._failed_line: tuple[str, str] | None = None  # method and target of a refused one-pass head
        self.expects_continue = False  # the client waits for "100 Continue" before its body
        self._seen = _Seen.under(limits)

    # -- feeding ------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Append bytes as they arrived; nothing is parsed until next_request()."""
        self._buffer += data

    @property
    def in_progress(self) -> bool:
        """True when part of a request has arrived (the server then applies its read timeout)."""
        if self._state != _HEAD or self._request_line is not None:
            return True
        return bool(self._buffer) and bool(self._buffer.strip(b"\r\n"))

    @property
    def reading_body(self) -> bool:
        """True between a complete head and the end of its body."""
        return self._state in (_FIXED_BODY, _CHUNK_SIZE_LINE, _CHUNK_DATA, _TRAILERS)

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)

    @property
    def target(self) -> str | None:
        """The request-target of the request being read (or refused); None before its request line.

        Read on the error path only, so it costs a parsed request nothing. A server
        may use it to answer an error in the form that target's application speaks.
        >>> p = RequestParser(Limits(max_body_bytes=10))
        >>> p.receive_data(b"POST /api/x HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 99\\r\\n\\r\\n")
        >>> p.next_request()
        Traceback (most recent call last):
        otuserver.http.errors.ContentTooLarge: body exceeds 10 bytes
        >>> p.target
        '/api/x'
        """
        return self._current_line(1)

    @property
    def method(self) -> str | None:
        """The method of the request being read (or refused); None before its request line.

        Read on the error path only, like `target`: an error answering HEAD must carry
        no content (RFC 9110 §9.3.2), even though the request itself was refused.
        """
        return self._current_line(0)

    def _current_line(self, part: int) -> str | None:
        if self._request is not None:       # the head was accepted: reading (or refusing) its body
            return (self._request.method, self._request.target)[part]
        if self._request_line is not None:  # step by step: the head's request line is read
            return self._request_line[part]
        return None if self._failed_line is None else self._failed_line[part]

    # -- the state machine --------------------------------------------------

    def next_request(self) -> Request | None:
        """The next complete request, or None if more bytes are needed; raises HTTPError."""
        if self._error is not None:
            raise self._error
        if not self._buffer and self._state == _HEAD:
            return None  # the usual answer after the last buffered request
        try:
            return self._advance()
        except HTTPError as error:
            self._state, self._error = _FAILED, error
            self._buffer.clear()
            raise

    def _advance(self) -> Request | None:
        if self._state == _HEAD:  # with bytes buffered: next_request() answered the empty case
            # The one-pass head is tried once per head, when its first bytes arrive: a
            # head that comes in pieces is read step by step, never rescanned from the start.
            simple = self._request_line is None and self._scan_from == 0 and self._read_simple_head()
            if not simple and not self._read_head():
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
        request, self._request = self._request, None
        if self._body:
            request.body = bytes(self._body)
            self._body = bytearray()
        self.expects_continue = False
        return request

    # -- the head (RFC 9112 §2.1) -------------------------------------------
    #
    # Two steps, so that nothing is buffered past a limit and the answer does not
    # depend on how the bytes were cut: first the request line, checked as soon as
    # its LF (or a byte it can never contain) arrives; then the field lines, counted
    # and measured while they arrive and parsed once the blank line is there.

    def _read_head(self) -> bool:
        if self._request_line is None and not self._read_request_line():
            return False
        buffer, limits = self._buffer, self.limits
        # Search only the bytes not searched before (backing up 2 for a split "\n\r\n").
        match = _HEAD_END.search(buffer, max(self._line_end, self._scan_from - 2))
        if match is None:
            self._fields_seen += buffer.count(b"\n", self._scan_from)
            self._scan_from = len(buffer)
            if len(buffer) > limits.max_head_bytes:
                raise HeaderFieldsTooLarge(f"request head exceeds {limits.max_head_bytes} bytes")
            if self._fields_seen > limits.max_header_fields:
                raise HeaderFieldsTooLarge(f"more than {limits.max_header_fields} header fields")
            return False
        if match.end() > limits.max_head_bytes:
            raise HeaderFieldsTooLarge(f"request head exceeds {limits.max_head_bytes} bytes")
        fields = bytes(buffer[self._line_end + 1:match.start()])
        del buffer[:match.end()]
        request_line = self._request_line
        headers = _parse_fields(fields, limits.max_header_fields)
        _check_host(request_line[2], headers)
        self._start_message(*request_line, headers)
        # Reset only once the head is accepted: until then _request_line names it (see target).
        self._request_line, self._line_end, self._scan_from, self._fields_seen = None, -1, 0, 0
        return True

    def _read_simple_head(self) -> bool:
        """Parse a whole head at once if it is here and simple; False leaves it untouched."""
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n", 0, self.limits.max_head_bytes)
        if end < 0:
            return False
        head = bytes(buffer[:end + 4])
        seen = self._seen
        known = seen.heads.get(head)
        if known is not None:  # byte for byte a head accepted before: the same request again
            del buffer[:end + 4]
            self._request = known.copy_for(self.client)
            return True
        line = _SIMPLE_REQUEST_LINE.match(head)  # the target stops at the first CRLF
        if line is None:
            return False
        line_end = line.end()
        if line_end - 2 > self._max_line:
            return False  # over a limit: the step-by-step path raises the right error
        block = head[line_end:]
        fields = seen.fields.get(block)
        if fields is None:
            fields = self._read_simple_fields(block)
            if fields is None:
                return False
        del buffer[:end + 4]
        method, target, minor = line.groups()
        method = _COMMON_METHODS.get(method) or method.decode("ascii")
        target = target.decode("ascii")
        version = "HTTP/1.1" if minor == b"1" else "HTTP/1.0"
        keep_alive = fields.bodiless.get(version)
        try:  # free unless it raises (Python 3.11's zero-cost try)
            if keep_alive is not None:  # the fields were checked and frame no body: the head is all
                self._request = Request(method, target, version, fields.headers, b"", self.client, keep_alive)
            else:
                _check_host(version, fields.headers)
                self._start_message(method, target, version, fields.headers)
        except HTTPError:
            self._failed_line = (method, target)  # the step-by-step path keeps it in _request_line
            raise
        if self._state == _HEAD and not self.expects_continue:  # no body: all of it is in the head
            seen.remember_head(head, self._request)
        return True

    def _read_simple_fields(self, block: bytes) -> _FieldBlock | None:
        """The field lines of a one-pass head, through its blank line; None if one breaks a rule.

        A block that passes is remembered (`_Seen.fields`), so the next head with it skips this.
        """
        text = block.decode("latin-1")
        pairs = _SIMPLE_FIELD.findall(text)
        # A line that breaks a rule is skipped by findall, and a bare LF makes an extra line.
        count = len(pairs)
        if count != text.count("\n") - 1 or count > self.limits.max_header_fields:
            return None
        if " \r" in text or "\t\r" in text:  # trailing whitespace (OWS) is not part of a value
            headers = Headers.from_lowered([(name.lower(), value.rstrip(" \t")) for name, value in pairs])
        else:
            headers = Headers.from_lowered([(name.lower(), value) for name, value in pairs])
        fields = _FieldBlock(headers)
        self._seen.remember(self._seen.fields, block, fields)
        return fields

    def _read_request_line(self) -> bool:
        buffer = self._buffer
        # RFC 9112 §2.2: a server SHOULD ignore empty lines before the request-line
        # (the http-test-suite sends a lone "\n").
        while buffer and buffer[0] in _CR_LF:
            if buffer[0] == 0x0A:
                del buffer[:1]
            elif buffer[1:2] == b"\n":
                del buffer[:2]
            else:
                break  # a CR alone: more may come, or it is a bare CR (refused below)
            self._scan_from = 0
        limit = self._max_line  # a longer line is 414
        window = limit + 2  # the longest acceptable line with its CRLF
        start = max(0, self._scan_from - 1)  # back up 1: a CR waiting for its LF
        end = buffer.find(b"\n", start, window)
        if _NOT_IN_REQUEST_LINE.search(buffer, start, end if end >= 0 else window):
            raise BadRequest("invalid character in request line")
        if end < 0:
            if len(buffer) >= window:
                raise URITooLong(f"request line exceeds {limit} bytes")
            self._scan_from = len(buffer)
            return False
        line = _strip_cr(bytes(buffer[:end]))
        if len(line) > limit:
            raise URITooLong(f"request line exceeds {limit} bytes")
        self._request_line = _parse_request_line(line)
        self._line_end, self._scan_from = end, end + 1
        return True

    # -- framing (RFC 9112 §6) ----------------------------------------------

    def _start_message(self, method: str, target: str, version: str, headers: Headers) -> None:
        # Repeated fields come joined with ", " (RFC 9110 §5.3); the list rules below
        # split on commas anyway, so one value holds every line's items in order.
        by_name = headers.by_name
        transfer_encoding = by_name.get("transfer-encoding")
        content_length = by_name.get("content-length")
        if transfer_encoding is not None:
            if content_length is not None:
                # RFC 9112 §6.1: both at once is how requests get smuggled past a proxy.
                raise BadRequest("both Transfer-Encoding and Content-Length")
            if version == "HTTP/1.0":
                raise BadRequest("Transfer-Encoding in an HTTP/1.0 request")  # RFC 9112 §6.1
            _check_chunked_only(transfer_encoding)
            self._state = _CHUNK_SIZE_LINE
            self._trailer_bytes = self._trailer_fields = 0
        elif content_length is not None:
            self._remaining = _parse_content_length(content_length)
            if self._remaining > self.limits.max_body_bytes:
                raise ContentTooLarge(f"body exceeds {self.limits.max_body_bytes} bytes")
            self._state = _FIXED_BODY if self._remaining else _HEAD
        else:
            self._state = _HEAD  # RFC 9112 §6.3 rule 7: no framing fields, no body
        # Built now, before any body byte is read, so a bad target (percent-decoding,
        # NUL) is refused without waiting for, or inviting, the body.
        self._request = Request(method, target, version, headers, b"", self.client)
        expect = by_name.get("expect")  # empty (values come trimmed): a list of no expectations
        if expect and version == "HTTP/1.1":  # HTTP/1.0 ignores Expect (RFC 9110 §10.1.1)
            # RFC 9110 §5.6.1.2: empty list elements are ignored, so "100-continue," is met too.
            expectations = header_tokens(expect)
            if expectations - {"100-continue"}:
                # RFC 9110 §10.1.1: an expectation the server cannot meet MAY get 417.
                raise ExpectationFailed(f"cannot meet the expectation {expect[:40]!r}")
            # The client may wait for "100 Continue" before it sends its body.
            self.expects_continue = bool(expectations) and self._state != _HEAD

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
    #
    # Every line of the chunked framing must end with CRLF. The head may end
    # its lines with a bare LF (RFC 9112 §2.2), but inside a body a parser that
    # accepts LF where its neighbour does not is a request-smuggling gap.

    def _read_chunk_size(self) -> bool:
        line = self._take_crlf_line(_MAX_CHUNK_LINE_BYTES, "chunk-size line")
        if line is None:
            return False
        match = _CHUNK_LINE.fullmatch(line)
        if match is None:
            raise BadRequest(f"bad chunk-size line {line[:20]!r}")  # chunk extensions are ignored
        size = int(match.group(1), 16)
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
        # Trailer fields (RFC 9112 §7.1.2) are checked like head fields, counted
        # against the same limits, and then dropped: nothing here uses them.
        limits = self.limits
        while True:
            line = self._take_crlf_line(limits.max_head_bytes - self._trailer_bytes, "trailer section",
                                        HeaderFieldsTooLarge)
            if line is None:
                return False
            if not line:
                self._state = _HEAD
                return True
            self._trailer_bytes += len(line) + 2
            self._trailer_fields += 1
            if self._trailer_fields > limits.max_header_fields:
                raise HeaderFieldsTooLarge(f"more than {limits.max_header_fields} trailer fields")
            _parse_field_line(line)

    def _take_crlf_line(self, limit: int, what: str, too_long=BadRequest) -> bytes | None:
        """The next line without its CRLF, None until it has arrived; `limit` counts the CRLF."""
        end = self._buffer.find(b"\n", 0, limit)
        if end < 0:
            if len(self._buffer) >= limit:
                raise too_long(f"{what} too long")
            return None
        if self._buffer[end - 1:end] != b"\r":
            raise BadRequest(f"{what} not ended by CRLF")
        line = bytes(self._buffer[:end - 1])
        del self._buffer[:end + 1]
        if b"\r" in line:
            raise BadRequest(f"bare CR in {what}")  # RFC 9112 §2.2
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
    if method not in _COMMON_METHODS and not _TOKEN.fullmatch(method):
        raise BadRequest("invalid method")
    if version in _SUPPORTED_VERSIONS:
        return method.decode("ascii"), _origin_form(method, target), _SUPPORTED_VERSIONS[version]
    match = _VERSION.fullmatch(version)
    if match is None:
        raise BadRequest("invalid HTTP version")
    if match.group(1) != b"1":
        # RFC 9110 §15.6.6: 505 is for a major version the server does not support.
        raise VersionNotSupported(f"{version.decode('ascii')} is not supported")
    # RFC 9110 §2.5: a higher minor version of a major version we implement (HTTP/1.2) is
    # read as the highest minor we conform to. (1.0 and 1.1 returned above.)
    return method.decode("ascii"), _origin_form(method, target), "HTTP/1.1"


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
    if text.lower().startswith(("http://", "https://")):
        # absolute-form, RFC 9112 §3.2.2: a server MUST accept it; we serve one
        # site, so the authority is checked, then dropped, and the path kept.
        rest = text.split("://", 1)[1]
        cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
        authority, path = rest[:cut], rest[cut:]
        # RFC 9110 §4.2.1: an empty host MUST be rejected; §4.2.4: userinfo is an error.
        if not _HOST.fullmatch(authority) or authority[:1] in ("", ":"):
            raise BadRequest(f"invalid authority in absolute-form target {authority[:40]!r}")
        return path if path.startswith("/") else "/" + path
    raise BadRequest("request target must be origin-form ('/path')")


def _parse_fields(block: bytes, max_fields: int) -> Headers:
    """All field lines between the request line and the blank line.

    >>> _parse_fields(b"Host: a\\r\\nX-Y:  1 ", 100).items()
    [('host', 'a'), ('x-y', '1')]
    """
    if not block:
        return Headers.from_lowered([])
    if b"\r" in block:
        # The last line's CR stands before the LF that begins the head's end.
        block = block.replace(b"\r\n", b"\n").removesuffix(b"\r")
        if b"\r" in block:
            raise BadRequest("bare CR in request head")  # RFC 9112 §2.2
    if block.count(b"\n") >= max_fields:
        raise HeaderFieldsTooLarge(f"more than {max_fields} header fields")
    # ISO-8859-1 maps each byte to one character, so the regexes see the same
    # text the byte rules describe; one check of the whole block, then one split.
    text = block.decode("latin-1")
    if not _VALID_FIELD_BLOCK.fullmatch(text):
        for line in block.split(b"\n"):
            _parse_field_line(line)  # finds the broken rule and raises it
    return Headers.from_lowered([(name.lower(), value.strip(" \t"))
                                 for name, value in _FIELD_LINE.findall(text)])


def _parse_field_line(line: bytes) -> tuple[str, str]:
    """field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).

    >>> _parse_field_line(b"Content-Type:  text/html ")
    ('Content-Type', 'text/html')
    """
    if _CONTROL.search(line):
        raise BadRequest("control character in a field line")  # RFC 9110 §5.5
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


def _check_host(version: str, headers: Headers) -> None:
    """RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request that lacks
    a Host field, and to any request with more than one Host line or an invalid one.

    >>> _check_host("HTTP/1.1", Headers([("Host", "localhost:8080")]))
    >>> _check_host("HTTP/1.0", Headers([]))
    """
    host = headers.by_name.get("host")
    if host is None:
        if version == "HTTP/1.1":
            raise BadRequest("a request needs exactly one Host header")
        return
    if headers.repeated and len(headers.get_all("host")) > 1:
        raise BadRequest("a request needs exactly one Host header")
    if host not in _VALID_HOSTS:
        if not _HOST.fullmatch(host):
            raise BadRequest(f"invalid Host {host[:40]!r}")
        if len(_VALID_HOSTS) >= _MAX_VALID_HOSTS:
            _VALID_HOSTS.clear()
        _VALID_HOSTS.add(host)


def _parse_content_length(value: str) -> int:
    """The one length that all Content-Length items agree on (RFC 9110 §8.6, RFC 9112 §6.3).

    >>> _parse_content_length("42, 42, 42")   # two lines "42" and "42, 42", joined
    42
    """
    lengths = {item.strip() for item in value.split(",")}
    if len(lengths) != 1:
        raise BadRequest("conflicting Content-Length values")
    (length,) = lengths
    if not (length.isascii() and length.isdigit()):
        raise BadRequest(f"invalid Content-Length {length[:20]!r}")
    if len(length.lstrip("0")) > 18:
        raise ContentTooLarge("Content-Length is absurdly large")  # and int() stays cheap
    return int(length)


def _check_chunked_only(value: str) -> None:
    """Accept exactly `Transfer-Encoding: chunked` (RFC 9112 §6.1, §6.3, §7).

    RFC 9112 §6.3: if chunked is not the final coding the length cannot be
    known, and the server MUST answer 400. A list ending in chunked but naming
    another coding first asks for one we do not implement: 501 (RFC 9112 §6.1).
    Chunked twice is a framing error (RFC 9112 §6.1: MUST NOT apply it twice).

    >>> _check_chunked_only("Chunked")
    >>> _check_chunked_only("gzip, chunked")
    Traceback (most recent call last):
    otuserver.http.errors.NotImplementedByServer: transfer coding 'gzip' is not implemented
    """
    codings = [item.strip().lower() for item in value.split(",")]
    if "" in codings:
        raise BadRequest("empty transfer coding")
    if codings[-1] != "chunked":
        raise BadRequest("chunked is not the final transfer coding")
    if codings.count("chunked") > 1:
        raise BadRequest("chunked applied more than once")
    unknown = [c for c in codings if c != "chunked"]
    if unknown:
        raise NotImplementedByServer(f"transfer coding {unknown[0]!r} is not implemented")
