"""Worker faults (issue 5, "Faults and operators"): a worker killed under load, a worker stuck past
--timeout, and a worker that cannot boot.

The master must respawn a dead worker at once, and only the killed worker's own connections may lose
a request; a stuck worker (SIGSTOP is the simplest way to stop its event loop) is SIGKILLed and
replaced; a worker that fails while booting stops the master with exit status 1 and a clear message,
instead of a respawn loop. Every test starts its own server, since it kills processes.
"""

import os
import resource
import shutil
import signal
import socket
import time

import pytest

from tests.conftest import child_pids
from tests.hardening.conftest import BIG_TARGET, alive, socket_count, wait_for, workers_of
from tests.hardening.load import ClientLoop
from tests.server.rawhttp import Connection, fetch

RESPAWN_WITHIN_S = 1.0


def test_worker_killed_under_load_is_respawned_at_once_and_only_its_own_requests_fail(server_factory):
    srv = server_factory(workers=2, extra_args=["--access-log", "off"])
    workers = workers_of(srv, 2)
    load = ClientLoop(srv, clients=8, total=1200).start()
    try:
        assert load.wait_until_done(300, within=30)
        victim = max(workers, key=socket_count)
        held = socket_count(victim) - 1           # its connections, the listener aside
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        replaced = wait_for(lambda: len(set(child_pids(srv.pid)) - set(workers)) == 1, RESPAWN_WITHIN_S + 1)
        respawn_s = time.monotonic() - killed_at
        load.join(within=60)
    finally:
        load.stop()
    assert replaced and respawn_s <= RESPAWN_WITHIN_S + 0.5, f"respawned after {respawn_s:.2f} s"
    assert not alive(victim)
    assert load.failed <= held, f"{load.failed} failures, but the killed worker held {held}: {load.errors}"
    assert load.ok == 1200 - load.failed
    assert fetch(srv, "GET", "/t/hello.txt").status == 200


def test_stopped_worker_is_killed_after_the_timeout_and_its_replacement_serves(server_factory):
    timeout = 2.0
    srv = server_factory(workers=1, extra_args=["--timeout", timeout])
    (stuck,) = workers_of(srv, 1)
    os.kill(stuck, signal.SIGSTOP)                # its event loop no longer turns: no heartbeat
    try:
        stopped_at = time.monotonic()
        response = fetch(srv, "GET", "/t/hello.txt")   # waits in the backlog for the replacement
        waited = time.monotonic() - stopped_at
    finally:
        if alive(stuck):
            os.kill(stuck, signal.SIGCONT)
    assert response.status == 200 and response.body == b"hello, world\n"
    assert timeout - 0.2 <= waited <= timeout + 1.0 + 4.0, f"answered after {waited:.1f} s"
    assert wait_for(lambda: not alive(stuck), 2)
    (replacement,) = workers_of(srv, 1)
    assert replacement != stuck
    assert f"worker {stuck} silent for" in srv.log()


@pytest.mark.slow
def test_busy_but_healthy_workers_are_not_killed_by_the_timeout(server_factory, big_bytes):
    timeout = 2.0
    srv = server_factory(workers=1, extra_args=["--timeout", timeout, "--access-log", "off"])
    (worker,) = workers_of(srv, 1)
    load = ClientLoop(srv, target="/httptest/wikipedia_russia.html", body=big_bytes, clients=4, total=5000)
    load.start()
    time.sleep(timeout + 1.5)                     # downloads all along: longer than the timeout
    load.stop()
    load.join(within=30)
    assert load.failed == 0 and load.ok > 0, load.errors[:3]
    assert workers_of(srv, 1) == [worker]
    assert "silent for" not in srv.log()


