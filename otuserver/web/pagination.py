"""Page-number pagination: `?page=N&page_size=M` → {"count", "next", "previous", "results"}.

Owns reading and checking the two query parameters and building the links;
the links are path-absolute references (`/api/scores?page=3&page_size=20`)
that keep every other query parameter, so they stay right behind a proxy.
A page past the end is 404 (page 1 of an empty collection is not: it is an
empty page); a page or page_size that is not a positive integer is 400, and so
is a page of more than nine digits; a page_size above the maximum, however
long, is clamped to it. Knows nothing of databases.
"""

from dataclasses import dataclass

from ..http import BadRequest
from ..http.urls import encode_query
from .errors import NotFound

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """Which slice of a collection one request asks for."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


# More digits than any page number needs (leading zeros aside); reading a longer
# number whole would be wasted work (int() is slow on thousands of digits, and refuses past 4300).
MAX_DIGITS = 9


def _positive_int(name: str, raw: str | None, default: int, *, too_long: int | None = None) -> int:
    """The parameter's value; one of more than MAX_DIGITS digits is `too_long`, or 400 when that is None."""
    if raw is None:
        return default
    digits = raw.lstrip("0")
    # isdigit() alone would let "²" through: ascii digits only.
    if not (raw.isascii() and raw.isdigit() and digits):
        raise BadRequest(f"query parameter {name!r} must be a positive integer, got {raw!r}")
    if len(digits) <= MAX_DIGITS:
        return int(digits)
    if too_long is None:
        raise BadRequest(f"query parameter {name!r} must be a positive integer of at most "
                         f"{MAX_DIGITS} digits, got {raw!r}")
    return too_long


def _last(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def requested_page(query_params: dict[str, list[str]], *, default_size: int = DEFAULT_PAGE_SIZE,
                   max_size: int = MAX_PAGE_SIZE) -> Page:
    """The page a request asks for, or BadRequest naming the parameter.

    >>> requested_page({"page": ["3"], "page_size": ["500"]})
    Page(number=3, size=100)
    >>> requested_page({})
    Page(number=1, size=20)
    """
    number = _positive_int("page", _last(query_params, "page"), 1)
    # A page size is clamped however long it is: every one of ten digits is above the maximum.
    size = _positive_int("page_size", _last(query_params, "page_size"), default_size, too_long=max_size)
    return Page(number, min(size, max_size))


def last_page_number(count: int, size: int) -> int:
    """The highest page that exists; an empty collection still has page 1.

    >>> last_page_number(0, 20), last_page_number(20, 20), last_page_number(21, 20)
    (1, 1, 2)
    """
    return max(1, -(-count // size))


def page_link(path: str, query_params: dict[str, list[str]], number: int, size: int) -> str:
    """A link to page `number`, keeping the other query parameters in their order.

    >>> page_link("/api/scores", {"sort": ["a"], "page": ["1"]}, 2, 20)
    '/api/scores?sort=a&page=2&page_size=20'
    """
    params: dict[str, str | list[str]] = dict(query_params)
    params["page"] = str(number)
    params["page_size"] = str(size)
    return f"{path}?{encode_query(params)}"


def paginated_body(path: str, query_params: dict[str, list[str]], page: Page,
                   count: int, results: list) -> dict:
    """The response body for one page, or NotFound when the page is past the end."""
    last = last_page_number(count, page.size)
    if page.number > last:
        raise NotFound(f"page {page.number} does not exist; the last page is {last}")
    return {
        "count": count,
        "next": page_link(path, query_params, page.number + 1, page.size) if page.number < last else None,
        "previous": page_link(path, query_params, page.number - 1, page.size) if page.number > 1 else None,
        "results": results,
    }
