"""The signing page: parties sign in turn on one tablet, then the mediator and the seal."""

from __future__ import annotations

import base64
import io
from typing import Any
from urllib.parse import quote

from PIL import Image, ImageDraw

from api.documents import DocumentService
from mediation.intake import PartyIntake, PartyRole, RepresentativeIntake
from tests.api.conftest import Api
from tests.flow import open_case
from tests.rules import rule
from tests.web.conftest import Pages


def drawn_png() -> str:
    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 80), (120, 20), (280, 70)], fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def case_at_signing(api: Api, category: str = "neighbour", **intake: Any) -> int:
    driver = open_case(api.engine, api.world, api.clock, category_code=category, **intake)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=api.world.units["room"])
    driver.assign("mediator", "mediator")
    documents: DocumentService = api.client.app.state.documents  # type: ignore[attr-defined]
    payload = {
        "facts": "被申请人房屋滴水损坏申请人院墙",
        "issues": ["修缮费用的承担"],
        "responsibilities": driver.responsibilities(),
        "terms": driver.terms(),
    }
    documents.draft_agreement(
        driver.case_id, api.world.actors["mediator"], driver.case.version, payload
    )
    driver.fire("mediator", "start_signing")
    return driver.case_id


def test_kiosk_parties_sign_in_turn_then_mediator_and_seal(api: Api) -> None:
    case_id = case_at_signing(api)
    pages = Pages(api).sign_in("mediator")
    start = pages.get(f"/cases/{case_id}/sign", kiosk="true")
    assert "请将本机交给：<strong>王秀英</strong>" in start.text
    for name in ("王秀英", "李建国"):
        form_page = f"/cases/{case_id}/sign?kiosk=true&ready=true"
        ready = pages.client.get(form_page).text
        assert f"请 <strong>{name}</strong> 本人阅读协议" in ready
        party_id = ready.split('name="party_id" value="')[1].split('"')[0]
        version = ready.split('name="version" value="')[1].split('"')[0]
        unread = pages.post(
            f"/cases/{case_id}/sign/party",
            {"party_id": party_id, "version": version, "kiosk": "true", "signature": drawn_png()},
            from_page=form_page,
        )
        assert unread.status_code == 400
        assert "我已阅读并同意" in unread.text
        signed = pages.post(
            f"/cases/{case_id}/sign/party",
            {
                "party_id": party_id,
                "version": version,
                "kiosk": "true",
                "agree": "yes",
                "signature": drawn_png(),
            },
            from_page=form_page,
        )
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == (
            f"/cases/{case_id}/sign?signed={quote(name)}&kiosk=true"
        )
    done = pages.get(f"/cases/{case_id}/sign").text
    assert done.count("已签署") >= 2
    version = done.split('name="version" value="')[1].split('"')[0]
    mediator = pages.post(
        f"/cases/{case_id}/sign/mediator", {"version": version}, from_page=f"/cases/{case_id}/sign"
    )
    assert mediator.status_code == 303
    sealed_page = pages.get(f"/cases/{case_id}/sign").text
    version = sealed_page.split('name="version" value="')[1].split('"')[0]
    seal = pages.post(
        f"/cases/{case_id}/sign/seal", {"version": version}, from_page=f"/cases/{case_id}/sign"
    )
    assert seal.status_code == 303
    assert api.engine.get_case(case_id, api.world.actors["mediator"]).state == "agreement_in_effect"
    pdf = pages.get(f"/cases/{case_id}/documents/agreement/latest")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.count(b"/ByteRange") >= 4


@rule("R-MINOR")
def test_r_minor_the_kiosk_hands_over_to_the_legal_representative_and_checks_their_id(
    api: Api,
) -> None:
    parent = RepresentativeIntake(name="王建华", id_number="34052419800101001X", relation="父亲")
    minor = PartyIntake(
        role=PartyRole.applicant,
        name="王小明",
        id_number="330681201001010015",  # 16 in March 2026
        address="枫桥镇枫源村3组12号",
        legal_representative=parent,
    )
    parties = (minor, api.world.intake().parties[1])
    case_id = case_at_signing(api, spec_version=2, parties=parties)
    pages = Pages(api).sign_in("mediator")
    start = pages.get(f"/cases/{case_id}/sign", kiosk="true").text
    assert "请将本机交给：<strong>王建华（王小明的法定代理人）</strong>" in start
    assert "我是王建华，开始阅读协议" in start
    ready = pages.get(f"/cases/{case_id}/sign", kiosk="true", ready="true").text
    assert "请 <strong>王建华（王小明的法定代理人）</strong> 本人阅读协议" in ready
    assert "王建华出示的身份证件号码" in ready
    assert "我（王建华）已阅读并同意" in ready


def test_r_esign_exclude_asks_for_the_scan_instead_of_the_pad(api: Api) -> None:
    case_id = case_at_signing(api, category="inheritance")
    pages = Pages(api).sign_in("mediator")
    page = pages.get(f"/cases/{case_id}/sign", kiosk="true", ready="true").text
    assert "不能电子签名" in page
    assert 'name="scan"' in page
    assert "data-pad" not in page


def _photo() -> bytes:
    image = Image.new("RGB", (640, 480), (250, 240, 230))
    ImageDraw.Draw(image).ellipse((250, 150, 390, 330), fill=(150, 20, 20))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def test_a_party_may_leave_a_thumbprint_photo_instead_of_drawing(api: Api) -> None:
    case_id = case_at_signing(api)
    pages = Pages(api).sign_in("mediator")
    form = f"/cases/{case_id}/sign?party=1"
    page = pages.get(f"/cases/{case_id}/sign", party="1").text
    version = page.split('name="version" value="')[1].split('"')[0]
    data = {"csrf_token": pages.token(form), "party_id": "1", "version": version, "agree": "yes"}
    response = pages.client.post(
        f"/cases/{case_id}/sign/party",
        data=data,
        files={"photo": ("thumb.jpg", _photo(), "image/jpeg")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    signatures = api.get("mediator", f"/api/v1/cases/{case_id}/documents").json()[-1]["signatures"]
    assert [(s["signer_kind"], s["party_id"], s["method"]) for s in signatures] == [
        ("party", 1, "electronic")
    ]
    not_an_image = pages.client.post(
        f"/cases/{case_id}/sign/party",
        data={**data, "party_id": "2", "csrf_token": pages.token(form)},
        files={"photo": ("thumb.jpg", b"not an image", "image/jpeg")},
        follow_redirects=False,
    )
    assert not_an_image.status_code == 400
    assert "照片无法读取" in not_an_image.text


def test_r_esign_exclude_records_the_wet_signed_scan(api: Api) -> None:
    case_id = case_at_signing(api, category="inheritance")
    pages = Pages(api).sign_in("mediator")
    form = f"/cases/{case_id}/sign?party=1"
    page = pages.get(f"/cases/{case_id}/sign", party="1").text
    version = page.split('name="version" value="')[1].split('"')[0]
    response = pages.client.post(
        f"/cases/{case_id}/sign/party",
        data={"csrf_token": pages.token(form), "party_id": "1", "version": version},
        files={"scan": ("scan.pdf", b"%PDF-1.7\n% a scan\n%%EOF\n", "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    progress = pages.get(f"/cases/{case_id}/sign").text
    assert "已签署</span>（纸质）" in progress