def test_worker_that_cannot_boot_stops_the_master_with_status_1_and_a_clear_error(server_factory, tmp_path):
    # The master checks the access log before it forks (an unusable one is a bad argument, exit 2),
    # but each worker opens it again as it boots. So: the log's folder goes away under a running
    # server, whose workers write on into the files they hold open; then one dies, and its
    # replacement cannot open the log. That is a real boot failure, and must not become a respawn loop.
    folder = tmp_path / "logs"
    folder.mkdir()
    srv = server_factory(workers=2, extra_args=["--access-log", folder / "access.log"])
    victim = workers_of(srv, 2)[0]
    shutil.rmtree(folder)
    os.kill(victim, signal.SIGKILL)
    assert srv.proc.wait(10) == 1                        # at once: not after a series of respawns
    log = srv.log()
    assert f"No such file or directory: '{folder / 'access.log'}'" in log
    assert log.count("could not start; stopping the server") == 1, "a respawn loop"
    assert log.count("starting a new one") == 1, "only the killed worker may be replaced"


def test_timeout_shorter_than_the_heartbeat_is_refused_or_leaves_idle_workers_alone(server_factory):
    try:
        srv = server_factory(workers=1, extra_args=["--timeout", "0.5"])
    except RuntimeError as refused:              # exit status 2 and a message naming it: a fine answer
        assert "--timeout" in str(refused)
        return
    first = workers_of(srv, 1)
    time.sleep(3)                                # idle on purpose: there is nothing to poll for
    assert workers_of(srv, 1) == first, srv.log()[-300:]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, from /proc/PID/stat."""
    fields = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_worker_out_of_descriptors_pauses_accepting_instead_of_spinning(server_factory):
    # accept(2) fails with EMFILE while connections wait in the backlog, and a level-triggered
    # epoll reports the listener ready again at once: retried every turn, that is a busy loop
    # writing a warning per turn. The worker must back off, then serve again once descriptors free.
    srv = server_factory(workers=1, extra_args=["--access-log", "off"])
    (worker,) = workers_of(srv, 1)
    assert fetch(srv, "GET", "/t/one.txt").status == 200
    limits = resource.prlimit(worker, resource.RLIMIT_NOFILE)
    in_use = len(os.listdir(f"/proc/{worker}/fd"))
    resource.prlimit(worker, resource.RLIMIT_NOFILE, (in_use + 2, limits[1]))
    waiting = [socket.create_connection((srv.host, srv.port), timeout=5) for _ in range(8)]
    try:
        time.sleep(0.3)  # the worker takes two, then meets EMFILE with six still queued
        before, started = cpu_seconds(worker), time.monotonic()
        time.sleep(1.5)
        busy = (cpu_seconds(worker) - before) / (time.monotonic() - started)
        failures = srv.log().count("accept failed")
        assert busy < 0.2, f"the worker spent {busy:.0%} of a core while out of descriptors"
        assert failures < 20, f"{failures} accept warnings in under 2 s"
    finally:
        for sock in waiting:
            sock.close()
        resource.prlimit(worker, resource.RLIMIT_NOFILE, limits)
    assert wait_for(lambda: fetch(srv, "GET", "/t/one.txt").status == 200, 5)


def test_a_file_that_cannot_be_opened_for_lack_of_descriptors_is_503_not_404(server_factory):
    # EMFILE says nothing about the file: a 404 would tell the client (and any cache, since a 404 is
    # cacheable by default, RFC 9110 §15.1) that it does not exist. 503 says "try again" (§15.6.4).
    srv = server_factory(workers=1, extra_args=["--access-log", "off"])
    (worker,) = workers_of(srv, 1)
    with Connection(srv) as conn:
        assert conn.request("GET", "/t/one.txt").status == 200  # accepted: its descriptor is in use
        limits = resource.prlimit(worker, resource.RLIMIT_NOFILE)
        resource.prlimit(worker, resource.RLIMIT_NOFILE, (len(os.listdir(f"/proc/{worker}/fd")), limits[1]))
        try:
            r = conn.request("GET", BIG_TARGET)
        finally:
            resource.prlimit(worker, resource.RLIMIT_NOFILE, limits)
        assert r.status == 503
        assert int(r.header("Content-Length")) == len(r.body)
        assert conn.request("GET", BIG_TARGET).status == 200
