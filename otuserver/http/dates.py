"""HTTP dates: IMF-fixdate formatting and parsing (RFC 9110 §5.6.7), by hand.

`format_http_date` turns a Unix time into the one format a sender must use;
`parse_http_date` reads it back (for If-Modified-Since). `DateCache` keeps the
current `Date` value, re-rendering it once a second instead of per response.
"""

import time

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_http_date(timestamp: float) -> str:
    """Unix time -> IMF-fixdate, always in GMT.

    >>> format_http_date(784111777)
    'Sun, 06 Nov 1994 08:49:37 GMT'
    """
    t = time.gmtime(timestamp)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def parse_http_date(value: str) -> int | None:
    """IMF-fixdate -> Unix time, or None when it is not one (the caller then ignores it).

    >>> parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT")
    784111777
    >>> parse_http_date("yesterday") is None
    True
    """
    parts = value.split()
    if len(parts) != 6 or parts[5] != "GMT" or parts[2] not in _MONTHS:
        return None
    try:
        day, year = int(parts[1]), int(parts[3])
        hour, minute, second = (int(x) for x in parts[4].split(":"))
    except ValueError:
        return None
    month = _MONTHS.index(parts[2]) + 1
    if not (1 <= day <= 31 and 0 <= hour < 24 and 0 <= minute < 60 and 0 <= second <= 60):
        return None
    return _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


def _days_from_civil(year: int, month: int, day: int) -> int:
    # Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm);
    # calendar.timegm would do, but this keeps the arithmetic visible.
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


class DateCache:
    """The current `Date` header value, rebuilt at most once per second.

    RFC 9110 §6.6.1 wants the time the response was generated; one-second
    resolution is all the format has, so formatting it per response is waste.
    """

    __slots__ = ("_second", "_value", "_clock")

    def __init__(self, clock=time.time) -> None:
        self._clock = clock
        self._second = -1
        self._value = ""

    def now(self) -> str:
        second = int(self._clock())
        if second != self._second:
            self._second = second
            self._value = format_http_date(second)
        return self._value
