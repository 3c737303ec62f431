"""Daemon control, as init scripts know it (issue 5, the test suite's bonus):
`python3 httpd.py start|stop|restart|status --pidfile P --log-file L [server options]`.

`start` returns 0 once the server accepts, or fails with a clear error; `status` exits 0 with the pid
while running, 3 when stopped and 1 when a stale pid file is left (LSB); `stop` waits for the graceful exit; a stale pid file is
reported and replaced, and a pid file naming someone else's process never gets that process signalled.
The pid and log files live in the test's temporary folder, never in the repository. The fixture stops
whatever daemon a test left running, through the pid file it wrote.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest

from otuserver.runner import HTTPD, REPO_ROOT
from tests.conftest import child_pids
from tests.hardening.conftest import BIG_TARGET, alive, kill_quietly, wait_for
from tests.hardening.test_signals import SlowConnection
from tests.server.rawhttp import build_request, fetch

STARTED = re.compile(r"started \(pid (\d+)\), listening on http://127\.0\.0\.1:(\d+)")


class Daemon:
    """Runs httpd.py's control commands with one pid file and one log file."""

    def __init__(self, tmp_path, docroot) -> None:
        self.pidfile = tmp_path / "httpd.pid"
        self.log_file = tmp_path / "httpd.log"
        self.server_options = ["--host", "127.0.0.1", "--port", "0", "--root", str(docroot), "--workers", "1"]
        self.port = 0

    def run(self, command: str, *options: str, within: float = 30.0,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, str(HTTPD), command, "--pidfile", str(self.pidfile), "--log-file", str(self.log_file),
             *self.server_options, *options],
            capture_output=True, text=True, cwd=REPO_ROOT, timeout=within, env=env)
        found = STARTED.search(result.stdout)
        if found:
            self.port = int(found.group(2))
        return result

    def start(self, *options: str) -> int:
        """Start, assert it worked, and return the master's pid."""
        result = self.run("start", *options)
        assert result.returncode == 0, result.stdout + result.stderr
        found = STARTED.search(result.stdout)
        assert found, result.stdout
        return int(found.group(1))

    def recorded_pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def cleanup(self) -> None:
        pid = self.recorded_pid()
        if pid is None or not alive(pid) or b"httpd.py" not in _cmdline(pid):
            return
        workers = child_pids(pid)
        kill_quietly(pid, signal.SIGTERM)
        if not wait_for(lambda: not alive(pid), 15):
            kill_quietly(pid)
        for worker in workers:
            if alive(worker) and b"httpd.py" in _cmdline(worker):
                kill_quietly(worker)


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


@pytest.fixture
def daemon(tmp_path, docroot):
    d = Daemon(tmp_path, docroot)
    yield d
    d.cleanup()


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_start_returns_once_accepting_and_status_reports_the_pid(daemon):
    pid = daemon.start()
    assert fetch(daemon.address, "GET", "/t/hello.txt").status == 200   # no wait: start promised it
    assert daemon.recorded_pid() == pid
    status = daemon.run("status")
    assert (status.returncode, status.stdout.strip()) == (0, f"running (pid {pid})")


def test_start_again_says_already_running_and_keeps_the_first_server(daemon):
    pid = daemon.start()
    again = daemon.run("start")
    assert again.returncode == 0
    assert f"already running (pid {pid})" in again.stdout
    assert daemon.recorded_pid() == pid and alive(pid)


def test_stop_waits_for_the_graceful_exit_then_status_is_3(daemon):
    pid = daemon.start()
    workers = child_pids(pid)
    assert workers
    result = daemon.run("stop")
    assert result.returncode == 0 and f"stopped (pid {pid})" in result.stdout
    assert not alive(pid)                                     # gone by the time stop returned
    assert wait_for(lambda: not any(alive(w) for w in workers), 3)
    assert not daemon.pidfile.exists()
    status = daemon.run("status")
    assert (status.returncode, status.stdout.strip()) == (3, "stopped")
    again = daemon.run("stop")
    assert again.returncode == 0 and "not running" in again.stdout


