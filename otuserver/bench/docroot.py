"""The benchmark's document root: a temporary tree every server under test serves.

It holds a deterministic 600-byte page (at /small.html and as /index.html, so the
figures do not move when the repository's docroot/index.html is edited) and
the http-test-suite tree at /httptest for the 954 KB wikipedia_russia.html.
The tree is hard-linked (runner.link_tree), not
symlinked: our server refuses files whose real path leaves the root, as it must.
It knows nothing of servers.
"""

from pathlib import Path

from ..runner import HTTPTEST_ENV, httptest_dir, link_tree

SMALL_FILE_BYTES = 600
SMALL_PATH = "/small.html"
LARGE_PATH = "/httptest/wikipedia_russia.html"


def small_page(size: int = SMALL_FILE_BYTES) -> bytes:
    """A valid HTML page of exactly `size` bytes, the same bytes on every run.

    >>> len(small_page()), small_page()[:15]
    (600, b'<!doctype html>')
    """
    head = b"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>bench</title></head><body>\n<p>"
    tail = b"</p>\n</body></html>\n"
    filler = b"OTUServer benchmark page. " * (size // 26 + 1)
    return head + filler[: size - len(head) - len(tail)] + tail


def build_docroot(base: Path, httptest: Path | None = None) -> Path:
    """Create base/root with small.html, index.html and httptest/; return the root."""
    source = httptest or httptest_dir()
    if not (source / "wikipedia_russia.html").is_file():
        raise FileNotFoundError(f"the http-test-suite data is not at {source} (set ${HTTPTEST_ENV})")
    root = Path(base) / "root"
    root.mkdir(parents=True)
    page = small_page()
    (root / "small.html").write_bytes(page)
    (root / "index.html").write_bytes(page)
    link_tree(source, root / "httptest")
    return root
