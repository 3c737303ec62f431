"""Fixtures shared by the tests: the http-test-suite data, a temporary document root, running servers,
and `require_tool` for the external programs some tests drive (ab, wrk, chromium).

The httptest tree comes from $OTU_HTTPTEST_DIR, else ../shared/httptest beside the repository; it is
copied into each temporary document root at /httptest and never committed. Servers are real `httpd.py`
processes started through otuserver.runner on a free port; the session-wide one must not be killed or
reconfigured by a test, so tests that signal processes take a function-scoped server instead.

A missing tool or data set skips on a developer's machine but fails under CI=true, where .ci/run has
installed everything and a skip would hide a broken install step.
"""

import os
import shutil
import signal
import struct
import time
from pathlib import Path

import pytest

from otuserver.runner import REPO_ROOT, ServerProcess, child_pids, start_server  # child_pids: for the tests

HTTPTEST_ENV = "OTU_HTTPTEST_DIR"
SECRET_TEXT = b"TOP SECRET: this file lies outside the document root"
UTF8_NAME = "файл с пробелом.txt"
UTF8_BODY = "привет, мир\n".encode("utf-8")

# One sample file per extension the server's own Content-Type table must know (issue 2, "Static files").
TYPE_SAMPLES = {
    "sample.svg": "image/svg+xml",
    "sample.json": "application/json",
    "sample.txt": "text/plain",
    "sample.webp": "image/webp",
    "sample.woff2": "font/woff2",
    "sample.pdf": "application/pdf",
    "sample.mp4": "video/mp4",
    "sample.unknownext": "application/octet-stream",
    "no-extension": "application/octet-stream",
}


def in_ci() -> bool:
    """True where .ci/run runs us (CI=true): everything the tests need must then be present."""
    return os.environ.get("CI", "").strip().lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip the test with `reason` when `condition` is false -- or fail it under CI=true."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true: .ci/run should have installed it)", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """The full path of program `name`; skip (fail under CI=true) when it is not on PATH.

    >>> require_tool("sh").endswith("/sh")
    True
    """
    path = shutil.which(name)
    require(path is not None, f"{name!r} is not installed (on Debian: see .ci/run for the apt packages)")
    return path


def httptest_dir() -> Path:
    """Where the http-test-suite's `httptest` tree lies: $OTU_HTTPTEST_DIR or ../shared/httptest."""
    configured = os.environ.get(HTTPTEST_ENV)
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "httptest"


def copy_tree(src: Path, dest: Path) -> None:
    """Copy files and folders with fresh, writable modes (the shared copy is read-only, and
    shutil.copytree would carry that over and make the temporary tree impossible to clean up)."""
    for folder, dirnames, filenames in os.walk(src):
        target = dest / Path(folder).relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            shutil.copyfile(Path(folder) / name, target / name)


def favicon_bytes() -> bytes:
    """A valid 16x16 .ico (one 32-bit BMP image, a solid teal square), so a browser's /favicon.ico
    request is answered 200 instead of a 404 that would muddle the browser test."""
    size = 16
    pixels = bytes((0x88, 0x7A, 0x1F, 0xFF)) * (size * size)        # BGRA
    and_mask = bytes(4 * size)                                       # rows padded to 32 bits
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, len(pixels) + len(and_mask), 0, 0, 0, 0)
    image = header + pixels + and_mask
    icondir = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), 6 + 16)
    return icondir + entry + image


