"""A first-come, first-served pool of a few long-lived connections (SQLite readers).

``asyncio.Queue`` is not fair under contention: a released connection wakes the
longest waiter, but any task that calls ``get()`` before that waiter runs takes the
connection first, and the woken waiter queues again at the back. With 20 requests
sharing 3 readers this starved single requests for over a second (the benchmark's
session lookups waited 90 ms at the median, 1.4 s at worst). Here a released
connection is handed to the longest waiter directly, and nobody overtakes a waiter.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

__all__ = ["FairPool"]

T = TypeVar("T")


class FairPool(Generic[T]):
    def __init__(self) -> None:
        self._free: list[T] = []
        self._waiters: deque[asyncio.Future[T]] = deque()

    def __len__(self) -> int:
        """Connections free right now."""
        return len(self._free)

    async def get(self) -> T:
        """A connection: a free one if nobody is waiting, else the next released one
        after every earlier waiter has had its own."""
        if self._free and not self._waiters:
            return self._free.pop()
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # a cancelled waiter stays in the line; put() skips it. One that was handed a
            # connection just before its task was cancelled gives it back.
            if waiter.done() and not waiter.cancelled():
                self.put(waiter.result())
            raise

    def put(self, conn: T) -> None:
        """Give a connection back: to the longest waiter, or to the free list."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._free.append(conn)
