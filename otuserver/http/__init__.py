"""The sans-IO HTTP/1.1 layer: parse request bytes, build response bytes.

It imports no socket, os or select module and nothing else of OTUServer's; the
server drives it with bytes, and the framework consumes its Request/Response.
"""

from .errors import (BadRequest, ContentTooLarge, ExpectationFailed, HeaderFieldsTooLarge, HTTPError,
                     NotImplementedByServer, RequestTimeout, URITooLong, VersionNotSupported)
from .headers import Headers, header_tokens
from .messages import Request, Response, status_allows_body, wants_keep_alive
from .parser import Limits, RequestParser
from .status import REASON_PHRASES, reason_phrase

__all__ = [
    "BadRequest", "ContentTooLarge", "ExpectationFailed", "HeaderFieldsTooLarge", "HTTPError",
    "NotImplementedByServer", "RequestTimeout", "URITooLong", "VersionNotSupported", "Headers",
    "header_tokens", "Request", "Response", "status_allows_body", "wants_keep_alive", "Limits",
    "RequestParser", "REASON_PHRASES", "reason_phrase",
]
