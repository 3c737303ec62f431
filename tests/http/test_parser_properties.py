"""Property tests of RequestParser with hypothesis.

1. Arbitrary bytes, cut anyhow, never raise anything but an HTTPError, and never
   loop: every request the parser hands out has consumed bytes.
2. The answer never depends on the cutting: the same bytes fed whole, byte by
   byte or in random pieces give the same requests and the same final status.
3. Nor does it depend on what the parser saw before: bytes parsed again, when
   their head is remembered (parser._Seen), give the same answer as the first time.
4. Every generated valid request (or pipeline of them) parses back to exactly
   what was generated, the second time too: method, target, decoded path, version,
   fields, body.

The default run is short for CI; OTU_HYPOTHESIS_EXAMPLES raises it, e.g.
`OTU_HYPOTHESIS_EXAMPLES=40000 python3 -m pytest tests/http/test_parser_properties.py`.
"""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otuserver.http import HTTPError, Limits
from otuserver.http.parser import _Seen
from parser_feeding import feed, summary

EXAMPLES = int(os.environ.get("OTU_HYPOTHESIS_EXAMPLES", "200"))
# No example database: a failure prints its seed and blob to reproduce it, and
# the tests leave no .hypothesis/ directory behind in the working tree.
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SMALL = Limits(max_request_line=200, max_head_bytes=600, max_header_fields=8, max_body_bytes=400)

# -- cutting -------------------------------------------------------------------


