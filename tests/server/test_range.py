"""Byte-range requests (RFC 9110 §14): the parser on its own, then a real httpd.py answering 206 and 416.

The integration tests use the session server (2 workers) on the temporary document root of
tests/conftest.py:build_docroot, over raw sockets. Two paths in static.py must both honour ranges:
a small file is answered from the in-memory cache (its bytes are sliced), a large one (over 64 KiB)
goes out with sendfile from an offset. So most cases run on one file of each kind.
"""

import os

import pytest

from otuserver.server.ranges import MAX_RANGES, content_range, if_range_holds, parse_range
from tests.conftest import remember_children, wait_for
from tests.server.rawhttp import Connection, build_request, fetch

SMALL = "/t/hello.txt"                        # 13 bytes: the cached path
BIG = "/httptest/wikipedia_russia.html"       # 954,824 bytes: the sendfile path
BIG_BINARY = "/t/big.bin"                     # 4 MiB of a known pattern: the sendfile path
FILES = [SMALL, BIG]


# -- the parser, without a server -----------------------------------------------------------------

@pytest.mark.parametrize("value, size, expected", [
    # one range: a-b, a-, -suffix; b clamped to size - 1
    ("bytes=0-4", 13, range(0, 5)),
    ("bytes=0-0", 13, range(0, 1)),
    ("bytes=12-12", 13, range(12, 13)),
    ("bytes=3-", 13, range(3, 13)),
    ("bytes=-5", 13, range(8, 13)),
    ("bytes=-13", 13, range(0, 13)),
    ("bytes=-500", 13, range(0, 13)),
    ("bytes=2-999999", 13, range(2, 13)),
    ("bytes=0-", 13, range(0, 13)),
    ("BYTES=1-2", 13, range(1, 3)),                          # a unit name is case-insensitive
    ("bytes= 1-2 ", 13, range(1, 3)),                        # OWS around list elements
    ("bytes=007-008", 13, range(7, 9)),                      # leading zeros are still numbers
    ("bytes=1-99999999999999999999999999999", 13, range(1, 13)),  # a huge last-pos is clamped
    ("bytes=-99999999999999999999999999999", 13, range(0, 13)),
    # unsatisfiable: an empty range (416)
    ("bytes=13-", 13, range(0)),
    ("bytes=13-20", 13, range(0)),
    ("bytes=-0", 13, range(0)),
    ("bytes=99999999999999999999999999999-", 13, range(0)),
    ("bytes=13-,20-30,-0", 13, range(0)),
    ("bytes=0-", 0, range(0)),
    # several ranges: merged when they overlap or touch, unsatisfiable ones dropped, else ignored
    ("bytes=0-4,3-9", 13, range(0, 10)),
    ("bytes=5-9,0-4", 13, range(0, 10)),
    ("bytes=0-1,13-", 13, range(0, 2)),
    ("bytes=0-1,,", 13, range(0, 2)),                        # empty list elements are ignored
    ("bytes=0-1,5-6", 13, None),                             # a gap: would be multipart, so 200
    ("bytes=-1,0-0", 13, None),
    # invalid, or not ours: ignored (None, a plain 200)
    ("bytes=5-2", 13, None),
    ("bytes=abc", 13, None),
    ("bytes=", 13, None),
    ("bytes=,", 13, None),
    ("bytes=-", 13, None),
    ("bytes=--1", 13, None),
    ("bytes=1-2-3", 13, None),
    ("bytes=0x1-2", 13, None),
    ("bytes=1.5-2", 13, None),
    ("bytes=١-٢", 13, None),                                 # Arabic-Indic digits are not DIGIT
    ("bytes=0-1;q=1", 13, None),
    ("bytes 0-1", 13, None),
    ("bytes =0-1", 13, None),
    ("items=0-1", 13, None),
    ("", 13, None),
    ("bytes=-5", 0, None),                                   # a suffix of an empty file: all of it, 200
])
def test_parse_range_answers_206_416_or_ignore(value, size, expected):
    assert parse_range(value, size) == expected


