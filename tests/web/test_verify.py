"""The verification page: upload a PDF, read the verdict in plain words."""

from __future__ import annotations

from api.documents import DocumentService
from tests.api.conftest import Api
from tests.web.conftest import Pages
from tests.web.test_signing import case_at_signing


def signed_agreement(api: Api) -> bytes:
    case_id = case_at_signing(api)
    documents: DocumentService = api.client.app.state.documents  # type: ignore[attr-defined]
    mediator = api.world.actors["mediator"]
    for party in api.get("mediator", f"/api/v1/cases/{case_id}/parties").json():
        documents.sign_party(case_id, mediator, api.version(case_id), party["party_id"])
    documents.sign_mediator(case_id, mediator, api.version(case_id))
    documents.apply_seal(case_id, mediator, api.version(case_id))
    latest = documents.latest(case_id)
    assert latest is not None
    return documents.read(latest.sha256)


def _upload(pages: Pages, pdf: bytes) -> str:
    response = pages.client.post(
        "/verify",
        data={"csrf_token": pages.token("/verify")},
        files={"file": ("agreement.pdf", pdf, "application/pdf")},
    )
    return response.text


def test_verification_page_genuine_and_tampered_in_plain_words(api: Api) -> None:
    pdf = signed_agreement(api)
    pages = Pages(api)
    genuine = _upload(pages, pdf)
    assert 'data-verdict="ok"' in genuine
    assert "这份文件是真的" in genuine
    tampered = bytearray(pdf)
    position = pdf.index(b"(", 1000)  # a string in the signed content stream
    tampered[position + 1] = ord("X") if tampered[position + 1] != ord("X") else ord("Y")
    verdict = _upload(pages, bytes(tampered))
    assert 'data-verdict="bad"' in verdict, verdict
    assert "不要采信" in verdict
    not_pdf = _upload(pages, b"hello")
    assert "这不是 PDF 文件" in not_pdf
