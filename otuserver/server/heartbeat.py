"""Heartbeats: how the master tells a busy worker from a stuck one.

A page of shared memory is mapped before the workers are forked, so every
process sees the same bytes. Each worker writes the monotonic time into its own
slot on every turn of its event loop; the master reads the slots and kills a
worker whose last beat is older than `--timeout` (as gunicorn does with a file's
mtime). CLOCK_MONOTONIC is system-wide on Linux, so the times compare.

A slot is written and read as one element of a memoryview of doubles: one
aligned 8-byte copy, which the other process sees whole. Not struct.pack_into,
which zero-fills its target before writing the value: a master reading in
between saw a beat of 0.0, "silent" since boot, and killed a healthy worker.
"""

import mmap
import time

_SLOT_SIZE = 8  # one C double


class Heartbeats:
    """`slots` timestamps in anonymous shared memory."""

    def __init__(self, slots: int = 1024) -> None:
        self.slots = slots
        self._page = mmap.mmap(-1, _SLOT_SIZE * slots)  # MAP_SHARED | MAP_ANONYMOUS
        self._beats = memoryview(self._page).cast("d")
        self._free = list(range(slots - 1, -1, -1))

    # In the master.

    def allocate(self) -> int:
        """A free slot for a new worker, stamped with now so it starts alive."""
        slot = self._free.pop()
        self.beat(slot)
        return slot

    def available(self) -> int:
        """How many slots are free: one more worker needs one."""
        return len(self._free)

    def release(self, slot: int) -> None:
        self._free.append(slot)

    def last(self, slot: int) -> float:
        """The monotonic time of the last beat in `slot`."""
        return self._beats[slot]

    def silence(self, slot: int, now: float | None = None) -> float:
        """Seconds since the worker in `slot` last beat."""
        return (time.monotonic() if now is None else now) - self.last(slot)

    # In the worker.

    def beat(self, slot: int, now: float | None = None) -> None:
        self._beats[slot] = time.monotonic() if now is None else now
