"""The framework's HTTP errors and the one place that renders any HTTPError as JSON.

Every error is an `otuserver.http.HTTPError` carrying its status (and headers
such as `Allow` or `Retry-After`), so a handler can raise it from anywhere and
it renders the same way: `{"error": "<detail>"}`, plus `"fields"` when the
error names the fields at fault (`ValidationError` in otuserver.db does).
Knows nothing of routing, models or sockets.
"""

from ..http import HTTPError
from .responses import JSONResponse


class NotFound(HTTPError):
    """No route matches the path, or the resource it names does not exist (RFC 9110 §15.5.5)."""
    status = 404


class MethodNotAllowed(HTTPError):
    """The path exists but not for this method; `Allow` lists the ones it has (RFC 9110 §15.5.6)."""
    status = 405

    def __init__(self, allowed: list[str] | set[str] | frozenset[str], detail: str = "") -> None:
        allow = ", ".join(sorted(allowed))
        super().__init__(detail or f"method not allowed; allowed: {allow}", headers=[("Allow", allow)])
        self.allowed = frozenset(allowed)


class UnsupportedMediaType(HTTPError):
    """The body is not in a format this endpoint reads (RFC 9110 §15.5.16)."""
    status = 415


def error_response(exc: HTTPError) -> JSONResponse:
    """Render an HTTPError as a JSON response with its status and headers.

    >>> r = error_response(NotFound("no client 7"))
    >>> r.status, r.body
    (404, b'{"error":"no client 7"}')
    """
    payload: dict[str, object] = {"error": exc.detail}
    fields = getattr(exc, "fields", None)
    if isinstance(fields, dict):
        payload["fields"] = fields
    return JSONResponse(payload, status=exc.status, headers=list(exc.headers))
