"""The case reads started in one turn of the event loop share one statement; each request
still gets exactly its own row, or its own error."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import httpx2 as httpx
import pytest

from api.coalesce import ReadCoalescer
from tests.api.conftest import Api


class Rows:
    """A fake table that records every fetch."""

    def __init__(self, rows: dict[int, str], failing: set[int] | None = None) -> None:
        self.rows = rows
        self.failing = failing or set()
        self.fetches: list[list[int]] = []

    def fetch(self, keys: Collection[int]) -> dict[int, str]:
        self.fetches.append(sorted(keys))
        if self.failing & set(keys):
            raise ConnectionError(f"lost {sorted(self.failing & set(keys))}")
        return {key: self.rows[key] for key in keys if key in self.rows}


def test_reads_started_together_share_one_fetch_and_get_their_own_rows() -> None:
    rows = Rows({1: "a", 2: "b", 3: "c"})
    reads = ReadCoalescer(rows.fetch)

    async def main() -> list[str | None]:
        return await asyncio.gather(*(reads.get(key) for key in (3, 1, 2, 1, 99)))

    assert asyncio.run(main()) == ["c", "a", "b", "a", None]
    assert rows.fetches == [[1, 2, 3, 99]]  # one fetch, each key once


def test_a_read_alone_is_fetched_alone_and_reads_after_it_fetch_again() -> None:
    rows = Rows({1: "a"})
    reads = ReadCoalescer(rows.fetch)

    async def main() -> list[str | None]:
        first = await reads.get(1)
        rows.rows[1] = "changed"  # a write committed between two reads
        return [first, await reads.get(1)]

    assert asyncio.run(main()) == ["a", "changed"]
    assert rows.fetches == [[1], [1]]


def test_a_failed_fetch_is_retried_per_key_so_only_the_failing_read_fails() -> None:
    rows = Rows({1: "a", 2: "b"}, failing={2})
    reads = ReadCoalescer(rows.fetch)

    async def main() -> list[object]:
        reading = (reads.get(1), reads.get(2), reads.get(2))
        return list(await asyncio.gather(*reading, return_exceptions=True))

    first, second, again = asyncio.run(main())
    assert first == "a"
    assert isinstance(second, ConnectionError)
    assert isinstance(again, ConnectionError)
    assert rows.fetches == [[1, 2], [1], [2]]  # each key again once, not once per request


def test_batches_are_split_at_the_limit() -> None:
    rows = Rows({key: str(key) for key in range(10)})
    reads = ReadCoalescer(rows.fetch, limit=4)

    async def main() -> list[str | None]:
        return await asyncio.gather(*(reads.get(key) for key in range(10)))

    assert asyncio.run(main()) == [str(key) for key in range(10)]
    assert [len(keys) for keys in rows.fetches] == [4, 4, 2]


def test_a_cancelled_read_leaves_the_others_answered() -> None:
    rows = Rows({1: "a", 2: "b"})
    reads = ReadCoalescer(rows.fetch)

    async def main() -> str | None:
        doomed = asyncio.ensure_future(reads.get(1))
        kept = asyncio.ensure_future(reads.get(2))
        await asyncio.sleep(0)  # both are waiting now
        doomed.cancel()
        return await kept

    assert asyncio.run(main()) == "b"


def test_each_new_event_loop_starts_clean() -> None:
    rows = Rows({1: "a"})
    reads = ReadCoalescer(rows.fetch)
    assert asyncio.run(reads.get(1)) == "a"
    assert asyncio.run(reads.get(1)) == "a"


@pytest.mark.parametrize("reader", ["mediator", "outsider"])
def test_concurrent_http_reads_of_many_cases_each_answer_for_their_own(
    any_api: Api, reader: str
) -> None:
    api = any_api
    case_ids = [api.new_case() for _ in range(6)]
    fired = api.fire(
        "mediator", case_ids[2], "report_police", station="枫桥派出所", summary="可能激化"
    )
    assert fired.status_code == 200
    headers = api.headers(reader)
    paths = [f"/api/v1/cases/{case_id}" for case_id in [*case_ids, 999999, case_ids[0]]]

    async def read_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.get(path, headers=headers) for path in paths))

    services = api.client.app.state.services  # type: ignore[attr-defined]
    fetch = services.case_reads._fetch
    fetches: list[list[int]] = []

    def spying(keys: Collection[int]) -> object:
        fetches.append(sorted(keys))
        return fetch(keys)

    services.case_reads._fetch = spying
    assert api.client.portal is not None
    responses = api.client.portal.call(read_all)
    assert len(fetches) < len(paths)  # shared statements, not one per request
    if reader == "outsider":  # out of scope, in the same batch as missing: all alike
        assert [r.status_code for r in responses] == [404] * len(paths)
        assert {r.json()["code"] for r in responses} == {"case_not_found"}
        return
    assert [r.status_code for r in responses] == [200] * 6 + [404, 200]
    bodies = [r.json() for r in responses]
    assert [b["id"] for b in bodies[:6]] == case_ids
    assert bodies[7]["id"] == case_ids[0]
    assert [b["version"] for b in bodies[:6]] == [1, 1, 2, 1, 1, 1]
    assert responses[2].headers["ETag"] == '"2"'
