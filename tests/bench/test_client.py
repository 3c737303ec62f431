"""otuserver.bench.client: the harness's own HTTP/1.1 client, against a real httpd.py and a scripted peer.

The real server (the session's, read-only) shows keep-alive reuse, a JSON POST to the API, a 404,
HEAD, a multi-megabyte body and Connection: close. Framings our server never sends -- chunked,
read-until-close, a malformed status line, silence -- come from a one-shot socket peer that answers
with canned bytes.
"""

import json
import socket
import threading

import pytest

from otuserver.bench.client import Client, ResponseError
from tests.conftest import UTF8_BODY


@pytest.fixture
def client(server):
    with Client(server.base_url, timeout_s=10) as c:
        yield c


def test_several_requests_share_one_keep_alive_connection(client):
    local = None
    for name, body in (("one", b"first\n"), ("two", b"second!\n"), ("three", b"third!!!\n")):
        status, headers, got = client.request("GET", f"/t/{name}.txt")
        assert (status, got) == (200, body)
        assert headers["content-length"] == str(len(body))
        local = local or client._sock.getsockname()
        assert client._sock.getsockname() == local
    assert client.connections_opened == 1


def test_post_json_to_scores_returns_201_and_the_new_resource(client):
    status, headers, body = client.request("POST", "/api/scores", json.dumps({"score": 2.5}).encode(),
                                           [("Content-Type", "application/json")])
    assert status == 201, body
    assert headers["content-type"].startswith("application/json")
    created = json.loads(body)
    assert created["score"] == 2.5
    status, _, body = client.request("GET", headers["location"])
    assert status == 200 and json.loads(body) == created
    assert client.connections_opened == 1


def test_post_with_a_bad_field_returns_400(client):
    status, _, body = client.request("POST", "/api/scores", b'{"score": "high"}',
                                     [("Content-Type", "application/json")])
    assert status == 400 and b"score" in body


def test_missing_file_returns_404_and_the_connection_stays_usable(client):
    status, headers, body = client.request("GET", "/t/no-such-file.txt")
    assert status == 404 and len(body) == int(headers["content-length"])
    assert client.request("GET", "/t/hello.txt").body == b"hello, world\n"
    assert client.connections_opened == 1


def test_head_has_no_body_and_the_next_response_is_read_whole(client):
    status, headers, body = client.request("HEAD", "/t/hello.txt")
    assert (status, body, headers["content-length"]) == (200, b"", "13")
    assert client.request("GET", "/t/two.txt").body == b"second!\n"
    assert client.connections_opened == 1


def test_a_body_of_many_reads_arrives_intact(client):
    status, _, body = client.request("GET", "/t/big.bin")
    assert status == 200 and body == bytes(range(256)) * 16384


def test_percent_encoded_path_is_sent_as_given(client):
    path = "/t/%D1%84%D0%B0%D0%B9%D0%BB%20%D1%81%20%D0%BF%D1%80%D0%BE%D0%B1%D0%B5%D0%BB%D0%BE%D0%BC.txt"
    status, _, body = client.request("GET", path)
    assert (status, body) == (200, UTF8_BODY)


def test_connection_close_makes_the_next_request_reconnect(client):
    assert client.request("GET", "/t/one.txt", headers=[("Connection", "close")]).status == 200
    assert client._sock is None
    assert client.request("GET", "/t/one.txt").status == 200
    assert client.connections_opened == 2


def test_ipv6_loopback_server_is_reached_with_a_bracketed_host(server_factory):
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    srv = server_factory(workers=1, host="::1")
    with Client(srv.base_url) as client:
        assert client.host_header == f"[::1]:{srv.port}"
        for _ in range(2):
            status, _, body = client.request("GET", "/t/hello.txt")
            assert (status, body) == (200, b"hello, world\n")
        assert client.connections_opened == 1


@pytest.mark.parametrize("base_url", ["http://example.com:80", "http://10.0.0.1:80", "https://127.0.0.1:443",
                                      "http://127.0.0.1", "127.0.0.1:80"])
def test_anything_but_a_loopback_http_url_is_refused(base_url):
    with pytest.raises(ValueError):
        Client(base_url)


def test_cr_or_lf_in_a_header_is_refused_before_anything_is_sent():
    client = Client("http://127.0.0.1:9")
    with pytest.raises(ValueError):
        client.request("GET", "/", headers=[("X-A", "1\r\nX-B: 2")])
    assert client.connections_opened == 0


# -- a scripted peer, for what our server never sends ----------------------------------------------

@pytest.fixture
def scripted():
    """Start a one-connection peer that reads one request head, sends `answer`, and maybe closes."""
    listeners = []

    def start(answer: bytes, close: bool = True) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def serve():
            conn, _ = listener.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                conn.sendall(answer)
                if not close:
                    conn.recv(1)            # hold the connection until the client gives up
        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for listener in listeners:
        listener.close()


def test_chunked_body_with_extensions_and_trailers_is_decoded(scripted):
    url = scripted(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n", close=False)
    with Client(url, timeout_s=2) as client:
        response = client.request("GET", "/")
        assert (response.status, response.body) == (200, b"hello, world")
        assert client._sock is not None            # chunked framing ends the body: the connection stays


def test_http_1_0_without_length_reads_to_close_and_then_reconnects(scripted):
    url = scripted(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
    with Client(url, timeout_s=2) as client:
        assert client.request("GET", "/").body == b"until the end"
        assert client._sock is None


def test_interim_100_continue_is_skipped(scripted):
    url = scripted(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", close=False)
    with Client(url, timeout_s=2) as client:
        assert client.request("POST", "/", b"x") == (204, {}, b"")


@pytest.mark.parametrize("answer", [b"HTTP/2 200 OK\r\n\r\n", b"200 OK\r\n\r\n",
                                    b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
                                    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])
def test_a_malformed_response_raises_and_closes(scripted, answer):
    with Client(scripted(answer, close=False), timeout_s=2) as client:
        with pytest.raises(ResponseError):
            client.request("GET", "/")
        assert client._sock is None


def test_a_short_body_raises_connection_error(scripted):
    with Client(scripted(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), timeout_s=2) as client:
        with pytest.raises(ConnectionError):
            client.request("GET", "/")


def test_a_silent_server_raises_timeout_within_the_limit(scripted):
    with Client(scripted(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", close=False), timeout_s=0.3) as client:
        with pytest.raises(TimeoutError):
            client.request("GET", "/")
