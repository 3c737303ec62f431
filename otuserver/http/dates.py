"""HTTP dates: IMF-fixdate formatting and parsing (RFC 9110 §5.6.7), by hand.

`format_http_date` turns a Unix time into the one format a sender must use;
`parse_http_date` reads it back, and the two obsolete formats too (for
If-Modified-Since). `DateCache` keeps the current `Date` value, re-rendering it
once a second instead of per response. It knows nothing of requests, files
or sockets: which header a date belongs in is its caller's business.
"""

import re
import time

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
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


# RFC 9110 §5.6.7: a recipient MUST accept all three HTTP-date formats.
#   IMF-fixdate  = day-name "," SP date1 SP time-of-day SP GMT    Sun, 06 Nov 1994 08:49:37 GMT
#   rfc850-date  = day-name-l "," SP date2 SP time-of-day SP GMT  Sunday, 06-Nov-94 08:49:37 GMT
#   asctime-date = day-name SP date3 SP time-of-day SP year       Sun Nov  6 08:49:37 1994
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
_MONTH = "(?P<month>" + "|".join(_MONTHS) + ")"
_DATE_FORMATS = [re.compile(pattern, re.ASCII) for pattern in (
    r"(?:%s), (?P<day>[0-9]{2}) %s (?P<year>[0-9]{4}) %s GMT" % ("|".join(_DAYS), _MONTH, _TIME),
    r"(?:%s), (?P<day>[0-9]{2})-%s-(?P<year>[0-9]{2}) %s GMT" % ("|".join(_LONG_DAYS), _MONTH, _TIME),
    r"(?:%s) %s (?P<day>[ 0-9][0-9]) %s (?P<year>[0-9]{4})" % ("|".join(_DAYS), _MONTH, _TIME),
)]


def parse_http_date(value: str) -> int | None:
    """Any of the three HTTP-date formats -> Unix time, or None (the caller then ignores it).

    >>> parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT")
    784111777
    >>> parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), parse_http_date("Sun Nov  6 08:49:37 1994")
    (784111777, 784111777)
    >>> parse_http_date("yesterday") is None
    True
    """
    for pattern in _DATE_FORMATS:
        match = pattern.fullmatch(value.strip())
        if match is not None:
            break
    else:
        return None
    year, month, day = int(match["year"]), _MONTHS.index(match["month"]) + 1, int(match["day"])
    if len(match["year"]) == 2:
        year = _full_year(year, time.gmtime().tm_year)
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    if not (1 <= day <= _days_in_month(year, month) and hour < 24 and minute < 60 and second <= 60):
        return None
    return _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


def _full_year(two_digits: int, this_year: int) -> int:
    """RFC 9110 §5.6.7: a two-digit year that looks more than 50 years ahead is in the past.

    >>> _full_year(94, 2026), _full_year(30, 2026), _full_year(76, 2026), _full_year(77, 2026)
    (1994, 2030, 2076, 1977)
    """
    year = this_year - this_year % 100 + two_digits
    return year - 100 if year > this_year + 50 else year


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


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
