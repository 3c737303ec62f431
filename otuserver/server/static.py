"""Static files: map a request path to a file under the document root, safely.

`StaticFiles(root)` is an application (`app(request) -> Response`). It owns the
mapping rules of the http-test-suite (`/dir/` -> `dir/index.html`, `/file/` ->
404), the guard that nothing outside the root is ever served, conditional
GET, and byte ranges (206/416; the parsing lives in ranges.py). It returns the
open file, or the part of it asked for, as a `FileBody`; the connection sends it
with sendfile, so a large file is never read into memory.
"""

import errno
import os
import stat
import time
from typing import NamedTuple

from ..http import Request, Response
from ..http.dates import format_http_date, parse_http_date
from ..http.urls import remove_dot_segments
from .media_types import media_type
from .ranges import content_range, if_range_holds, parse_range

ALLOWED_METHODS = ("GET", "HEAD")
INDEX_FILE = "index.html"
# RFC 9110 §14.3: tell clients (download resumers, video players) they may ask for byte ranges.
ACCEPT_RANGES = ("Accept-Ranges", "bytes")


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


# Shared, immutable answers: their rendered fields are kept after first use.
NOT_FOUND = _text_response(404, "Not Found")
FORBIDDEN = _text_response(403, "Forbidden")
# RFC 9110 §15.5.6: a 405 must list what the resource does allow.
METHOD_NOT_ALLOWED = _text_response(405, "Method Not Allowed", [("Allow", ", ".join(ALLOWED_METHODS))])
PRECONDITION_FAILED = _text_response(412, "Precondition Failed")
# RFC 9110 §15.6.4: a temporary overload. A 404 would be cacheable (§15.1) and would be wrong.
SERVICE_UNAVAILABLE = _text_response(503, "Service Unavailable")
# os.open errors that say the process or system has no room for a descriptor, not that the file is missing.
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOMEM}


class Validators(NamedTuple):
    """What a conditional request is compared with (RFC 9110 §8.8): Last-Modified and an
    ETag built from mtime and size, as nginx builds it."""

    mtime: int
    etag: str

    @classmethod
    def of(cls, info: os.stat_result) -> "Validators":
        mtime = int(info.st_mtime)
        # RFC 9110 §8.8.2.1: a modification time in the future (a wrong clock, an unpacked archive)
        # MUST become the time of the response; a client told "2030" would take every change made
        # before then for "not modified". The ETag keeps the file's own time.
        return cls(min(mtime, int(time.time())), f'"{mtime:x}-{info.st_size:x}"')

    def fields(self) -> list[tuple[str, str]]:
        return [("Last-Modified", format_http_date(self.mtime)), ("ETag", self.etag)]


class _CachedFile:
    """A small file held in memory with its ready-made 200 and 304 responses.

    Those two are shared by every request for the file; a 206 or 416 is built
    per request instead (ranges are rare), so the shared ones are never changed.
    """

    __slots__ = ("identity", "validators", "fields", "ok", "not_modified", "checked_at")

    def __init__(self, identity: tuple, path: str, validators: Validators, body: bytes) -> None:
        self.identity = identity          # (inode, size, mtime_ns): what "unchanged" means
        self.validators = validators
        self.fields = [("Content-Type", media_type(path)), *validators.fields()]
        self.ok = Response(200, [*self.fields, ACCEPT_RANGES], body)
        self.not_modified = Response(304, validators.fields())
        self.checked_at = time.monotonic()

    def answer(self, request: Request) -> Response:
        fields = request.headers.by_name
        if not ("if-none-match" in fields or "if-modified-since" in fields or "range" in fields
                or "if-match" in fields or "if-unmodified-since" in fields):
            return self.ok  # the common case: nothing conditional, no range: the shared 200
        status = _precondition_status(request, self.validators)
        if status:
            return self.not_modified if status == 304 else PRECONDITION_FAILED
        range_field = fields.get("range")
        if range_field is None:
            return self.ok
        body = self.ok.body
        wanted = _wanted_range(request, range_field, self.validators, len(body))
        if wanted is None:
            return self.ok
        if not wanted:
            return _not_satisfiable(len(body))
        return Response(206, [*self.fields, ("Content-Range", content_range(wanted, len(body)))],
                        body[wanted.start:wanted.stop])


