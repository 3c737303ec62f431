"""Conditional requests (RFC 9110 §13) against a real httpd.py: 304, 412 and their order of evaluation.

The session server (2 workers) serves the temporary document root of tests/conftest.py:build_docroot.
Two paths in static.py must both evaluate preconditions: a small file is answered from the in-memory
cache, a large one (over 64 KiB) is opened per request and sent with sendfile. So every case runs on
one file of each kind.
"""

import os
import time

import pytest

from otuserver.http.dates import format_http_date, parse_http_date
from tests.server.rawhttp import Connection, fetch

SMALL = "/t/hello.txt"                        # the cached path
BIG = "/httptest/wikipedia_russia.html"       # the sendfile path
FILES = [SMALL, BIG]


def get(server, target, method="GET", **headers):
    return fetch(server, method, target, headers=[(k.replace("_", "-"), v) for k, v in headers.items()])


def validators(server, target) -> tuple[str, str]:
    """The ETag and Last-Modified a plain GET of `target` carries."""
    r = get(server, target, method="HEAD")
    return r.header("ETag"), r.header("Last-Modified")


def shifted(http_date: str, seconds: int) -> str:
    return format_http_date(parse_http_date(http_date) + seconds)


# -- If-Match (RFC 9110 §13.1.1): strong comparison, 412 when no tag matches ------------------------

@pytest.mark.parametrize("target", FILES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_match_with_no_current_tag_is_answered_412(server, target, method):
    r = get(server, target, method=method, If_Match='"not-it", "nor-this"')
    assert r.status == 412
    if method == "GET":
        assert int(r.header("Content-Length")) == len(r.body) > 0


@pytest.mark.parametrize("target", FILES)
def test_if_match_with_the_current_tag_or_star_serves_the_file(server, target):
    etag, _ = validators(server, target)
    assert get(server, target, If_Match=f'"other", {etag}').status == 200
    assert get(server, target, If_Match="*").status == 200


@pytest.mark.parametrize("target", FILES)
def test_if_match_never_matches_a_weak_tag(server, target):
    etag, _ = validators(server, target)
    assert get(server, target, If_Match=f"W/{etag}").status == 412  # §8.8.3.2: strong comparison


@pytest.mark.parametrize("target", FILES)
def test_failed_if_match_wins_over_range_and_if_none_match(server, target):
    etag, _ = validators(server, target)
    # §13.2.2: If-Match is evaluated first; its 412 comes before 304 or 206 are considered.
    assert get(server, target, If_Match='"stale"', If_None_Match=etag).status == 412
    assert get(server, target, If_Match='"stale"', Range="bytes=0-1").status == 412


@pytest.mark.parametrize("target", FILES)
def test_if_match_that_holds_leaves_range_and_if_none_match_to_decide(server, target):
    etag, _ = validators(server, target)
    assert get(server, target, If_Match=etag, Range="bytes=0-1").status == 206
    assert get(server, target, If_Match=etag, If_None_Match=etag).status == 304


# -- If-Unmodified-Since (RFC 9110 §13.1.4) -------------------------------------------------------

@pytest.mark.parametrize("target", FILES)
def test_if_unmodified_since_before_last_modified_is_answered_412(server, target):
    _, last_modified = validators(server, target)
    assert get(server, target, If_Unmodified_Since=shifted(last_modified, -1)).status == 412


@pytest.mark.parametrize("target", FILES)
def test_if_unmodified_since_at_or_after_last_modified_serves_the_file(server, target):
    _, last_modified = validators(server, target)
    assert get(server, target, If_Unmodified_Since=last_modified).status == 200
    assert get(server, target, If_Unmodified_Since=shifted(last_modified, 3600)).status == 200


@pytest.mark.parametrize("target", FILES)
def test_if_unmodified_since_is_ignored_when_invalid_or_beside_if_match(server, target):
    etag, last_modified = validators(server, target)
    assert get(server, target, If_Unmodified_Since="not a date").status == 200
    # §13.1.4: a recipient MUST ignore If-Unmodified-Since when If-Match is present.
    assert get(server, target, If_Match=etag, If_Unmodified_Since=shifted(last_modified, -1)).status == 200


# -- If-None-Match and If-Modified-Since (RFC 9110 §13.1.2, §13.1.3) --------------------------------

@pytest.mark.parametrize("target", FILES)
def test_if_none_match_wins_over_if_modified_since(server, target):
    etag, last_modified = validators(server, target)
    # §13.2.2 step 3 before step 4: a non-matching If-None-Match means the file, whatever the date says.
    assert get(server, target, If_None_Match='"other"', If_Modified_Since=last_modified).status == 200
    assert get(server, target, If_None_Match=f'"other", W/{etag}', If_Modified_Since="bad").status == 304


@pytest.mark.parametrize("target", FILES)
def test_304_has_no_body_and_keeps_the_connection_usable(server, target):
    etag, _ = validators(server, target)
    with Connection(server) as conn:
        not_modified = conn.request("GET", target, headers={"If-None-Match": etag})
        after = conn.request("GET", SMALL)
    assert not_modified.status == 304 and not_modified.header("ETag") == etag
    assert not_modified.header("Content-Length") is None
    assert after.status == 200 and after.body == b"hello, world\n"


# -- Last-Modified (RFC 9110 §8.8.2.1) ------------------------------------------------------------

FUTURE = 1_893_456_000  # 2030-01-01: a clock set wrong, a file unpacked from an archive made elsewhere


NAMES = ["small.txt", "big.txt"]  # the cached and the sendfile path


@pytest.fixture
def future_site(server_factory, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for name, size in zip(NAMES, (10, 200_000)):
        (root / name).write_bytes(b"x" * size)
        os.utime(root / name, (FUTURE, FUTURE))
    return root, server_factory(root=root, workers=1)


def test_last_modified_is_never_later_than_the_response(future_site):
    # §8.8.2.1: a modification time in the future MUST be replaced by the message origination date.
    _, srv = future_site
    for name in NAMES:
        r = get(srv, "/" + name)
        last_modified = parse_http_date(r.header("Last-Modified"))
        assert last_modified <= time.time(), name
        assert abs(last_modified - parse_http_date(r.header("Date"))) <= 1, name


def test_a_change_after_a_future_modification_time_is_seen_by_if_modified_since(future_site):
    # Had the client been told 2030, every change before then would look "not modified" to it.
    root, srv = future_site
    first = {name: get(srv, "/" + name) for name in NAMES}
    time.sleep(1.1)  # past the second of their Last-Modified, and past the server's 1 s cache of small files
    for name in NAMES:
        (root / name).write_bytes(b"y" * len(first[name].body))
    for name in NAMES:
        r = get(srv, "/" + name, If_Modified_Since=first[name].header("Last-Modified"))
        assert r.status == 200 and r.body == b"y" * len(first[name].body), name
