"""The readers' pool serves waiters in arrival order and loses nothing to cancellation."""

from __future__ import annotations

import asyncio

from portalis.core.pool import FairPool


async def test_a_released_connection_goes_to_the_longest_waiter_not_a_newcomer() -> None:
    pool: FairPool[str] = FairPool()
    pool.put("c1")
    held = await pool.get()
    order: list[str] = []

    async def want(name: str) -> None:
        conn = await pool.get()
        order.append(name)
        await asyncio.sleep(0)
        pool.put(conn)

    first = asyncio.create_task(want("first"))
    second = asyncio.create_task(want("second"))
    await asyncio.sleep(0)  # both wait now
    pool.put(held)
    late = asyncio.create_task(want("late"))  # arrives after the release: must not overtake
    await asyncio.gather(first, second, late)
    assert order == ["first", "second", "late"]
    assert len(pool) == 1


async def test_a_cancelled_waiter_neither_blocks_the_line_nor_keeps_a_connection() -> None:
    pool: FairPool[str] = FairPool()
    pool.put("c1")
    held = await pool.get()
    cancelled = asyncio.create_task(pool.get())
    after = asyncio.create_task(pool.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    pool.put(held)
    assert await asyncio.wait_for(after, 1) == "c1"
    pool.put("c1")
    # handed a connection and cancelled before it ran: the connection comes back
    taken = await pool.get()
    racer = asyncio.create_task(pool.get())
    await asyncio.sleep(0)
    pool.put(taken)  # racer's future is done now, its task has not run yet
    racer.cancel()
    await asyncio.gather(racer, return_exceptions=True)
    assert len(pool) == 1 and await pool.get() == "c1"
