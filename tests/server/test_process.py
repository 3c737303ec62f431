"""The process model of a real httpd.py: the ready line, worker count, respawn after kill -9, graceful
stop on SIGTERM and SIGINT, and workers that leave with their master.

Every test here starts its own server (server_factory), since it signals or kills processes.
"""

import os
import signal
import time

from otuserver.runner import alive
from tests.conftest import child_pids, remember_children, wait_for
from tests.server.rawhttp import Connection, build_request, fetch

RESPAWN_WITHIN_S = 1.0


def test_ready_line_is_exactly_one_line_with_the_real_port(server_factory):
    srv = server_factory(workers=1)
    stdout = srv._stdout_path.read_text()
    assert stdout == f"listening on http://127.0.0.1:{srv.port}\n"
    assert srv.port > 0
    assert fetch(srv, "GET", "/t/one.txt").status == 200


def test_master_forks_the_requested_number_of_workers(server_factory):
    srv = server_factory(workers=3)
    assert len(wait_for(lambda: len(child_pids(srv.pid)) == 3 and child_pids(srv.pid), 2) or []) == 3


def test_default_worker_count_is_the_cpu_count(docroot, tmp_path):
    from otuserver.runner import ServerProcess
    srv = ServerProcess(["--port", "0", "--root", str(docroot)], tmp_path / "httpd.log").wait_ready()
    try:
        expected = os.cpu_count()
        assert wait_for(lambda: len(child_pids(srv.pid)) == expected, 2), child_pids(srv.pid)
    finally:
        assert srv.stop() == 0


def test_killed_worker_is_replaced_and_a_new_one_serves_within_a_second(server_factory):
    srv = server_factory(workers=2)
    before = wait_for(lambda: len(remember_children(srv.pid)) == 2 and child_pids(srv.pid), 2)
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    after = wait_for(lambda: (pids := remember_children(srv.pid)) and len(pids) == 2
                     and victim not in pids and pids, RESPAWN_WITHIN_S)
    assert after, f"no replacement for worker {victim} within {RESPAWN_WITHIN_S}s: {child_pids(srv.pid)}"
    newcomer = (set(after) - set(before)).pop()
    assert fetch(srv, "GET", "/t/one.txt").body == b"first\n"
    assert time.monotonic() - killed_at < RESPAWN_WITHIN_S + 1
    assert alive(newcomer)


def test_all_workers_killed_the_server_still_recovers(server_factory):
    srv = server_factory(workers=2)
    before = wait_for(lambda: len(remember_children(srv.pid)) == 2 and child_pids(srv.pid), 2)
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: len(set(remember_children(srv.pid)) - set(before)) == 2, RESPAWN_WITHIN_S)
    assert fetch(srv, "GET", "/t/one.txt").body == b"first\n"


def test_new_worker_serves_within_a_second_of_the_kill(server_factory):
    srv = server_factory(workers=1)
    (victim,) = wait_for(lambda: remember_children(srv.pid), 2)
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()

    def served():
        try:
            return fetch(srv, "GET", "/t/one.txt").body == b"first\n"
        except OSError:
            return False

    assert wait_for(served, RESPAWN_WITHIN_S, step=0.05)
    assert time.monotonic() - killed_at <= RESPAWN_WITHIN_S + 0.5


def test_sigterm_stops_master_and_workers_with_exit_status_0(server_factory):
    srv = server_factory(workers=2)
    workers = wait_for(lambda: len(remember_children(srv.pid)) == 2 and child_pids(srv.pid), 2)
    assert fetch(srv, "GET", "/t/one.txt").status == 200
    assert srv.stop(signal.SIGTERM) == 0
    assert not [pid for pid in workers if wait_for(lambda: not alive(pid), 3) is False]
    assert "Traceback" not in srv.log()


def test_sigint_stops_gracefully_with_exit_status_0(server_factory):
    srv = server_factory(workers=2)
    workers = wait_for(lambda: len(remember_children(srv.pid)) == 2 and child_pids(srv.pid), 2)
    assert srv.stop(signal.SIGINT) == 0
    assert not [pid for pid in workers if wait_for(lambda: not alive(pid), 3) is False]
    assert "Traceback" not in srv.log()


def test_sigterm_lets_a_response_in_flight_finish(server_factory, docroot):
    srv = server_factory(workers=1)
    expected = (docroot / "t" / "big.bin").read_bytes()
    with Connection(srv) as conn:
        conn.send(build_request("GET", "/t/big.bin"))
        conn._fill()                            # the response has started
        srv.proc.send_signal(signal.SIGTERM)
        response = conn.read_response()
        assert response.status == 200 and conn.buffer == b""
    assert response.body == expected
    assert srv.proc.wait(15) == 0


def test_repeated_sigterm_during_the_graceful_stop_still_exits_0(server_factory):
    # An impatient supervisor (or the runner's stop() racing a test's own signal) may send TERM again.
    srv = server_factory(workers=1)
    assert fetch(srv, "GET", "/t/one.txt").status == 200
    deadline = time.monotonic() + 10
    while srv.proc.poll() is None and time.monotonic() < deadline:
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.002)
    assert srv.proc.wait(5) == 0


def test_sigterm_stops_accepting_new_connections(server_factory):
    srv = server_factory(workers=1)
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(20) == 0
    try:
        fetch(srv, "GET", "/t/one.txt")
    except OSError:
        return
    raise AssertionError("the server still answered after it exited")


def test_sigterm_closes_idle_keep_alive_connections(server_factory):
    srv = server_factory(workers=1, extra_args=["--keepalive-timeout", "60"])
    with Connection(srv) as conn:
        assert conn.request("GET", "/t/one.txt").status == 200
        srv.proc.send_signal(signal.SIGTERM)
        assert conn.closed_by_server(within=10)
    assert srv.proc.wait(20) == 0


def test_workers_exit_when_the_master_is_killed(server_factory):
    srv = server_factory(workers=2)
    workers = wait_for(lambda: len(remember_children(srv.pid)) == 2 and child_pids(srv.pid), 2)
    srv.proc.kill()
    srv.proc.wait()
    # They notice on their next loop tick (about a second); the bound is generous for a loaded machine.
    still_running = [pid for pid in workers if not wait_for(lambda: not alive(pid), 10)]
    assert still_running == [], "orphaned workers outlived their master"


def test_workers_ignore_sigint_sent_to_them_alone(server_factory):
    srv = server_factory(workers=1)
    (worker,) = wait_for(lambda: remember_children(srv.pid), 2)
    os.kill(worker, signal.SIGINT)
    time.sleep(0.3)
    assert alive(worker)
    assert fetch(srv, "GET", "/t/one.txt").body == b"first\n"
