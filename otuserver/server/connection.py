"""One client connection: bytes in through the parser, responses out through the socket.

A Connection is driven by the worker's event loop (`on_event`) and by its clock
(`on_timeout`). It feeds received bytes to the sans-IO RequestParser, hands each
complete Request to the application, and queues the rendered response in an
outbox of byte strings and FileBody ranges (sent with os.sendfile). It stops
reading while a response is still unsent (back-pressure), answers pipelined
requests in order, and turns a parse error into one small response with
`Connection: close`. It knows nothing of routing, files or databases.

That response is text/plain unless the application offers the optional hook
`app.error_response(error, target) -> Response | None`: when the parser can name
the failed request's target, the hook may render the error in that target's own
form (the same status and fields, e.g. as JSON); None, or a hook that fails,
leaves the plain-text answer.
"""

import logging
import os
import socket
from collections import deque

from .. import SERVER_NAME
from ..http import HTTPError, Request, RequestTimeout, Response, status_allows_body
from ..http.dates import DateCache
from ..http.parser import RequestParser
from .loop import READ, WRITE
from .static import FileBody

log = logging.getLogger("otuserver.connection")

RECV_BYTES = 65536
SENDFILE_CHUNK_BYTES = 1 << 20
OUTBOX_HIGH_WATER_BYTES = 65536   # stop answering pipelined requests past this much unsent
LINGER_TIMEOUT_S = 2.0
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
MSG_MORE = getattr(socket, "MSG_MORE", 0)  # Linux: more data follows this send


def error_response(error: HTTPError) -> Response:
    """The small text response a protocol error becomes."""
    body = f"{error.status} {error.reason}: {error.detail}\n".encode("utf-8", "replace")
    return Response(error.status, [("Content-Type", "text/plain; charset=utf-8"), *error.headers], body)


class ServerFields:
    """The fields the server adds to every response, ending the head: Date, Server, Connection.

    `refresh()` runs once per event-loop wakeup (the worker's loop calls it, as
    nginx updates its cached time once per loop iteration); it rebuilds the
    bytes only when the Date's second has changed, so a response just picks
    `rendered[keep_alive]`.
    """

    def __init__(self) -> None:
        self.dates = DateCache()
        self._date = ""
        self.rendered = (b"", b"")   # (with Connection: close, with Connection: keep-alive)
        self.refresh()

    def refresh(self) -> None:
        date = self.dates.now()
        if date != self._date:
            self._date = date
            common = f"Date: {date}\r\nServer: {SERVER_NAME}\r\n"
            self.rendered = ((common + "Connection: close\r\n\r\n").encode("ascii"),
                             (common + "Connection: keep-alive\r\n\r\n").encode("ascii"))