def test_parse_range_ignores_more_than_max_ranges():
    allowed = "bytes=" + ",".join(f"{i}-{i}" for i in range(MAX_RANGES))
    too_many = "bytes=" + ",".join(f"{i}-{i}" for i in range(MAX_RANGES + 1))
    assert parse_range(allowed, 100) == range(0, MAX_RANGES)
    assert parse_range(too_many, 100) is None
    assert parse_range("bytes=" + "0-0," * 10_000, 100) is None


def test_parse_range_is_a_pure_function_of_its_text_and_size():
    for value in ("bytes=0-4", "bytes=-3", "bytes=2-", "bytes=0-1,5-6", "bytes=9-"):
        assert parse_range(value, 9) == parse_range(value, 9)


@pytest.mark.parametrize("value, expected", [
    ('"5f-d"', True),
    (' "5f-d" ', True),
    ('W/"5f-d"', False),                 # strong comparison: a weak tag never matches (RFC 9110 §8.8.3.2)
    ('"5f-e"', False),
    ('"5f-d", "5f-e"', False),           # If-Range holds one validator, not a list
    ("Sun, 06 Nov 1994 08:49:37 GMT", True),
    ("Sunday, 06-Nov-94 08:49:37 GMT", True),
    ("Sun, 06 Nov 1994 08:49:36 GMT", False),
    ("Sun, 06 Nov 1994 08:49:38 GMT", False),   # later than Last-Modified is still not "exactly"
    ("tomorrow", False),
    ("", False),
])
def test_if_range_holds_only_for_the_exact_validator(value, expected):
    assert if_range_holds(value, '"5f-d"', 784111777) is expected


def test_content_range_names_inclusive_positions_or_star_for_416():
    assert content_range(range(0, 1), 13) == "bytes 0-0/13"
    assert content_range(range(8, 13), 13) == "bytes 8-12/13"
    assert content_range(range(0), 13) == "bytes */13"


# -- a real server ---------------------------------------------------------------------------------

def get(server, target, method="GET", **headers):
    return fetch(server, method, target, headers=[(k.replace("_", "-"), v) for k, v in headers.items()])


def file_bytes(docroot, target) -> bytes:
    return (docroot / target.lstrip("/")).read_bytes()


@pytest.mark.parametrize("target", FILES + [BIG_BINARY])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_200_for_a_file_advertises_byte_ranges(server, target, method):
    r = get(server, target, method)
    assert r.status == 200
    assert r.header("Accept-Ranges") == "bytes"
    assert r.header("Content-Range") is None


def test_errors_do_not_advertise_byte_ranges(server):
    assert get(server, "/t/missing.txt").header("Accept-Ranges") is None


@pytest.mark.parametrize("target", FILES)
@pytest.mark.parametrize("spec, select", [
    ("0-4", lambda n: range(0, 5)),
    ("0-0", lambda n: range(0, 1)),
    ("3-", lambda n: range(3, n)),
    ("-5", lambda n: range(n - 5, n)),
    ("2-999999999999", lambda n: range(2, n)),          # last-pos clamped to size - 1
    ("-999999999999", lambda n: range(0, n)),           # a suffix longer than the file: all of it
    ("0-", lambda n: range(0, n)),
], ids=["a-b", "first-byte", "a-", "-suffix", "clamped", "long-suffix", "everything"])
def test_one_satisfiable_range_is_answered_206_with_exactly_those_bytes(server, docroot, target, spec, select):
    data = file_bytes(docroot, target)
    wanted = select(len(data))
    r = get(server, target, Range=f"bytes={spec}")
    assert r.status == 206, r.head
    assert r.body == data[wanted.start:wanted.stop]
    assert r.header("Content-Length") == str(len(wanted))
    assert r.header("Content-Range") == f"bytes {wanted.start}-{wanted.stop - 1}/{len(data)}"


@pytest.mark.parametrize("target", FILES)
def test_206_carries_the_same_type_and_validators_as_the_200(server, target):
    whole = get(server, target)
    part = get(server, target, Range="bytes=1-3")
    assert part.status == 206
    for name in ("Content-Type", "ETag", "Last-Modified"):
        assert part.header(name) == whole.header(name), name


