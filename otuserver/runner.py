"""Start `httpd.py` as a child process and stop it again: the one helper that the
tests, the notebooks and the benchmark harness share.

It owns the child's lifecycle only: a fresh interpreter (never a fork of the
caller, which may be a Jupyter kernel), output to a log file, the real port read
from the line the server prints when it is ready, and SIGTERM → wait → kill.
It knows nothing of HTTP.

    with start_server(root="docroot", workers=2) as srv:
        print(srv.base_url)          # http://127.0.0.1:PORT

`make_docroot()` lays out a temporary document root for the lessons: the
repository's docroot/ plus the http-test-suite tree at /httptest, hard-linked
(not copied, not symlinked: the server rightly refuses a symlink out of its root).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HTTPD = REPO_ROOT / "httpd.py"
HTTPTEST_ENV = "OTU_HTTPTEST_DIR"
READY_PREFIX = "listening on http://"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


class ServerProcess:
    """A running `httpd.py`: its Popen, where it listens, and where it logs."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None,
                 program: str | os.PathLike = HTTPD) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self._stdout_path = log_path.with_suffix(".stdout")
        self._stdout = open(self._stdout_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(program), *args],
            stdout=self._stdout, stderr=self._log, stdin=subprocess.DEVNULL,
            cwd=str(REPO_ROOT), env=env)
        self.host = ""
        self.port = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> "ServerProcess":
        """Block until the ready line appears on stdout; raise with the log if the server died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self._stdout_path.read_text(errors="replace").partition("\n")
            if line[1] and line[0].startswith(READY_PREFIX):
                self.host, _, port = line[0][len(READY_PREFIX):].rpartition(":")
                self.host = self.host.strip("[]")
                self.port = int(port)
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"httpd.py exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"httpd.py not ready after {timeout}s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        """The pids of the master's children (its workers), from /proc; [] once it has stopped."""
        return child_pids(self.pid)

    def log(self) -> str:
        """Everything the server wrote to stderr so far (errors and, by default, the access log)."""
        if not self._log.closed:            # still readable after stop(): the file outlives the process
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> int:
        """Signal the master, wait for it (then SIGKILL it), and return its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self._stdout.close()
        return self.proc.returncode

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start_server(root: str | os.PathLike | None = None, workers: int = 1, *,
                 host: str = "127.0.0.1", extra_args: list[str] | tuple = (),
                 log_dir: str | os.PathLike | None = None,
                 env: dict[str, str] | None = None) -> ServerProcess:
    """Start `httpd.py` on a free port and return once it accepts connections.

    Unless extra_args name a `--db`, the API's database is a fresh file beside
    the log, so no test or lesson ever writes into the repository's default one.
    """
    args = ["--host", host, "--port", "0", "--workers", str(workers)]
    if root is not None:
        args += ["--root", str(root)]
    args += [str(a) for a in extra_args]
    log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="otuserver-"))
    if "--db" not in args:
        args += ["--db", str(log_dir / "scores.sqlite3")]
    return ServerProcess(args, log_dir / "httpd.log", env).wait_ready()


def start_script(script: str | os.PathLike, *args, log_dir: str | os.PathLike | None = None) -> ServerProcess:
    """Run another Python server script the same way, e.g. a lesson's teaching server.

    The script must print `listening on http://HOST:PORT` when ready, as httpd.py does.
    """
    log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="otuserver-"))
    log_path = log_dir / (Path(script).stem + ".log")
    return ServerProcess([str(a) for a in args], log_path, program=script).wait_ready()


def httptest_dir() -> Path:
    """Where the http-test-suite's `httptest` tree lies: $OTU_HTTPTEST_DIR or ../shared/httptest."""
    configured = os.environ.get(HTTPTEST_ENV)
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "httptest"


def link_tree(src: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Mirror the files under `src` at `dest` as hard links, copying only across file systems.

    A hard link costs no space and, unlike a symlink, has its real path inside
    the new root. It shares the original's bytes: read through it, never write.
    """
    src, dest = Path(src), Path(dest)
    for folder, _, filenames in os.walk(src):
        target = dest / Path(folder).relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            try:
                os.link(Path(folder) / name, target / name)
            except OSError:  # EXDEV (another file system) or EPERM (protected_hardlinks)
                shutil.copyfile(Path(folder) / name, target / name)


def make_docroot(base: str | os.PathLike | None = None, *, httptest: bool = True) -> Path:
    """A fresh document root under `base` (a new temporary folder by default), returned.

    root/                  a copy of the repository's docroot/ (index.html ...)
    root/httptest/         the http-test-suite tree, hard-linked (when `httptest`)
    Raises FileNotFoundError naming $OTU_HTTPTEST_DIR when the suite's data is missing.
    """
    base = Path(base) if base else Path(tempfile.mkdtemp(prefix="otuserver-site-"))
    root = base / "root"
    shutil.copytree(REPO_ROOT / "docroot", root)
    if httptest:
        source = httptest_dir()
        if not (source / "dir2" / "index.html").is_file():
            raise FileNotFoundError(f"no http-test-suite data at {source}; set ${HTTPTEST_ENV} to its httptest folder")
        link_tree(source, root / "httptest")
    return root


# -- views of a process, from /proc (Linux) -----------------------------------------------------

def child_pids(pid: int) -> list[int]:
    """The pids of a process's children (a master's workers), from /proc/PID/task/*/children."""
    pids: set[int] = set()
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            pids.update(int(p) for p in children.read_text().split())
        except OSError:
            pass  # the thread or the process went away meanwhile
    return sorted(pids)


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie has exited, whatever kill(0) says)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def socket_count(pid: int) -> int:
    """How many sockets a process holds open: its connections, plus the listener."""
    count = 0
    try:
        for fd in os.scandir(f"/proc/{pid}/fd"):
            try:
                count += os.readlink(fd.path).startswith("socket:")
            except OSError:
                pass  # closed while we looked
    except OSError:
        pass
    return count
