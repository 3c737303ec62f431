"""Protocol errors, each carrying the HTTP status it must become.

The parser raises these (all but RequestTimeout, which the connection raises
when its read timer fires); the connection turns one into a small response with
`Connection: close` in exactly one place. Nothing here knows about sockets.
For example, `URITooLong("request line exceeds 8190 bytes").status == 414`.
"""

from .status import reason_phrase


class HTTPError(Exception):
    """A request we cannot or will not serve; `status` is what the client gets."""

    status = 500

    def __init__(self, detail: str = "", *, status: int | None = None,
                 headers: list[tuple[str, str]] | None = None) -> None:
        if status is not None:
            self.status = status
        self.detail = detail or reason_phrase(self.status)
        self.headers = list(headers or ())
        super().__init__(self.detail)

    @property
    def reason(self) -> str:
        return reason_phrase(self.status)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.detail!r})"


class BadRequest(HTTPError):
    """Malformed syntax or framing (RFC 9110 §15.5.1)."""
    status = 400


class RequestTimeout(HTTPError):
    """The client did not finish its request in time (RFC 9110 §15.5.9)."""
    status = 408


class ContentTooLarge(HTTPError):
    """The body exceeds the configured limit (RFC 9110 §15.5.14)."""
    status = 413


class ExpectationFailed(HTTPError):
    """An Expect value other than 100-continue (RFC 9110 §10.1.1, §15.5.18)."""
    status = 417


class URITooLong(HTTPError):
    """The request line exceeds the configured limit (RFC 9110 §15.5.15)."""
    status = 414


class HeaderFieldsTooLarge(HTTPError):
    """The head is too big or has too many fields (RFC 6585 §5)."""
    status = 431


class NotImplementedByServer(HTTPError):
    """A transfer coding (or other mechanism) we do not implement (RFC 9110 §15.6.2)."""
    status = 501


class VersionNotSupported(HTTPError):
    """A well-formed HTTP version other than 1.0 or 1.1 (RFC 9110 §15.6.6)."""
    status = 505
