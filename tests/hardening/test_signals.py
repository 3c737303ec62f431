"""Operator signals as nginx and gunicorn define them (issue 5, "Faults and operators").

TERM lets responses in flight finish and exits 0; QUIT leaves at once; HUP re-reads the config file,
starts new workers and lets the old ones drain while service goes on; TTIN/TTOU add and remove a
worker; USR1 reopens the access log after logrotate moved it. Each test starts its own server.

One 954 KB response fits whole in the kernel's socket buffers on loopback, so a worker would be done
with it at once; to keep a worker truly busy when the signal lands, the downloads here pipeline six
requests for the page (about 9.5 MB) and read them at a modest pace.
"""

import json
import os
import signal
import time

import pytest

from tests.conftest import child_pids
from tests.hardening.conftest import BIG_TARGET, alive, socket_count, wait_for, workers_of
from tests.hardening.load import ClientLoop
from tests.server.rawhttp import Connection, build_request, fetch

PIPELINED = 10


class SlowConnection(Connection):
    """A client that reads at most 64 KiB per 10 ms (about 6 MB/s): slow-ish, never stalled."""

    def _fill(self) -> bool:
        time.sleep(0.01)
        return super()._fill()


def start_big_downloads(srv) -> SlowConnection:
    conn = SlowConnection(srv, timeout=15)
    conn.send(build_request("GET", BIG_TARGET) * PIPELINED)
    return conn


def read_all_responses(conn: Connection, wanted: int = PIPELINED) -> list:
    """Every response until the server closes the connection, or until `wanted` arrived."""
    responses = []
    while len(responses) < wanted:
        try:
            responses.append(conn.read_response())
        except ConnectionError:
            break
        if (responses[-1].header("Connection") or "").lower() == "close":
            break
    return responses


def assert_whole_and_closed_cleanly(responses, big_bytes) -> None:
    """Each response that arrived is byte-exact; if some were cut, the last one said Connection: close."""
    assert responses, "no response at all"
    for response in responses:
        assert response.status == 200 and response.body == big_bytes
    if len(responses) < PIPELINED:
        assert responses[-1].header("Connection").lower() == "close"


def test_term_lets_a_954kb_download_in_flight_finish_byte_exact_and_exits_0(server_factory, big_bytes):
    srv = server_factory(workers=1)
    with start_big_downloads(srv) as conn:
        first = conn.read_response()
        assert first.body == big_bytes
        srv.proc.send_signal(signal.SIGTERM)       # the worker still has ~8.6 MB to send
        responses = [first] + read_all_responses(conn, PIPELINED - 1)
    assert_whole_and_closed_cleanly(responses, big_bytes)
    assert srv.proc.wait(15) == 0
    assert "Traceback" not in srv.log()


def test_term_while_a_single_954kb_download_is_read_slowly_delivers_every_byte(server_factory, big_bytes):
    srv = server_factory(workers=1)
    with SlowConnection(srv, timeout=15) as conn:
        conn.send(build_request("GET", BIG_TARGET))
        conn._fill()
        srv.proc.send_signal(signal.SIGTERM)
        response = conn.read_response()
        assert response.status == 200 and response.body == big_bytes
    assert srv.proc.wait(15) == 0


def test_quit_stops_promptly_even_with_a_download_and_idle_connections_open(server_factory, big_bytes):
    srv = server_factory(workers=2, extra_args=["--graceful-timeout", "30"])
    workers = workers_of(srv, 2)
    idle = [Connection(srv) for _ in range(5)]
    try:
        with start_big_downloads(srv) as conn:
            conn.read_response()
            started = time.monotonic()
            srv.proc.send_signal(signal.SIGQUIT)
            assert srv.proc.wait(5) == 0
            assert time.monotonic() - started < 3.0     # not the 30 s a graceful stop may take
    finally:
        for c in idle:
            c.close()
    assert wait_for(lambda: not any(alive(pid) for pid in workers), 3)


def write_config(path, **options) -> None:
    path.write_text(json.dumps({name.replace("_", "-"): value for name, value in options.items()}))


