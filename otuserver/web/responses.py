"""Responses an application returns: the protocol's Response and a JSONResponse.

A JSONResponse serialises its data once, at construction, as compact UTF-8 JSON
with `Content-Type: application/json`; NaN and Infinity are refused because
they are not JSON (RFC 8259 §6). Content-Length is rendered with the head
(`wire_head`, here with shortcuts for the usual JSON heads); the server adds
Date, Server and Connection. Knows nothing of routing, models or sockets.
"""

import json
from json import encoder as _json_encoder

from ..http import REASON_PHRASES, Response, status_allows_body
from ..http.messages import render_fields, status_line

JSON_CONTENT_TYPE = "application/json"
_CONTENT_TYPE_FIELD = ("Content-Type", JSON_CONTENT_TYPE)
_ONLY_CONTENT_TYPE = [_CONTENT_TYPE_FIELD]


# One encoder for every response: json.dumps() with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _make_c_encoder():
    """The C encoder behind _ENCODER, made once; None without the _json accelerator.

    JSONEncoder.encode() makes a fresh C encoder on every call (iterencode does);
    making it once takes about a third off encoding a small object. It runs
    without the circular-reference check (markers=None): our data comes from
    models and is never circular, and a shared markers dict could keep stale
    entries after an error. Called as `encoder(data, 0)`, it returns chunks to join.
    """
    make = getattr(_json_encoder, "c_make_encoder", None)
    if make is None:
        return None
    return make(None, _ENCODER.default, _json_encoder.encode_basestring, None,
                _ENCODER.key_separator, _ENCODER.item_separator, _ENCODER.sort_keys,
                _ENCODER.skipkeys, _ENCODER.allow_nan)


_C_ENCODER = _make_c_encoder()


def dump_json(data: object) -> bytes:
    """Compact, UTF-8, strict JSON bytes.

    >>> dump_json({"score": 3.5, "name": "ü"})
    b'{"score":3.5,"name":"\\xc3\\xbc"}'
    >>> dump_json("plain"), dump_json(None), dump_json([1.5, {"a": True}])
    (b'"plain"', b'null', b'[1.5,{"a":true}]')
    """
    if _C_ENCODER is None:
        return _ENCODER.encode(data).encode("utf-8")
    return "".join(_C_ENCODER(data, 0)).encode("utf-8")


class JSONResponse(Response):
    """A Response whose body is `data` serialised as JSON.

    >>> r = JSONResponse({"ok": True}, status=201, headers=[("Location", "/api/scores/1")])
    >>> r.status, r.header("content-type"), r.body
    (201, 'application/json', b'{"ok":true}')
    """

    __slots__ = ("data",)

    def __init__(self, data: object, status: int = 200,
                 headers: list[tuple[str, str]] | None = None) -> None:
        fields = [_CONTENT_TYPE_FIELD, *headers] if headers else [_CONTENT_TYPE_FIELD]
        Response.__init__(self, status, fields, dump_json(data))  # not super(): it builds a proxy per call
        self.data = data

    @classmethod
    def encoded(cls, body: bytes, status: int = 200) -> "JSONResponse":
        """A JSONResponse for a body that is JSON already, written as dump_json writes; `data` is None.

        >>> JSONResponse.encoded(b'{"ok":true}').body == JSONResponse({"ok": True}).body
        True
        """
        # Every slot set here, as Response.__init__ would: one Python call fewer per response.
        response = _new_response(cls)
        response.status, response.headers, response.body = status, [_CONTENT_TYPE_FIELD], body
        response._wire_head = response.data = None
        return response

    def wire_head(self) -> bytes:
        """Response.wire_head, with the status line and Content-Type rendered once per status.

        Every JSONResponse's fields start with the same Content-Type, so `_HEAD_STARTS`
        keeps, per status, the status line and that field ready; only the fields after
        it (a 201's Location) go through the protocol's renderer, which checks them.
        >>> JSONResponse([1, 2]).wire_head()
        b'HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: 5\\r\\n'
        >>> JSONResponse([], 201, [("Location", "/a/1")]).wire_head()[-41:]
        b'json\\r\\nLocation: /a/1\\r\\nContent-Length: 2\\r\\n'
        """
        if self._wire_head is None:
            start = _HEAD_STARTS.get(self.status)
            if start is not None:
                fields = self.headers
                if fields == _ONLY_CONTENT_TYPE:  # most responses: nothing else to render
                    self._wire_head = start + b"Content-Length: %d\r\n" % len(self.body)
                    return self._wire_head
                if fields[:1] == _ONLY_CONTENT_TYPE:
                    rest = render_fields(fields[1:])  # checked there: a Location cannot split the head
                    self._wire_head = start + rest + b"Content-Length: %d\r\n" % len(self.body)
                    return self._wire_head
        return Response.wire_head(self)


_new_response = object.__new__  # a JSONResponse without running __init__ (encoded() sets every slot)

# status -> its status line and the Content-Type field, for every status that has a body
_HEAD_STARTS = {status: status_line(status) + render_fields(_ONLY_CONTENT_TYPE)
                for status in REASON_PHRASES if status_allows_body(status)}


__all__ = ["Response", "JSONResponse", "dump_json", "JSON_CONTENT_TYPE"]
