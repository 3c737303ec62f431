"""How many busy connections each worker holds, shared so that a burst is split between them.

The workers accept from one listening socket registered with EPOLLEXCLUSIVE, and
the kernel wakes the first idle one. A burst queued before any worker runs (a
load tester's 50 keep-alive connections, a page's parallel downloads) would be
taken whole by that worker while its siblings sat idle. So the master maps one
page of shared memory before forking, as it does for heartbeats: each worker
writes the number of busy connections it holds (those that made progress in the
last second) into its own slot, and before taking another it compares its count
with the lightest-loaded worker's (Worker.accept).

This module only keeps the numbers; it knows nothing of sockets or of HTTP.
"""

import mmap

ABSENT = 1 << 62   # a free slot, or a worker that stopped accepting: never the lightest
_WORD = 8          # one C long long per count


class LoadBoard:
    """Busy-connection counts in anonymous shared memory, one slot per worker.

    The slots are the heartbeat slots (Heartbeats.allocate). The first word holds
    how many slots have ever been used, so a worker reads only those.
    """

    def __init__(self, slots: int = 1024) -> None:
        self._page = mmap.mmap(-1, _WORD * (slots + 1))  # MAP_SHARED | MAP_ANONYMOUS
        # Written through a memoryview: one aligned 8-byte store per count. struct.pack_into
        # zero-fills first, and a sibling reading in between would see an idle worker.
        self._counts = memoryview(self._page).cast("q")
        for slot in range(slots):
            self.publish(slot, ABSENT)

    # In the master.

    def join(self, slot: int) -> None:
        """A new worker in `slot`, holding nothing yet."""
        self.publish(slot, 0)
        self._counts[0] = max(self._counts[0], slot + 1)

    def leave(self, slot: int) -> None:
        self.publish(slot, ABSENT)

    # In the workers. Each writes only its own slot, one aligned word: no lock is needed.

    def publish(self, slot: int, count: int) -> None:
        self._counts[1 + slot] = count

    def lightest(self) -> int:
        """The smallest count among the workers that accept (ABSENT if none)."""
        return min(self._counts[1:1 + self._counts[0]], default=ABSENT)