def lines_mentioning(path, marker: str) -> int:
    try:
        return path.read_text().count(marker)
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_hup_rereads_the_config_starts_new_workers_and_drains_the_old_without_interruption(
        server_factory, tmp_path, big_bytes):
    config, old_log, new_log = tmp_path / "httpd.json", tmp_path / "old.log", tmp_path / "new.log"
    write_config(config, access_log=str(old_log), keepalive_timeout=5)
    srv = server_factory(workers=2, extra_args=["--config", config])
    old_workers = workers_of(srv, 2)
    download = start_big_downloads(srv)
    first = download.read_response()
    load = ClientLoop(srv, clients=4, total=600, fresh_connections=True).start()
    try:
        assert load.wait_until_done(100, within=30)
        write_config(config, access_log=str(new_log), keepalive_timeout=7)
        srv.proc.send_signal(signal.SIGHUP)
        fresh = wait_for(lambda: (pids := set(child_pids(srv.pid)) - set(old_workers)) and len(pids) == 2, 10)
        assert fresh, f"no new workers: {child_pids(srv.pid)}"
        with download:
            responses = [first] + read_all_responses(download, PIPELINED - 1)
        load.join(within=60)
    finally:
        load.stop()
        download.close()
    assert_whole_and_closed_cleanly(responses, big_bytes)
    assert load.failed == 0, load.errors[:5]
    assert wait_for(lambda: not any(alive(pid) for pid in old_workers), 15), "the old workers never left"
    assert set(workers_of(srv, 2)).isdisjoint(old_workers)

    assert fetch(srv, "GET", "/t/hello.txt?after-hup").status == 200
    assert wait_for(lambda: lines_mentioning(new_log, "after-hup") == 1, 3)
    assert lines_mentioning(old_log, "after-hup") == 0
    with Connection(srv) as conn:                       # the new keep-alive timeout: 7 s, not 5
        assert conn.request("GET", "/t/hello.txt").status == 200
        assert not conn.closed_by_server(within=5.5)


def term_is_pending(pid: int) -> bool:
    """True once SIGTERM has reached the (stopped) process `pid` but its handler has not yet run.

    Either it waits to be delivered, or the kernel took it first and then stopped: with SIGSTOP
    and SIGTERM both pending when the worker gets the CPU, dequeue_signal() picks the lower
    number, 15, sets up its handler's frame (which blocks SIGTERM) and then honours the stop.
    The handler's Python half runs only after SIGCONT either way.
    """
    bit = 1 << (signal.SIGTERM - 1)
    try:
        fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    except OSError:
        return False
    return any(int(fields[name], 16) & bit for name in ("SigPnd", "ShdPnd", "SigBlk"))


def test_request_sent_as_the_graceful_stop_begins_is_answered_not_reset(server_factory):
    # The worker is stopped (SIGSTOP) holding an accepted connection; the request and the TERM then
    # both wait for it, so on SIGCONT it meets them in one turn, in either order. (A connection still
    # in the backlog when a TERM'd worker closes its listener is never accepted, and the kernel resets
    # it, rightly; so the test makes sure ours was accepted first.)
    srv = server_factory(workers=1)
    (worker,) = workers_of(srv, 1)
    with Connection(srv) as conn:
        assert wait_for(lambda: socket_count(worker) == 2, 3)   # the listener and our connection
        os.kill(worker, signal.SIGSTOP)
        try:
            conn.send(build_request("GET", "/t/hello.txt"))
            srv.proc.send_signal(signal.SIGTERM)
            assert wait_for(lambda: term_is_pending(worker), 5)
        finally:
            os.kill(worker, signal.SIGCONT)
        response = conn.read_response()
        assert conn.closed_by_server(within=5)
    assert response.status == 200 and response.body == b"hello, world\n"
    assert srv.proc.wait(15) == 0


def test_connection_accepted_just_before_a_hup_is_answered_when_its_request_follows(server_factory):
    srv = server_factory(workers=1)
    (old,) = workers_of(srv, 1)
    with Connection(srv) as conn:
        assert wait_for(lambda: socket_count(old) == 2, 3)  # accepted by the old worker, nothing sent yet
        srv.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: socket_count(old) < 2, 10)  # it began to stop: its listener is closed
        conn.send(build_request("GET", "/t/hello.txt"))   # a moment later, as a real client's would
        response = conn.read_response()
    assert response.status == 200 and response.body == b"hello, world\n"


def test_hup_with_an_unusable_access_log_keeps_the_running_server(server_factory, tmp_path):
    config = tmp_path / "httpd.json"
    write_config(config, access_log=str(tmp_path / "access.log"))
    srv = server_factory(workers=2, extra_args=["--config", config])
    workers_of(srv, 2)
    write_config(config, access_log=str(tmp_path / "no-such-folder" / "access.log"))
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: srv.proc.poll() is not None, 5)
    assert srv.proc.poll() is None, f"the server exited with {srv.proc.returncode}"
    assert fetch(srv, "GET", "/t/hello.txt").status == 200


