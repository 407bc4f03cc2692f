"""Reads that arrive in the same turn of the event loop share one statement.

Under load a worker's event loop starts several requests per turn. Each case read used to
cost its own round trip and psycopg's per-statement work, about 90 µs of the worker's CPU
on PostgreSQL of a ~300 µs request (bench/api.py); the reads of one turn now fetch their
rows together. With a single request in flight it is one statement, as before, and it waits
for nothing: the statement runs as soon as the requests already started have had their turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ReadCoalescer(Generic[K, V]):
    """`get(key)` from coroutines; `fetch(keys)` runs once per loop turn for all of them.

    `fetch` is a blocking call on the event loop (as the read it replaces was): it must be
    short, and it must return only keys that exist. When it fails, every key is fetched
    again on its own, once, so only the requests for a key that still fails get the error.
    """

    def __init__(self, fetch: Callable[[Collection[K]], Mapping[K, V]], limit: int = 100) -> None:
        self._fetch = fetch
        self._limit = limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}

    async def get(self, key: K) -> V | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests start several): nothing carries over
            self._loop, self._waiting = loop, {}
        future: asyncio.Future[V | None] = loop.create_future()
        waiting = self._waiting.get(key)
        if waiting is not None:
            waiting.append(future)
        else:
            if not self._waiting:
                loop.call_soon(self._flush)
            self._waiting[key] = [future]
        return await future

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, {}
        keys = list(waiting)
        for start in range(0, len(keys), self._limit):
            self._resolve(keys[start : start + self._limit], waiting)

    def _resolve(self, keys: list[K], waiting: dict[K, list[asyncio.Future[V | None]]]) -> None:
        try:
            found = self._fetch(keys)
        except Exception:
            # each key is read again on its own, so one bad row or a passing failure costs
            # only the requests that asked for it, and each of those gets the error
            for key in keys:
                try:
                    value = self._fetch([key]).get(key)
                except Exception as exc:
                    for future in waiting[key]:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for future in waiting[key]:
                        if not future.done():
                            future.set_result(value)
            return
        for key in keys:
            for future in waiting[key]:
                if not future.done():  # done: the request was cancelled meanwhile
                    future.set_result(found.get(key))
