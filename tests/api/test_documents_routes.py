"""Agreement documents over HTTP: drafted from structured terms, signed in turn by both parties,
the mediator and the seal, downloaded, and verified by anyone holding the paper through the
unguessable id of its QR code; refusals are problem+json and change nothing."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx2 as httpx
from fastapi import FastAPI
from PIL import Image, ImageDraw

from api.documents import DocumentService
from api.documents.public_ids import PublicIds
from api.keys import load_document_key
from api.routes.documents import MAX_UPLOAD
from api.routes.verify import render_page
from api.schemas import DocumentVerification
from tests.api.conftest import Api
from tests.flow import Driver, open_case
from workflows.kinds import AGREEMENT

ID_SHAPE = re.compile(r"^(\d+)-agreement-1-[0-9a-f]{20}$")
SIGNERS = ["王秀英", "李建国", "杨光明", "枫源村人民调解委员会"]


def _in_room(api: Api, **overrides: Any) -> Driver:
    """A case in a personal-brand room with its mediator and both parties' consent."""
    driver = open_case(api.engine, api.world, api.clock, **overrides)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=api.world.units["room"])
    driver.assign("mediator", "mediator")
    return driver


def _etag(api: Api, case_id: int) -> str:
    return f'"{api.version(case_id)}"'


def _draft(api: Api, driver: Driver, etag: str | None = None, **headers: str) -> httpx.Response:
    body = {
        "facts": "被申请人房屋滴水损坏申请人院墙",
        "issues": "修缮费用的承担；修缮期限",
        "responsibilities": driver.responsibilities(),
        "terms": driver.terms(),
    }
    return api.client.post(
        f"/api/v1/cases/{driver.case_id}/documents/agreement",
        json=body,
        headers=api.headers(
            "mediator", **{"If-Match": etag or _etag(api, driver.case_id), **headers}
        ),
    )


def _sign(api: Api, case_id: int, signer: str, user: str = "mediator", **body: Any) -> Any:
    return api.client.post(
        f"/api/v1/cases/{case_id}/documents/agreement/signatures",
        json={"signer": signer, "expected_version": api.version(case_id), **body},
        headers=api.headers(user),
    )


def _handwriting() -> str:
    image = Image.new("RGBA", (160, 60), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 40), (60, 15), (110, 45), (150, 20)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _versions(api: Api, case_id: int, user: str = "mediator") -> list[dict[str, Any]]:
    response = api.get(user, f"/api/v1/cases/{case_id}/documents")
    assert response.status_code == 200, response.text
    return list(response.json())