def test_hup_with_invalid_json_keeps_the_running_workers(server_factory, tmp_path):
    config = tmp_path / "httpd.json"
    write_config(config, keepalive_timeout=5)
    srv = server_factory(workers=2, extra_args=["--config", config])
    workers = workers_of(srv, 2)
    config.write_text("{not json")
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload failed" in srv.log(), 5)
    assert workers_of(srv, 2) == workers
    assert fetch(srv, "GET", "/t/hello.txt").status == 200


def test_ttin_adds_a_worker_and_ttou_removes_one_down_to_one(server_factory):
    srv = server_factory(workers=2)
    workers_of(srv, 2)
    srv.proc.send_signal(signal.SIGTTIN)
    workers_of(srv, 3)
    for expected in (2, 1):
        srv.proc.send_signal(signal.SIGTTOU)
        workers_of(srv, expected)
        assert fetch(srv, "GET", "/t/hello.txt").status == 200
    (last,) = workers_of(srv, 1)
    srv.proc.send_signal(signal.SIGTTOU)        # never below one worker
    assert not wait_for(lambda: child_pids(srv.pid) != [last], 1)
    assert fetch(srv, "GET", "/t/hello.txt").status == 200
    assert "exited with" not in srv.log(), "a retired worker must leave cleanly, not be reaped as a crash"


def test_usr1_reopens_the_access_log_after_it_was_moved(server_factory, tmp_path):
    access_log, rotated = tmp_path / "access.log", tmp_path / "access.log.1"
    srv = server_factory(workers=2, extra_args=["--access-log", access_log])
    workers_of(srv, 2)
    assert fetch(srv, "GET", "/t/hello.txt?before-rotation").status == 200
    assert wait_for(lambda: lines_mentioning(access_log, "before-rotation") == 1, 3)
    os.rename(access_log, rotated)
    srv.proc.send_signal(signal.SIGUSR1)
    assert wait_for(access_log.exists, 3), "no worker reopened the access log"

    def next_request_lands_in_the_new_file(n=iter(range(1000))) -> bool:
        marker = f"after-rotation-{next(n)}"
        fetch(srv, "GET", f"/t/hello.txt?{marker}")
        return wait_for(lambda: lines_mentioning(access_log, marker) == 1, 1)

    assert wait_for(next_request_lands_in_the_new_file, 5)
    for i in range(10):                          # both workers: every new line goes to the new file
        fetch(srv, "GET", f"/t/hello.txt?settled-{i}")
    assert wait_for(lambda: lines_mentioning(access_log, "settled-") == 10, 3)
    assert lines_mentioning(rotated, "settled-") == 0
    assert lines_mentioning(rotated, "before-rotation") == 1


def test_a_graceful_stop_ends_when_the_graceful_timeout_does_not_a_tick_later(server_factory):
    # The stopping worker checked its deadline only when its loop woke: after the last event it
    # slept a whole tick (1 s), so a client that sent a byte just before the deadline made the stop
    # overrun --graceful-timeout by up to a second (and the master's SIGKILL came at timeout + 1 s).
    graceful = 2.0
    srv = server_factory(workers=1, extra_args=["--graceful-timeout", graceful])
    workers_of(srv, 1)
    with Connection(srv) as conn:
        conn.send(b"GET /t/hello.txt HTTP/1.1\r\n")      # a request in progress: the stop waits for it
        time.sleep(0.2)
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(graceful - 0.3)
        conn.send(b"X-Late: 1\r\n")                      # wakes the worker just before its deadline
        assert srv.proc.wait(graceful + 3) == 0
        assert time.monotonic() - started < graceful + 0.5


def test_usr1_when_the_log_cannot_be_reopened_keeps_serving_into_the_old_file(server_factory, tmp_path):
    # A worker whose reopen raised died of it; its replacement could not open the log either, and a
    # worker that cannot boot stops the master: one USR1 took the whole server down (exit 1). nginx
    # keeps writing to the file it has and says why it could not reopen.
    folder, moved = tmp_path / "logs", tmp_path / "logs.old"
    folder.mkdir()
    srv = server_factory(workers=2, extra_args=["--access-log", folder / "access.log"])
    workers = workers_of(srv, 2)
    folder.rename(moved)                                 # the log's folder is gone, the open file lives on
    srv.proc.send_signal(signal.SIGUSR1)
    assert wait_for(lambda: srv.log().count("cannot reopen") == 2, 3), srv.log()[-2000:]
    for i in range(10):
        assert fetch(srv, "GET", f"/t/hello.txt?after-usr1-{i}").status == 200
    assert wait_for(lambda: lines_mentioning(moved / "access.log", "after-usr1-") == 10, 3)
    assert srv.proc.poll() is None and workers_of(srv, 2) == workers
    assert "Traceback" not in srv.log()
