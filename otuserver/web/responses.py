"""Responses an application returns: the protocol's Response and a JSONResponse.

A JSONResponse serialises its data once, at construction, as compact UTF-8 JSON
with `Content-Type: application/json`; NaN and Infinity are refused because
they are not JSON (RFC 8259 §6). The server adds Date, Server, Connection and
Content-Length, so nothing here sets them.
"""

import json

from ..http import Response

JSON_CONTENT_TYPE = "application/json"


# One encoder for every response: json.dumps() with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dump_json(data: object) -> bytes:
    """Compact, UTF-8, strict JSON bytes.

    >>> dump_json({"score": 3.5, "name": "ü"})
    b'{"score":3.5,"name":"\\xc3\\xbc"}'
    """
    return _ENCODER.encode(data).encode("utf-8")


class JSONResponse(Response):
    """A Response whose body is `data` serialised as JSON.

    >>> r = JSONResponse({"ok": True}, status=201, headers=[("Location", "/api/scores/1")])
    >>> r.status, r.header("content-type"), r.body
    (201, 'application/json', b'{"ok":true}')
    """

    __slots__ = ("data",)

    def __init__(self, data: object, status: int = 200,
                 headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(status, [("Content-Type", JSON_CONTENT_TYPE), *(headers or ())], dump_json(data))
        self.data = data


__all__ = ["Response", "JSONResponse", "dump_json", "JSON_CONTENT_TYPE"]