class StaticFiles:
    """Serve the files under `root` for GET and HEAD.

    Files up to `cache_max_file_bytes` are kept in memory (at most
    `cache_max_bytes` in all), keyed by URL path, and looked up again from
    scratch (resolve, open, stat) at most once every `cache_valid_s` seconds,
    like nginx's open_file_cache; larger files are opened per request and go
    out with sendfile.
    """

    def __init__(self, root: str, *, cache_max_file_bytes: int = 64 * 1024,
                 cache_max_bytes: int = 16 << 20, cache_valid_s: float = 1.0) -> None:
        self.root = os.path.realpath(root)
        self.cache_max_file_bytes = cache_max_file_bytes
        self.cache_max_bytes = cache_max_bytes
        self.cache_valid_s = cache_valid_s
        self._cache: dict[str, _CachedFile] = {}
        self._cached_bytes = 0

    def __call__(self, request: Request) -> Response:
        if request.method not in ALLOWED_METHODS:
            return METHOD_NOT_ALLOWED
        entry = self._cache.get(request.path)
        if entry is not None and time.monotonic() - entry.checked_at < self.cache_valid_s:
            return entry.answer(request)
        return self._from_disk(request)

    def resolve(self, url_path: str) -> str | None:
        """The file system path for a decoded URL path, or None if it would leave the root.

        `..`, symlinks and percent-encoded tricks all end up in realpath, and the
        answer must still lie under the root (STYLE.md: resolve, then require).
        """
        if "\x00" in url_path or not url_path.startswith("/"):
            return None
        if "/." in url_path:
            # RFC 3986 §5.2.4 first, so `/page.html/.` is `/page.html/` (a 404), not the file.
            url_path = remove_dot_segments(url_path)
        relative = url_path.lstrip("/")
        if url_path.endswith("/"):
            relative += INDEX_FILE
        real = os.path.realpath(os.path.join(self.root, relative))
        if real != self.root and not real.startswith(self.root + os.sep):
            return None
        # `/page.html/` became page.html/index.html above, which fails to open
        # (not a directory): a 404, as the test suite expects.
        return real

    def _from_disk(self, request: Request) -> Response:
        path = self.resolve(request.path)
        if path is None:
            return NOT_FOUND
        try:
            return self._open(path, request)
        except PermissionError:
            return FORBIDDEN
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return NOT_FOUND
        except _IsDirectory:
            if request.path.endswith("/"):
                return NOT_FOUND  # its index.html is a directory: another slash would redirect forever
            return _redirect_to_directory(request)
        except OSError as error:
            if error.errno in _OUT_OF_RESOURCES:
                return SERVICE_UNAVAILABLE
            return NOT_FOUND  # a symlink loop (ELOOP), a name too long: nothing to serve

    def _open(self, path: str, request: Request) -> Response:
        # O_NONBLOCK: opening a FIFO someone left in the root must not block the worker.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        handed_over = False  # once a FileBody owns fd, the connection closes it
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise _IsDirectory
            if not stat.S_ISREG(info.st_mode):
                raise FileNotFoundError(path)  # devices, FIFOs: never serve them
            if info.st_size <= self.cache_max_file_bytes:
                return self._remember(request.path, path, fd, info).answer(request)
            validators = Validators.of(info)
            status = _precondition_status(request, validators)
            if status:
                return Response(304, validators.fields()) if status == 304 else PRECONDITION_FAILED
            fields = [("Content-Type", media_type(path)), *validators.fields()]
            range_field = request.headers.get("range")
            wanted = (None if range_field is None
                      else _wanted_range(request, range_field, validators, info.st_size))
            if wanted is None:
                handed_over = True
                return Response(200, [*fields, ACCEPT_RANGES], FileBody(fd, 0, info.st_size))
            if not wanted:
                return _not_satisfiable(info.st_size)
            # FileBody is a byte range already: sendfile starts at the offset asked for.
            handed_over = True
            return Response(206, [*fields, ("Content-Range", content_range(wanted, info.st_size))],
                            FileBody(fd, wanted.start, len(wanted)))
        finally:
            if not handed_over:
                os.close(fd)

    def _remember(self, url_path: str, path: str, fd: int, info: os.stat_result) -> _CachedFile:
        identity = (info.st_ino, info.st_size, info.st_mtime_ns)
        entry = self._cache.get(url_path)
        if entry is not None and entry.identity == identity:
            entry.checked_at = time.monotonic()  # unchanged: keep the bytes and rendered fields
            return entry
        entry = _CachedFile(identity, path, Validators.of(info), _read_all(fd, info.st_size))
        self._forget(url_path)
        while self._cache and self._cached_bytes + info.st_size > self.cache_max_bytes:
            self._forget(next(iter(self._cache)))  # the oldest entry goes first
        self._cache[url_path] = entry
        self._cached_bytes += len(entry.ok.body)
        return entry

    def _forget(self, url_path: str) -> None:
        entry = self._cache.pop(url_path, None)
        if entry is not None:
            self._cached_bytes -= len(entry.ok.body)