def test_stop_lets_a_download_in_flight_finish(daemon, big_bytes):
    daemon.start()
    with SlowConnection(daemon.address, timeout=15) as conn:
        conn.send(build_request("GET", BIG_TARGET))
        conn._fill()
        stopper = threading.Thread(target=lambda: daemon.run("stop"))
        stopper.start()
        response = conn.read_response()
        stopper.join(30)
    assert response.status == 200 and response.body == big_bytes
    assert daemon.run("status").returncode == 3


def test_stale_pid_file_is_reported_with_status_1_and_replaced_on_start(daemon):
    daemon.pidfile.write_text(f"{dead_pid()}\n")
    status = daemon.run("status")
    # LSB (Init Script Actions): 1 "program is dead and /var/run pid file exists", not 3 "not running".
    assert status.returncode == 1 and "stale pid file" in status.stdout
    assert daemon.pidfile.exists()   # status only reports; start and stop remove it
    result = daemon.run("start")
    assert result.returncode == 0, result.stderr
    assert "removing stale pid file" in result.stdout
    pid = int(STARTED.search(result.stdout).group(1))
    assert daemon.recorded_pid() == pid
    assert daemon.run("status").returncode == 0


def test_pid_file_naming_another_program_is_stale_and_that_program_is_never_signalled(daemon):
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        daemon.pidfile.write_text(f"{stranger.pid}\n")
        assert daemon.run("status").returncode == 1
        assert daemon.run("stop").returncode == 0
        assert stranger.poll() is None, "stop signalled a process that is not our server"
    finally:
        stranger.kill()
        stranger.wait()


def test_pid_file_naming_another_httpd_py_is_stale_and_that_server_is_never_signalled(daemon, tmp_path):
    # Other servers run on the same machine, each an httpd.py: after ours died by SIGKILL, its pid
    # may come back as one of theirs (a master or a worker). Only the server started with our pid
    # file is ours; "httpd.py" somewhere in a command line is not enough.
    other = tmp_path / "other"
    other.mkdir()
    (other / "httpd.py").write_text("import time\ntime.sleep(60)\n")
    stranger = subprocess.Popen([sys.executable, str(other / "httpd.py"), "--pidfile", str(other / "httpd.pid")])
    try:
        assert wait_for(lambda: b"httpd.py" in _cmdline(stranger.pid), 3)
        daemon.pidfile.write_text(f"{stranger.pid}\n")
        status = daemon.run("status")
        assert status.returncode == 1 and "stale pid file" in status.stdout
        assert daemon.run("stop").returncode == 0
        assert stranger.poll() is None, "stop signalled another httpd.py"
    finally:
        stranger.kill()
        stranger.wait()


def test_garbage_in_the_pid_file_is_stale(daemon):
    daemon.pidfile.write_text("not a pid\n")
    assert daemon.run("status").returncode == 1
    daemon.start()
    assert daemon.run("status").returncode == 0


def test_restart_replaces_the_server_with_a_new_one(daemon):
    old = daemon.start()
    result = daemon.run("restart")
    assert result.returncode == 0, result.stderr
    new = int(STARTED.search(result.stdout).group(1))
    assert new != old and not alive(old)
    assert fetch(daemon.address, "GET", "/t/hello.txt").status == 200
    assert daemon.run("status").stdout.strip() == f"running (pid {new})"


def test_restart_of_a_stopped_server_starts_it(daemon):
    result = daemon.run("restart")
    assert result.returncode == 0 and STARTED.search(result.stdout), result.stdout + result.stderr


def test_start_with_a_bad_root_fails_with_a_clear_message_and_leaves_nothing(daemon, tmp_path):
    missing = tmp_path / "no-such-root"
    result = daemon.run("start", "--root", str(missing))
    assert result.returncode != 0
    assert f"document root {missing} is not a directory" in result.stderr
    assert not daemon.pidfile.exists()
    assert daemon.run("status").returncode == 3


