"""Daemon control, as an init script does it: start | stop | restart | status.

`start` runs the server in the background (a new session, stdout and stderr
appended to the log file) and returns once it accepts connections, or fails
with the error the server logged. The running master writes its pid file
itself; `stop` signals that pid and waits for a graceful exit; `status` exits
as LSB init scripts do: 0 running, 1 dead with a stale pid file, 3 not running.
A pid file whose process is gone, or is not an httpd.py started with that pid
file, is stale: `status` reports it, `start` and `stop` remove it.
"""

import os
import signal
import subprocess
import sys
import time

READY_PREFIX = "listening on "
START_TIMEOUT_S = 15.0
# LSB Core, "Init Script Actions": the exit status of `status`.
LSB_RUNNING = 0
LSB_DEAD_PIDFILE_EXISTS = 1   # "program is dead and /var/run pid file exists"
LSB_NOT_RUNNING = 3           # "program is not running"


def read_pid(pidfile: str) -> int | None:
    """The pid of a running OTUServer master recorded in `pidfile`, or None."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_our_server(pid, pidfile) else None


def _is_our_server(pid: int, pidfile: str) -> bool:
    """True if `pid` runs an httpd.py that `start` launched with this very pid file.

    The pid may have been reused since the file was written, by anything, and on a
    machine where other servers run, by another httpd.py: "httpd.py" in its command
    line is not enough; `start` always passes `--pidfile` with the absolute path.
    """
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    wanted = os.fsencode(os.path.abspath(pidfile))
    return (any(arg.endswith(b"httpd.py") for arg in args)
            and any(a == b"--pidfile" and b == wanted for a, b in zip(args, args[1:])))


def write_pidfile(pidfile: str) -> None:
    tmp = f"{pidfile}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, pidfile)  # atomic: a reader never sees half a number


def remove_pidfile(pidfile: str) -> None:
    """Remove the pid file if it is still ours (a newer server may have replaced it)."""
    try:
        with open(pidfile) as f:
            if f.read().strip() == str(os.getpid()):
                os.unlink(pidfile)
    except OSError:
        pass


def _clear_stale(pidfile: str) -> None:
    if os.path.exists(pidfile) and read_pid(pidfile) is None:
        print(f"removing stale pid file {pidfile}")
        os.unlink(pidfile)


def status(pidfile: str) -> int:
    """Report and return the LSB status; a stale pid file is left for start or stop to remove."""
    pid = read_pid(pidfile)
    if pid is not None:
        print(f"running (pid {pid})")
        return LSB_RUNNING
    if os.path.exists(pidfile):
        print("stopped (stale pid file)")
        return LSB_DEAD_PIDFILE_EXISTS
    print("stopped")
    return LSB_NOT_RUNNING


def start(server_command: list[str], pidfile: str, log_file: str) -> int:
    pid = read_pid(pidfile)
    if pid is not None:
        print(f"already running (pid {pid})")
        return 0
    _clear_stale(pidfile)
    offset = os.path.getsize(log_file) if os.path.exists(log_file) else 0
    with open(log_file, "ab") as log:
        child = subprocess.Popen(server_command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 start_new_session=True)  # no terminal: a hang-up must not reach it
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = _read_from(log_file, offset)
        ready = [line for line in text.splitlines() if line.startswith(READY_PREFIX)]
        if ready:
            print(f"started (pid {child.pid}), {ready[0]}")
            return 0
        if child.poll() is not None:
            print(f"failed to start: {_reason(text, child.returncode)}", file=sys.stderr)
            return 1
        time.sleep(0.05)
    print(f"failed to start: not ready after {START_TIMEOUT_S:.0f} s (see {log_file})", file=sys.stderr)
    return 1


def stop(pidfile: str, timeout: float) -> int:
    pid = read_pid(pidfile)
    if pid is None:
        _clear_stale(pidfile)
        print("not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_our_server(pid, pidfile):
            print(f"stopped (pid {pid})")
            return 0
        time.sleep(0.05)
    print(f"pid {pid} still running after {timeout:.0f} s", file=sys.stderr)
    return 1


def _reason(log_text: str, status: int) -> str:
    """The line of the log that says why the server stopped: a usage error or a boot failure."""
    lines = [line for line in log_text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("httpd.py: error:") or "cannot start:" in line:
            return line
    return lines[-1] if lines else f"exit status {status}"


def _read_from(path: str, offset: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
