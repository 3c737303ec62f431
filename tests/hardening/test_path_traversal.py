"""Path traversal: no hostile request target serves a byte from outside the document root (issue 5).

A document root of our own lies beside a secret file and a secret folder; inside the root, symlinks
point out at them (absolute and relative), and one symlink points at itself. Each hostile target is
sent as raw bytes over a socket (a client library would normalise it first) with `Connection: close`,
and the whole answer is read until the server closes. None may contain any 12-byte run of the secret
(nor of /etc/passwd), and each must be a 4xx -- or an answer from inside the root: the server removes
dot segments first (RFC 3986 §5.2.4), so `/..` is `/` and may serve the root's own index (a 200 whose
body is a file of the root), and a directory without its slash may be redirected (a 301 whose
Location, decoded and normalised, names a real directory inside the root). Neither leaks anything.
"""

import posixpath
import secrets
import socket
import time
from urllib.parse import unquote_to_bytes

import pytest

from otuserver.runner import start_server

SECRET = b"OTU-SECRET-" + secrets.token_hex(32).encode() + b"\n"
PASSWD_MARK = b"root:x:0:0"
WINDOW = 12
READ_WITHIN_S = 5.0

HOSTILE_TARGETS = [
    # plain dot-dot, short and long
    "/../secret.txt",
    "/..",
    "/sub/../../secret.txt",
    "/sub/inner/../../../secret.txt",
    "/./../secret.txt",
    "/sub/./../../secret.txt",
    "/" + "../" * 64 + "etc/passwd",
    "/../../../../../../etc/passwd",
    "//../secret.txt",
    # percent-encoded dots and slashes, in every case
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/%2E%2e/secret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/%2f%2e%2e%2fsecret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt",
    "/sub/../%2e%2e/secret.txt",
    "/%2e%2e/",
    "/" + "%2e%2e%2f" * 40 + "secret.txt",
    "/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/%2fetc%2fpasswd",
    # double encoding: decoded once, it is a name with a percent sign in it
    "/%252e%252e/secret.txt",
    "/%252e%252e%252fsecret.txt",
    "/..%252fsecret.txt",
    # backslashes, raw and encoded
    "/..\\secret.txt",
    "/sub\\..\\..\\secret.txt",
    "/..%5csecret.txt",
    "/%5c..%5csecret.txt",
    "/..%5C..%5Cetc%5Cpasswd",
    # NUL
    "/secret.txt%00.html",
    "/../secret.txt%00",
    "/%00/../secret.txt",
    "/sub/page.txt%00/../../../secret.txt",
    # overlong and odd UTF-8, and IIS's %u escapes
    "/%c0%ae%c0%ae/secret.txt",
    "/%c0%ae%c0%ae%c0%afsecret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    "/%c1%9c..%c1%9csecret.txt",
    "/..%c0%afsecret.txt",
    "/%ef%bc%8e%ef%bc%8e/secret.txt",
    "/%u002e%u002e/secret.txt",
    # Tomcat's path parameters, extra and trailing dots
    "/..;/secret.txt",
    "/sub/..;/..;/secret.txt",
    "/.../secret.txt",
    "/..../secret.txt",
    "/../secret.txt.",
    "/.. /secret.txt".replace(" ", "%20"),
    # absolute-form with dot segments (our host, and another)
    "http://localhost/../secret.txt",
    "http://localhost/%2e%2e/secret.txt",
    "http://localhost:80/sub/../../secret.txt",
    "http://evil.example/../secret.txt",
    # symlinks out of the root, and a symlink loop
    "/escape.txt",
    "/escape-dir/",
    "/escape-dir",
    "/escape-dir/index.html",
    "/sub/relative-escape",
    "/sub/relative-escape-dir/index.html",
    "/loop",
    "/loop/secret.txt",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(server, root): a root beside secret.txt and secret-dir/, with symlinks pointing out of it."""
    base = tmp_path_factory.mktemp("traversal")
    (base / "secret.txt").write_bytes(SECRET)
    (base / "secret-dir").mkdir()
    (base / "secret-dir" / "index.html").write_bytes(SECRET)
    root = base / "root"
    (root / "sub" / "inner").mkdir(parents=True)
    (root / "index.html").write_bytes(b"<p>the public index</p>\n")
    (root / "sub" / "page.txt").write_bytes(b"a public page\n")
    (root / "escape.txt").symlink_to(base / "secret.txt")
    (root / "escape-dir").symlink_to(base / "secret-dir", target_is_directory=True)
    (root / "sub" / "relative-escape").symlink_to("../../secret.txt")
    (root / "sub" / "relative-escape-dir").symlink_to("../../secret-dir", target_is_directory=True)
    (root / "loop").symlink_to("loop")
    srv = start_server(root=root, workers=1, log_dir=tmp_path_factory.mktemp("httpd"))
    try:
        # The control: our raw requests are well formed, so a 4xx below is the server refusing the path.
        assert raw_exchange(srv, "/sub/page.txt").startswith(b"HTTP/1.1 200 "), srv.log()[-500:]
        yield srv, root
    finally:
        srv.stop()


def raw_exchange(srv, target: str) -> bytes:
    """Send `GET target` as raw bytes and return everything the server answers before it closes."""
    request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode("latin-1")
    received = b""
    deadline = time.monotonic() + READ_WITHIN_S
    with socket.create_connection((srv.host, srv.port), timeout=READ_WITHIN_S) as sock:
        sock.sendall(request)
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return received


def leaked_runs(answer: bytes, secret: bytes) -> list[bytes]:
    """The WINDOW-byte runs of `secret` that occur in `answer`."""
    return [secret[i:i + WINDOW] for i in range(len(secret) - WINDOW + 1) if secret[i:i + WINDOW] in answer]


def location_stays_inside(answer: bytes, root) -> bool:
    """True if a 301's Location, decoded and normalised, names a real directory under `root`."""
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    location = next((line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]
                     if line.lower().startswith("location:")), None)
    if location is None or not location.startswith("/"):
        return False
    path = posixpath.normpath(unquote_to_bytes(location.split("?")[0]).decode("utf-8", "replace"))
    real = (root / path.lstrip("/")).resolve()
    return real.is_dir() and (real == root.resolve() or root.resolve() in real.parents)