@pytest.mark.parametrize("start, stop", [(0, 1), (500_000, 500_100), (954_000, 954_824), (123_457, 800_001)])
def test_ranges_inside_a_big_file_are_byte_exact(server, docroot, start, stop):
    data = file_bytes(docroot, BIG)
    r = get(server, BIG, Range=f"bytes={start}-{stop - 1}")
    assert r.status == 206
    assert r.body == data[start:stop]


def test_a_range_of_the_4_mib_pattern_file_is_byte_exact(server, docroot):
    data = file_bytes(docroot, BIG_BINARY)
    r = get(server, BIG_BINARY, Range="bytes=1048573-3145730")
    assert r.status == 206
    assert r.header("Content-Range") == f"bytes 1048573-3145730/{len(data)}"
    assert r.body == data[1048573:3145731]


@pytest.mark.parametrize("target", FILES)
@pytest.mark.parametrize("spec", ["{n}-", "{n}-{m}", "-0", "99999999999999999999-", "{n}-,{m}-"])
def test_unsatisfiable_range_is_416_with_the_current_length(server, docroot, target, spec):
    size = len(file_bytes(docroot, target))
    r = get(server, target, Range="bytes=" + spec.format(n=size, m=size + 10))
    assert r.status == 416
    assert r.header("Content-Range") == f"bytes */{size}"
    assert r.header("Content-Length") == str(len(r.body))


@pytest.mark.parametrize("target", FILES)
@pytest.mark.parametrize("value", ["bytes=5-2", "bytes=abc", "bytes=", "bytes=--1", "bytes 0-1",
                                   "items=0-1", "bytes=0-1;x", "bytes=0x1-2"])
def test_invalid_range_or_other_unit_is_ignored_with_a_plain_200(server, docroot, target, value):
    r = get(server, target, Range=value)
    assert r.status == 200
    assert r.body == file_bytes(docroot, target)
    assert r.header("Content-Range") is None


@pytest.mark.parametrize("target", FILES)
def test_disjoint_ranges_get_the_whole_200_not_multipart(server, docroot, target):
    r = get(server, target, Range="bytes=0-1,5-6")
    assert r.status == 200
    assert r.body == file_bytes(docroot, target)
    assert "multipart" not in r.header("Content-Type")


@pytest.mark.parametrize("target", FILES)
def test_overlapping_ranges_are_merged_into_one_206(server, docroot, target):
    r = get(server, target, Range="bytes=0-4, 3-9")
    assert r.status == 206
    assert r.header("Content-Range").startswith("bytes 0-9/")
    assert r.body == file_bytes(docroot, target)[:10]


def test_many_ranges_are_ignored_with_a_plain_200(server, docroot):
    r = get(server, BIG, Range="bytes=" + ",".join(f"{i}-{i}" for i in range(0, 2000, 2)))
    assert r.status == 200
    assert len(r.body) == len(file_bytes(docroot, BIG))


@pytest.mark.parametrize("target", FILES)
def test_if_range_with_the_current_etag_gets_the_206(server, docroot, target):
    etag = get(server, target, "HEAD").header("ETag")
    r = get(server, target, Range="bytes=0-3", If_Range=etag)
    assert r.status == 206
    assert r.body == file_bytes(docroot, target)[:4]


@pytest.mark.parametrize("target", FILES)
def test_if_range_with_the_last_modified_date_gets_the_206(server, target):
    modified = get(server, target, "HEAD").header("Last-Modified")
    assert get(server, target, Range="bytes=0-3", If_Range=modified).status == 206


@pytest.mark.parametrize("target", FILES)
@pytest.mark.parametrize("stale", ['"0-0"', "W/{etag}", "Sun, 06 Nov 1994 08:49:37 GMT", "not a validator"])
def test_if_range_that_does_not_match_gets_the_whole_200(server, docroot, target, stale):
    etag = get(server, target, "HEAD").header("ETag")
    r = get(server, target, Range="bytes=0-3", If_Range=stale.format(etag=etag))
    assert r.status == 200
    assert r.body == file_bytes(docroot, target)
    assert r.header("Content-Range") is None


