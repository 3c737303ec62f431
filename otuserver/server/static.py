"""Static files: map a request path to a file under the document root, safely.

`StaticFiles(root)` is an application (`app(request) -> Response`). It owns the
mapping rules of the http-test-suite (`/dir/` -> `dir/index.html`, `/file/` ->
404), the guard that nothing outside the root is ever served, and conditional
GET. It returns the open file as a `FileBody`; the connection sends it with
sendfile, so a large file is never read into memory.
"""

import os
import stat

from ..http import Request, Response
from ..http.dates import format_http_date, parse_http_date
from .media_types import media_type

ALLOWED_METHODS = ("GET", "HEAD")
INDEX_FILE = "index.html"


class FileBody:
    """An open file descriptor and the byte range of it to send.

    `len(body)` is what goes into Content-Length; the connection sends the
    range with os.sendfile and closes the descriptor when it is done.
    """

    __slots__ = ("fd", "offset", "length")

    def __init__(self, fd: int, offset: int, length: int) -> None:
        self.fd, self.offset, self.length = fd, offset, length

    def __len__(self) -> int:
        return self.length

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _text_response(status: int, message: str, headers=()) -> Response:
    return Response(status, [("Content-Type", "text/plain; charset=utf-8"), *headers],
                    f"{status} {message}\n".encode())


class StaticFiles:
    """Serve the files under `root` for GET and HEAD."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)

    def __call__(self, request: Request) -> Response:
        if request.method not in ALLOWED_METHODS:
            # RFC 9110 §15.5.6: a 405 must list what the resource does allow.
            return _text_response(405, "Method Not Allowed", [("Allow", ", ".join(ALLOWED_METHODS))])
        path = self.resolve(request.path)
        if path is None:
            return _text_response(404, "Not Found")
        try:
            return self._open(path, request)
        except PermissionError:
            return _text_response(403, "Forbidden")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return _text_response(404, "Not Found")
        except _IsDirectory:
            # `/dir` without its slash: send the browser to `/dir/` so relative links work.
            location = request.path + "/" + ("?" + request.query_string if request.query_string else "")
            return _text_response(301, "Moved Permanently", [("Location", _quote_path(location))])

    def resolve(self, url_path: str) -> str | None:
        """The file system path for a decoded URL path, or None if it would leave the root.

        `..`, symlinks and percent-encoded tricks all end up in realpath, and the
        answer must still lie under the root (STYLE.md: resolve, then require).
        """
        if "\x00" in url_path or not url_path.startswith("/"):
            return None
        relative = url_path.lstrip("/")
        if url_path.endswith("/"):
            relative += INDEX_FILE
        real = os.path.realpath(os.path.join(self.root, relative))
        if real != self.root and not real.startswith(self.root + os.sep):
            return None
        # `/page.html/` became page.html/index.html above, which fails to open
        # (not a directory): a 404, as the test suite expects.
        return real

    def _open(self, path: str, request: Request) -> Response:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        handed_over = False  # once the FileBody owns fd, the connection closes it
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise _IsDirectory
            if not stat.S_ISREG(info.st_mode):
                raise FileNotFoundError(path)  # devices, FIFOs: never serve them
            headers = self._validators(info)
            if _not_modified(request, headers):
                return Response(304, headers)
            headers.insert(0, ("Content-Type", media_type(path)))
            handed_over = True
            return Response(200, headers, FileBody(fd, 0, info.st_size))
        finally:
            if not handed_over:
                os.close(fd)

    @staticmethod
    def _validators(info: os.stat_result) -> list[tuple[str, str]]:
        # RFC 9110 §8.8: a weak-enough but cheap validator pair, like nginx's.
        etag = f'"{int(info.st_mtime):x}-{info.st_size:x}"'
        return [("Last-Modified", format_http_date(info.st_mtime)), ("ETag", etag)]


class _IsDirectory(Exception):
    """The path names a directory but the URL had no trailing slash."""


def _not_modified(request: Request, validators: list[tuple[str, str]]) -> bool:
    """RFC 9110 §13.1.2-3: If-None-Match wins; If-Modified-Since only without it."""
    last_modified, etag = validators[0][1], validators[1][1]
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    since_time, modified = parse_http_date(since), parse_http_date(last_modified)
    return since_time is not None and modified is not None and modified <= since_time


def _quote_path(path: str) -> str:
    # A Location must be ASCII (RFC 9110 §10.2.2): re-encode what percent-decoding turned into text.
    return "".join(c if 0x21 <= ord(c) < 0x7F else "".join(f"%{b:02X}" for b in c.encode()) for c in path)