def public_bodies(root) -> set[bytes]:
    """The contents of the regular files inside `root` (symlinks out of it excluded)."""
    return {p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def body_of(answer: bytes) -> bytes:
    return answer.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in answer else b""


def answered_from_inside(answer: bytes, root) -> bool:
    """4xx, a 200 with the body of a file of the root, or a 301 to a directory inside the root."""
    status = int(answer[9:12])
    return (400 <= status < 500
            or (status == 200 and body_of(answer) in public_bodies(root))
            or (status == 301 and location_stays_inside(answer, root)))


def test_there_are_at_least_thirty_hostile_targets():
    assert len(set(HOSTILE_TARGETS)) == len(HOSTILE_TARGETS) >= 30


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_hostile_target_serves_no_byte_from_outside_the_root(site, target):
    srv, root = site
    answer = raw_exchange(srv, target)
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    assert not leaked_runs(answer, SECRET), f"{target!r} leaked the secret: {answer[:300]!r}"
    assert PASSWD_MARK not in answer
    assert answer[9:12] != b"500", answer[:300]
    assert answered_from_inside(answer, root), answer[:300]


@pytest.mark.parametrize("target", ["/sub/..", "/sub/inner/../..", "/..", "/%2e%2e/", "/sub/%2e%2e/sub/page.txt"])
def test_dot_dot_that_stays_inside_the_root_serves_only_what_is_inside_it(site, target):
    srv, root = site
    answer = raw_exchange(srv, target)
    assert answer[9:12] in (b"200", b"301", b"404") and answered_from_inside(answer, root), answer[:300]


def test_the_root_is_still_served_after_the_whole_attack(site):
    srv, _ = site
    for target in HOSTILE_TARGETS:
        raw_exchange(srv, target)
    assert b"a public page" in raw_exchange(srv, "/sub/page.txt")
    assert b"the public index" in raw_exchange(srv, "/")
