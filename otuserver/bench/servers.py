"""The servers a benchmark compares, each started as a child process on loopback.

Ours is httpd.py through otuserver.runner (access log off, its own SQLite file);
the references are nginx (with a config generated here: same document root and
worker count, sendfile on, access log off, pid and temp files in a temp dir),
`python -m http.server`, and the blocking teaching server in blocking.py. Every
one is a context manager yielding a BenchServer; stop() signals only the pid we
started. This module also reads worker pids, RSS and open sockets from /proc.
It knows nothing of load generators or reports.
"""

import contextlib
import grp
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..runner import REPO_ROOT, child_pids, start_server

HOST = "127.0.0.1"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
NGINX_WORKER_CONNECTIONS = 16384
NGINX_KEEPALIVE_REQUESTS = 1_000_000     # nginx closes a connection after 1000 requests by default; ours never does


@dataclass
class BenchServer:
    """A running server: its name, where it listens, its master pid and the exact command."""

    name: str
    base_url: str
    pid: int
    command: list[str]
    workers: int
    notes: str = ""
    config: str = ""
    stop: Callable[[], object] = field(repr=False, default=lambda: None)

    def describe(self) -> dict:
        """What a report records about this server."""
        described = {"name": self.name, "command": self.command, "workers": self.workers, "notes": self.notes}
        if self.config:
            described["config"] = self.config
        return described


# -- /proc ----------------------------------------------------------------------------------------

def worker_pids(server: BenchServer) -> list[int]:
    """The worker processes: the master's children, or the process itself for a single-process server."""
    return child_pids(server.pid) or [server.pid]


def raise_nofile_limit() -> int:
    """Lift this process's open-file limit to its hard limit (children inherit it); return the new limit.

    10,000 idle connections need 10,000 descriptors in the client and as many across the workers.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


# -- starting and stopping ------------------------------------------------------------------------

def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago (for servers that cannot be told to take port 0)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_connectable(proc: subprocess.Popen, host: str, port: int, log: Path,
                     timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll connect() until the port answers; raise with the log if the process died first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{proc.args[0]} not listening on {host}:{port} after {timeout_s}s")


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal the one pid we started, wait, then kill it."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def _child(name: str, command: list[str], port: int, workdir: Path, workers: int,
           notes: str = "", cwd: Path | None = None) -> Iterator[BenchServer]:
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=str(cwd or workdir))
    try:
        wait_connectable(proc, HOST, port, log)
        yield BenchServer(name, f"http://{HOST}:{port}", proc.pid, command, workers, notes,
                          stop=lambda: stop_process(proc))
    finally:
        stop_process(proc)


@contextlib.contextmanager
def start_ours(root: str | os.PathLike, workers: int, db: str | os.PathLike,
               extra_args: list[str] | tuple = (), log_dir: str | os.PathLike | None = None
               ) -> Iterator[BenchServer]:
    """httpd.py with its access log off, on a free port, serving `root` and the API on `db`."""
    args = ["--access-log", "off", "--db", str(db), *extra_args]
    srv = start_server(root=root, workers=workers, extra_args=args, log_dir=log_dir)
    try:
        yield BenchServer("ours", srv.base_url, srv.pid, ["python3", "httpd.py", *srv.args], workers,
                          stop=srv.stop)
    finally:
        srv.stop()


@contextlib.contextmanager
def start_python_http(root: str | os.PathLike, workdir: str | os.PathLike | None = None
                      ) -> Iterator[BenchServer]:
    """`python -m http.server`: one process, a thread per connection, HTTP/1.0 (so no keep-alive).

    It writes a log line per request to stderr and has no switch to stop it; that goes to a file.
    """
    workdir = Path(workdir or tempfile.mkdtemp(prefix="otu-pyhttp-"))
    port = free_port()
    command = [sys.executable, "-m", "http.server", "--bind", HOST, "--directory", str(root), str(port)]
    with _child("python-http.server", command, port, workdir, 1,
                "1 process, a thread per connection, HTTP/1.0, its request log goes to a file") as srv:
        yield srv


@contextlib.contextmanager
def start_blocking(root: str | os.PathLike, workdir: str | os.PathLike | None = None
                   ) -> Iterator[BenchServer]:
    """The blocking teaching server (blocking.py): one process, one thread, one connection at a time."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="otu-blocking-"))
    port = free_port()
    command = [sys.executable, "-m", "otuserver.bench.blocking", "--port", str(port), "--root", str(root)]
    # Run from the repository so `-m otuserver.bench.blocking` imports this checkout.
    with _child("blocking", command, port, workdir, 1,
                "1 process, 1 thread, one connection at a time, Connection: close",
                cwd=REPO_ROOT) as srv:
        yield srv


# -- nginx ----------------------------------------------------------------------------------------

def nginx_version() -> str:
    """'nginx/1.22.1' or '' when nginx is not installed."""
    binary = nginx_binary()
    if not binary:
        return ""
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
    return (done.stderr or done.stdout).strip().replace("nginx version: ", "")


def nginx_binary() -> str | None:
    """nginx on PATH, or in /usr/sbin where Debian puts it (often not on a non-root PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def nginx_config(root: str | os.PathLike, workers: int, port: int, workdir: Path,
                 keepalive_timeout_s: int = 75) -> str:
    """An nginx.conf that serves `root` on loopback the way we run ours: sendfile on, no access log.

    As root, nginx would drop its workers to `nobody`, who cannot read a private temp docroot,
    so the workers run as the current user either way.
    """
    mime = Path("/etc/nginx/mime.types")
    types = f"include {mime};" if mime.is_file() else "types { text/html html; text/css css; }"
    user = ""
    if os.geteuid() == 0:
        user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    temp = {name: workdir / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return f"""{user}
worker_processes {workers};
worker_rlimit_nofile {nofile};
pid {workdir / 'nginx.pid'};
error_log {workdir / 'error.log'} warn;
events {{
    worker_connections {NGINX_WORKER_CONNECTIONS};
}}
http {{
    {types}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout {keepalive_timeout_s}s;
    keepalive_requests {NGINX_KEEPALIVE_REQUESTS};
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    server {{
        listen {HOST}:{port};
        root {Path(root).resolve()};
        index index.html;
    }}
}}
"""


@contextlib.contextmanager
def start_nginx(root: str | os.PathLike, workers: int, workdir: str | os.PathLike | None = None,
                keepalive_timeout_s: int = 75) -> Iterator[BenchServer]:
    """nginx in the foreground (`-g 'daemon off;'`) with a generated config; yields its BenchServer."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed (apt: nginx-light)")
    workdir = Path(workdir or tempfile.mkdtemp(prefix="otu-nginx-"))
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(nginx_config(root, workers, port, workdir, keepalive_timeout_s))
    # -e: the error log before the config is read (else /var/log/nginx/error.log, not writable as a user).
    command = [binary, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf),
               "-g", "daemon off;"]
    with _child("nginx", command, port, workdir, workers,
                f"generated config: {conf.name} (sendfile on, access_log off, keepalive_requests "
                f"{NGINX_KEEPALIVE_REQUESTS}, keepalive_timeout {keepalive_timeout_s}s)") as srv:
        srv.config = conf.read_text()
        yield srv
