"""Byte-range requests (RFC 9110 §14): which bytes of a file a `Range` field asks for.

Pure functions over text and numbers: no files, sockets or responses. `parse_range`
answers a `Range` field for a representation of `size` bytes with one of three things:
None (ignore the field and send the whole 200), an empty `range` (nothing asked for
exists: 416), or the `range` of byte offsets to send in a 206. `if_range_holds` checks
an `If-Range` precondition; `content_range` writes the `Content-Range` value.
"""

import re

from ..http.dates import parse_http_date

# More ranges than this in one field is either a confused client or an attempt to make
# us do a lot of work for little (RFC 9110 §14.2 lets a server ignore "many small ranges").
MAX_RANGES = 16
# A number longer than this many digits is beyond any file (10**18 bytes is an exabyte);
# it is compared as "huge" instead of being turned into an ever-bigger int.
_MAX_DIGITS = 18
_HUGE = 10 ** _MAX_DIGITS

# RFC 9110 §14.1.1, for the one unit we know, "bytes":
#   range-set    = 1#range-spec
#   range-spec   = int-range / suffix-range / other-range
#   int-range    = first-pos "-" [ last-pos ]
#   suffix-range = "-" suffix-length
# (other-range is for other units; in a bytes field it is invalid.)
_RANGE_SPEC = re.compile(r"(?P<first>[0-9]+)-(?P<last>[0-9]*)|-(?P<suffix>[0-9]+)")


def parse_range(value: str, size: int) -> range | None:
    """The bytes a `Range` field selects from `size` bytes, as a `range` of offsets.

    One satisfiable range: the offsets to send in a 206 (the last position is clamped
    to the end of the file).
    >>> parse_range("bytes=0-499", 10000), parse_range("bytes=9500-", 10000)
    (range(0, 500), range(9500, 10000))
    >>> parse_range("bytes=-500", 10000), parse_range("bytes=9990-20000", 10000)
    (range(9500, 10000), range(9990, 10000))

    No range overlaps the file: an empty range, which means 416.
    >>> parse_range("bytes=10000-", 10000), parse_range("bytes=-0", 10000)
    (range(0, 0), range(0, 0))

    None means "ignore the field, send the whole 200": invalid syntax, a unit other than
    bytes, more than MAX_RANGES ranges, or several ranges that do not merge into one (we
    never send multipart/byteranges, RFC 9110 §14.2 lets a server ignore Range).
    >>> [parse_range(v, 10000) for v in ("bytes=5-2", "bytes=x", "items=0-1", "bytes=0-1,5-6")]
    [None, None, None, None]

    Overlapping or adjacent ranges merge (RFC 9110 §14.2 allows coalescing), and the
    ranges that are unsatisfiable drop out (§15.3.7 sends only the satisfiable ones).
    >>> parse_range("bytes=0-99, 50-149", 10000), parse_range("bytes=0-9,10-19,20000-", 10000)
    (range(0, 150), range(0, 20))
    """
    unit, equals, range_set = value.partition("=")
    # Range unit names are case-insensitive (RFC 9110 §14.1); no OWS around "=" in the ABNF.
    if not equals or unit.lower() != "bytes" or range_set.count(",") >= MAX_RANGES:
        return None
    wanted, specs = [], 0
    for element in range_set.split(","):
        element = element.strip(" \t")
        if not element:
            continue  # RFC 9110 §5.6.1: a recipient ignores empty list elements
        spec = _RANGE_SPEC.fullmatch(element)
        if spec is None:
            return None
        if size == 0 and spec["suffix"] is not None and _number(spec["suffix"]) > 0:
            # RFC 9110 §14.1.1: the one satisfiable range of an empty file is a suffix, which
            # selects "the entire representation", and no Content-Range can name zero bytes:
            # the whole (empty) 200 says it.
            return None
        selected = _select(spec, size)
        if selected is None:
            return None
        specs += 1
        if selected:
            wanted.append(selected)
    if not specs:
        return None  # "bytes=" or "bytes=,": 1#range-spec needs at least one
    if not wanted:
        return range(0)
    return _merge(wanted)


def _select(spec: re.Match, size: int) -> range | None:
    """One range-spec's offsets within `size` bytes; empty if unsatisfiable, None if invalid.

    >>> _select(_RANGE_SPEC.fullmatch("2-5"), 4), _select(_RANGE_SPEC.fullmatch("-9"), 4)
    (range(2, 4), range(0, 4))
    """
    if spec["suffix"] is not None:
        # RFC 9110 §14.1.3: the last suffix-length bytes; a suffix of 0 selects nothing.
        suffix = _number(spec["suffix"])
        return range(max(size - suffix, 0), size) if suffix > 0 else range(0)
    first = _number(spec["first"])
    last = _number(spec["last"]) if spec["last"] else _HUGE
    if last < first:
        return None  # RFC 9110 §14.1.1: an int-range with last-pos < first-pos is invalid
    if first >= size:
        return range(0)  # RFC 9110 §14.1.1: satisfiable only if first-pos < length
    return range(first, min(last, size - 1) + 1)


def _number(digits: str) -> int:
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= _MAX_DIGITS else _HUGE


def _merge(wanted: list[range]) -> range | None:
    """One range if the given ones overlap or touch into one, else None.

    >>> _merge([range(5, 10), range(0, 5)]), _merge([range(0, 2), range(5, 7)])
    (range(0, 10), None)
    """
    wanted.sort(key=lambda r: r.start)
    start, stop = wanted[0].start, wanted[0].stop
    for following in wanted[1:]:
        if following.start > stop:
            return None  # a gap: that would be multipart/byteranges, which we do not send
        stop = max(stop, following.stop)
    return range(start, stop)


def if_range_holds(value: str, etag: str, mtime: int) -> bool:
    """RFC 9110 §13.1.5: may the Range be honoured, given this `If-Range` field?

    An entity-tag must match the current one by strong comparison (a weak tag never
    does); a date must equal Last-Modified exactly. Otherwise the client's partial copy
    is stale: ignore Range and send the whole 200.
    >>> etag, mtime = '"6b0b61da-26"', 784111777
    >>> if_range_holds('"6b0b61da-26"', etag, mtime), if_range_holds('W/"6b0b61da-26"', etag, mtime)
    (True, False)
    >>> if_range_holds("Sun, 06 Nov 1994 08:49:37 GMT", etag, mtime)
    True
    >>> if_range_holds("Sun, 06 Nov 1994 08:49:38 GMT", etag, mtime), if_range_holds("soon", etag, mtime)
    (False, False)
    """
    value = value.strip(" \t")
    if value.startswith(('"', "W/")):
        return value == etag
    return parse_http_date(value) == mtime


def content_range(selected: range, size: int) -> str:
    """The Content-Range value (RFC 9110 §14.4) for a 206, or for a 416 when `selected` is empty.

    >>> content_range(range(0, 500), 10000), content_range(range(0), 10000)
    ('bytes 0-499/10000', 'bytes */10000')
    """
    if not selected:
        return f"bytes */{size}"
    return f"bytes {selected.start}-{selected.stop - 1}/{size}"