@st.composite
def cut(draw, raw: bytes) -> list[bytes]:
    """`raw` cut at a drawn set of places."""
    if not raw:
        return [raw]
    places = sorted(set(draw(st.lists(st.integers(1, len(raw)), max_size=12))))
    bounds = [0, *places, len(raw)]
    return [raw[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def outcome_of(pieces, limits=Limits()):
    outcome = feed(pieces, limits)
    return [summary(r) for r in outcome.requests], outcome.status


# -- 1 and 2: arbitrary, HTTP-flavoured bytes -----------------------------------

FRAGMENTS = [
    b"GET ", b"POST ", b"OPTIONS ", b"/", b"/a%20b", b"*", b"http://h/x", b" HTTP/1.1", b" HTTP/1.0",
    b" HTTP/2.0", b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b"Host: a", b"Host: ", b"Content-Length: ",
    b"Content-Length: 3", b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip, chunked",
    b"Expect: 100-continue", b"0", b"3", b"a", b"ff", b";x=y", b"\x00", b"\x7f", b"\xff", b",",
    b"\r\n\r\n", b"0\r\n\r\n", b"3\r\nabc\r\n",
]

http_ish_bytes = st.lists(st.one_of(st.binary(max_size=12), st.sampled_from(FRAGMENTS)),
                          max_size=40).map(b"".join)


@SETTINGS
@given(st.data(), http_ish_bytes)
def test_arbitrary_bytes_raise_only_http_errors(data, raw):
    pieces = data.draw(cut(raw))
    for limits in (Limits(), SMALL):
        try:
            outcome_of(pieces, limits)
        except HTTPError:  # pragma: no cover - feed() catches these; anything else fails the test
            raise AssertionError("feed let an HTTPError escape")


@SETTINGS
@given(st.data(), st.binary(max_size=300))
def test_random_binary_raises_only_http_errors(data, raw):
    outcome_of(data.draw(cut(raw)), SMALL)


@SETTINGS
@given(st.data(), http_ish_bytes)
def test_answer_does_not_depend_on_the_cutting(data, raw):
    for limits in (Limits(), SMALL):
        whole = outcome_of([raw], limits)
        assert outcome_of(data.draw(cut(raw)), limits) == whole
        assert outcome_of([raw[i:i + 1] for i in range(len(raw))], limits) == whole


# -- 3: the same bytes again, their head remembered -----------------------------


def outcome_fresh_then_again(raw: bytes, limits: Limits):
    """The outcome on first sight, and the one from memory (a head is kept on its second arrival)."""
    _Seen.forget_all()
    fresh, second = outcome_of([raw], limits), outcome_of([raw], limits)
    assert second == fresh
    return fresh, outcome_of([raw], limits)


@SETTINGS
@given(http_ish_bytes)
def test_answer_does_not_depend_on_what_was_seen_before(raw):
    for limits in (Limits(), SMALL):
        fresh, again = outcome_fresh_then_again(raw, limits)
        assert again == fresh


# -- 4: valid requests round-trip ------------------------------------------------

TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@")
# Fields with rules of their own are drawn separately or not at all: any Expect value but
# 100-continue gets a 417 (RFC 9110 §10.1.1), so a random one is not a valid request.
FRAMING = {"host", "content-length", "transfer-encoding", "expect"}

tokens = st.text(alphabet=TCHAR, min_size=1, max_size=12)
# Any text but NUL (refused in a path) and lone surrogates (not encodable as UTF-8).
path_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
# Field values: visible latin-1, SP and HTAB inside, nothing to trim at the ends.
value_chars = st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f")
field_values = st.text(st.one_of(value_chars, st.just("\t")), max_size=30).map(lambda v: v.strip(" \t"))


def percent_encode(text: str) -> str:
    """UTF-8, then %XX for every byte that is not a plain pchar (so "/" and "%" are escaped too)."""
    return "".join(chr(b) if b in UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


@st.composite
def valid_requests(draw):
    """(wire bytes, expected summary) of one valid request."""
    method = draw(tokens)
    segments = draw(st.lists(path_text, min_size=1, max_size=4))
    path = "/" + "/".join(segments)
    raw_path = "/" + "/".join(percent_encode(s) for s in segments)
    query = draw(st.one_of(st.none(), st.text(alphabet=TCHAR + "=&/?:@", max_size=20)))
    target = raw_path if query is None else f"{raw_path}?{query}"
    absolute = draw(st.booleans()) and draw(st.integers(0, 3)) == 0
    wire_target = f"http://example.com:8080{target}" if absolute else target
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    fields = draw(st.lists(st.tuples(tokens.filter(lambda n: n.lower() not in FRAMING), field_values),
                           max_size=6))
    if version == "HTTP/1.1" or draw(st.booleans()):
        host = draw(st.sampled_from(["a", "localhost:8080", "[::1]", "example.com", ""]))
        fields.insert(draw(st.integers(0, len(fields))), ("Host", host))
    body, framing, body_bytes = draw(bodies(version))
    fields += framing
    endings = draw(st.lists(st.sampled_from([b"\r\n", b"\n"]), min_size=len(fields) + 2,
                            max_size=len(fields) + 2))
    lines = [f"{method} {wire_target} {version}".encode("ascii")]
    ows = st.sampled_from(['', ' ', '  ', chr(9)])  # whitespace around a value is not part of it
    lines += [f"{name}:{draw(ows)}{value}{draw(ows)}".encode("latin-1") for name, value in fields]
    wire = b"".join(line + ending for line, ending in zip(lines + [b""], endings))
    expected = (method, target, path, version,
                [(name.lower(), value) for name, value in fields], body)
    return wire + body_bytes, expected


@st.composite
def bodies(draw, version):
    """(body, framing fields, body bytes on the wire): none, Content-Length or chunked."""
    kind = draw(st.sampled_from(["none", "length", "chunked"] if version == "HTTP/1.1" else ["none", "length"]))
    body = draw(st.binary(max_size=200)) if kind != "none" else b""
    if kind == "none":
        return b"", [], b""
    if kind == "length":
        return body, [("Content-Length", str(len(body)))], body
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(body))), max_size=5))))
    bounds = [0, *[c for c in cuts if c < len(body)], len(body)]
    wire = b""
    for a, b in zip(bounds, bounds[1:]):
        if b > a:
            size = draw(st.sampled_from(["%x", "%X", "0%x"])) % (b - a)
            ext = draw(st.sampled_from(["", ";a", ";a=b", ' ; n="q \\" v"']))
            wire += f"{size}{ext}\r\n".encode() + body[a:b] + b"\r\n"
    trailers = draw(st.lists(st.tuples(tokens, field_values), max_size=2))
    wire += b"0\r\n" + b"".join(f"{n}: {v}\r\n".encode("latin-1") for n, v in trailers) + b"\r\n"
    return body, [("Transfer-Encoding", "chunked")], wire


@SETTINGS
@given(st.data(), st.lists(valid_requests(), min_size=1, max_size=3), st.integers(0, 2))
def test_valid_requests_parse_back_to_what_was_generated(data, requests, blank_lines):
    raw = b"\r\n" * blank_lines + b"".join(wire for wire, _ in requests)
    expected = [parsed for _, parsed in requests]
    assert outcome_of([raw]) == (expected, None)
    assert outcome_of(data.draw(cut(raw))) == (expected, None)
    fresh, again = outcome_fresh_then_again(raw, Limits())
    assert fresh == again == (expected, None)