def build_docroot(base: Path, httptest: Path | None) -> Path:
    """Lay out a document root under `base` and return it.

    root/index.html, root/favicon.ico   the repository's docroot plus a favicon
    root/httptest/                      a copy of the http-test-suite tree (when given)
    root/t/...                          small fixtures of our own (see the names below)
    base/secret.txt                     a file *outside* the root that must never be served
    """
    root = base / "root"
    root.mkdir()
    copy_tree(REPO_ROOT / "docroot", root)
    (root / "favicon.ico").write_bytes(favicon_bytes())
    if httptest is not None:
        copy_tree(httptest, root / "httptest")

    (base / "secret.txt").write_bytes(SECRET_TEXT)
    (base / "secret-dir").mkdir()
    (base / "secret-dir" / "index.html").write_bytes(SECRET_TEXT)

    t = root / "t"
    t.mkdir()
    (t / "hello.txt").write_bytes(b"hello, world\n")
    (t / "page.html").write_bytes(b"<!doctype html><title>page</title><p>page body</p>\n")
    (t / "one.txt").write_bytes(b"first\n")
    (t / "two.txt").write_bytes(b"second!\n")
    (t / "three.txt").write_bytes(b"third!!!\n")
    (t / UTF8_NAME).write_bytes(UTF8_BODY)
    (t / "with-index").mkdir()
    (t / "with-index" / "index.html").write_bytes(b"<p>the index of with-index</p>\n")
    (t / "no-index").mkdir()
    (t / "no-index" / "other.html").write_bytes(b"<p>not an index</p>\n")
    (t / "types").mkdir()
    for name in TYPE_SAMPLES:
        (t / "types" / name).write_bytes(b"sample bytes for " + name.encode() + b"\n")
    (t / "big.bin").write_bytes(bytes(range(256)) * 16384)          # 4 MiB, a known pattern
    # Symlinks that point out of the root: a file and a folder. Both must be refused.
    (t / "escape.txt").symlink_to(base / "secret.txt")
    (t / "escape-dir").symlink_to(base / "secret-dir", target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def httptest_source() -> Path:
    """The http-test-suite data on disk (skipped, or failed under CI, when it is missing)."""
    path = httptest_dir()
    require((path / "wikipedia_russia.html").is_file(),
            f"the http-test-suite data is not at {path} (set ${HTTPTEST_ENV} to its httptest folder)")
    return path


@pytest.fixture(scope="session")
def docroot(tmp_path_factory, httptest_source) -> Path:
    """A temporary document root with the repository's docroot, /httptest and our fixtures."""
    return build_docroot(tmp_path_factory.mktemp("site"), httptest_source)


@pytest.fixture(scope="session")
def server(docroot, tmp_path_factory) -> ServerProcess:
    """One server for the whole session: 2 workers on the temporary docroot, access log to its log.
    Read-only for tests: never signal it; take `server_factory` for that."""
    srv = start_server(root=docroot, workers=2, log_dir=tmp_path_factory.mktemp("httpd"))
    yield srv
    srv.stop()


@pytest.fixture
def server_factory(docroot, tmp_path_factory):
    """Start servers of your own for one test (they are stopped after it, whatever it did to them).

        srv = server_factory(workers=1, extra_args=["--keepalive-timeout", "1"])
    """
    started: list[ServerProcess] = []

    def start(root: Path | str | None = docroot, workers: int = 2, **kwargs) -> ServerProcess:
        kwargs.setdefault("log_dir", tmp_path_factory.mktemp("httpd"))
        srv = start_server(root=root, workers=workers, **kwargs)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
        kill_leftover_children(srv.pid)


_known_children: dict[int, set[int]] = {}


def kill_leftover_children(master_pid: int) -> None:
    """Workers must exit with their master; if a test left some behind (a bug it reports), do not let
    them linger. Only pids we saw as this master's children and that still run httpd.py are killed."""
    for pid in _known_children.pop(master_pid, set()):
        try:
            if b"httpd.py" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


def remember_children(master_pid: int) -> list[int]:
    """child_pids(), also noted so that the server_factory cleanup can kill stragglers."""
    pids = child_pids(master_pid)
    _known_children.setdefault(master_pid, set()).update(pids)
    return pids


def wait_for(predicate, within: float, step: float = 0.02):
    """Poll `predicate` until it returns something truthy or `within` seconds pass; return its last value."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)
