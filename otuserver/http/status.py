"""Status codes and their reason phrases (RFC 9110 §15).

Owns only the table; the reason phrase is informative (RFC 9112 §4: a client
should ignore it), but a readable one helps people reading raw responses.
It knows nothing of when a status is used: errors.py and the callers choose.
"""

REASON_PHRASES: dict[int, str] = {
    100: "Continue",
    200: "OK",
    201: "Created",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    417: "Expectation Failed",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


def reason_phrase(status: int) -> str:
    """The phrase for `status`, e.g. 404 -> "Not Found"; unknown codes get "Unknown"."""
    return REASON_PHRASES.get(status, "Unknown")
