"""The parser's memory of heads it accepted (parser._Seen): seen before, the same answer again.

A whole head without a body is remembered with its Request from its second arrival
on, and a field block with its Headers. These tests hold the remembered path to what
a fresh parse gives: for every vector of test_parser, the second parse equals the
first; refusals are never remembered; a copy belongs to its own client and shares
nothing an application could change; limits are kept apart; and the memory stays
bounded.
"""

import pytest

from otuserver.http import Limits, RequestParser
from otuserver.http import parser as parser_module
from parser_feeding import feed, summary
from test_parser import INVALID, LIMIT_VECTORS, SMALL, VALID, get, post

Seen = parser_module._Seen


@pytest.fixture(autouse=True)
def forgetful():
    """Each test starts with a parser that has seen nothing."""
    Seen.forget_all()
    yield
    Seen.forget_all()


def parse_one(raw: bytes, limits: Limits = Limits(), client: str = ""):
    parser = RequestParser(limits, client)
    parser.receive_data(raw)
    return parser.next_request()


def test_a_head_that_comes_again_is_remembered_and_not_parsed_again(monkeypatch):
    raw = get("/small.html", b"Accept: */*")
    first, second = parse_one(raw), parse_one(raw)
    assert Seen.under(Limits()).heads, "kept from its second arrival on"
    # With the request-line pattern gone, only the remembered path can still answer.
    monkeypatch.setattr(parser_module, "_SIMPLE_REQUEST_LINE", None)
    third = parse_one(raw)
    assert summary(third) == summary(second) == summary(first)
    assert third.keep_alive == first.keep_alive
    with pytest.raises(AttributeError):
        parse_one(get("/other.html", b"Accept: */*"))  # a new head does need the pattern


def test_a_head_that_came_once_is_not_kept_yet():
    parse_one(get("/once"))
    seen = Seen.under(Limits())
    assert not seen.heads and len(seen.once) == 1


@pytest.mark.parametrize("name, raw, expected", VALID, ids=[name for name, _, _ in VALID])
def test_valid_vector_parses_the_same_when_seen_before(name, raw, expected):
    for attempt in range(3):  # kept on the second arrival, answered from memory on the third
        outcome = feed([raw])
        assert [summary(r) for r in outcome.requests] == expected, attempt
        assert outcome.parser.buffered_bytes == 0


@pytest.mark.parametrize("name, raw, status", INVALID, ids=[name for name, _, _ in INVALID])
def test_invalid_vector_is_refused_every_time(name, raw, status):
    for _ in range(3):
        assert feed([raw]).status == status


@pytest.mark.parametrize("name, raw, status", [v for v in LIMIT_VECTORS if v[2] is not None],
                         ids=[name for name, _, status in LIMIT_VECTORS if status is not None])
def test_a_head_accepted_under_wide_limits_is_still_refused_under_narrow_ones(name, raw, status):
    wide = Limits(max_head_bytes=1 << 20, max_body_bytes=1 << 20)
    for _ in range(2):  # twice: a head is kept on its second arrival
        assert feed([raw], wide).status is None
    assert feed([raw], SMALL).status == status


def test_a_remembered_request_is_a_copy_for_its_own_client():
    raw = get("/search?q=1")
    first = parse_one(raw, client="198.51.100.1")
    first.query_params["q"].append("changed by an application")
    first.body = b"changed too"
    again = parse_one(raw, client="198.51.100.2")
    assert again is not first
    assert again.client == "198.51.100.2" and first.client == "198.51.100.1"
    assert again.query_params == {"q": ["1"]}
    assert again.body == b""


@pytest.mark.parametrize("framing, wire_bodies", [
    (b"Content-Length: 3\r\n", (b"abc", b"xyz")),
    (b"Transfer-Encoding: chunked\r\n", (b"3\r\nabc\r\n0\r\n\r\n", b"3\r\nxyz\r\n0\r\n\r\n")),
])
def test_a_head_with_a_body_reads_each_body_anew(framing, wire_bodies):
    bodies = [parse_one(post(framing, wire)).body for wire in wire_bodies]
    assert bodies == [b"abc", b"xyz"]
    assert not Seen.under(Limits()).heads


