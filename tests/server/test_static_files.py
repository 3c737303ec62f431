"""Static files from a real httpd.py: status codes, headers, paths, Content-Types and escapes from the root.

Each test talks raw HTTP/1.1 to the session server (2 workers) on a temporary document root laid out by
tests/conftest.py:build_docroot. Outside that root lies secret.txt; no answer may ever contain it.
"""

import email.utils
import os
import re
import time
from urllib.parse import quote

import pytest

from tests.conftest import SECRET_TEXT, TYPE_SAMPLES, UTF8_BODY, UTF8_NAME
from tests.server.rawhttp import Connection, fetch

# RFC 9110 §5.6.7: IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT
IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
                         r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$")


def get(server, target, method="GET", **kwargs):
    return fetch(server, method, target, **kwargs)


def test_get_of_a_file_returns_its_bytes_with_length_and_type(server, docroot):
    r = get(server, "/t/hello.txt")
    assert r.status == 200
    assert r.body == (docroot / "t" / "hello.txt").read_bytes()
    assert r.header("Content-Length") == str(len(r.body))
    assert r.header("Content-Type").startswith("text/plain")


def test_every_response_carries_date_server_and_connection(server):
    for method, target, expected in [("GET", "/t/hello.txt", 200), ("GET", "/missing.html", 404),
                                     ("POST", "/t/hello.txt", 405), ("HEAD", "/t/hello.txt", 200),
                                     ("GET", "/bad-escape-%zz", 400)]:
        r = get(server, target, method=method)
        assert r.status == expected, (method, target)
        assert {"date", "server", "connection"} <= r.header_names, (method, target, r.headers)


def test_date_header_is_a_current_imf_fixdate(server):
    r = get(server, "/t/hello.txt")
    date = r.header("Date")
    assert IMF_FIXDATE.match(date), date
    assert abs(email.utils.parsedate_to_datetime(date).timestamp() - time.time()) < 5


def test_server_header_is_not_empty(server):
    assert get(server, "/").header("Server").strip()


def test_root_path_serves_index_html_of_the_docroot(server, docroot):
    r = get(server, "/")
    assert r.status == 200
    assert r.body == (docroot / "index.html").read_bytes()
    assert r.header("Content-Type") == "text/html"


def test_directory_with_trailing_slash_serves_its_index_html(server, docroot):
    r = get(server, "/t/with-index/")
    assert r.status == 200
    assert r.body == (docroot / "t" / "with-index" / "index.html").read_bytes()


def test_directory_without_index_html_returns_404(server):
    assert get(server, "/t/no-index/").status == 404


def test_missing_file_returns_404(server):
    r = get(server, "/t/does-not-exist.html")
    assert r.status == 404
    assert SECRET_TEXT not in r.body


def test_file_path_with_trailing_slash_returns_404(server):
    assert get(server, "/t/page.html/").status == 404


@pytest.mark.parametrize("target", ["/t/page.html/.", "/t/page.html/./", "/t/x/../page.html/"])
def test_dot_segments_are_removed_before_the_trailing_slash_rule(server, target):
    # RFC 3986 §5.2.4: "/t/page.html/." is "/t/page.html/", which names no file.
    assert get(server, target).status == 404


def test_dot_segments_inside_the_root_resolve_to_the_file(server, docroot):
    r = get(server, "/t/./x/../page.html")
    assert r.status == 200
    assert r.body == (docroot / "t" / "page.html").read_bytes()


def test_query_string_is_ignored(server, docroot):
    r = get(server, "/t/page.html?arg1=value&arg2=%2F..%2F")
    assert r.status == 200
    assert r.body == (docroot / "t" / "page.html").read_bytes()


def test_percent_encoded_path_is_decoded(server, docroot):
    r = get(server, "/t/%70%61%67%65%2E%68%74%6D%6C")
    assert r.status == 200
    assert r.body == (docroot / "t" / "page.html").read_bytes()


def test_utf8_file_name_is_served_when_percent_encoded(server):
    r = get(server, "/t/" + quote(UTF8_NAME))
    assert r.status == 200
    assert r.body == UTF8_BODY


