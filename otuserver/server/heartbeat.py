"""Heartbeats: how the master tells a busy worker from a stuck one.

A page of shared memory is mapped before the workers are forked, so every
process sees the same bytes. Each worker writes the monotonic time into its own
slot on every turn of its event loop; the master reads the slots and kills a
worker whose last beat is older than `--timeout` (as gunicorn does with a file's
mtime). CLOCK_MONOTONIC is system-wide on Linux, so the times compare.
"""

import mmap
import struct
import time

_SLOT = struct.Struct("d")


class Heartbeats:
    """`slots` timestamps in anonymous shared memory."""

    def __init__(self, slots: int = 1024) -> None:
        self.slots = slots
        self._page = mmap.mmap(-1, _SLOT.size * slots)  # MAP_SHARED | MAP_ANONYMOUS
        self._free = list(range(slots - 1, -1, -1))

    # In the master.

    def allocate(self) -> int:
        """A free slot for a new worker, stamped with now so it starts alive."""
        slot = self._free.pop()
        self.beat(slot)
        return slot

    def release(self, slot: int) -> None:
        self._free.append(slot)

    def last(self, slot: int) -> float:
        """The monotonic time of the last beat in `slot`."""
        return _SLOT.unpack_from(self._page, slot * _SLOT.size)[0]

    def silence(self, slot: int, now: float | None = None) -> float:
        """Seconds since the worker in `slot` last beat."""
        return (time.monotonic() if now is None else now) - self.last(slot)

    # In the worker.

    def beat(self, slot: int, now: float | None = None) -> None:
        _SLOT.pack_into(self._page, slot * _SLOT.size, time.monotonic() if now is None else now)
