"""R-JC-PACKAGE: the supporting papers a confirmation application carries (SPC-I Art. 354;
JC-2011 Art. 3) — identity proofs, property proofs, guardianship proofs, powers of attorney
(授权委托书) — uploaded by the case's mediator as PDF, JPEG or PNG, sealed in the document
store (write-once, content-addressed, encrypted at rest) and listed in the application's
附件 by what was really uploaded. They show ID cards and deeds: only the roles that may read
the parties' personal data upload or download them, and every download is logged (R-PII)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from api.authz import Principal, pii_purpose, visible_case
from api.documents import DocumentService
from api.errors import UploadTooLarge
from engine.errors import InvalidInput, NotFound
from mediation import queries
from mediation.repository.attachments import AttachmentRecord

KINDS = {
    "identity_proof": "身份证明",
    "property_proof": "财产权利证明",
    "power_of_attorney": "授权委托书",
    "guardianship_proof": "监护关系证明",
    "service_address": "送达地址确认书",
    "other": "其他证明材料",
}
MAX_BYTES = 10 * 2**20
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
PURPOSE = "核对或向人民法院提交司法确认申请附件"


@dataclass(frozen=True, slots=True)
class Attachment(AttachmentRecord):
    """A stored attachment with its kind in words, as the pages and the API show it."""

    kind_label: str


def media_type_of(data: bytes) -> str:
    """The type the bytes really are (never the name or the declared type).

    Raises:
        UploadTooLarge: over MAX_BYTES.  InvalidInput: empty, or not PDF/JPEG/PNG.
    """
    if not data:
        raise InvalidInput("上传的文件是空的", field="file")
    if len(data) > MAX_BYTES:
        raise UploadTooLarge(MAX_BYTES)
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    raise InvalidInput("附件只接受 PDF、JPEG 或 PNG 文件（扫描件或照片）", field="file")


def upload(
    documents: DocumentService,
    principal: Principal,
    case_id: int,
    *,
    kind: str,
    title: str,
    party_id: int | None,
    data: bytes,
) -> Attachment:
    """Store one supporting paper of the case.

    Raises:
        CaseNotFound: out of scope.  PiiNotPermitted: not the case's mediator (or court).
        InvalidInput: an unknown kind, no title, a party not of the case, a bad file.
    """
    if kind not in KINDS:
        kinds = "、".join(f"{k}（{v}）" for k, v in KINDS.items())
        raise InvalidInput(f"附件种类须为：{kinds}", field="kind")
    title = title.strip()
    if not title or len(title) > 100:
        raise InvalidInput("请填写附件名称（100 字以内），如“王秀英身份证复印件”", field="title")
    media_type = media_type_of(data)
    engine = documents.engine
    case = engine.get_case(case_id, principal.actor)
    with engine.db.transaction(write=False) as tx:
        pii_purpose(tx, principal, case)
        parties = queries.parties(tx, case_id)
    if party_id is not None and party_id not in {p.party_id for p in parties}:
        raise InvalidInput(f"当事人 {party_id} 不是本案当事人", field="party_id")
    digest = documents.store.put(data)
    with engine.db.transaction(write=True) as tx:
        tx.add_attachment(
            case_id=case_id,
            kind=kind,
            party_id=party_id,
            title=title,
            media_type=media_type,
            size=len(data),
            sha256=digest,
            uploaded_by=principal.user_id,
            uploaded_at=engine.clock.now(),
        )
    return listed(documents, case_id)[-1]


def listed(documents: DocumentService, case_id: int) -> list[Attachment]:
    """The case's attachments, oldest first (no scope check: callers check the case)."""
    with documents.engine.db.transaction(write=False) as tx:
        records = tx.attachments(case_id)
    return [Attachment(**asdict(r), kind_label=KINDS.get(r.kind, r.kind)) for r in records]


def for_case(documents: DocumentService, principal: Principal, case_id: int) -> list[Attachment]:
    """What anyone who may see the case may list: titles and kinds, no contents."""
    with documents.engine.db.transaction(write=False) as tx:
        visible_case(tx, case_id, principal)
    return listed(documents, case_id)


def read(
    documents: DocumentService, principal: Principal, case_id: int, attachment_id: int
) -> tuple[Attachment, bytes]:
    """One attachment's bytes, for the roles that may read personal data; the read is logged.

    Raises:
        CaseNotFound: out of scope.  PiiNotPermitted: no such role.  NotFound: no such file.
    """
    engine = documents.engine
    case = engine.get_case(case_id, principal.actor)
    with engine.db.transaction(write=False) as tx:
        purpose = pii_purpose(tx, principal, case)
    found = next((a for a in listed(documents, case_id) if a.id == attachment_id), None)
    if found is None:
        raise NotFound("附件", attachment_id)
    data = documents.read(found.sha256)
    if principal.user_id is not None:
        with engine.db.transaction(write=True) as tx:
            # a paper of no one party (a deed of both) is a read of every party's data
            concerned = (
                [found.party_id]
                if found.party_id
                else [p.party_id for p in queries.parties(tx, case_id)]
            )
            for party_id in concerned:
                tx.log_pii_access(
                    at=engine.clock.now(),
                    user_id=principal.user_id,
                    case_id=case_id,
                    party_id=party_id,
                    fields="attachment",
                    purpose=f"{PURPOSE}：{found.title}（{purpose}）"[:200],
                )
    return found, data


def package_lines(documents: DocumentService, case_id: int) -> list[str]:
    """The 附件 lines for what was uploaded, grouped by kind in KINDS' order."""
    lines = []
    items = listed(documents, case_id)
    for kind, label in KINDS.items():
        titles = [
            f"{a.title}{f'（{a.party_name}）' if a.party_name else ''}"
            for a in items
            if a.kind == kind
        ]
        if titles:
            lines.append(f"{label}：{'、'.join(titles)}")
    return lines