def test_percent_decoding_happens_only_once(server):
    # %2570 decodes once to "%70"; a second decoding would wrongly find "page.html".
    assert get(server, "/t/%2570age.html").status == 404


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_head_and_get_send_identical_headers_and_head_sends_no_body(server, method):
    with Connection(server) as conn:
        head = conn.request("HEAD", "/t/page.html")
        got = conn.request("GET", "/t/page.html")
        # If HEAD had sent a body, it would show up here, in front of the next response.
        third = conn.request(method, "/t/hello.txt")
    assert head.status == got.status == third.status == 200
    assert head.body == b""
    strip_date = lambda r: [(k.lower(), v) for k, v in r.headers if k.lower() != "date"]
    assert strip_date(head) == strip_date(got)
    assert int(head.header("Content-Length")) == len(got.body) > 0


def test_head_of_a_missing_file_returns_404_without_body(server):
    with Connection(server) as conn:
        assert conn.request("HEAD", "/nope.html").status == 404
        assert conn.request("GET", "/t/hello.txt").body == b"hello, world\n"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"])
def test_other_methods_on_static_paths_return_405_with_allow(server, method):
    r = get(server, "/t/page.html", method=method)
    assert r.status == 405
    assert r.header("Allow") == "GET, HEAD"


def test_405_for_a_missing_path_still_names_allowed_methods(server):
    r = get(server, "/t/missing.html", method="DELETE")
    assert r.status in (404, 405)
    if r.status == 405:
        assert r.header("Allow") == "GET, HEAD"


@pytest.mark.parametrize("target", [
    "/../secret.txt",
    "/t/../../secret.txt",
    "/t/../../../../../../../../etc/passwd",
    "/%2e%2e/secret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/t/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/t/..%2f..%2fsecret.txt",
    "/t/..%5c..%5csecret.txt",
    "/..%2Fsecret-dir/",
    "/t/hello.txt%00.html",
    "/t/hello.txt%00",
    "/%00",
    "/t/escape.txt",
    "/t/escape-dir/",
    "/t/escape-dir/index.html",
    "/t/%65scape.txt",
])
def test_nothing_outside_the_root_is_ever_served(server, target):
    r = get(server, target)
    assert r.status in (400, 403, 404), (target, r.status)
    assert SECRET_TEXT not in r.body
    assert b"root:" not in r.body


def test_dot_dot_that_stays_inside_the_root_does_not_leak(server):
    r = get(server, "/t/no-index/../hello.txt")
    # Either normalised and served, or refused -- but never anything from outside.
    assert r.status in (200, 403, 404)
    if r.status == 200:
        assert r.body == b"hello, world\n"


def test_absolute_form_and_asterisk_targets_do_not_crash_the_worker(server):
    for target in ["*", "http://localhost/t/hello.txt", "t/hello.txt"]:
        r = get(server, target)
        assert 200 <= r.status < 500, target
    assert get(server, "/t/hello.txt").status == 200


@pytest.mark.parametrize("name, expected", [
    ("/httptest/dir2/page.html", "text/html"),
    ("/httptest/splash.css", "text/css"),
    ("/httptest/jquery-1.9.1.js", "application/javascript"),
    ("/httptest/160313.jpg", "image/jpeg"),
    ("/httptest/ef35c.jpeg", "image/jpeg"),
    ("/httptest/logo.v2.png", "image/png"),
    ("/httptest/pic_ask.gif", "image/gif"),
    ("/httptest/b16261023.swf", "application/x-shockwave-flash"),
    ("/favicon.ico", "image/x-icon"),
] + [("/t/types/" + name, media) for name, media in TYPE_SAMPLES.items()])
def test_content_type_comes_from_our_table(server, name, expected):
    r = get(server, name, method="HEAD")
    assert r.status == 200
    if expected == "image/x-icon":
        assert r.header("Content-Type") in ("image/x-icon", "image/vnd.microsoft.icon")
    elif expected.startswith("text/plain"):
        assert r.header("Content-Type").split(";")[0] == expected
    else:
        assert r.header("Content-Type") == expected


def test_large_binary_file_arrives_byte_exact(server, docroot):
    r = get(server, "/t/big.bin")
    assert r.status == 200
    assert r.header("Content-Type") == "application/octet-stream"
    assert r.body == (docroot / "t" / "big.bin").read_bytes()


