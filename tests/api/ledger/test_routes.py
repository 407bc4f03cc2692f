"""The 台账 over HTTP: who may import and export, the 422 listing every row's problem, and the
download in the import's own layout."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest

from api.ledger import read
from tests.api.conftest import Api
from tests.api.ledger.books import read_back, row, workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(api: Api, user: str, content: bytes, **params: str) -> httpx.Response:
    return api.client.post(
        "/api/v1/ledger/import",
        headers=api.headers(user),
        params=params,
        files={"file": ("台账.xlsx", content, XLSX)},
    )


def test_a_mediator_imports_a_ledger_and_exports_it_again(any_api: Api) -> None:
    api = any_api
    response = _upload(api, "mediator", workbook([row(), row(申请人="赵大海")]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["imported"], body["skipped"]) == (2, [])
    exported = api.client.get(
        "/api/v1/ledger/export",
        headers=api.headers("mediator"),
        params={
            "unit": str(api.world.units["committee"]),
            "from": "2025-01-01",
            "to": "2025-12-31",
        },
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"] == XLSX
    rows = read_back(exported.content)
    assert [r["申请人"] for r in rows] == ["王秀英", "赵大海"]
    assert rows[0]["申请人身份证号码"] == "1101**********002X"  # R-PII: masked in exports
    assert rows[0]["调解结果"] == "调解成功"


def test_a_bad_ledger_is_a_422_listing_each_row_and_column(any_api: Api) -> None:
    api = any_api
    response = _upload(api, "mediator", workbook([row(), row(纠纷类别="宠物")]))
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "ledger_rows_invalid"
    assert [(e["row"], e["column"], e["code"]) for e in problem["errors"]] == [
        (4, "纠纷类别", "ledger_category_unknown")
    ]
    assert problem["errors"][0]["message"].startswith("纠纷类别“宠物”不在类别表中")
    good = _upload(api, "mediator", workbook([row(), row(纠纷类别="宠物")]), good_rows_only="true")
    assert good.json()["imported"] == 1
    assert [s["row"] for s in good.json()["skipped"]] == [4]


@pytest.mark.parametrize("user", ["household", "lawyer", "judge"])
def test_roles_that_keep_no_ledger_are_refused(api: Api, user: str) -> None:
    response = _upload(api, user, workbook([row()]))
    assert response.status_code == 403
    exported = api.get(user, "/api/v1/ledger/export", unit=str(api.world.units["committee"]))
    assert exported.status_code == 403


def test_another_districts_ledger_is_out_of_scope(api: Api) -> None:
    response = _upload(api, "far_mediator", workbook([row()]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "ledger_unit_out_of_scope"
    exported = api.get(
        "far_mediator", "/api/v1/ledger/export", unit=str(api.world.units["committee"])
    )
    assert exported.status_code == 403


def test_without_a_login_nothing_is_read(api: Api) -> None:
    response = api.client.post(
        "/api/v1/ledger/import", files={"file": ("台账.xlsx", workbook([row()]), XLSX)}
    )
    assert response.status_code == 401


def test_the_route_reads_a_long_sheet_in_a_forkserver_child(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's threads are never forked: its reader starts from a forkserver."""
    monkeypatch.setattr(read, "PARALLEL_ROWS", 2)
    started: list[str] = []
    real = read._read_aside

    def watched(*args: Any) -> Any:
        started.append(args[1] if len(args) > 1 else "fork")
        return real(*args)

    monkeypatch.setattr(read, "_read_aside", watched)
    response = _upload(api, "mediator", workbook([row(申请人=f"张{n}") for n in range(4)]))
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 4
    assert started == ["forkserver"]
