"""App: the callable the server calls, `app(request) -> Response`.

It owns the request's path through the framework: refuse an oversized body
(413), resolve the route (404 / 405 with Allow), wrap the protocol Request in
a WebRequest, call the route's handler for the method, and turn every
HTTPError into a JSON response. Anything else a handler raises becomes a 500
with a JSON body; the traceback goes to the log only, and the app stays usable
for the next request.
It never sees a socket: the Response's own `wire_head` renders Content-Length,
and the server adds Date and drops the body of an answer to HEAD.
"""

import logging

from ..http import ContentTooLarge, HTTPError, Request, Response
from .errors import error_response
from .request import WebRequest
from .routing import Router

log = logging.getLogger("otuserver.web")


class App:
    """A Router turned into an application.

    >>> from otuserver.http import Request
    >>> App(Router())(Request("GET", "/nowhere")).status
    404
    """

    def __init__(self, router: Router, *, max_body_bytes: int | None = None,
                 logger: logging.Logger | None = None) -> None:
        self.router = router
        self.max_body_bytes = max_body_bytes
        self.log = logger or log

    def __call__(self, request: Request) -> Response:
        try:
            return self.handle(request)
        except HTTPError as exc:
            return error_response(exc)
        except Exception:
            # The client learns only that it failed; the details are for the operator.
            self.log.exception("unhandled error in %s %s", request.method, request.target)
            return error_response(HTTPError("internal server error", status=500))

    def handle(self, request: Request) -> Response:
        """Route and call the handler; an HTTPError propagates to __call__, which renders it."""
        # The parser already enforces --max-body; this guards apps called directly.
        if self.max_body_bytes is not None and len(request.body) > self.max_body_bytes:
            raise ContentTooLarge(f"request body exceeds {self.max_body_bytes} bytes")
        route, params = self.router.resolve(request.method, request.path)
        return route.handlers[request.method](WebRequest(request, params))
