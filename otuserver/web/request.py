"""WebRequest: the framework's view of one `otuserver.http.Request`.

It adds what handlers need on top of the protocol message: the typed path
parameters the router extracted, the body's media type, and `json()`, which
either returns the decoded body or raises an HTTPError naming the problem
(415 for a body that is not application/json, 400 for an empty, non-UTF-8 or
malformed one, or one whose strings hold a lone surrogate). It wraps the
protocol Request rather than copying it (only the method, read by every
dispatch, is kept in a slot of its own), and knows nothing of routing, models
or sockets.
"""

import json
import sys

from ..http import BadRequest, Headers, Request
from .errors import UnsupportedMediaType
from .responses import dump_json

_MISSING = object()


class WebRequest:
    """A protocol Request plus the router's `path_params`.

    >>> r = WebRequest(Request("POST", "/api/scores?x=1", headers=[("Content-Type", "application/json")],
    ...                        body=b'{"score": 2}'))
    >>> r.path, r.query_params, r.media_type, r.json()
    ('/api/scores', {'x': ['1']}, 'application/json', {'score': 2})
    """

    __slots__ = ("raw", "method", "path_params", "_json")

    def __init__(self, raw: Request, path_params: dict[str, object] | None = None) -> None:
        self.raw = raw
        self.method = raw.method  # the one field every dispatch reads: a slot is cheaper than a property
        self.path_params = path_params or {}
        self._json = _MISSING

    # The other protocol fields handlers read, passed through unchanged.
    target = property(lambda self: self.raw.target)
    path = property(lambda self: self.raw.path)
    query_string = property(lambda self: self.raw.query_string)
    query_params = property(lambda self: self.raw.query_params)
    body = property(lambda self: self.raw.body)
    client = property(lambda self: self.raw.client)

    @property
    def encoded_path(self) -> str:
        """The path as the client sent it, still percent-encoded: a URI, so what links and Location carry.

        `path` is decoded, for routing, and may hold a space, any letter or even CR LF.
        """
        return self.raw.target.partition("?")[0]

    @property
    def headers(self) -> Headers:
        return self.raw.headers

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased; "" when absent.

        RFC 9110 §8.3.1: the type and subtype are case-insensitive.
        """
        value = self.raw.headers.by_name.get("content-type")  # by_name: the names are lower-case already
        return value.partition(";")[0].strip().lower() if value else ""

    def query_value(self, name: str) -> str | None:
        """The last value of query parameter `name`, or None; the last wins, as in most frameworks."""
        values = self.raw.query_params.get(name)
        return values[-1] if values else None

    def json(self) -> object:
        """The body decoded as JSON, or an HTTPError that says what is wrong with it."""
        if self._json is _MISSING:
            self._json = decode_json_body(self.media_type, self.raw.body)
        return self._json

    def __repr__(self) -> str:
        return f"<WebRequest {self.method} {self.target} {self.path_params}>"


def is_json_media_type(media_type: str) -> bool:
    """application/json, or a structured `+json` suffix type (RFC 6839 §3.1)."""
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json"))


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity by default; RFC 8259 §6 does not.
    raise ValueError(f"{name} is not valid JSON")


def _object_of_unique_names(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object as a dict, or ValueError when a name comes twice.

    RFC 8259 §4 leaves such an object unpredictable (receivers keep the first
    value, or the last), and I-JSON (RFC 7493 §2.3) forbids it.
    """
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for name, _ in pairs:
            if name in seen:
                raise ValueError(f"duplicate name {name!r} in an object")
            seen.add(name)
    return obj


# One decoder for every body: json.loads() with an option builds a new JSONDecoder per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_object_of_unique_names)
_JSON_WHITESPACE = " \t\n\r"  # RFC 8259 §2: the only whitespace allowed around a value


def decode_json_body(media_type: str, body: bytes) -> object:
    """Decode a request body, raising 415 or 400 with a message a client can act on.

    >>> decode_json_body("application/json", b'[1, 2]')
    [1, 2]
    """
    if not is_json_media_type(media_type):
        shown = media_type or "none"
        raise UnsupportedMediaType(f"request body must be application/json, got {shown}")
    try:
        # RFC 8259 §8.1: JSON exchanged between systems is UTF-8.
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not valid UTF-8") from None
    if text.startswith("\ufeff"):  # RFC 8259 §8.1: a sender MUST NOT add one
        raise BadRequest("request body starts with a byte order mark; send JSON without one")
    data = _decode(text)
    if "\\u" in text:  # the text is valid UTF-8, so only an escape can make a lone surrogate
        _refuse_lone_surrogates(data)
    return data


def _decode(text: str) -> object:
    """What _DECODER.decode(text) returns, or BadRequest saying what is wrong with the text.

    decode() finds the whitespace around the value with two regex calls, which
    cost more than parsing a small body; str.strip finds it for much less.
    """
    start = len(text) - len(text.lstrip(_JSON_WHITESPACE))
    if start == len(text):
        raise BadRequest("request body is empty; expected a JSON object")
    try:
        data, end = _DECODER.raw_decode(text, start)
        if end != len(text.rstrip(_JSON_WHITESPACE)):
            extra = len(text) - len(text[end:].lstrip(_JSON_WHITESPACE))
            raise json.JSONDecodeError("Extra data", text, extra)  # decode()'s own words
    except ValueError as exc:
        if str(exc).startswith("Exceeds the limit"):
            # CPython reads an int of at most sys.get_int_max_str_digits() digits (longer ones
            # would take quadratic time); its advice to raise the limit is for programmers.
            limit = sys.get_int_max_str_digits()
            raise BadRequest(f"invalid JSON: a number has more than {limit} digits") from None
        raise BadRequest(f"invalid JSON: {exc}") from None
    except RecursionError:  # the decoder recurses once per level: "[[[[..." runs out of stack
        raise BadRequest("invalid JSON: nested too deeply") from None
    return data


def _refuse_lone_surrogates(data: object) -> None:
    """BadRequest if a string holds half a surrogate pair ("\\ud800"), which is no character.

    RFC 8259 §8.2 leaves such strings unpredictable and I-JSON (RFC 7493 §2.1)
    forbids them; UTF-8 has no encoding for one, so writing it back (an unknown
    field's name in a 400) would fail. Encoding the data finds every such string.
    """
    try:
        dump_json(data)
    except UnicodeEncodeError:
        raise BadRequest("request body holds a lone surrogate escape (\\ud800-\\udfff), "
                         "which is not a character") from None