def test_start_on_a_port_in_use_fails_with_the_servers_own_error(daemon):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = daemon.run("start", "--port", str(port))
    assert result.returncode == 1
    assert "failed to start" in result.stderr and "Address already in use" in result.stderr
    assert daemon.run("status").returncode == 3


# A sitecustomize module, which every Python process imports at startup when it lies on PYTHONPATH:
# here it makes each worker's boot fail as one would whose raised descriptor limit the system refused.
BOOT_FAULT = """\
import errno
import otuserver.server.worker as worker


def refuse(wanted):
    raise OSError(errno.EPERM, "setrlimit refused (a fault the test put in)")


worker._raise_open_files_limit = refuse
"""


def test_start_fails_when_the_workers_cannot_boot(daemon, tmp_path):
    # Every argument passes the checks made before the fork; the fault comes in through the
    # environment, which `start` hands on to the server it launches, so nothing in the product serves it.
    hook = tmp_path / "boot-fault"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(BOOT_FAULT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hook), str(REPO_ROOT)]))
    result = daemon.run("start", env=env)
    try:
        assert result.returncode == 1, result.stdout
        assert "failed to start" in result.stderr and "setrlimit refused" in result.stderr
    finally:
        wait_for(lambda: not daemon.pidfile.exists(), 5)
    assert daemon.run("status").returncode == 3


def test_start_with_an_access_log_it_cannot_open_fails_at_once_as_a_bad_argument(daemon, tmp_path):
    bad_log = tmp_path / "no-such-folder" / "access.log"
    result = daemon.run("start", "--access-log", str(bad_log))
    assert result.returncode == 2
    assert result.stderr.strip() == f"httpd.py: error: cannot open access log {bad_log}: No such file or directory"
    assert not daemon.pidfile.exists() and not daemon.log_file.exists()   # nothing was launched
    assert daemon.run("status").returncode == 3


def test_usr1_reopens_the_daemons_log_file_after_it_was_moved(daemon, tmp_path):
    pid = daemon.start()
    assert fetch(daemon.address, "GET", "/t/hello.txt?before-rotation").status == 200
    assert wait_for(lambda: "before-rotation" in daemon.log_file.read_text(), 3)
    rotated = tmp_path / "httpd.log.1"
    os.rename(daemon.log_file, rotated)
    os.kill(pid, signal.SIGUSR1)
    assert wait_for(daemon.log_file.exists, 3), "the master did not reopen its log file"

    def lands_in_new_file(n=iter(range(1000))) -> bool:
        marker = f"after-rotation-{next(n)}"
        fetch(daemon.address, "GET", f"/t/hello.txt?{marker}")
        return wait_for(lambda: marker in daemon.log_file.read_text(), 1)

    assert wait_for(lands_in_new_file, 5)
    assert "after-rotation" not in rotated.read_text()


def test_usr1_when_the_daemons_log_file_cannot_be_reopened_keeps_the_server_and_the_old_file(daemon, tmp_path):
    # redirect_stdio raised in the master's USR1 handler: the master died of it, leaving its workers.
    folder, moved = tmp_path / "logs", tmp_path / "logs.old"
    folder.mkdir()
    daemon.log_file = folder / "httpd.log"
    pid = daemon.start()
    workers = child_pids(pid)
    folder.rename(moved)
    os.kill(pid, signal.SIGUSR1)
    assert wait_for(lambda: (moved / "httpd.log").read_text().count("cannot reopen the log file") == 2, 3)
    assert fetch(daemon.address, "GET", "/t/hello.txt?after-usr1").status == 200
    assert wait_for(lambda: "after-usr1" in (moved / "httpd.log").read_text(), 3)
    assert alive(pid) and child_pids(pid) == workers
    assert "Traceback" not in (moved / "httpd.log").read_text()