class Connection:
    """The state of one accepted socket, from the first byte to close."""

    def __init__(self, sock: socket.socket, client: str, worker) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.client = client
        self.worker = worker
        self.parser = RequestParser(worker.limits, client)
        self.outbox: deque = deque()   # bytes / memoryview / FileBody, in send order
        self.queued_bytes = 0          # unsent bytes in the outbox (files counted whole)
        self.unlogged: list = []       # files in the outbox whose log line waits (_log_when_sent)
        self.closing = False           # close once the outbox is empty
        self.peer_closed = False       # the client shut down its sending side
        self.linger = False            # on close, drain the client's bytes first (after an error)
        self.lingering = False
        self.continue_sent = False
        self.requests_answered = 0
        self.idle = True               # no part of a request has arrived since the last response
        self.writing = False           # a response is (or was, until _after_flush) in the outbox
        self.events = READ
        self.deadline = 0.0
        self.armed_at = 0.0            # the loop time of the last progress (a request, a send)
        worker.loop.add(self.fd, READ, self)
        self._arm(worker.config.keepalive_timeout)

    # -- events -------------------------------------------------------------

    def on_event(self, events: int) -> None:
        if self.lingering:
            self._drain()
        elif self.outbox:
            self.on_writable()
        else:
            self.on_readable()

    def on_readable(self) -> None:
        try:
            data = self.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            return self.abort()  # ECONNRESET and friends: the client is gone
        if not data:
            # RFC 9112 §9.6: the client half-closed; answer what it sent, then close.
            self.peer_closed = True
            self.process()
            return
        parser = self.parser
        was_idle = self.idle
        parser.receive_data(data)
        answered = self.requests_answered
        self.process()
        if answered == self.requests_answered and self.sock is not None:
            # Part of a request, no answer yet. A head must arrive whole within the
            # timeout from its first byte (so a slowloris trickle cannot hold us);
            # a body only has to keep arriving. (A response re-arms in _after_flush.)
            if (was_idle and parser.in_progress) or parser.reading_body:
                self.idle = False
                self._arm(self.worker.config.request_timeout)

    def on_writable(self) -> None:
        self.flush()
        if not self.outbox and self.sock is not None and not self.closing:
            self.process()  # requests that waited behind the response just sent

    def on_timeout(self) -> None:
        if self.outbox or self.lingering:
            self.abort()  # a client too slow to read, or done lingering
        elif self.parser.in_progress:
            self._fail(RequestTimeout("request not received in time"))
            self.flush()
        else:
            self.close()  # idle keep-alive connection

    # -- requests -----------------------------------------------------------

    def process(self) -> None:
        """Answer the complete requests in the buffer, in order, and send what is ready."""
        while True:
            outbox_full = self._answer_ready()
            self.flush()
            if not (outbox_full and self.sock is not None and not self.outbox):
                break  # more requests wait only if the outbox filled and then drained
        if self.peer_closed and self.sock is not None and not self.outbox:
            self.close()  # nothing more can come and nothing is left to say

    def _answer_ready(self) -> bool:
        """Respond to buffered requests until none is complete; True if stopped by a full outbox."""
        while not self.closing:
            if self.queued_bytes >= OUTBOX_HIGH_WATER_BYTES:
                return True
            try:
                request = self.parser.next_request()
            except HTTPError as error:
                self._fail(error)
                return False
            if request is None:
                if self.parser.expects_continue and not self.continue_sent:
                    self._send_continue()
                return False
            self.continue_sent = False
            self._respond(request)
        return False

    def _send_continue(self) -> None:
        """Tell a client waiting before its body to send it (RFC 9110 §10.1.1), once per request."""
        self.continue_sent = True
        self.writing = True
        self.outbox.append(CONTINUE)
        self.queued_bytes += len(CONTINUE)

    def _respond(self, request: Request) -> None:
        self.requests_answered += 1
        keep_alive = request.keep_alive and not self.worker.stopping
        try:
            response = self.worker.app(request)
            head = response.wire_head()  # an application's bad header is its error too
        except HTTPError as error:
            response = error_response(error)
            head = response.wire_head()
        except Exception:
            log.exception("unhandled error answering %s %s", request.method, request.target)
            response = error_response(HTTPError("the server hit an unexpected error"))
            head = response.wire_head()
        sent = self._queue(head, response, request.method == "HEAD", keep_alive)
        if sent >= 0:
            self._log(request, response.status, sent)
        else:
            self._log_when_sent(response.body, request, response.status)
        if not keep_alive:
            self.closing = True

    def _fail(self, error: HTTPError) -> None:
        """The one place a protocol error becomes a response: send it, then close."""
        response = self._render_error(error)
        # A refused HEAD gets no content either (RFC 9110 §9.3.2): its client would read it as a response.
        sent = self._queue(response.wire_head(), response, self.parser.method == "HEAD", False)
        if sent >= 0:
            self._log(None, error.status, sent)
        else:
            self._log_when_sent(response.body, None, error.status)
        self.closing = self.linger = True

    def _render_error(self, error: HTTPError) -> Response:
        """The application's form of a protocol error when it has one for the target, else ours."""
        hook = getattr(self.worker.app, "error_response", None)
        target = self.parser.target if hook is not None else None
        if target is None:
            return error_response(error)  # no hook, or the request line never made sense
        try:
            response = hook(error, target)
            if response is None:
                return error_response(error)  # not a target the application answers for
            if response.status != error.status:
                raise ValueError(f"the hook answered {error.status} with {response.status}")
            response.wire_head()  # rendered here, so that a bad header falls back too
            return response
        except Exception:
            # An application's fault must not cost the worker, nor the client its answer.
            log.exception("error_response hook failed for %r; answering in plain text", target)
            return error_response(error)

    # -- output -------------------------------------------------------------

    def _queue(self, head: bytes, response: Response, head_only: bool, keep_alive: bool) -> int:
        """Queue the head (ended by the server's fields) and the body; the body's length, or -1
        for a file, whose sent length only its end tells (see _log_sent_file)."""
        head += self.worker.server_fields.rendered[keep_alive]
        body = response.body
        self.writing = True
        if head_only or not len(body) or not status_allows_body(response.status):
            # HEAD, 204 and 304 carry no content (RFC 9110 §9.3.2, §6.4.1).
            if type(body) is FileBody:
                body.close()
            self.outbox.append(head)
            self.queued_bytes += len(head)
            return 0
        if type(body) is FileBody:
            self.outbox.append(head)
            self.outbox.append(body)
            self.queued_bytes += len(head) + len(body)
            return -1
        else:
            head += body  # one send for a small response instead of two
            self.outbox.append(head)
            self.queued_bytes += len(head)
        return len(body)

    def flush(self) -> None:
        """Send as much of the outbox as the socket takes now; wait for EPOLLOUT for the rest."""
        outbox = self.outbox
        try:
            while outbox:
                item = outbox[0]
                if isinstance(item, FileBody):
                    sent = self._send_file(item)
                    done = item.length == 0
                else:
                    if len(outbox) > 1 and not isinstance(outbox[1], FileBody):
                        item = self._coalesce()
                    # A head followed by a file: MSG_MORE holds it back so that it leaves
                    # in the same packets as the file's first bytes (nginx's tcp_nopush).
                    sent = self.sock.send(item, MSG_MORE if len(outbox) > 1 else 0)
                    done = sent == len(item)
                    if not done:
                        outbox[0] = memoryview(item)[sent:]
                self.queued_bytes -= sent
                if not done:
                    break
                outbox.popleft()
        except BlockingIOError:
            pass
        except OSError:
            return self.abort()  # EPIPE / ECONNRESET: the reader went away
        self._after_flush()

    def _coalesce(self) -> bytes:
        # Pipelined small responses leave together in one send.
        parts = []
        while self.outbox and not isinstance(self.outbox[0], FileBody):
            parts.append(self.outbox.popleft())
        joined = b"".join(parts)
        self.outbox.appendleft(joined)
        return joined

    def _send_file(self, body: FileBody) -> int:
        sent = os.sendfile(self.fd, body.fd, body.offset, min(body.length, SENDFILE_CHUNK_BYTES))
        if sent == 0:
            raise BrokenPipeError("file shrank while being sent")  # cannot keep Content-Length's promise
        body.offset += sent
        body.length -= sent
        if body.length == 0:
            body.close()
            self._log_sent_file()
        return sent

    def _after_flush(self) -> None:
        if self.sock is None:
            return
        config = self.worker.config
        if self.outbox:
            self._arm(config.send_timeout)  # re-armed on every flush: progress keeps it alive
            self._want(WRITE)  # and not READ: no new requests while one is unsent
        elif self.closing or (self.worker.stopping and not self.parser.in_progress):
            self._finish()
        elif self.writing:
            # A response just went out: now the client has the idle (or, if the
            # next request has begun, the request) timeout to go on.
            self.writing = False
            self._want(READ)
            self.idle = not self.parser.in_progress
            self._arm(config.keepalive_timeout if self.idle else config.request_timeout)

    # -- closing ------------------------------------------------------------

    def _finish(self) -> None:
        """Close after the last response; after an error, drain the client's bytes first.

        Closing a socket with unread input makes the kernel send RST, which can
        destroy the error response before the client reads it; so we shut down
        our side and read until the client closes (or LINGER_TIMEOUT_S passes).
        """
        if not (self.linger and not self.peer_closed):
            return self.close()
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return self.close()
        self.lingering = True
        self._want(READ)
        self._arm(LINGER_TIMEOUT_S)

    def _drain(self) -> None:
        try:
            if self.sock.recv(RECV_BYTES):
                return
        except BlockingIOError:
            return
        except OSError:
            pass
        self.close()

    def stop_gracefully(self) -> None:
        """The worker is stopping: close an idle keep-alive connection now; let the others finish.

        A connection that has not sent its first request yet is not idle: its client
        is about to send one, so it is answered (with Connection: close) as nginx does.
        Between two requests, closing is allowed (RFC 9112 §9.3.1: clients retry).
        """
        if not self.outbox and not self.parser.in_progress:
            # A request may already wait in the socket: read it rather than reset it.
            self.on_readable()
        if (self.sock is not None and self.requests_answered and not self.outbox
                and not self.parser.in_progress):
            self.close()

    def close(self) -> None:
        if self.sock is None:
            return
        self.worker.loop.forget(self.fd)
        for item in self.outbox:
            if isinstance(item, FileBody):
                item.close()
        self.outbox.clear()
        while self.unlogged:
            self._log_sent_file()  # cut short: each says how much of it went out
        try:
            self.sock.close()
        finally:
            self.sock = None
            self.worker.forget(self)

    abort = close

    # -- helpers ------------------------------------------------------------

    def _log_when_sent(self, body: FileBody, request: Request | None, status: int) -> None:
        """Hold a file's line until its last byte went out or the connection ended: it then
        says how much was sent ($body_bytes_sent), as nginx's does, and a download cut short
        by a timeout or a reset does not pass for a complete one."""
        self.unlogged.append((body, body.offset, request, status))

    def _log_sent_file(self) -> None:
        """Log the oldest file still waiting (files go out in order)."""
        body, first, request, status = self.unlogged.pop(0)
        self._log(request, status, body.offset - first)

    def _log(self, request: Request | None, status: int, body_bytes: int) -> None:
        access_log = self.worker.access_log  # None with --access-log off
        if access_log is not None:
            access_log.record(self.client, request, status, body_bytes)

    def _want(self, events: int) -> None:
        if events != self.events:
            self.events = events
            self.worker.loop.modify(self.fd, events)

    def _arm(self, timeout: float) -> None:
        self.armed_at = now = self.worker.loop.now
        self.deadline = now + timeout
