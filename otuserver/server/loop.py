"""A minimal epoll event loop: file descriptors, the objects that own them, and dispatch.

Each registered object has `on_event(events)` and `abort()`. The loop waits in
`epoll.poll`, reads the clock once (`now`, and the `on_wake` hook), then calls
`on_event` for every ready descriptor. A callback that
raises is logged with its traceback and that one object is aborted; the loop,
and so the worker, goes on serving everyone else. Timers are not kept here: the
worker sweeps its connections' deadlines once per tick.
"""

import logging
import select
import time

log = logging.getLogger("otuserver.loop")

READ = select.EPOLLIN | select.EPOLLRDHUP
WRITE = select.EPOLLOUT
EXCLUSIVE = getattr(select, "EPOLLEXCLUSIVE", 0)  # Linux 4.5+: wake one waiter, not all


class EventLoop:
    """Level-triggered epoll over non-blocking descriptors."""

    def __init__(self, on_wake=None) -> None:
        self._epoll = select.epoll()
        self._owners: dict[int, object] = {}
        # The time the last wait ended: every callback of one batch shares it, as
        # nginx shares its cached time, instead of asking the kernel per event.
        self.now = time.monotonic()
        self._on_wake = on_wake or (lambda: None)

    def add(self, fd: int, events: int, owner) -> None:
        self._epoll.register(fd, events)
        self._owners[fd] = owner

    def modify(self, fd: int, events: int) -> None:
        self._epoll.modify(fd, events)

    def remove(self, fd: int) -> None:
        if self._owners.pop(fd, None) is not None:
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):
                pass  # already closed: the kernel dropped it from the set

    def forget(self, fd: int) -> None:
        """Drop `fd`'s owner only: closing a descriptor (never dup'ed) removes it from the
        epoll set by itself (epoll(7)), so a connection's close needs no epoll_ctl call."""
        self._owners.pop(fd, None)

    def __len__(self) -> int:
        return len(self._owners)

    def run_once(self, timeout: float) -> None:
        """Wait up to `timeout` seconds and dispatch every ready descriptor once."""
        ready = self._epoll.poll(timeout)
        self.now = time.monotonic()
        self._on_wake()
        for fd, events in ready:
            owner = self._owners.get(fd)
            if owner is None:
                continue  # closed by an earlier callback in this same batch
            try:
                owner.on_event(events)
            except Exception:
                log.exception("error in event callback for fd %d; dropping it", fd)
                owner.abort()

    def close(self) -> None:
        self._epoll.close()
