"""HTTP dates (RFC 9110 §5.6.7): IMF-fixdate out, all three formats in, and the cache."""

import calendar

import pytest

from otuserver.http.dates import DateCache, format_http_date, parse_http_date

SUNDAY = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's own example


def test_format_is_imf_fixdate():
    assert format_http_date(SUNDAY) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_format_pads_the_day_and_drops_fractions():
    assert format_http_date(0.999) == "Thu, 01 Jan 1970 00:00:00 GMT"


@pytest.mark.parametrize("value", [
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    "Sun Nov 06 08:49:37 1994",
])
def test_all_three_formats_are_accepted(value):
    assert parse_http_date(value) == SUNDAY


@pytest.mark.parametrize("value", [
    "", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
    "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
    "Sun, +6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov -994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37",
    "Sun, 06 Nov 1994 08:49:37:00 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT",
])
def test_malformed_dates_are_none(value):
    assert parse_http_date(value) is None


def test_leap_day_is_accepted_only_in_leap_years():
    assert parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT") == calendar.timegm((2024, 2, 29, 0, 0, 0))
    assert parse_http_date("Wed, 29 Feb 2023 00:00:00 GMT") is None
    assert parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT") is not None
    assert parse_http_date("Thu, 29 Feb 1900 00:00:00 GMT") is None


@pytest.mark.parametrize("timestamp", [0, 1, SUNDAY, 951782400, 1709164800, 2**31, 4102444799])
def test_parse_reads_back_what_format_wrote(timestamp):
    assert parse_http_date(format_http_date(timestamp)) == timestamp


def test_date_cache_renders_once_per_second():
    now = [SUNDAY + 0.1]
    cache = DateCache(clock=lambda: now[0])
    first = cache.now()
    now[0] = SUNDAY + 0.9
    assert cache.now() is first
    now[0] = SUNDAY + 1.0
    assert cache.now() == "Sun, 06 Nov 1994 08:49:38 GMT"
