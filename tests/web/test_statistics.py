"""The supervisors' dashboard: the same figures as `fengqiao stats`, drillable by unit, the
overdue cases linked, scope as in the API, and the 台账 as an Excel file."""

from __future__ import annotations

import io
import re
from datetime import date
from html import unescape
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, expect
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from api.web.statistics import presets
from tests.api.conftest import Api
from tests.api.test_statistics import MARCH, _district_in_march
from tests.web.browser import DESK, PHONE, Served, new_context, shot, under_strict_csp
from tests.web.conftest import Pages
from tests.web.test_browser import sign_in

_ROW = re.compile(r'<tr><th scope="row">(?:<a [^>]*>)?([^<]+)(?:</a>)?</th><td>([^<]*)</td>')


def _page_figures(html: str) -> dict[str, str]:
    table = html.split('<table class="plain figures">', 1)[1].split("</table>", 1)[0]
    return {unescape(k): unescape(v) for k, v in _ROW.findall(table)}


def _cli_figures(api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unit: int) -> str:
    key = tmp_path / "pii.key"
    key.write_text("00" * 32)
    url = api.engine.db.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", url)
    monkeypatch.setenv("FENGQIAO_PII_KEY_FILE", str(key))
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["stats", "--unit", str(unit), "--from", MARCH["from"], "--to", MARCH["to"]]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


def test_r_stats_the_dashboard_shows_the_figures_of_fengqiao_stats(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _district_in_march(api)
    district = api.world.units["district"]
    supervisor = Pages(api).sign_in("supervisor")
    response = supervisor.get("/statistics", unit_id=district, **MARCH)
    assert response.status_code == 200, response.text
    shown = _page_figures(response.text)
    printed = _cli_figures(api, tmp_path, monkeypatch, district)
    cli = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in printed.splitlines()
        if line.count("│") == 3
    }
    assert shown["受理"] == "7"
    assert shown["化解率（成功 ÷ 受理）"] == "28.6%"
    for label, value in shown.items():
        if label in cli:  # rich wraps long cells over lines; the short ones compare whole
            assert cli[label] == value, label
    assert {"受理", "调解成功", "化解率（成功 ÷ 受理）", "超期", "平均办理工作日"} <= cli.keys()


def test_r_stats_each_unit_drills_down_and_the_overdue_cases_are_linked(api: Api) -> None:
    ids = _district_in_march(api)
    supervisor = Pages(api).sign_in("supervisor")
    top = supervisor.get("/statistics", **MARCH).text  # the supervisor's own district
    street = api.world.units["street"]
    assert f"unit_id={street}" in top
    assert f'href="/cases/{ids["pending"]}"' in top
    assert "超期督办（1 件）" in top
    assert 'id="stats-data"' in top
    assert "/static/vendor/echarts.min.js" in top
    down = supervisor.get("/statistics", unit_id=street, **MARCH)
    assert down.status_code == 200
    assert "调解统计 · 枫桥镇" in down.text
    assert "返回上级" in down.text


def test_r_stats_out_of_scope_and_bad_periods(api: Api) -> None:
    supervisor = Pages(api).sign_in("supervisor")
    bad = supervisor.get("/statistics", **{"from": "2026-04-01", "to": "2026-03-01"})
    assert bad.status_code == 400
    assert "统计起始日期不能晚于截止日期" in bad.text
    assert 'href="#f-from"' in bad.text
    outside = supervisor.get("/statistics", unit_id=api.world.units["far_district"])
    missing = supervisor.get("/statistics", unit_id=99999)
    assert outside.status_code == missing.status_code == 404
    assert outside.text == missing.text
    export = supervisor.get("/statistics/export.xlsx", unit_id=api.world.units["far_district"])
    assert export.status_code == 404
    mediator = Pages(api).sign_in("mediator")
    assert mediator.get("/statistics").status_code == 403
    assert mediator.get("/statistics/export.xlsx").status_code == 403


def test_r_stats_one_click_exports_the_ledger_and_figures_to_excel(api: Api) -> None:
    _district_in_march(api)
    supervisor = Pages(api).sign_in("supervisor")
    page = supervisor.get("/statistics", **MARCH).text
    found = re.search(r'href="(/statistics/export\.xlsx\?[^"]+)"', page)
    assert found, "no export link"
    response = supervisor.client.get(unescape(found.group(1)))  # the link as clicked
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    figures = {row[0]: row[1] for row in book["统计"].iter_rows(min_row=3, values_only=True)}
    assert figures["受理"] == 7  # a number Excel can sum
    ledger = list(book["台账"].iter_rows(values_only=True))
    assert ledger[0][0] == "案件编号"
    assert len(ledger) == 1 + 7  # the seven March cases, not January's
    parties = " ".join(str(r[2]) for r in ledger[1:])
    assert "****" in parties  # ID and phone masked (R-PII)
    assert not re.search(r"\d{17}[\dX]", parties)


def test_the_dashboard_in_chromium_at_phone_and_desk_width(
    browser: Browser, served: Served, api: Api
) -> None:
    """Charts drawn under a Content-Security-Policy of 'self', a unit drilled into by a click,
    no sideways scrolling on a phone; screenshots in test-artifacts/."""
    _district_in_march(api)
    query = f"from={MARCH['from']}&to={MARCH['to']}"
    for viewport in (PHONE, DESK):
        context = new_context(browser, served.url, viewport)
        refused = under_strict_csp(context)
        page = context.new_page()
        sign_in(page, "supervisor")
        page.get_by_role("link", name="统计督办").click()
        expect(page.get_by_role("heading", name="调解统计 · 诸暨市")).to_be_visible()
        page.get_by_label("受理日期自").fill(MARCH["from"])
        page.get_by_label("受理日期至").fill(MARCH["to"])
        page.get_by_role("button", name="查看这段时间").click()
        expect(page.locator(".figures")).to_contain_text("28.6%")
        expect(page.locator('[data-chart="levels"] canvas')).to_have_count(1)
        shot(page, "page-statistics")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], width
        page.get_by_role("link", name="枫桥镇").first.click()
        expect(page.get_by_role("heading", name="调解统计 · 枫桥镇")).to_be_visible()
        assert query in page.url
        shot(page, "page-statistics-street")
        context.close()
        assert refused == []


def test_period_presets_are_this_month_last_month_quarter_and_year() -> None:
    found = {label: (first, last) for label, first, last in presets(date(2026, 3, 15))}
    assert found["本月"] == (date(2026, 3, 1), date(2026, 3, 15))
    assert found["上月"] == (date(2026, 2, 1), date(2026, 2, 28))
    assert found["本季度"] == (date(2026, 1, 1), date(2026, 3, 15))
    assert found["今年"] == (date(2026, 1, 1), date(2026, 3, 15))