def test_pipelined_copies_of_one_head_are_separate_requests():
    parser = RequestParser()
    parser.receive_data(get("/a") * 3)
    requests = [parser.next_request() for _ in range(3)]
    assert [r.target for r in requests] == ["/a"] * 3
    assert len({id(r) for r in requests}) == 3
    assert parser.next_request() is None


def test_the_same_field_lines_share_one_headers_for_any_target():
    first, second = parse_one(get("/a", b"Accept: */*")), parse_one(get("/b", b"Accept: */*"))
    assert (first.target, second.target) == ("/a", "/b")
    assert second.headers is first.headers
    assert second.headers.items() == [("host", "a"), ("accept", "*/*")]


# Field lines that settle the framing one way or another, each with the body it frames.
FIELD_BLOCKS = [
    (b"Host: a", b""),
    (b"", b""),                                            # no Host: HTTP/1.0 only
    (b"Host: a\r\nConnection: close", b""),
    (b"Connection: keep-alive\r\nHost: a", b""),
    (b"Host: a b", b""),                                    # an invalid Host
    (b"Host: a\r\nHost: a", b""),                           # two Host lines
    (b"Host: a\r\nContent-Length: 3", b"abc"),
    (b"Host: a\r\nTransfer-Encoding: chunked", b"3\r\nabc\r\n0\r\n\r\n"),
    (b"Host: a\r\nExpect: 100-continue", b""),
    (b"Host: a\r\nExpect: nothing-you-know", b""),
]


def decision(pieces: list[bytes]) -> tuple:
    """What a parser decides about the bytes: each request and whether it keeps the connection, or a refusal."""
    outcome = feed(pieces)
    return [(summary(r), r.keep_alive) for r in outcome.requests], outcome.status


@pytest.mark.parametrize("block, body", FIELD_BLOCKS, ids=[repr(block) for block, _ in FIELD_BLOCKS])
@pytest.mark.parametrize("first_minor", [b"1", b"0"])
def test_a_remembered_field_block_decides_what_a_fresh_parse_decides(block, body, first_minor):
    # The same field lines under ever-new request lines of both versions: from the
    # second on, the block (and what it settles: Host, body, keep-alive) comes from memory.
    fields = block + b"\r\n" if block else b""
    minors = [first_minor, b"0" if first_minor == b"1" else b"1"] * 3
    heads = [b"GET /%d HTTP/1.%s\r\n%s\r\n%s" % (i, minor, fields, body) for i, minor in enumerate(minors)]
    # Fed a byte at a time, a head goes step by step, never through the one-pass path or its memory.
    step_by_step = [decision([raw[i:i + 1] for i in range(len(raw))]) for raw in heads]
    assert [decision([raw]) for raw in heads] == step_by_step
    assert len(Seen.under(Limits()).fields) == 1, "one block, remembered"


def test_the_memory_is_bounded():
    for i in range(Seen.MAX_ENTRIES + 10):
        for _ in range(2):  # twice, so that each head is kept
            assert parse_one(get(f"/{i}", b"X-N: %d" % i)).target == f"/{i}"
    seen = Seen.under(Limits())
    for memo in (seen.heads, seen.once, seen.fields):
        assert 0 < len(memo) <= Seen.MAX_ENTRIES
    Seen.forget_all()
    long_head = get("/", b"X-Long: " + b"a" * Seen.MAX_KEY_BYTES)
    for _ in range(2):
        assert parse_one(long_head).headers["x-long"] == "a" * Seen.MAX_KEY_BYTES
    seen = Seen.under(Limits())
    assert not seen.heads and not seen.once and not seen.fields
