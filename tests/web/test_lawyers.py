"""Volunteer lawyers' page: assigned cases, the 法律意见书 form drawn from the action's
declared fields, and pro-bono hours logged and totalled per lawyer."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.api.conftest import Api
from tests.flow import Driver, open_case
from tests.web.browser import DESK, PHONE, Served, new_context, shot, under_strict_csp
from tests.web.conftest import Pages
from tests.web.test_browser import sign_in


def _panel_with_lawyer(api: Api) -> Driver:
    """A case in joint mediation (三官一律) with the volunteer lawyer assigned."""
    driver = open_case(api.engine, api.world, api.clock)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=api.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.assign("lawyer", "lawyer")
    driver.assign("police", "police")
    driver.fire("mediator", "escalate")
    return driver


def test_a_lawyer_gives_an_opinion_from_the_form_and_the_hours_add_up(api: Api) -> None:
    driver = _panel_with_lawyer(api)
    case_id = driver.case_id
    lawyer = Pages(api).sign_in("lawyer")
    mine = lawyer.get("/lawyers").text
    form_path = f"/cases/{case_id}/act/give_legal_opinion"
    assert f'href="{form_path}"' in mine
    assert "您还没有出具法律意见" in mine
    form = lawyer.get(form_path).text
    assert "法律意见" in form
    assert "服务时长（小时）" in form
    version = str(api.version(case_id))
    missing = lawyer.post(form_path, {"version": version, "hours": "2"}, from_page=form_path)
    assert missing.status_code == 400
    assert "error-summary" in missing.text
    for hours in ("2.5", "1"):
        done = lawyer.post(
            form_path,
            {"version": str(api.version(case_id)), "opinion": "协议内容合法有效", "hours": hours},
            from_page=form_path,
        )
        assert done.status_code == 303, done.text
    after = lawyer.get("/lawyers").text
    assert "合计（2 份意见）" in after
    assert "<strong>3.5</strong>" in after
    supervisor = Pages(api).sign_in("supervisor").get("/lawyers").text
    assert "孙律师" in supervisor
    assert "<td>2 份</td><td>3.5</td>" in supervisor


def test_only_lawyers_and_supervisors_open_the_page(api: Api) -> None:
    assert Pages(api).sign_in("mediator").get("/lawyers").status_code == 403
    assert Pages(api).sign_in("outsider").get("/lawyers").status_code == 403


def test_the_lawyers_page_in_chromium(browser: Browser, served: Served, api: Api) -> None:
    driver = _panel_with_lawyer(api)
    driver.fire("lawyer", "give_legal_opinion", opinion="协议内容合法", hours=2)
    for viewport in (PHONE, DESK):
        context = new_context(browser, served.url, viewport)
        refused = under_strict_csp(context)
        page = context.new_page()
        sign_in(page, "lawyer")
        page.get_by_role("link", name="法律服务").click()
        expect(page.get_by_role("heading", name="我的公益服务时长")).to_be_visible()
        shot(page, "page-lawyers")
        page.get_by_role("link", name="出具法律意见书").first.click()
        expect(page.get_by_label("法律意见")).to_be_visible()
        shot(page, "page-legal-opinion")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], width
        context.close()
        assert refused == []
