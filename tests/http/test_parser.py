"""Table-driven tests of RequestParser: every vector fed in every chunking.

A valid vector lists the requests it must produce; an invalid one names the
status its HTTPError must carry. Each is fed whole, line by line, byte by byte
and in seeded random chunks (parser_feeding.chunkings), and the answer must not
depend on the chunking. Rules cite RFC 9112 (HTTP/1.1) and RFC 9110 (semantics).
"""

import pytest

from otuserver.http import HTTPError, Limits, RequestParser
from parser_feeding import chunkings, feed, summary

HOST = ("host", "a")


def req(method="GET", target="/", path=None, version="HTTP/1.1", headers=(HOST,), body=b""):
    """The expected summary of one parsed request."""
    if path is None:
        path = target.partition("?")[0]
    return (method, target, path, version, list(headers), body)


def get(target="/", *extra, version="HTTP/1.1", method="GET", host=b"a"):
    """A minimal request head, CRLF everywhere."""
    lines = [b"%s %s %s" % (method.encode(), target.encode(), version.encode())]
    if host is not None:
        lines.append(b"Host: " + host)
    lines += extra
    return b"\r\n".join(lines) + b"\r\n\r\n"


def post(body_head: bytes, body: bytes, version="HTTP/1.1") -> bytes:
    return b"POST /api HTTP/1.1\r\nHost: a\r\n" + body_head + b"\r\n" + body


# -- valid vectors: (name, raw, expected requests) -------------------------------

