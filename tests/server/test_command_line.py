"""The command line of httpd.py: defaults, short and long options, the JSON config file (and that the
command line wins over it), the access log, and bad arguments (one line on stderr, exit status 2).
"""

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from otuserver.runner import HTTPD, REPO_ROOT, ServerProcess
from tests.conftest import child_pids
from tests.server.rawhttp import fetch

# nginx's "combined" format:
# $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
COMBINED = re.compile(
    r'^(?P<addr>\S+) - (?P<user>\S+) \[(?P<time>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] '
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\d+) '
    r'"(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"$')


def run_httpd(*args: str, timeout: float = 10) -> subprocess.CompletedProcess:
    """Run httpd.py with arguments expected to make it exit at once."""
    return subprocess.run([sys.executable, str(HTTPD), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=REPO_ROOT)


def assert_bad_argument(result: subprocess.CompletedProcess, one_line: bool = True) -> None:
    """Exit status 2, no traceback, nothing on stdout; one line on stderr for the cases the issue names
    (an option the parser itself rejects may be preceded by argparse's usage line)."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert "listening on" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= (1 if one_line else 2), f"expected one clear line on stderr, got: {result.stderr!r}"


def wait_for_lines(read, count: int, within: float = 3.0) -> list[str]:
    deadline = time.monotonic() + within
    while True:
        lines = [line for line in read().splitlines() if line.strip()]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_no_arguments_serves_docroot_on_port_8080_with_one_worker_per_cpu(tmp_path):
    if not port_is_free(8080):
        pytest.skip("port 8080 is taken on this machine")
    srv = ServerProcess([], tmp_path / "httpd.log").wait_ready()
    try:
        assert (srv.host, srv.port) == ("127.0.0.1", 8080)
        r = fetch(srv, "GET", "/")
        assert r.status == 200 and r.body == (REPO_ROOT / "docroot" / "index.html").read_bytes()
        assert len(child_pids(srv.pid)) == sys.modules["os"].cpu_count()
    finally:
        assert srv.stop() == 0


def test_short_options_set_workers_root_and_port(docroot, tmp_path):
    srv = ServerProcess(["-w", "1", "-r", str(docroot), "-p", "0"], tmp_path / "httpd.log").wait_ready()
    try:
        assert fetch(srv, "GET", "/t/one.txt").body == b"first\n"
        assert len(child_pids(srv.pid)) == 1
    finally:
        assert srv.stop() == 0


@pytest.mark.parametrize("flag", ["-config", "-c", "--config"])
def test_config_file_sets_the_long_options(flag, docroot, tmp_path):
    config = tmp_path / "httpd.json"
    config.write_text(json.dumps({"port": 0, "workers": 1, "root": str(docroot), "access-log": "off"}))
    srv = ServerProcess([flag, str(config)], tmp_path / "httpd.log").wait_ready()
    try:
        assert fetch(srv, "GET", "/t/one.txt").body == b"first\n"
        assert len(child_pids(srv.pid)) == 1
        time.sleep(0.3)
        assert srv.log().strip() == "", "access-log: off in the config file was not honoured"
    finally:
        assert srv.stop() == 0


def test_command_line_wins_over_the_config_file(docroot, tmp_path):
    config = tmp_path / "httpd.json"
    config.write_text(json.dumps({"port": 0, "workers": 3, "root": str(tmp_path / "nowhere")}))
    srv = ServerProcess(["--config", str(config), "--workers", "1", "--root", str(docroot)],
                        tmp_path / "httpd.log").wait_ready()
    try:
        assert fetch(srv, "GET", "/t/one.txt").body == b"first\n"
        assert len(child_pids(srv.pid)) == 1
    finally:
        assert srv.stop() == 0


def test_keepalive_timeout_can_come_from_the_config_file(docroot, tmp_path):
    from tests.server.rawhttp import Connection
    config = tmp_path / "httpd.json"
    config.write_text(json.dumps({"port": 0, "workers": 1, "root": str(docroot), "keepalive-timeout": 1}))
    srv = ServerProcess(["-c", str(config)], tmp_path / "httpd.log").wait_ready()
    try:
        with Connection(srv) as conn:
            assert conn.request("GET", "/t/one.txt").status == 200
            assert conn.closed_by_server(within=3)
    finally:
        assert srv.stop() == 0


def test_missing_root_is_a_bad_argument(tmp_path):
    assert_bad_argument(run_httpd("--port", "0", "--root", str(tmp_path / "no-such-dir")))


def test_root_that_is_a_file_is_a_bad_argument(tmp_path):
    (tmp_path / "file").write_text("x")
    assert_bad_argument(run_httpd("--port", "0", "--root", str(tmp_path / "file")))


def test_port_in_use_is_a_bad_argument(docroot):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_bad_argument(run_httpd("--port", str(port), "--root", str(docroot)))


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_workers_below_one_is_a_bad_argument(workers, docroot):
    assert_bad_argument(run_httpd("--port", "0", "--root", str(docroot), "--workers", workers))


def test_workers_not_a_number_is_a_bad_argument(docroot):
    assert_bad_argument(run_httpd("--port", "0", "--root", str(docroot), "--workers", "many"), one_line=False)


def test_unreadable_config_is_a_bad_argument(tmp_path):
    assert_bad_argument(run_httpd("--config", str(tmp_path / "missing.json")))


def test_config_directory_is_a_bad_argument(tmp_path):
    assert_bad_argument(run_httpd("--config", str(tmp_path)))


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"workers": "two"}', '{"no-such-option": 1}'])
def test_invalid_config_is_a_bad_argument(text, tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(text)
    assert_bad_argument(run_httpd("--config", str(config)))


def test_unknown_option_is_a_bad_argument():
    assert_bad_argument(run_httpd("--no-such-option"), one_line=False)


@pytest.mark.parametrize("port", ["70000", "-5", "http"])
def test_invalid_port_is_a_bad_argument(port, docroot):
    assert_bad_argument(run_httpd("--port", port, "--root", str(docroot)), one_line=port != "http")


@pytest.mark.parametrize("host", ["", " "])
def test_an_empty_host_is_a_bad_argument_not_every_interface(host, docroot):
    # bind(("", port)) listens on every interface: a server meant for loopback would be on the network.
    result = run_httpd("--host", host, "--port", "0", "--root", str(docroot))
    assert_bad_argument(result)
    assert "--host must not be empty" in result.stderr


def test_access_log_goes_to_stderr_in_combined_format_by_default(server_factory):
    srv = server_factory(workers=1)
    fetch(srv, "GET", "/t/one.txt?x=1", headers={"Referer": "http://example.test/from",
                                                  "User-Agent": "otu-test/1.0 (\"quoted\")"})
    fetch(srv, "HEAD", "/t/two.txt")
    fetch(srv, "GET", "/missing.html", version="HTTP/1.0", host=None)
    lines = wait_for_lines(srv.log, 3)
    assert len(lines) == 3, lines
    parsed = [COMBINED.match(line) for line in lines]
    assert all(parsed), lines
    first, second, third = (m.groupdict() for m in parsed)
    assert first["addr"] == "127.0.0.1" and first["user"] == "-"
    assert first["request"] == "GET /t/one.txt?x=1 HTTP/1.1"
    assert (first["status"], first["bytes"]) == ("200", "6")
    assert first["referer"] == "http://example.test/from"
    assert first["agent"] in ('otu-test/1.0 (\\"quoted\\")', 'otu-test/1.0 (\\x22quoted\\x22)')
    assert (second["request"], second["status"], second["bytes"]) == ("HEAD /t/two.txt HTTP/1.1", "200", "0")
    assert (third["request"], third["status"], third["referer"], third["agent"]) == (
        "GET /missing.html HTTP/1.0", "404", "-", "-")


def test_access_log_path_writes_to_that_file(server_factory, tmp_path):
    log = tmp_path / "access.log"
    srv = server_factory(workers=1, extra_args=["--access-log", str(log)])
    fetch(srv, "GET", "/t/one.txt")
    lines = wait_for_lines(lambda: log.read_text() if log.exists() else "", 1)
    assert len(lines) == 1 and COMBINED.match(lines[0]), lines
    assert '"GET /t/one.txt HTTP/1.1" 200 6' in lines[0]
    assert srv.stop() == 0
    assert "GET /t/one.txt" not in srv.log()


def test_access_log_off_writes_nothing(server_factory):
    srv = server_factory(workers=1, extra_args=["--access-log", "off"])
    for _ in range(3):
        assert fetch(srv, "GET", "/t/one.txt").status == 200
    time.sleep(0.3)
    assert srv.stop() == 0
    assert srv.log().strip() == ""


def test_access_log_records_malformed_requests_without_crashing(server_factory):
    srv = server_factory(workers=1)
    from tests.server.rawhttp import Connection
    with Connection(srv) as conn:
        conn.send(b"\x16\x03\x01 not http\r\n\r\n")
        conn.read_until_close()
    assert fetch(srv, "GET", "/t/one.txt").status == 200
    lines = wait_for_lines(srv.log, 1)
    assert "Traceback" not in srv.log()
    assert all(COMBINED.match(line) for line in lines), lines


def test_request_limits_come_from_the_command_line(server_factory):
    srv = server_factory(workers=1, extra_args=["--max-request-line", "40", "--max-head", "200",
                                                "--max-header-fields", "3", "--max-body", "10"])
    assert fetch(srv, "GET", "/" + "a" * 60).status == 414
    assert fetch(srv, "GET", "/", headers=[("X-A", "1"), ("X-B", "2"), ("X-C", "3")]).status == 431
    assert fetch(srv, "GET", "/", headers=[("X-Long", "v" * 250)]).status == 431
    body = b'{"score": 12345678}'
    assert fetch(srv, "POST", "/api/scores", body=body, headers=[
        ("Content-Type", "application/json"), ("Content-Length", str(len(body)))]).status == 413
    assert fetch(srv, "GET", "/").status == 200


@pytest.mark.parametrize("option", ["--keepalive-timeout", "--request-timeout", "--send-timeout",
                                    "--graceful-timeout", "--timeout"])
def test_a_timeout_that_is_not_a_number_is_a_bad_argument(option, docroot, tmp_path):
    # float("nan") parses, and NaN <= 0 is false: a NaN timeout would never expire, so a stuck
    # worker, an idle connection or a graceful stop would wait for ever.
    result = run_httpd("--port", "0", "--root", str(docroot), "--workers", "1", "--db", str(tmp_path / "x.sqlite3"),
                       option, "nan", timeout=5)
    assert_bad_argument(result)
    assert option in result.stderr


@pytest.mark.parametrize("bad", [{"port": 0.5}, {"workers": 1.5}, {"max-body": 1e400}, {"keepalive-timeout": float("nan")}],
                         ids=["port 0.5", "workers 1.5", "max-body 1e400", "keepalive-timeout NaN"])
def test_a_number_in_the_config_file_that_its_option_cannot_take_is_a_bad_argument(bad, docroot, tmp_path):
    # int(0.5) is 0 and int(1.5) is 1: truncated in silence, {"port": 1.5} listened on port 1.
    config = tmp_path / "httpd.json"
    config.write_text(json.dumps({"port": 0, "workers": 1, "root": str(docroot), "access-log": "off",
                                  "db": str(tmp_path / "x.sqlite3"), **bad}))
    result = run_httpd("--config", str(config), timeout=5)
    assert_bad_argument(result)
    assert next(iter(bad)) in result.stderr


@pytest.mark.parametrize("kind", ["a-directory", "a-text-file"])
def test_a_database_path_that_cannot_be_used_is_a_bad_argument(docroot, tmp_path, kind):
    # The API opened its SQLite file lazily, in each worker: the server started, said it was
    # listening, and answered every /api/ request with a 500.
    db = tmp_path / "scores.sqlite3"
    if kind == "a-directory":
        db.mkdir()
    else:
        db.write_text("this is a text file, not a SQLite database\n" * 20)
    result = run_httpd("--port", "0", "--root", str(docroot), "--workers", "1", "--db", str(db), timeout=5)
    assert_bad_argument(result)
    assert f"cannot use database {db}" in result.stderr


@pytest.mark.parametrize("kind", ["in-a-missing-folder", "under-a-file", "a-directory", "not-writable"])
def test_an_access_log_that_cannot_be_opened_for_append_is_a_bad_argument(docroot, tmp_path, kind):
    # It was opened first in each worker: the server forked, the worker could not boot, and the
    # whole thing exited 1 with the worker's traceback, unlike every other bad argument.
    # "not-writable" cannot fail for root (CI runs as root); "under-a-file" (ENOTDIR) fails for anyone.
    log = tmp_path / "access.log"
    if kind == "in-a-missing-folder":
        log = tmp_path / "no-such-folder" / "access.log"
    elif kind == "under-a-file":
        (tmp_path / "a-file").write_text("")
        log = tmp_path / "a-file" / "access.log"
    elif kind == "a-directory":
        log.mkdir()
    else:
        if os.geteuid() == 0:
            pytest.skip("root may write a file whatever its mode")
        log.write_text("")
        log.chmod(0o444)
    result = run_httpd("--port", "0", "--root", str(docroot), "--workers", "1", "--access-log", str(log),
                       "--db", str(tmp_path / "scores.sqlite3"), timeout=5)
    assert_bad_argument(result)
    assert f"cannot open access log {log}" in result.stderr