def _read_all(fd: int, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining > 0:
        chunk = os.read(fd, remaining)
        if not chunk:
            break  # the file shrank since fstat; serve what is there
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class _IsDirectory(Exception):
    """The path names a directory but the URL had no trailing slash."""


def _precondition_status(request: Request, validators: Validators) -> int:
    """412 or 304 if a precondition stops the GET or HEAD, else 0 (RFC 9110 §13.2.2, in its order).

    If-Match, else If-Unmodified-Since, may fail with 412 (§13.1.1, §13.1.4); then
    If-None-Match, else If-Modified-Since, may answer 304 (§13.1.2, §13.1.3). If-Range
    comes last, in _wanted_range.
    """
    fields = request.headers.by_name
    if_match = fields.get("if-match")
    if if_match is not None:
        # §13.1.1: strong comparison, so a weak tag never matches; "*" holds for any file.
        if if_match.strip() != "*" and validators.etag not in _entity_tags(if_match):
            return 412
    else:
        since = fields.get("if-unmodified-since")
        since_time = None if since is None else parse_http_date(since)  # an invalid date is ignored
        if since_time is not None and validators.mtime > since_time:
            return 412
    return 304 if _not_modified(request, validators) else 0


def _entity_tags(value: str) -> set[str]:
    return {tag.strip() for tag in value.split(",")}


def _not_modified(request: Request, validators: Validators) -> bool:
    """RFC 9110 §13.1.2-3: If-None-Match wins; If-Modified-Since only without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        # §13.1.2: weak comparison, so W/ is dropped from each tag.
        tags = {tag.removeprefix("W/") for tag in _entity_tags(if_none_match)}
        return "*" in tags or validators.etag in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False  # the common case: no conditional at all
    since_time = parse_http_date(since)
    return since_time is not None and validators.mtime <= since_time


def _wanted_range(request: Request, range_field: str, validators: Validators, size: int) -> range | None:
    """The part of the file to send in a 206 (empty: 416), or None for the whole 200.

    Called after the 304 check, which wins over Range (RFC 9110 §13.2.2 evaluates
    If-Range last). Range is defined for GET only: HEAD and the rest ignore it
    (RFC 9110 §14.2), as nginx does for HEAD. A stale If-Range means the client's
    partial copy is of another version, so it gets the whole file (§13.1.5).
    """
    if request.method != "GET":
        return None
    if_range = request.headers.get("if-range")
    if if_range is not None and not if_range_holds(if_range, validators.etag, validators.mtime):
        return None
    return parse_range(range_field, size)


def _redirect_to_directory(request: Request) -> Response:
    """`/dir` without its slash: send the browser to `/dir/`, so that relative links work.

    The Location names the path resolve() read (dot segments removed), with one leading
    slash: "//host/../dir" must not become "//host/../dir/", which a client reads as a
    network-path reference to another host (RFC 3986 §4.2), an open redirect. The query
    goes back as it came: it was never decoded.
    """
    path = "/" + remove_dot_segments(request.path).lstrip("/") + "/"
    query = "?" + request.query_string if request.query_string else ""
    return _text_response(301, "Moved Permanently", [("Location", _quote_path(path) + query)])


def _not_satisfiable(size: int) -> Response:
    # RFC 9110 §15.5.17: a 416 names the current length, so the client can ask again.
    return _text_response(416, "Range Not Satisfiable", [("Content-Range", content_range(range(0), size))])


# RFC 3986 §3.3: a path segment is pchar, the unreserved characters, sub-delims, ":" and "@".
_PATH_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/")


def _quote_path(path: str) -> str:
    """A decoded path as the path of a URI again, for a Location (RFC 9110 §10.2.2).

    Everything outside pchar is percent-encoded from its UTF-8 bytes: "%", "?" and "#"
    too, or they would start an escape, a query or a fragment the path never had.
    >>> _quote_path("/q?x/100%/ü b/")
    '/q%3Fx/100%25/%C3%BC%20b/'
    """
    return "".join(c if c in _PATH_SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in path)
