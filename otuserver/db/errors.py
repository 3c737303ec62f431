"""The database layer's errors, each an HTTPError carrying the status it must become.

ValidationError (400) names the fields at fault in `fields`; Conflict (409) is
a primary key that already exists; DatabaseBusy (503 with Retry-After) is a
lock we could not get within the busy timeout — the write did not happen, so
the client may safely retry. Nothing here knows about routing or sockets.
"""

from ..http import BadRequest, HTTPError

RETRY_AFTER_S = 1


class ValidationError(BadRequest):
    """A body that does not describe a valid object.

    >>> e = ValidationError({"music": "must be a boolean"}); e.status, e.detail, e.fields
    (400, 'invalid fields: music', {'music': 'must be a boolean'})
    """

    def __init__(self, fields: dict[str, str], detail: str = "") -> None:
        super().__init__(detail or "invalid fields: " + ", ".join(fields))
        self.fields = dict(fields)


class Conflict(HTTPError):
    """The row already exists (RFC 9110 §15.5.10)."""
    status = 409


class DatabaseBusy(HTTPError):
    """Another writer held the lock past the busy timeout (RFC 9110 §15.6.4, §10.2.3)."""
    status = 503

    def __init__(self, detail: str = "the database is busy; try again shortly") -> None:
        super().__init__(detail, headers=[("Retry-After", str(RETRY_AFTER_S))])