def _flip(pdf: bytes) -> bytes:
    """One byte changed inside the signed content, well before the last signature."""
    data = bytearray(pdf)
    at = data.index(b"/Contents", len(data) // 4) - 200
    data[at] = ord("X") if data[at] != ord("X") else ord("Y")
    return bytes(data)


def test_r_agreement_effect_drafted_signed_downloaded_and_verified_over_http(api: Api) -> None:
    driver = _in_room(api)
    case_id = driver.case_id
    seen = _etag(api, case_id)
    drafted = _draft(api, driver, seen, **{"Idempotency-Key": "draft-1"})
    assert drafted.status_code == 201, drafted.text
    document = drafted.json()["document"]
    assert (document["kind"], document["version"], document["printed_version"]) == (
        AGREEMENT,
        1,
        1,
    )
    public_id = document["verification_id"]
    assert ID_SHAPE.match(public_id)
    assert public_id.startswith(f"{case_id}-")
    assert document["verify_url"] == f"http://127.0.0.1:8000/verify/{public_id}"
    assert drafted.headers["etag"] == f'"{drafted.json()["version"]}"'
    assert drafted.headers["location"] == document["download_url"]
    replayed = _draft(api, driver, seen, **{"Idempotency-Key": "draft-1"})  # a retry
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == drafted.json()
    assert len(_versions(api, case_id)) == 1  # rendered once

    assert api.fire("mediator", case_id, "start_signing").status_code == 200
    applicant, respondent = driver.party_ids()
    png = _handwriting()
    for party_id, extra in [(applicant, {"signature_png_base64": png}), (respondent, {})]:
        signed = _sign(api, case_id, "party", party_id=party_id, **extra)
        assert signed.status_code == 201, signed.text
    assert _sign(api, case_id, "mediator").status_code == 201
    sealed = _sign(api, case_id, "seal")
    assert sealed.status_code == 201, sealed.text
    assert sealed.json()["state"] == "agreement_in_effect"
    assert sealed.json()["document"]["version"] == 5

    versions = _versions(api, case_id)
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5]
    assert {v["verification_id"] for v in versions} == {public_id}  # the QR of the draft
    assert [[s["signer_kind"] for s in v["signatures"]] for v in versions] == [
        [],
        ["party"],
        ["party"],
        ["mediator"],
        ["seal"],
    ]
    download = api.get("mediator", versions[-1]["download_url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["etag"] == f'"{versions[-1]["sha256"]}"'
    pdf = download.content

    page = api.client.get(f"/verify/{public_id}")  # no login: whoever holds the paper
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer"
    html = page.text
    assert "核验结论：有效。" in html
    assert "人民调解协议书" in html
    assert api.engine.get_case(case_id, api.world.actors["supervisor"]).number in html
    assert "第 1 版（签署后为第 5 版）" in html
    for name in SIGNERS:
        assert name in html
    assert html.count('签名完好</dt><dd><span class="yes">是') == 4

    report = api.client.get(f"/api/v1/documents/verify/{public_id}")
    assert report.status_code == 200
    body = report.json()
    assert (body["ok"], body["complete"], body["stored_intact"]) == (True, True, True)
    assert (body["version"], body["current_version"], body["sha256"]) == (
        1,
        5,
        versions[-1]["sha256"],
    )
    assert [s["signer_name"] for s in body["signatures"]] == SIGNERS
    assert [s["role"] for s in body["signatures"]] == ["party", "party", "mediator", "committee"]
    assert all(s["intact"] and s["trusted"] and not s["changed_after"] for s in body["signatures"])
    assert all(s["signed_at"].endswith("+08:00") for s in body["signatures"])  # Beijing time

    mac = public_id.rsplit("-", 1)[1]
    tampered = f"{public_id[:-1]}{'0' if public_id[-1] != '0' else '1'}"
    other_case = public_id.replace(f"{case_id}-", f"{case_id + 1}-", 1)
    service: DocumentService = cast(FastAPI, api.client.app).state.documents
    unstored = service.public_id(case_id, AGREEMENT, 99)
    for bad in (tampered, other_case, unstored, f"{case_id}-agreement-1", mac):
        assert api.client.get(f"/verify/{bad}").status_code == 404
        missing = api.client.get(f"/api/v1/documents/verify/{bad}")
        assert (missing.status_code, missing.json()["code"]) == (404, "document_not_found")
    assert "王秀英" not in api.client.get(f"/verify/{tampered}").text

    uploaded = api.client.post(
        "/api/v1/documents/verify", content=pdf, headers={"Content-Type": "application/pdf"}
    )
    assert uploaded.status_code == 200, uploaded.text
    assert (uploaded.json()["ok"], len(uploaded.json()["signatures"])) == (True, 4)
    form = api.client.post(
        "/api/v1/documents/verify", files={"file": ("协议书.pdf", pdf, "application/pdf")}
    )
    assert (form.status_code, form.json()["ok"]) == (200, True)
    flipped = api.client.post(
        "/api/v1/documents/verify",
        content=_flip(pdf),
        headers={"Content-Type": "application/pdf"},
    )
    assert flipped.status_code == 200, flipped.text
    assert flipped.json()["ok"] is False
    assert flipped.json()["verdict"] == "invalid"
    assert "核验结论：无效" in flipped.json()["summary_zh"]
    from tests.documents.test_verdict import revisions

    cut = api.client.post(
        "/api/v1/documents/verify",
        content=revisions(pdf)[-2],
        headers={"Content-Type": "application/pdf"},
    )
    assert cut.status_code == 200, cut.text
    assert (cut.json()["verdict"], cut.json()["ok"]) == ("incomplete", False)
    assert cut.json()["unsigned"] == [cut.json()["order_planned"][-1]]
    assert "尚缺签署" in cut.json()["headline_zh"]
    assert len(_versions(api, case_id)) == 5  # verifying stores nothing


def test_signing_out_of_order_over_http_is_409_and_changes_nothing(api: Api) -> None:
    driver = _in_room(api)
    assert _draft(api, driver).status_code == 201
    assert api.fire("mediator", driver.case_id, "start_signing").status_code == 200
    before = (api.version(driver.case_id), _versions(api, driver.case_id))

    for signer in ("mediator", "seal"):
        refused = _sign(api, driver.case_id, signer)
        body = refused.json()
        assert refused.status_code == 409
        assert refused.headers["content-type"] == "application/problem+json"
        assert (body["code"], body["title"]) == ("document_signing_out_of_order", "签署顺序不符")
        assert "应先由申请人王秀英签署" in body["detail"]
    respondent = driver.party_ids()[1]
    assert _sign(api, driver.case_id, "party", party_id=respondent).status_code == 409
    missing_party = _sign(api, driver.case_id, "party")
    assert (missing_party.status_code, missing_party.json()["field"]) == (422, "party_id")
    not_png = _sign(
        api, driver.case_id, "party", party_id=respondent, signature_png_base64="aGVsbG8="
    )
    assert (not_png.status_code, not_png.json()["field"]) == (422, "signature_png_base64")
    unversioned = api.client.post(
        f"/api/v1/cases/{driver.case_id}/documents/agreement/signatures",
        json={"signer": "mediator"},
        headers=api.headers("mediator"),
    )
    assert (unversioned.status_code, unversioned.json()["code"]) == (428, "version_required")
    assert (api.version(driver.case_id), _versions(api, driver.case_id)) == before


def test_r_esign_exclude_inheritance_is_refused_online_and_recorded_on_paper(api: Api) -> None:
    driver = _in_room(api, category_code="inheritance")
    drafted = _draft(api, driver)
    assert drafted.status_code == 201, drafted.text
    printed = api.get("mediator", drafted.json()["document"]["download_url"]).content
    assert api.fire("mediator", driver.case_id, "start_signing").status_code == 200
    applicant, respondent = driver.party_ids()
    refused = _sign(api, driver.case_id, "party", party_id=applicant)
    assert (refused.status_code, refused.json()["code"]) == (422, "document_esign_excluded")

    steps = [("party", applicant), ("party", respondent), ("mediator", None), ("seal", None)]
    for index, (signer, party_id) in enumerate(steps):
        params: dict[str, Any] = {"signer": signer, "version": api.version(driver.case_id)}
        if party_id is not None:
            params["party_id"] = party_id
        scan = printed + f"\n% scan {min(index, 2)}\n".encode()  # the last scan shows two
        response = api.client.post(
            f"/api/v1/cases/{driver.case_id}/documents/agreement/paper-signatures",
            params=params,
            content=scan,
            headers=api.headers("mediator", **{"Content-Type": "application/pdf"}),
        )
        assert response.status_code == 201, response.text
    assert response.json()["state"] == "agreement_in_effect"
    scans = _versions(api, driver.case_id)
    assert [(v["kind"], v["version"]) for v in scans] == [
        ("agreement", 1),
        ("agreement_scan", 1),
        ("agreement_scan", 2),
        ("agreement_scan", 3),
    ]
    assert [s["method"] for v in scans for s in v["signatures"]] == ["paper"] * 4

    page = api.client.get(f"/verify/{drafted.json()['document']['verification_id']}")
    assert page.status_code == 200
    assert "本文书为纸质签署" in page.text
    assert "当事人、当事人、调解员、人民调解委员会印章" in page.text


def test_out_of_scope_users_find_no_documents(api: Api) -> None:
    driver = _in_room(api)
    assert _draft(api, driver).status_code == 201
    case_id = driver.case_id
    for user in ("outsider", "far_mediator"):
        calls = [
            api.get(user, f"/api/v1/cases/{case_id}/documents"),
            api.get(user, f"/api/v1/cases/{case_id}/documents/agreement/1"),
            api.client.post(
                f"/api/v1/cases/{case_id}/documents/agreement/signatures",
                json={"signer": "mediator", "expected_version": api.version(case_id)},
                headers=api.headers(user),
            ),
        ]
        for response in calls:
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "case_not_found"
    assert api.client.get(f"/api/v1/cases/{case_id}/documents").status_code == 401
    assert api.get("mediator", f"/api/v1/cases/{case_id}/documents/agreement/2").json()["code"] == (
        "document_not_found"
    )


def test_uploads_are_limited_to_a_pdf_of_20_mb(api: Api) -> None:
    too_big = api.client.post(
        "/api/v1/documents/verify",
        content=b"%PDF-" + b"0" * MAX_UPLOAD,
        headers={"Content-Type": "application/pdf"},
    )
    assert (too_big.status_code, too_big.json()["code"]) == (413, "payload_too_large")
    text = api.client.post(
        "/api/v1/documents/verify", content=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert (text.status_code, text.json()["code"]) == (415, "unsupported_media_type")
    garbage = api.client.post(
        "/api/v1/documents/verify",
        content=b"%PDF-1.7 nope",
        headers={"Content-Type": "application/pdf"},
    )
    assert (garbage.status_code, garbage.json()["code"]) == (422, "document_unreadable")
    no_file = api.client.post("/api/v1/documents/verify", files={"other": ("a.pdf", b"%PDF-")})
    assert (no_file.status_code, no_file.json()["field"]) == (422, "file")


def test_verification_ids_are_keyed_per_deployment_and_checked_exactly(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "documents.key"
    key = load_document_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_document_key(path) == key  # made once, then reused
    ours, theirs = PublicIds(key), PublicIds(b"j" * 32)
    minted = ours.mint(12, AGREEMENT, 3)
    assert ours.parse(minted) == (12, AGREEMENT, 3)
    assert theirs.parse(minted) is None  # another deployment's key
    assert ours.parse(minted.upper()) is None
    assert ours.parse(minted + "0") is None
    assert ours.parse(minted.replace("-3-", "-4-")) is None
    assert ours.parse("12-agreement-3") is None


def test_the_verification_page_escapes_everything() -> None:
    hostile = "<script>alert(1)</script>"
    page = render_page(
        DocumentVerification(
            verdict="invalid",
            verdict_zh="无效",
            ok=False,
            complete=False,
            sha256="0" * 64,
            headline_zh=hostile,
            summary_zh="",
            problems=[hostile],
            order_found=[hostile],
            order_planned=[],
            signatures=[],
            unsigned=[hostile],
            modified_after_last_signature=False,
            last_modification_level=None,
            kind=AGREEMENT,
            kind_label="人民调解协议书",
            case_number=hostile,
            version=1,
            current_version=1,
            created_at=datetime(2026, 3, 2, tzinfo=UTC),
            stored_intact=True,
            superseded_by=None,
            paper_signatures=[],
        ),
        200,
    )
    html = bytes(page.body).decode()
    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_r_jc_track_the_judge_rules_over_http_with_a_court_signed_ruling(api: Api) -> None:
    driver = _in_room(api)
    case_id = driver.case_id
    assert _draft(api, driver).status_code == 201
    assert api.fire("mediator", case_id, "start_signing").status_code == 200
    for party_id in driver.party_ids():
        assert _sign(api, case_id, "party", party_id=party_id).status_code == 201
    assert _sign(api, case_id, "mediator").status_code == 201
    assert _sign(api, case_id, "seal").status_code == 201
    applied = api.fire(
        "mediator",
        case_id,
        "apply_confirmation",
        court_id=api.world.units["court"],
        applicants=driver.party_ids(),
    )
    assert applied.status_code == 200, applied.text
    assert api.fire("clerk", case_id, "accept_application").status_code == 200
    body = {
        "outcome": "confirmed",
        "ruling_number": "（2026）浙0681民特9号",
        "reasoning": "调解协议系双方自愿达成，内容不违反法律规定。",
        "expected_version": api.version(case_id),
    }
    url = f"/api/v1/cases/{case_id}/documents/ruling"
    refused = api.client.post(url, json=body, headers=api.headers("mediator"))
    assert refused.status_code == 403, refused.text  # only a judge rules
    ruled = api.client.post(url, json=body, headers=api.headers("judge"))
    assert ruled.status_code == 201, ruled.text
    assert ruled.json()["state"] == "confirmed"
    document = ruled.json()["document"]
    assert (document["kind"], document["version"]) == ("ruling", 1)
    page = api.client.get(f"/verify/{document['verification_id']}")
    assert page.status_code == 200
    assert "诸暨市人民法院枫桥人民法庭" in page.text
    pdf = api.client.get(document["download_url"], headers=api.headers("judge"))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")


def test_r_agreement_effect_a_draft_in_signing_is_incomplete_on_the_page_and_in_json(
    api: Api,
) -> None:
    driver = _in_room(api)
    drafted = _draft(api, driver)
    assert drafted.status_code == 201, drafted.text
    public_id = drafted.json()["document"]["verification_id"]
    assert api.fire("mediator", driver.case_id, "start_signing").status_code == 200
    applicant, _ = driver.party_ids()
    assert _sign(api, driver.case_id, "party", party_id=applicant).status_code == 201
    body = api.client.get(f"/api/v1/documents/verify/{public_id}").json()
    assert (body["verdict"], body["verdict_zh"], body["ok"]) == ("incomplete", "签署未完成", False)
    assert body["order_found"] == ["申请人王秀英"]
    assert body["unsigned"] == [
        "被申请人李建国",
        "调解员杨光明",
        "调解委员会印章枫源村人民调解委员会",
    ]
    page = api.client.get(f"/verify/{public_id}").text
    assert "核验结论：签署未完成" in page
    assert "尚缺签署：被申请人李建国" in page
    assert "协议书方发生效力" in page
    assert "核验结论：有效" not in page
    # the same bytes uploaded give the same verdict
    pdf = api.get("mediator", _versions(api, driver.case_id)[-1]["download_url"]).content
    uploaded = api.client.post(
        "/api/v1/documents/verify", content=pdf, headers={"Content-Type": "application/pdf"}
    ).json()
    assert (uploaded["verdict"], uploaded["headline_zh"]) == (body["verdict"], body["headline_zh"])
