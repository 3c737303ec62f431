"""A real browser against a real server: headless Debian Chromium opens /httptest/wikipedia_russia.html
(the http-test-suite's "must be shown correctly in a browser") and takes a screenshot.

What we check: every request the browser made reached our access log answered 200, nearly every local
file the page references was among them, and the screenshot is a real, non-trivial PNG. The page also
names a few resources on wikipedia's own hosts (its favicon among them); there is no network here, so
those fail inside the browser and never reach us. The temporary docroot holds /favicon.ico anyway, so a
browser that asks us for one gets a 200 rather than a 404.
"""

import re
import struct
import subprocess

import pytest

from tests.conftest import require_tool

pytestmark = pytest.mark.slow

CHROMIUM_TIMEOUT_S = 120
WINDOW = (1280, 2000)
# Chromium's flags for a quiet, reproducible run: no sandbox (we are root in CI), no GPU, no QUIC, and
# none of the background traffic (component updates, sync, field trials) that would go off-machine.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", f"--window-size={WINDOW[0]},{WINDOW[1]}"]
LOG_REQUEST = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.[01]" (?P<status>\d{3}) ')
LOCAL_REFERENCE = re.compile(r'<(?:img|script|link)\b[^>]*?\b(?:src|href)="(wikipedia_russia_files/[^"]+)"')


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk.

    >>> png_size(b"\\x89PNG\\r\\n\\x1a\\n" + b"\\x00\\x00\\x00\\rIHDR" + struct.pack(">II", 3, 2))
    (3, 2)
    """
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_chromium_renders_the_wikipedia_page_and_every_request_gets_200(server_factory, httptest_source,
                                                                        tmp_path):
    chromium = require_tool("chromium")
    access_log = tmp_path / "access.log"
    srv = server_factory(workers=2, extra_args=["--access-log", str(access_log)])
    screenshot = tmp_path / "wikipedia_russia.png"
    page = "/httptest/wikipedia_russia.html"

    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={screenshot}",
         srv.base_url + page],
        capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert srv.stop() == 0                         # flushes the access log; all responses are finished

    requests = [m.groupdict() for m in map(LOG_REQUEST.search, access_log.read_text().splitlines()) if m]
    not_ok = [r for r in requests if r["status"] != "200"]
    assert not_ok == [], f"answered other than 200: {not_ok}"
    targets = {r["target"] for r in requests}
    assert page in targets

    html = (httptest_source / "wikipedia_russia.html").read_text(encoding="utf-8", errors="replace")
    referenced = {"/httptest/" + path for path in LOCAL_REFERENCE.findall(html)}
    fetched = referenced & targets
    assert len(referenced) > 100
    assert len(fetched) >= 0.9 * len(referenced), sorted(referenced - targets)[:20]

    data = screenshot.read_bytes()
    assert png_size(data) == WINDOW
    assert len(data) > 100_000, "the screenshot is suspiciously small for a full Wikipedia page"