def test_root_given_through_a_symlink_still_serves_its_files(server_factory, docroot, tmp_path):
    # The root is resolved once; files under it must not look "outside" just because the path differs.
    link = tmp_path / "root-link"
    link.symlink_to(docroot, target_is_directory=True)
    srv = server_factory(root=link, workers=1)
    assert get(srv, "/t/hello.txt").status == 200
    r = get(srv, "/t/escape.txt")
    assert r.status in (403, 404) and SECRET_TEXT not in r.body


def test_fifo_in_the_root_is_refused_without_blocking_the_worker(server_factory, tmp_path):
    # Only regular files are served. open() on a FIFO waits for a writer: it must never be reached.
    root = tmp_path / "root"
    root.mkdir()
    (root / "ok.txt").write_bytes(b"ok\n")
    os.mkfifo(root / "pipe.txt")
    srv = server_factory(root=root, workers=1, extra_args=["--graceful-timeout", "1"])
    with Connection(srv, timeout=3) as conn:
        r = conn.request("GET", "/pipe.txt")
        assert r.status in (403, 404)
    start = time.monotonic()
    assert fetch(srv, "GET", "/ok.txt").body == b"ok\n"
    assert time.monotonic() - start < 1.0


def test_directory_without_its_slash_is_redirected_keeping_the_query(server):
    r = get(server, "/t/with-index?x=1&y=%20")
    assert r.status == 301
    assert r.header("Location") == "/t/with-index/?x=1&y=%20"
    assert int(r.header("Content-Length")) == len(r.body)


@pytest.mark.parametrize("target", [
    "//t/with-index",
    "//evil.example/../t/with-index",
    "//evil.example/%2e%2e/t/with-index",
    "/%2Fevil.example/../t/with-index",
    "/%5Cevil.example/../t/with-index",
    "/t/./x/../with-index",
])
def test_redirect_to_a_directory_names_the_path_that_was_resolved_and_stays_on_this_site(server, target):
    # A Location starting "//" is a network-path reference (RFC 3986 §4.2): the client would
    # leave for the host named after it (an open redirect). Browsers read a backslash as "/" there too.
    r = get(server, target)
    assert r.status == 301
    assert r.header("Location") == "/t/with-index/"


REDIRECTED_NAMES = [
    ("100%", "/100%25/?k=v"),        # a bare % would start a percent-escape
    ("q?x", "/q%3Fx/?k=v"),          # a bare ? would start the query: /q, not /q?x/
    ("h#x", "/h%23x/?k=v"),          # a bare # would start a fragment
    ("ü dir", "/%C3%BC%20dir/?k=v"),
    ("a@b:c;d=e", "/a@b:c;d=e/?k=v"),  # pchar allows these as they are (RFC 3986 §3.3)
]


def test_redirect_to_a_directory_re_encodes_its_decoded_name(server_factory, tmp_path):
    # RFC 9110 §10.2.2: Location is a URI-reference, so the decoded name goes back to pchar form
    # (RFC 3986 §3.3), else the client follows it to another resource or an invalid URI.
    root = tmp_path / "root"
    for name, _ in REDIRECTED_NAMES:
        (root / name).mkdir(parents=True)
        (root / name / "index.html").write_bytes(b"<p>index of " + name.encode() + b"</p>\n")
    srv = server_factory(root=root, workers=1)
    for name, location in REDIRECTED_NAMES:
        r = get(srv, quote("/" + name, safe="/@:;=") + "?k=v")
        assert (r.status, r.header("Location")) == (301, location), name
        assert get(srv, location).body == b"<p>index of " + name.encode() + b"</p>\n", name


def test_a_directory_named_index_html_is_404_not_an_endless_redirect(server_factory, tmp_path):
    # /x/ maps to x/index.html; when that is a directory, "add the slash" would send the client
    # to /x//, then /x///, and so on: a path that ends in "/" already is never redirected.
    root = tmp_path / "root"
    (root / "x" / "index.html").mkdir(parents=True)
    srv = server_factory(root=root, workers=1)
    for target in ["/x/", "/x//"]:
        r = get(srv, target)
        assert r.status == 404 and r.header("Location") is None, target
