"""R-JC-PACKAGE on the pages: the mediator uploads the supporting papers, prepares the
application, and each applicant signs it themselves — on the room's kiosk after the ID check,
or on their own phone through a single-use link — before it can be filed."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Browser, expect

from api.demo_signing import sign_as_own_acts
from api.documents import DocumentService
from tests.api.conftest import Api
from tests.flow import Driver, open_case
from tests.rules import rule
from tests.web.browser import DESK, PHONE, Served, new_context, shot
from tests.web.conftest import Pages
from tests.web.test_browser import sign_in
from tests.world import APPLICANT_ID

PNG_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def _in_effect(api: Api) -> Driver:
    documents: DocumentService = api.client.app.state.documents  # type: ignore[attr-defined]
    driver = open_case(api.engine, api.world, api.clock, spec_version=2)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=api.world.units["room"])
    driver.assign("mediator", "mediator")
    documents.draft_agreement(
        driver.case_id,
        api.world.actors["mediator"],
        driver.case.version,
        {
            "facts": "被申请人房屋滴水损坏申请人院墙",
            "issues": "修缮费用的承担",
            "responsibilities": driver.responsibilities(),
            "terms": driver.terms(),
        },
    )
    driver.fire("mediator", "start_signing")
    sign_as_own_acts(documents, driver.case_id, api.world.actors["mediator"])
    assert driver.case.state == "agreement_in_effect"
    return driver


def _upload(pages: Pages, case_id: int, page: str) -> None:
    token = pages.token(page)
    sent = pages.client.post(
        f"/cases/{case_id}/attachments",
        data={"csrf_token": token, "kind": "property_proof", "title": "房产证", "party_id": ""},
        files={"file": ("deed.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text


@rule("R-JC-PACKAGE", "R-ESIGN")
def test_r_jc_package_applicants_sign_the_application_on_the_kiosk_and_their_phone(
    api: Api, pages: Pages
) -> None:
    driver = _in_effect(api)
    case_id = driver.case_id
    here = f"/cases/{case_id}/application"
    pages.sign_in("mediator")
    assert "制作司法确认申请书" in pages.get(here).text
    _upload(pages, case_id, here)
    assert "财产权利证明 · 房产证" in pages.get(here).text
    assert "财产权利证明：房产证" in pages.get(f"/cases/{case_id}").text
    prepared = pages.post(
        f"{here}/prepare",
        {"version": driver.case.version, "court_id": api.world.units["court"]},
        from_page=here,
    )
    assert prepared.status_code == 303, prepared.text
    first, second = driver.party_ids()
    assert "王秀英</strong> 尚未签名" in pages.get(here).text

    # the kiosk: the mediator types the number of the ID shown; the tablet opens the party's page
    wrong = pages.post(
        f"{here}/sign",
        {"party_id": first, "channel": "kiosk", "id_number": "440524188001010014"},
        from_page=here,
    )
    assert wrong.status_code == 400
    assert "不符" in wrong.text
    kiosk = pages.post(
        f"{here}/sign",
        {"party_id": first, "channel": "kiosk", "id_number": APPLICANT_ID},
        from_page=here,
    )
    assert kiosk.status_code == 303
    own_page = kiosk.headers["location"]
    shown = pages.get(own_page).text
    assert "本人签署司法确认申请书" in shown
    assert "调解员已当面核对您的身份证件" in shown
    signed = pages.post(own_page, {"agree": "yes", "signature": PNG_URL}, from_page=own_page)
    assert signed.status_code == 303, signed.text

    # the phone: a single-use link for the other applicant
    linked = pages.post(f"{here}/sign", {"party_id": second, "channel": "link"}, from_page=here)
    assert linked.status_code == 200
    link = re.search(r'href="[^"]*(/s/[^"]+)" data-signing-link', linked.text)
    assert link is not None
    assert "发送验证码到我的手机" in pages.get(link.group(1)).text
    page = pages.get(here).text
    assert "✓ 王秀英 已本人签名" in page
    assert "李建国</strong> 尚未签名" in page
    refused = api.fire(
        "mediator",
        case_id,
        "apply_confirmation",
        court_id=api.world.units["court"],
        applicants=[first, second],
    )
    assert refused.status_code == 422, refused.text
    assert "尚未由以下申请人本人签名：李建国" in refused.json()["detail"]


def test_application_page_in_chromium_at_phone_and_desk_width(
    browser: Browser, served: Served, api: Api, pages: Pages
) -> None:
    with ThreadPoolExecutor(1) as pool:  # pyHanko runs its own loop; Playwright's is running
        driver = pool.submit(_in_effect, api).result()
    here = f"/cases/{driver.case_id}/application"
    pages.sign_in("mediator")
    _upload(pages, driver.case_id, here)
    pages.post(
        f"{here}/prepare",
        {"version": driver.case.version, "court_id": api.world.units["court"]},
        from_page=here,
    )
    for viewport in (PHONE, DESK):
        context = new_context(browser, served.url, viewport)
        page = context.new_page()
        sign_in(page, "mediator")
        page.goto(here)
        expect(page.get_by_role("heading", name="司法确认申请", exact=True)).to_be_visible()
        expect(page.get_by_text("王秀英 尚未签名")).to_be_visible()
        shot(page, "page-application")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        context.close()
