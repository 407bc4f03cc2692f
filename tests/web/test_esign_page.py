"""R-ESIGN on the party's own page (/s/<secret>): no personal data in the address, the code
to their phone before the signature pad appears, the signature recorded as their act, and the
link dead once used."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from api.authz import build_principal
from api.documents import DocumentService
from api.services.own_signing import OwnActSigning
from tests.api.conftest import Api
from tests.flow import open_case
from tests.web.browser import DESK, PHONE, Served, new_context, shot
from tests.web.conftest import Pages

PNG_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class Recording:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, phone: str, message: str) -> None:
        del phone
        self.sent.append(message)


def _ready(api: Api, sender: Recording) -> tuple[str, int, int]:
    """A v2 case with a drafted agreement in signing; a link for its first party."""
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
    with api.engine.db.transaction(write=False) as tx:
        mediator = build_principal(tx, api.world.users["mediator"])
    first = driver.party_ids()[0]
    _, token = OwnActSigning(documents, sender).open_party_act(
        mediator, driver.case_id, first, "link"
    )
    return f"/s/{token}", driver.case_id, first


def test_r_esign_own_page_in_chromium_at_phone_and_desk_width(
    browser: Browser, served: Served, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = Recording()
    monkeypatch.setattr("api.web.esign.sender_for", lambda _settings: sender)
    link, _, _ = _ready(api, sender)
    for viewport in (PHONE, DESK):
        context = new_context(browser, served.url, viewport)
        page = context.new_page()
        page.goto(link)
        expect(page.get_by_role("heading", name="本人签署调解协议")).to_be_visible()
        if viewport is PHONE:
            page.get_by_role("button", name="发送验证码到我的手机").click()
            code = re.search(r"\d{6}", sender.sent[-1])
            assert code is not None
            page.get_by_label("短信验证码").fill(code.group())
            page.get_by_role("button", name="核验").click()
        expect(page.locator("canvas[data-pad]")).to_be_visible()
        shot(page, "page-esign")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        context.close()


def test_r_esign_party_signs_on_own_device_after_phone_code(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    sender = Recording()
    monkeypatch.setattr("api.web.esign.sender_for", lambda _settings: sender)
    with api.engine.db.transaction(write=False) as tx:
        mediator = build_principal(tx, api.world.users["mediator"])
    first = driver.party_ids()[0]
    _, token = OwnActSigning(documents, sender).open_party_act(
        mediator, driver.case_id, first, "link"
    )
    link = f"/s/{token}"
    party = Pages(api)
    page = party.get(link)
    assert page.status_code == 200
    assert "发送验证码到我的手机" in page.text
    assert "data-pad" not in page.text  # no signature before the identity check
    assert page.headers["referrer-policy"] == "no-referrer"
    sent = party.post(f"{link}/code", {}, from_page=link)
    assert "138****1234" in sent.text
    code = re.search(r"\d{6}", sender.sent[-1])
    assert code is not None
    checked = party.post(f"{link}/verify", {"code": code.group()}, from_page=link)
    assert checked.status_code == 303
    pad = party.get(link).text
    assert "data-pad" in pad
    assert "已通过手机验证码核验" in pad
    unread = party.post(link, {"signature": PNG_URL}, from_page=link)
    assert unread.status_code == 400
    assert "阅读" in unread.text
    done = party.post(link, {"signature": PNG_URL, "agree": "yes"}, from_page=link)
    assert done.status_code == 303, done.text
    with api.engine.db.transaction(write=False) as tx:
        assert [s.party_id for s in tx.signatures(driver.case_id)] == [first]
    assert party.get(link).status_code == 404  # single use
