"""R-JC-PACKAGE: the 司法确认申请书 as printed for the court — the parties' full ID numbers,
phones and service addresses (the court needs them; masked everywhere else), every read
logged as for other documents (R-PII), and the attachments listed from what the case really
holds rather than fixed text."""

from __future__ import annotations

from typing import Any

from api.authz import Principal, pii_purpose
from api.documents import DocumentService
from api.pii import PiiRead, log_reads
from api.services.attachments import KINDS, package_lines
from documents import Branding, ConfirmationApplication
from engine.errors import InvalidInput
from engine.records import Actor
from mediation import queries
from mediation.records import MediationCase
from workflows.confirmation import APPLICATION, KEY
from workflows.kinds import AGREEMENT

PURPOSE = "向人民法院提交司法确认申请材料（民诉法解释第354条、法释〔2011〕5号第3条）"


def attachments(
    documents: DocumentService, case_id: int, number: str, committee: str
) -> tuple[str, ...]:
    """What the case holds, in the order SPC-I Art. 354 lists it."""
    versions = documents.versions(case_id, AGREEMENT)
    with documents.engine.db.transaction(write=False) as tx:
        parties = queries.parties(tx, case_id)
        sealed = any(s.signer_kind == "seal" for s in tx.signatures(case_id))
    found: list[str] = []
    if versions:
        found.append(f"人民调解协议书（编号：{number}，第{versions[-1].version}版，电子签署原件）")
    if sealed:
        found.append(f"{committee}主持调解的证明（协议书上的调解委员会印章及调解员签名）")
    ids = [p.name for p in parties if p.id_number_cipher]
    if ids:
        found.append(f"申请人身份证明：{'、'.join(ids)}的居民身份证（号码见上）")
    guardians = [f"{p.name}的法定代理人{p.guardian_name}" for p in parties if p.guardian_name]
    if guardians:
        found.append(f"法定代理人身份及监护关系证明：{'、'.join(guardians)}")
    uploaded = package_lines(documents, case_id)
    agents = [f"{p.name}委托{p.agent_name}" for p in parties if p.agent_name]
    if agents and not any(line.startswith(KINDS["power_of_attorney"]) for line in uploaded):
        found.append(f"授权委托书（尚未上传）：{'、'.join(agents)}")
    found.extend(uploaded)  # the papers really uploaded (api/services/attachments.py)
    return tuple(found)


def court_copy(
    documents: DocumentService, case: MediationCase, version: int = 0
) -> tuple[bytes, list[PiiRead]]:
    """The application rendered for the court from `case` (scope already checked): full ID
    numbers and phones, the attachments the case holds; and the PII reads it makes.
    `version`: the stored version it will be (its QR code's), 0 for a rendering only."""
    engine = documents.engine
    confirmation: dict[str, Any] = case.data.get("confirmation", {})
    court_id = confirmation.get("court_id", case.court_id)
    if "applied_at" not in confirmation or not isinstance(court_id, int):
        raise InvalidInput("本案尚未申请司法确认，无司法确认申请书", field="confirmation")
    with engine.db.transaction(write=False) as tx:
        rows = queries.parties(tx, case.id)
    base = documents.confirmation_application_content(case.id, Actor.system(), case)
    applied = set(confirmation.get("applicants", []))
    unmasked = []
    logged: list[PiiRead] = []
    for row, party in zip([r for r in rows if r.party_id in applied], base.applicants, strict=True):
        id_number = engine.pii.decrypt(row.id_number_cipher) if row.id_number_cipher else None
        phone = engine.pii.decrypt(row.phone_cipher) if row.phone_cipher else None
        shown = [f for f, v in (("id_number", id_number), ("phone", phone)) if v]
        if shown:
            logged.append(PiiRead(row.party_id, tuple(shown)))
        unmasked.append(party.model_copy(update={"id_number": id_number, "phone": phone}))
    committee = documents.branding(case)[0].committee_name
    doc: ConfirmationApplication = base.model_copy(
        update={
            "applicants": tuple(unmasked),
            "attachments": attachments(documents, case.id, case.number, committee),
        }
    )
    pdf = documents.renderer.render(
        doc,
        Branding(committee_name=committee),
        document_id=documents.public_id(case.id, APPLICATION, version),
    )
    return pdf, logged


def _signed_copy(documents: DocumentService, case: MediationCase) -> bytes | None:
    """The application the applicants signed (v2 flows): the version filed, else the one
    being signed; None on flows where the mediator alone filed it (v1)."""
    filed = case.data.get("confirmation", {}).get("application_version")
    prepared = case.data.get(KEY)
    versions = documents.versions(case.id, APPLICATION)
    if filed:
        chosen = next((v for v in versions if v.version == filed), None)
    elif isinstance(prepared, dict) and versions:
        chosen = versions[-1]
    else:
        return None
    return None if chosen is None else documents.read(chosen.sha256)


def confirmation_package(documents: DocumentService, principal: Principal, case_id: int) -> bytes:
    """The application as filed (or being signed): unmasked, logged, with the attachments the
    case holds; on v2 flows the very PDF the applicants signed.

    Raises:
        CaseNotFound: out of scope.  PiiNotPermitted: neither the case's mediator nor the
        court applied to.  InvalidInput: no application yet.
    """
    engine = documents.engine
    case = engine.get_case(case_id, principal.actor)
    with engine.db.transaction(write=False) as tx:
        purpose = pii_purpose(tx, principal, case)
        rows = queries.parties(tx, case_id)
    signed = _signed_copy(documents, case)
    if signed is not None:
        applicants = case.data.get(KEY) or case.data.get("confirmation", {})
        named = set(applicants.get("applicants", [])) if isinstance(applicants, dict) else set()
        pdf = signed
        logged = [PiiRead(r.party_id, ("id_number", "phone")) for r in rows if r.party_id in named]
    else:
        pdf, logged = court_copy(documents, case)
    if principal.user_id is not None:
        log_reads(engine, principal.user_id, case_id, logged, f"{PURPOSE}（{purpose}）")
    return pdf