@pytest.mark.parametrize("target", FILES)
def test_head_ignores_range_and_answers_like_a_plain_head(server, docroot, target):
    with Connection(server) as conn:
        r = conn.request("HEAD", target, headers={"Range": "bytes=0-3"})
        # A body sent after the HEAD answer would show up in front of this response.
        after = conn.request("GET", SMALL)
    assert r.status == 200
    assert r.body == b""
    assert r.header("Content-Length") == str(len(file_bytes(docroot, target)))
    assert r.header("Content-Range") is None
    assert (after.status, after.body) == (200, b"hello, world\n")


@pytest.mark.parametrize("target", FILES)
def test_304_wins_over_range(server, target):
    validators = get(server, target, "HEAD")
    by_etag = get(server, target, Range="bytes=0-3", If_None_Match=validators.header("ETag"))
    by_date = get(server, target, Range="bytes=0-3", If_Modified_Since=validators.header("Last-Modified"))
    assert (by_etag.status, by_date.status) == (304, 304)
    assert by_etag.body == by_date.body == b""


@pytest.mark.parametrize("target", FILES)
def test_range_on_a_non_matching_if_none_match_is_still_served(server, docroot, target):
    r = get(server, target, Range="bytes=2-4", If_None_Match='"not-it"')
    assert r.status == 206
    assert r.body == file_bytes(docroot, target)[2:5]


def test_range_does_not_turn_a_404_into_anything_else(server):
    assert get(server, "/t/missing.txt", Range="bytes=0-3").status == 404


def test_keep_alive_connection_stays_usable_after_206_and_416(server, docroot):
    small, big = file_bytes(docroot, SMALL), file_bytes(docroot, BIG)
    with Connection(server) as conn:
        steps = [
            (conn.request("GET", BIG, headers={"Range": "bytes=100-199"}), 206, big[100:200]),
            (conn.request("GET", BIG, headers={"Range": f"bytes={len(big)}-"}), 416, None),
            (conn.request("GET", SMALL, headers={"Range": "bytes=-6"}), 206, small[-6:]),
            (conn.request("GET", SMALL, headers={"Range": "bytes=13-"}), 416, None),
            # The shared cached 200 was not changed by the 206 built beside it.
            (conn.request("GET", SMALL), 200, small),
            (conn.request("GET", BIG), 200, big),
        ]
        for response, status, body in steps:
            assert response.status == status
            assert (response.header("Connection") or "").lower() != "close"
            if body is not None:
                assert response.body == body
        assert steps[4][0].header("Content-Range") is None
        assert not conn.closed_by_server(within=0.3)


def test_pipelined_range_requests_come_back_in_order(server, docroot):
    big = file_bytes(docroot, BIG)
    asks = [(BIG, "bytes=0-9"), (SMALL, "bytes=0-4"), (BIG, "bytes=-10"), (BIG, "bytes=999999999-"),
            (SMALL, "bytes=7-")]
    with Connection(server) as conn:
        conn.send(b"".join(build_request("GET", target, headers={"Range": value}) for target, value in asks))
        answers = [conn.read_response() for _ in asks]
    assert [a.status for a in answers] == [206, 206, 206, 416, 206]
    assert [a.body for a in answers if a.status == 206] == [big[:10], b"hello", big[-10:], b"world\n"]


def test_ranged_and_unsatisfiable_big_files_leave_no_descriptor_open(server_factory, docroot):
    srv = server_factory(workers=1)
    worker = remember_children(srv.pid)[0]
    big_path = str(docroot / BIG.lstrip("/"))

    def open_on_big_file() -> int:
        count = 0
        for fd in os.scandir(f"/proc/{worker}/fd"):
            try:
                count += os.readlink(fd.path) == big_path
            except OSError:
                pass  # closed while we looked
        return count

    with Connection(srv) as conn:
        for value in ["bytes=0-9", "bytes=999999999-", "bytes=-0", "bytes=5-2", "bytes=0-0"] * 10:
            assert conn.request("GET", BIG, headers={"Range": value}).status in (200, 206, 416)
    assert wait_for(lambda: open_on_big_file() == 0, within=5), "a FileBody's descriptor was left open"