VALID = [
    ("http10_ignores_any_expectation", b"GET / HTTP/1.0\r\nExpect: 200-ok\r\n\r\n",
     [req(version="HTTP/1.0", headers=[("expect", "200-ok")])]),
    ("an_empty_expect_expects_nothing", get("/", b"Expect: "), [req(headers=[HOST, ("expect", "")])]),
    # RFC 9110 §5.6.1.2: a recipient MUST ignore empty list elements; a repeated one asks nothing more.
    ("empty_elements_of_expect_are_ignored", get("/", b"Expect: ,100-continue, ,"),
     [req(headers=[HOST, ("expect", ",100-continue, ,")])]),
    ("expect_100_continue_on_two_lines_is_met", get("/", b"Expect: 100-continue", b"expect: 100-Continue"),
     [req(headers=[HOST, ("expect", "100-continue"), ("expect", "100-Continue")])]),
    ("simple_get", get("/"), [req()]),
    # RFC 9110 §2.5: a higher minor version of HTTP/1 is processed as HTTP/1.1, the highest we conform to.
    ("http12_is_read_as_http11", get("/", version="HTTP/1.2"), [req()]),
    ("http10_needs_no_host", b"GET /index.html HTTP/1.0\r\n\r\n",
     [req(target="/index.html", version="HTTP/1.0", headers=())]),
    ("bare_lf_line_endings_are_accepted", b"GET / HTTP/1.1\nHost: a\n\n", [req()]),
    ("mixed_line_endings_are_accepted", b"GET / HTTP/1.1\r\nHost: a\n\r\n", [req()]),
    ("leading_empty_lines_are_ignored", b"\r\n\n\r\n" + get("/"), [req()]),
    ("query_string_is_kept_in_target_not_path", get("/dir/page.html?arg1=value&arg2=value"),
     [req(target="/dir/page.html?arg1=value&arg2=value", path="/dir/page.html")]),
    ("percent_encoded_path_is_decoded_once", get("/space%20in%20name.txt%2541"),
     [req(target="/space%20in%20name.txt%2541", path="/space in name.txt%41")]),
    ("utf8_percent_encoded_path_is_decoded", get("/%D1%84%D0%B0%D0%B9%D0%BB"),
     [req(target="/%D1%84%D0%B0%D0%B9%D0%BB", path="/файл")]),
    ("path_with_several_dots_is_kept", get("/text..txt"), [req(target="/text..txt")]),
    ("absolute_form_is_reduced_to_its_path", get("http://localhost:8080/a/b?c=1"),
     [req(target="/a/b?c=1", path="/a/b")]),
    ("absolute_form_scheme_is_case_insensitive", get("HTTP://example.com/x"), [req(target="/x")]),
    ("absolute_form_without_path_is_root", get("http://example.com"), [req(target="/")]),
    ("absolute_form_with_only_a_query", get("https://example.com?x=1"),
     [req(target="/?x=1", path="/")]),
    ("asterisk_form_for_options", get("*", method="OPTIONS"),
     [req(method="OPTIONS", target="*", path="*")]),
    ("any_token_is_a_method", get("/", method="M-SEARCH"), [req(method="M-SEARCH")]),
    ("lower_case_method_is_a_token_too", get("/", method="purge"), [req(method="purge")]),
    ("field_names_are_lower_cased", b"GET / HTTP/1.1\r\nHOST: a\r\nX-Thing: b\r\n\r\n",
     [req(headers=[HOST, ("x-thing", "b")])]),
    ("field_value_whitespace_is_trimmed", get("/", b"X:  \t v \t "), [req(headers=[HOST, ("x", "v")])]),
    ("tab_inside_a_value_is_allowed", get("/", b"X: a\tb"), [req(headers=[HOST, ("x", "a\tb")])]),
    ("empty_field_value_is_allowed", get("/", b"X-Empty:"), [req(headers=[HOST, ("x-empty", "")])]),
    ("obs_text_in_a_value_is_latin1", get("/", b"X: caf\xe9"), [req(headers=[HOST, ("x", "café")])]),
    ("repeated_fields_keep_their_order", get("/", b"A: 1", b"B: 2", b"a: 3"),
     [req(headers=[HOST, ("a", "1"), ("b", "2"), ("a", "3")])]),
    ("empty_host_is_allowed", get("/", host=b""), [req(headers=[("host", "")])]),
    ("host_with_port_and_ipv6_literal", get("/", host=b"[::1]:8080"), [req(headers=[("host", "[::1]:8080")])]),
    ("content_length_body", post(b"Content-Length: 5\r\n", b"hello"),
     [req("POST", "/api", headers=[HOST, ("content-length", "5")], body=b"hello")]),
    ("content_length_zero", post(b"Content-Length: 0\r\n", b""),
     [req("POST", "/api", headers=[HOST, ("content-length", "0")])]),
    ("content_length_with_leading_zeros", post(b"Content-Length: 005\r\n", b"hello"),
     [req("POST", "/api", headers=[HOST, ("content-length", "005")], body=b"hello")]),
    ("content_length_with_many_leading_zeros", post(b"Content-Length: 000000000000000000000000003\r\n", b"abc"),
     [req("POST", "/api", headers=[HOST, ("content-length", "000000000000000000000000003")], body=b"abc")]),
    ("identical_content_lengths_agree", post(b"Content-Length: 3, 3\r\nContent-Length: 3\r\n", b"abc"),
     [req("POST", "/api", headers=[HOST, ("content-length", "3, 3"), ("content-length", "3")],
          body=b"abc")]),
    ("body_bytes_that_look_like_a_request_are_body", post(b"Content-Length: 28\r\n", get("/x")),
     [req("POST", "/api", headers=[HOST, ("content-length", "28")], body=get("/x"))]),
    ("chunked_body", post(b"Transfer-Encoding: chunked\r\n", b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"),
     [req("POST", "/api", headers=[HOST, ("transfer-encoding", "chunked")], body=b"Wikipedia")]),
    ("chunked_is_case_insensitive", post(b"Transfer-Encoding: Chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"),
     [req("POST", "/api", headers=[HOST, ("transfer-encoding", "Chunked")], body=b"abc")]),
    ("chunk_sizes_are_hex_in_either_case", post(b"Transfer-Encoding: chunked\r\n",
                                                b"A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n"),
     [req("POST", "/api", headers=[HOST, ("transfer-encoding", "chunked")],
          body=b"0123456789abcdefghijk")]),
    ("chunk_size_with_leading_zeros", post(b"Transfer-Encoding: chunked\r\n", b"0003\r\nabc\r\n000\r\n\r\n"),
     [req("POST", "/api", headers=[HOST, ("transfer-encoding", "chunked")], body=b"abc")]),
    ("chunk_extensions_are_ignored",
     post(b"Transfer-Encoding: chunked\r\n", b'3;name=value\r\nabc\r\n2 ; a ; b="x \\" y"\r\nde\r\n0;last\r\n\r\n'),
     [req("POST", "/api", headers=[HOST, ("transfer-encoding", "chunked")], body=b"abcde")]),
    ("chunked_trailers_are_read_and_dropped",
     post(b"Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\n"),
     [req("POST", "/api", headers=[HOST, ("transfer-encoding", "chunked")], body=b"abc")]),
    ("empty_chunked_body", post(b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
     [req("POST", "/api", headers=[HOST, ("transfer-encoding", "chunked")])]),
    ("pipelined_requests_come_out_in_order",
     get("/1") + post(b"Content-Length: 3\r\n", b"abc") + get("/3", b"Connection: close"),
     [req(target="/1"), req("POST", "/api", headers=[HOST, ("content-length", "3")], body=b"abc"),
      req(target="/3", headers=[HOST, ("connection", "close")])]),
    ("pipelined_requests_with_crlf_between",
     post(b"Content-Length: 3\r\n", b"abc") + b"\r\n" + get("/2"),
     [req("POST", "/api", headers=[HOST, ("content-length", "3")], body=b"abc"), req(target="/2")]),
    ("pipelined_chunked_then_get",
     post(b"Transfer-Encoding: chunked\r\n", b"1\r\nx\r\n0\r\n\r\n") + get("/2"),
     [req("POST", "/api", headers=[HOST, ("transfer-encoding", "chunked")], body=b"x"),
      req(target="/2")]),
]

# -- invalid vectors: (name, raw, status) ----------------------------------------

CHUNKED = b"Transfer-Encoding: chunked\r\n"

INVALID = [
    # expectations (RFC 9110 §10.1.1): only 100-continue can be met
    ("unknown_expectation_is_417", get("/", b"Expect: 200-ok"), 417),
    ("unknown_expectation_with_a_body_is_417", post(b"Content-Length: 3\r\nExpect: x\r\n", b"abc"), 417),
    ("unknown_expectation_beside_100_continue_is_417", get("/", b"Expect: 100-continue, 200-ok"), 417),
    # the request line (RFC 9112 §3)
    ("request_line_of_spaces_is_400", b" \r\n\r\n", 400),
    ("two_spaces_in_request_line_is_400", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("trailing_space_in_request_line_is_400", b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
    ("tab_as_request_line_separator_is_400", b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("http09_request_without_version_is_400", b"GET /\r\n\r\n", 400),
    ("lower_case_http_name_is_400", get("/", version="http/1.1"), 400),
    ("garbage_version_is_400", get("/", version="HTTP/x.y"), 400),
    ("version_without_minor_is_400", get("/", version="HTTP/1"), 400),
    ("version_with_two_digit_major_is_400", get("/", version="HTTP/11.1"), 400),
    ("version_with_extra_part_is_400", get("/", version="HTTP/1.1.1"), 400),
    ("http2_is_505", get("/", version="HTTP/2.0"), 505),
    ("http09_with_version_is_505", get("/", version="HTTP/0.9"), 505),
    # Read as HTTP/1.1, HTTP/1.9 needs a Host like it (RFC 9112 §3.2).
    ("http19_without_host_is_400", get("/", version="HTTP/1.9", host=None), 400),
    ("method_with_a_separator_is_400", get("/", method="GE(T"), 400),
    ("method_with_a_slash_is_400", get("/", method="GET/"), 400),
    ("non_ascii_method_is_400", "GÉT / HTTP/1.1\r\nHost: a\r\n\r\n".encode("latin-1"), 400),
    ("nul_in_method_is_400", b"GE\x00T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("tls_client_hello_is_400", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\r\n", 400),
    # the request target (RFC 9112 §3.2)
    ("relative_target_is_400", get("index.html"), 400),
    ("asterisk_form_for_get_is_400", get("*"), 400),
    ("authority_form_is_400", get("example.com:443", method="CONNECT"), 400),
    ("absolute_form_with_empty_host_is_400", get("http:///a"), 400),
    ("absolute_form_with_only_a_port_is_400", get("http://:80/a"), 400),
    ("absolute_form_with_userinfo_is_400", get("http://user:pw@example.com/a"), 400),
    ("non_http_absolute_form_is_400", get("ftp://example.com/x"), 400),
    ("non_ascii_target_is_400", b"GET /\xd1\x84 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("nul_in_target_is_400", b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("percent_encoded_nul_in_path_is_400", get("/a%00b"), 400),
    ("bad_percent_escape_is_400", get("/a%zz"), 400),
    ("truncated_percent_escape_is_400", get("/a%4"), 400),
    ("lone_percent_is_400", get("/a%"), 400),
    ("percent_decoded_invalid_utf8_is_400", get("/a%ff"), 400),
    ("overlong_utf8_dot_is_400", get("/%c0%ae%c0%ae/etc/passwd"), 400),
    ("encoded_surrogate_is_400", get("/%ed%a0%80"), 400),
    # Host (RFC 9112 §3.2)
    ("http11_without_host_is_400", get("/", host=None), 400),
    ("http11_with_two_hosts_is_400", get("/", b"Host: b"), 400),
    ("http10_with_two_hosts_is_400", get("/", b"Host: b", version="HTTP/1.0"), 400),
    ("host_with_space_is_400", get("/", host=b"a b"), 400),
    ("host_with_slash_is_400", get("/", host=b"a/b"), 400),
    ("host_with_userinfo_is_400", get("/", host=b"user@a"), 400),
    # field lines (RFC 9112 §5, RFC 9110 §5.5)
    ("obs_fold_with_space_is_400", get("/", b"X: a", b" b"), 400),
    ("obs_fold_with_tab_is_400", get("/", b"X: a", b"\tb"), 400),
    ("whitespace_before_first_field_is_400", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
    ("space_before_colon_is_400", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    ("tab_before_colon_is_400", b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400),
    ("space_before_colon_in_content_length_is_400", post(b"Content-Length : 3\r\n", b"abc"), 400),
    ("separator_in_field_name_is_400", get("/", b"X(y): a"), 400),
    ("space_in_field_name_is_400", get("/", b"X y: a"), 400),
    ("empty_field_name_is_400", get("/", b": a"), 400),
    ("non_ascii_field_name_is_400", get("/", b"\xc4: a"), 400),
    ("field_line_without_colon_is_400", get("/", b"Hosta"), 400),
    ("nul_in_field_value_is_400", get("/", b"X: a\x00b"), 400),
    ("escape_in_field_value_is_400", get("/", b"X: \x1b[31m"), 400),
    ("del_in_field_value_is_400", get("/", b"X: a\x7f"), 400),
    ("vertical_tab_in_field_value_is_400", get("/", b"X: a\x0bb"), 400),
    ("bare_cr_in_field_value_is_400", get("/", b"X: a\rb"), 400),
    ("bare_cr_as_field_line_end_is_400", b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400),
    ("bare_cr_in_request_line_is_400", b"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("cr_cr_lf_line_end_is_400", b"GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", 400),
    ("leading_bare_cr_is_400", b"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    # framing (RFC 9112 §6)
    ("content_length_and_transfer_encoding_is_400", post(b"Content-Length: 3\r\n" + CHUNKED, b"0\r\n\r\n"), 400),
    ("transfer_encoding_and_content_length_is_400", post(CHUNKED + b"Content-Length: 3\r\n", b"0\r\n\r\n"), 400),
    ("disagreeing_content_lengths_in_a_list_is_400", post(b"Content-Length: 3, 4\r\n", b"abcd"), 400),
    ("disagreeing_content_length_lines_is_400", post(b"Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"), 400),
    ("content_length_with_trailing_comma_is_400", post(b"Content-Length: 3,\r\n", b"abc"), 400),
    ("non_numeric_content_length_is_400", post(b"Content-Length: abc\r\n", b"abc"), 400),
    ("negative_content_length_is_400", post(b"Content-Length: -1\r\n", b""), 400),
    ("signed_content_length_is_400", post(b"Content-Length: +3\r\n", b"abc"), 400),
    ("hex_content_length_is_400", post(b"Content-Length: 0x3\r\n", b"abc"), 400),
    ("fractional_content_length_is_400", post(b"Content-Length: 3.0\r\n", b"abc"), 400),
    ("empty_content_length_is_400", post(b"Content-Length:\r\n", b""), 400),
    ("content_length_with_inner_space_is_400", post(b"Content-Length: 1 2\r\n", b"abc"), 400),
    ("unicode_digit_content_length_is_400", post("Content-Length: ³\r\n".encode("latin-1"), b"abc"), 400),
    ("transfer_encoding_in_http10_is_400",
     b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("chunked_twice_in_a_list_is_400", post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), 400),
    ("chunked_twice_in_two_lines_is_400", post(CHUNKED + CHUNKED, b"0\r\n\r\n"), 400),
    ("final_coding_not_chunked_is_400", post(b"Transfer-Encoding: chunked, gzip\r\n", b"0\r\n\r\n"), 400),
    ("transfer_encoding_without_chunked_is_400", post(b"Transfer-Encoding: gzip\r\n", b"x"), 400),
    ("empty_transfer_encoding_is_400", post(b"Transfer-Encoding:\r\n", b""), 400),
    ("empty_coding_in_a_list_is_400", post(b"Transfer-Encoding: , chunked\r\n", b"0\r\n\r\n"), 400),
    ("unknown_coding_before_chunked_is_501", post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501),
    ("unknown_coding_line_before_chunked_is_501",
     post(b"Transfer-Encoding: x-custom\r\n" + CHUNKED, b"0\r\n\r\n"), 501),
    # chunked bodies (RFC 9112 §7.1)
    ("non_hex_chunk_size_is_400", post(CHUNKED, b"g\r\nabc\r\n0\r\n\r\n"), 400),
    ("empty_chunk_size_is_400", post(CHUNKED, b"\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk_size_with_leading_space_is_400", post(CHUNKED, b" 3\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk_size_with_trailing_space_is_400", post(CHUNKED, b"3 \r\nabc\r\n0\r\n\r\n"), 400),
    ("negative_chunk_size_is_400", post(CHUNKED, b"-3\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk_size_with_0x_prefix_is_400", post(CHUNKED, b"0x3\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk_size_with_16_significant_digits_is_400", post(CHUNKED, b"1000000000000000\r\n"), 400),
    ("chunk_extension_without_name_is_400", post(CHUNKED, b"3;\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk_extension_with_control_character_is_400", post(CHUNKED, b"3;a=\x01\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk_extension_with_unclosed_quote_is_400", post(CHUNKED, b'3;a="b\r\nabc\r\n0\r\n\r\n'), 400),
    ("bare_cr_in_chunk_size_line_is_400", post(CHUNKED, b"3\rx\r\nabc\r\n0\r\n\r\n"), 400),
    ("chunk_size_line_ended_by_bare_lf_is_400", post(CHUNKED, b"3\nabc\r\n0\r\n\r\n"), 400),
    ("chunk_not_ended_by_crlf_is_400", post(CHUNKED, b"3\r\nabcX\r\n0\r\n\r\n"), 400),
    ("chunk_ended_by_bare_lf_is_400", post(CHUNKED, b"3\r\nabc\n0\r\n\r\n"), 400),
    ("chunk_longer_than_its_size_is_400", post(CHUNKED, b"2\r\nabc\r\n0\r\n\r\n"), 400),
    ("last_chunk_ended_by_bare_lf_is_400", post(CHUNKED, b"3\r\nabc\r\n0\n\r\n"), 400),
    ("trailer_with_obs_fold_is_400", post(CHUNKED, b"0\r\nX: a\r\n b\r\n\r\n"), 400),
    ("trailer_without_colon_is_400", post(CHUNKED, b"0\r\nnonsense\r\n\r\n"), 400),
    ("trailer_with_control_character_is_400", post(CHUNKED, b"0\r\nX: a\x00\r\n\r\n"), 400),
    ("trailer_ended_by_bare_lf_is_400", post(CHUNKED, b"0\r\nX: a\n\r\n"), 400),
    ("chunked_body_ended_by_bare_lf_is_400", post(CHUNKED, b"0\r\n\n"), 400),
    ("absurd_content_length_is_413", post(b"Content-Length: 99999999999999999999999\r\n", b""), 413),
    ("absurd_chunk_size_is_413", post(CHUNKED, b"fffffffffffffff\r\n"), 413),
]


def _ids(table):
    return [name for name, _, _ in table]


@pytest.mark.parametrize("name, raw, expected", VALID, ids=_ids(VALID))
def test_valid_vector_parses_the_same_in_every_chunking(name, raw, expected):
    for label, pieces in chunkings(raw):
        outcome = feed(pieces)
        assert outcome.error is None, (label, outcome.error)
        assert [summary(r) for r in outcome.requests] == expected, label
        assert outcome.parser.buffered_bytes == 0, label
        assert not outcome.parser.in_progress, label


@pytest.mark.parametrize("name, raw, expected", VALID, ids=_ids(VALID))
def test_bytes_after_a_valid_vector_are_left_for_the_next_request(name, raw, expected):
    for label, pieces in chunkings(raw + b"GET /next HTTP/1.1\r\nHo"):
        outcome = feed(pieces)
        assert outcome.error is None, (label, outcome.error)
        assert [summary(r) for r in outcome.requests] == expected, label
        assert outcome.parser.in_progress, label
        outcome.parser.receive_data(b"st: a\r\n\r\n")
        assert summary(outcome.parser.next_request()) == req(target="/next"), label


@pytest.mark.parametrize("name, raw, status", INVALID, ids=_ids(INVALID))
def test_invalid_vector_fails_with_its_status_in_every_chunking(name, raw, status):
    for label, pieces in chunkings(raw):
        outcome = feed(pieces)
        assert outcome.status == status, (label, outcome.error, outcome.requests)


@pytest.mark.parametrize("name, raw, status", INVALID, ids=_ids(INVALID))
def test_invalid_vector_after_a_valid_request_still_yields_the_valid_one(name, raw, status):
    for label, pieces in chunkings(get("/first") + raw, seeds=(7,)):
        outcome = feed(pieces)
        assert [r.target for r in outcome.requests] == ["/first"], label
        assert outcome.status == status, (label, outcome.error)


# -- limits: refused with their status, before the whole thing is buffered --------

SMALL = Limits(max_request_line=64, max_head_bytes=256, max_header_fields=4, max_body_bytes=32)

LIMIT_VECTORS = [
    ("request_line_at_the_limit_is_accepted", get("/" + "a" * 50), None),
    ("request_line_past_the_limit_is_414", get("/" + "a" * 51), 414),
    ("request_line_past_the_limit_with_bare_lf_is_414", b"GET /" + b"a" * 51 + b" HTTP/1.1\nHost: a\n\n", 414),
    ("head_at_the_limit_is_accepted", get("/", b"X: " + b"a" * 224), None),
    ("head_past_the_limit_is_431", get("/", b"X: " + b"a" * 225), 431),
    ("four_fields_are_accepted", get("/", b"A: 1", b"B: 2", b"C: 3"), None),
    ("five_fields_are_431", get("/", b"A: 1", b"B: 2", b"C: 3", b"D: 4"), 431),
    ("body_at_the_limit_is_accepted", post(b"Content-Length: 32\r\n", b"x" * 32), None),
    ("content_length_past_the_limit_is_413", post(b"Content-Length: 33\r\n", b"x" * 33), 413),
    ("chunked_body_at_the_limit_is_accepted",
     post(CHUNKED, b"10\r\n" + b"x" * 16 + b"\r\n10\r\n" + b"y" * 16 + b"\r\n0\r\n\r\n"), None),
    ("chunked_body_past_the_limit_is_413",
     post(CHUNKED, b"10\r\n" + b"x" * 16 + b"\r\n11\r\n" + b"y" * 17 + b"\r\n0\r\n\r\n"), 413),
    ("too_many_trailer_fields_are_431", post(CHUNKED, b"0\r\n" + b"T: 1\r\n" * 5 + b"\r\n"), 431),
    ("trailer_section_past_the_head_limit_is_431", post(CHUNKED, b"0\r\nT: " + b"a" * 260 + b"\r\n\r\n"), 431),
]


@pytest.mark.parametrize("name, raw, status", LIMIT_VECTORS, ids=_ids(LIMIT_VECTORS))
def test_limit_vector_gets_its_status_in_every_chunking(name, raw, status):
    for label, pieces in chunkings(raw):
        outcome = feed(pieces, SMALL)
        assert outcome.status == status, (label, outcome.error)
        if status is None:
            assert len(outcome.requests) == 1, label


def _bytes_fed_until_refused(prefix: bytes, filler: bytes, limits=SMALL, most=100_000) -> int:
    """Feed prefix, then filler forever, one byte at a time; how many bytes until the parser says no?"""
    stream = prefix + filler * (most // len(filler))
    outcome = feed([stream[i:i + 1] for i in range(len(stream))], limits)
    assert outcome.error is not None, "never refused"
    return outcome.fed, outcome.status


def test_endless_request_line_is_414_as_soon_as_it_passes_the_limit():
    assert _bytes_fed_until_refused(b"GET /", b"a") == (66, 414)


def test_endless_field_is_431_as_soon_as_the_head_passes_the_limit():
    assert _bytes_fed_until_refused(b"GET / HTTP/1.1\r\nX: ", b"a") == (257, 431)


def test_too_many_fields_is_431_before_the_head_ends():
    fed, status = _bytes_fed_until_refused(b"GET / HTTP/1.1\r\n", b"A: 1\r\n")
    assert status == 431 and fed == 16 + 5 * 6  # the fifth field line, long before 256 bytes


def test_body_too_large_is_413_before_any_body_byte():
    fed, status = _bytes_fed_until_refused(post(b"Content-Length: 1000\r\n", b""), b"x")
    assert (fed, status) == (len(post(b"Content-Length: 1000\r\n", b"")), 413)


def test_chunk_too_large_is_413_before_its_data():
    head = post(CHUNKED, b"")
    assert _bytes_fed_until_refused(head + b"21\r\n", b"x") == (len(head) + 4, 413)


def test_endless_chunk_size_line_is_400():
    assert _bytes_fed_until_refused(post(CHUNKED, b""), b"0")[1] == 400


def test_tls_handshake_is_refused_at_its_first_byte():
    assert _bytes_fed_until_refused(b"\x16\x03\x01", b"\x00") == (1, 400)


def test_endless_trailer_is_431():
    assert _bytes_fed_until_refused(post(CHUNKED, b"0\r\nT: "), b"a")[1] == 431


def test_default_limits_refuse_a_huge_request_line_with_414():
    outcome = feed([b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"])
    assert outcome.status == 414


def test_request_line_longer_than_the_head_limit_is_414_in_every_chunking():
    limits = Limits(max_request_line=500, max_head_bytes=100)
    for label, pieces in chunkings(get("/" + "a" * 200)):
        assert feed(pieces, limits).status == 414, label


# -- behaviour that is not a single vector ----------------------------------------

def test_lone_newline_is_ignored_and_does_not_hang():
    parser = RequestParser()
    for _ in range(1000):
        parser.receive_data(b"\n")
        assert parser.next_request() is None
    assert parser.buffered_bytes == 0 and not parser.in_progress
    parser.receive_data(get("/"))
    assert parser.next_request().target == "/"


def test_lone_carriage_return_waits_for_its_line_feed():
    parser = RequestParser()
    parser.receive_data(b"\r")
    assert parser.next_request() is None and not parser.in_progress
    parser.receive_data(b"\n" + get("/x"))
    assert parser.next_request().target == "/x"


def test_empty_input_needs_more_data():
    parser = RequestParser()
    assert parser.next_request() is None
    parser.receive_data(b"")
    assert parser.next_request() is None and not parser.in_progress


def test_partial_request_is_in_progress():
    parser = RequestParser()
    parser.receive_data(b"GET / HT")
    assert parser.next_request() is None and parser.in_progress


def test_waiting_for_a_body_is_in_progress():
    parser = RequestParser()
    parser.receive_data(post(b"Content-Length: 5\r\n", b"ab"))
    assert parser.next_request() is None and parser.in_progress
    parser.receive_data(b"cde")
    assert parser.next_request().body == b"abcde"
    assert not parser.in_progress


def test_error_is_sticky_and_drops_the_buffer():
    parser = RequestParser()
    parser.receive_data(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n" + get("/next"))
    with pytest.raises(HTTPError) as first:
        parser.next_request()
    assert first.value.status == 400 and parser.buffered_bytes == 0
    parser.receive_data(get("/more"))
    with pytest.raises(HTTPError) as again:
        parser.next_request()
    assert again.value is first.value


def test_expect_100_continue_sets_expects_continue_until_the_body_arrives():
    parser = RequestParser()
    parser.receive_data(post(b"Content-Length: 3\r\nExpect: 100-Continue\r\n", b""))
    assert parser.next_request() is None
    assert parser.expects_continue
    parser.receive_data(b"abc")
    assert parser.next_request().body == b"abc"
    assert not parser.expects_continue


def test_expect_100_continue_in_a_list_with_empty_elements_sets_expects_continue_in_every_chunking():
    for label, pieces in chunkings(post(b"Content-Length: 3\r\nExpect: 100-continue,\r\n", b"")):
        outcome = feed(pieces)
        assert outcome.error is None and not outcome.requests, label
        assert outcome.parser.expects_continue, label


def test_expect_100_continue_with_chunked_body_sets_expects_continue():
    parser = RequestParser()
    parser.receive_data(post(CHUNKED + b"Expect: 100-continue\r\n", b""))
    assert parser.next_request() is None and parser.expects_continue


def test_expect_100_continue_without_a_body_does_not_expect_continue():
    parser = RequestParser()
    parser.receive_data(get("/", b"Expect: 100-continue"))
    assert parser.next_request() is not None
    assert not parser.expects_continue


def test_expect_100_continue_in_http10_does_not_expect_continue():
    parser = RequestParser()
    parser.receive_data(b"POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
    assert parser.next_request() is None and not parser.expects_continue


def test_bad_target_is_refused_before_the_body_arrives():
    parser = RequestParser()
    parser.receive_data(b"POST /%zz HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n")
    with pytest.raises(HTTPError) as error:
        parser.next_request()
    assert error.value.status == 400


def test_client_address_reaches_the_request():
    parser = RequestParser(client="127.0.0.1:5000")
    parser.receive_data(get("/"))
    assert parser.next_request().client == "127.0.0.1:5000"


def test_many_pipelined_requests_in_one_read():
    parser = RequestParser()
    parser.receive_data(b"".join(get(f"/{i}") for i in range(500)))
    targets = []
    while (request := parser.next_request()) is not None:
        targets.append(request.target)
    assert targets == [f"/{i}" for i in range(500)]


def test_keep_alive_follows_version_and_connection():
    outcome = feed([get("/", b"Connection: close") + get("/")
                    + b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"])
    assert [r.keep_alive for r in outcome.requests] == [False, True, False, True]


def test_byte_by_byte_feeding_of_a_large_head_does_not_rescan():
    # 60 KB fed byte by byte: with rescanning this is quadratic (~1.8e9 byte
    # comparisons); with a remembered scan position it takes well under a second.
    import time
    raw = get("/", *[b"X-%d: %s" % (i, b"v" * 600) for i in range(95)])
    started = time.perf_counter()
    outcome = feed([raw[i:i + 1] for i in range(len(raw))])
    assert outcome.error is None and len(outcome.requests) == 1
    assert time.perf_counter() - started < 5


# The method of a request the parser refused, once its request line was read: a response to
# HEAD carries no content (RFC 9110 §9.3.2), so the server must know it even for an error.
FAILED_AFTER_THE_REQUEST_LINE = [
    ("bad_host", get("/", method="HEAD", host=b"a b")),
    ("field_without_colon", get("/", b"No colon", method="HEAD")),
    ("body_too_large", get("/", b"Content-Length: 99999999", method="HEAD")),
    ("bad_chunked_framing", get("/", b"Transfer-Encoding: chunked", method="HEAD") + b"2\r\nabXX"),
    ("bad_target", get("/%zz", method="HEAD")),
]


@pytest.mark.parametrize("name, raw", FAILED_AFTER_THE_REQUEST_LINE, ids=[n for n, _ in FAILED_AFTER_THE_REQUEST_LINE])
def test_the_parser_names_the_failed_method_in_every_chunking(name, raw):
    for label, pieces in chunkings(raw):
        outcome = feed(pieces, Limits(max_body_bytes=1000))
        assert outcome.error is not None, label
        assert outcome.parser.method == "HEAD", label


def test_the_failed_method_is_unknown_before_the_request_line_and_cleared_after_a_request():
    assert feed([b"GARBAGE\r\n\r\n"]).parser.method is None
    outcome = feed([get("/") + b"HEAD /x HTTP/1.1\r\n"])
    assert [r.method for r in outcome.requests] == ["GET"]
    assert outcome.parser.method == "HEAD"  # the next head is under way (a 408 would answer it)
    assert feed([get("/")]).parser.method is None
