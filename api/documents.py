"""The document service: renders a case's agreement, collects its signatures in turn and
records every version with the engine, so the PDF chain and the signature rows agree.

The engine keeps digests only; the bytes go to the content-addressed store first and the
engine is fired after. If the fire fails nothing references the stored file (it is named by
its digest, so it is harmless and a retry reuses it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from cryptography import x509
from pydantic import ValidationError

from api.document_store import open_document_store
from api.errors import DocumentNotFound, OwnActRequired
from api.keys import load_document_key
from api.settings import Settings
from documents import (
    AgreementContent,
    Branding,
    CertificateAuthority,
    ConfirmationApplication,
    CourtRuling,
    DocumentContent,
    FollowUpRecord,
    IssuedSigner,
    LegalOpinion,
    MediationAgreement,
    MediationApplication,
    MediationTranscript,
    Party,
    Person,
    RegistrationForm,
    Renderer,
    Responsibility,
    SignerRole,
    Term,
    TranscriptEntry,
    VerificationReport,
    sign,
    verify,
)
from documents.fonts import CJK_FAMILY, check_harfbuzz_subset, find_cjk_font
from documents.signing import Mark
from documents.store import BlobStore
from engine import access, queries
from engine.calendar import SHANGHAI as BEIJING
from engine.errors import ConcurrentUpdate, InvalidInput, NotFound
from engine.hooks import DocumentRecord
from engine.intake import APPLICATION_FORM_LABELS, ORIGIN_LABELS, ApplicationForm, Origin
from engine.records import Actor, CaseRecord, CategoryRecord, FireResult
from engine.repository import Tx
from engine.runtime import Engine
from workflows.agreement_content import agreement_fields, overdue_terms
from workflows.kinds import AGREEMENT, AGREEMENT_SCAN, RULING

__all__ = [
    "AGREEMENT",
    "AGREEMENT_SCAN",
    "CASE_FILE_KINDS",
    "RULING",
    "CaseFileKind",
    "DocumentService",
    "PublicIds",
    "ResolvedDocument",
    "check_environment",
    "document_key_file",
    "load_authority",
    "load_document_key",
    "printed_versions",
    "shared_renderer",
    "trust_roots",
]

_T = TypeVar("_T")
PARTY_LABELS = {"applicant": "申请人", "respondent": "被申请人", "third_party": "第三人"}
SEX_ZH: dict[str, Literal["男", "女"]] = {"male": "男", "female": "女"}
PII_PURPOSE = "制作人民调解协议书（人民调解法第29条、司法部规定第35条）"
PAPER_TRIGGERS = ("sign_party", "sign_mediator", "apply_seal")
DEV_CA_CERTIFICATE = "dev-ca.crt.pem"  # the file CertificateAuthority.development writes
CaseFileKind = Literal[
    "application",
    "registration",
    "transcript",
    "confirmation_application",
    "followup",
    "legal_opinion",
]
CASE_FILE_KINDS: tuple[str, ...] = get_args(CaseFileKind)
RENDERING_VERSION = 0  # never recorded: its verification id resolves to "not found"
UNRECORDED = "（未记录）"
_SPEAKER = re.compile(r"^\s*([^：:\s]{1,12})[：:]\s*(.+)$")
MAC_HEX = 20  # 80 bits of HMAC-SHA256: not guessable, short enough for a QR code
_PUBLIC_ID = re.compile(
    r"([1-9][0-9]{0,9})-([a-z][a-z_]{0,39})-([1-9][0-9]{0,9})-([0-9a-f]{" + str(MAC_HEX) + "})"
)


def document_key_file(settings: Settings) -> Path:
    return settings.data_dir / "keys" / "documents.key"


class PublicIds:
    """Verification ids printed in each document's QR code: "{case}-{kind}-{version}-{mac}".

    The MAC (HMAC-SHA256 under a per-deployment key) makes ids unguessable, so the public
    verification page, which names the signers, opens only to whoever holds the document.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, case_id: int, kind: str, version: int) -> str:
        message = f"{case_id}:{kind}:{version}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:MAC_HEX]

    def mint(self, case_id: int, kind: str, version: int) -> str:
        return f"{case_id}-{kind}-{version}-{self._mac(case_id, kind, version)}"

    def parse(self, public_id: str) -> tuple[int, str, int] | None:
        """(case id, kind, version) of an id this deployment minted; None for any other."""
        match = _PUBLIC_ID.fullmatch(public_id)
        if match is None:
            return None
        case_id, kind, version = int(match[1]), match[2], int(match[3])
        if not hmac.compare_digest(self._mac(case_id, kind, version), match[4]):
            return None
        return case_id, kind, version


def printed_versions(
    versions: list[DocumentRecord], signature_document_ids: set[int]
) -> dict[int, int]:
    """Each version → the version whose QR code it carries.

    A signature appends to the PDF it signs, so the signed versions still show the QR code of
    the draft or revision they descend from; a rendered version (no signature step made it)
    carries its own. Scans are uploaded as they are and count as their own.
    """
    printed: dict[int, int] = {}
    current: int | None = None
    for record in versions:
        if current is None or record.id not in signature_document_ids or record.kind != AGREEMENT:
            current = record.version
        printed[record.version] = current
    return printed


@dataclass(frozen=True)
class ResolvedDocument:
    """What a verification id leads to: the version it names and the newest one signed from it."""

    case_id: int
    case_number: str
    kind: str
    named: DocumentRecord
    current: DocumentRecord  # `named` with every signature collected on it since
    superseded_by: int | None  # a later draft or revision of the same document
    paper_signatures: tuple[str, ...]  # signer kinds recorded on paper (R-ESIGN-EXCLUDE)


@lru_cache(maxsize=4)
def shared_renderer(verify_base_url: str, font_family: str = CJK_FAMILY) -> Renderer:
    """One Renderer per process: building it loads fonts and WeasyPrint (~0.7 s)."""
    return Renderer(verify_base_url, font_family=font_family)


def check_environment(font_family: str = CJK_FAMILY) -> None:
    """Refuse to start without the CJK font or HarfBuzz subsetting, with the install hint.

    Without them every agreement would print boxes for Chinese characters, or render forty
    times slower; better to stop at `init` / `serve` than at the first signing.

    Raises:
        SubsetterUnavailable: libharfbuzz-subset is missing or too old.
        FontUnavailable: fontconfig cannot find `font_family`.
    """
    check_harfbuzz_subset()
    find_cjk_font(font_family)


def load_authority(settings: Settings) -> CertificateAuthority:
    """The deployment CA from its PKCS#12 file, else the development CA (made on first use)."""
    signer_dir = settings.ca_dir / "signers"
    if settings.ca_pkcs12_file is not None:
        return CertificateAuthority.from_pkcs12(
            settings.ca_pkcs12_file, settings.ca_passphrase, signer_dir=signer_dir
        )
    return CertificateAuthority.development(settings.ca_dir)


def trust_roots(settings: Settings) -> tuple[x509.Certificate, ...]:
    """The roots documents signed here chain to; never creates a CA just to verify."""
    if settings.ca_pkcs12_file is not None:
        return load_authority(settings).trust_roots
    if (settings.ca_dir / DEV_CA_CERTIFICATE).exists():
        return CertificateAuthority.development(settings.ca_dir).trust_roots
    return ()


@dataclass(frozen=True)
class _CaseFacts:
    """What the agreement says about a case besides its terms, read in one transaction."""

    case: CaseRecord
    category: CategoryRecord
    parties: tuple[queries.PartyRow, ...]
    branding: Branding
    committee_id: int
    presiding: dict[int, str]  # active mediator / 中心户 user id → display name
    agreement_versions: tuple[DocumentRecord, ...]
    mediators: dict[int, str]  # active mediators only (a 中心户 is not the agreement's 调解员)
    registered_by: str | None  # the numbering committee, when another committee mediates


class DocumentService:
    """Agreement documents of cases, from the draft to the committee's seal.

    Args:
        settings: where the store and the CA live, the QR base URL, the time-stamp service.
        engine: the engine every step is recorded through.
        renderer: defaults to the process-wide renderer for `settings.verify_base_url`.
    """

    def __init__(
        self, settings: Settings, engine: Engine, *, renderer: Renderer | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store: BlobStore = open_document_store(settings, engine.db.engine)
        self._renderer = renderer
        self.timestamp_url = settings.timestamp_url

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            self._renderer = shared_renderer(
                self.settings.verify_base_url, self.settings.document_font_family
            )
        return self._renderer

    @cached_property
    def public_ids(self) -> PublicIds:
        return PublicIds(load_document_key(document_key_file(self.settings)))

    def labels(self, vocabulary: str) -> dict[str, str]:
        """A vocabulary's codes and Chinese labels (workflows/vocabularies/)."""
        found = self.engine.registry.vocabularies.get(vocabulary)
        return found.labels() if found is not None else {}

    def public_id(self, case_id: int, kind: str, version: int) -> str:
        """The verification id of one stored version (what its QR code encodes)."""
        return self.public_ids.mint(case_id, kind, version)

    def verify_url(self, public_id: str) -> str:
        return f"{self.settings.verify_base_url}/{public_id}"

    @cached_property
    def authority(self) -> CertificateAuthority:
        """Loaded (or, in development, generated) on first signature, not at start-up."""
        return load_authority(self.settings)

    # --- drafting ------------------------------------------------------------------------

    def draft_agreement(
        self,
        case_id: int,
        actor: Actor,
        expected_version: int,
        payload: dict[str, Any],
        *,
        trigger: str = "draft_agreement",
    ) -> FireResult:
        """Render the agreement the payload describes, store it, then fire `trigger`.

        `trigger` is "draft_agreement" or "revise_agreement"; the payload is what the engine
        action takes (facts, issues, responsibilities, terms) and is checked by the same
        function before anything is rendered.

        Raises:
            EngineError: the case, the payload or the transition is refused.
            DocumentError: the agreement cannot be rendered.
        """
        facts = self._facts(case_id, actor, expected_version, trigger)
        fields = agreement_fields(payload, {p.party_id for p in facts.parties}, today=self._today())
        agreement = self._agreement(facts, fields, actor)
        version = facts.agreement_versions[-1].version + 1 if facts.agreement_versions else 1
        pdf = self.renderer.render(
            agreement, facts.branding, document_id=self.public_id(case_id, AGREEMENT, version)
        )
        digest = self.store.put(pdf)
        return self.engine.fire(
            case_id,
            trigger,
            actor,
            expected_version,
            # the disputed matters as the list the flow declares (a text was split above)
            {**payload, "issues": fields["issues"], "document_sha256": digest},
            performed_by="documents",
        )

    def revise_agreement(
        self, case_id: int, actor: Actor, expected_version: int, payload: dict[str, Any]
    ) -> FireResult:
        return self.draft_agreement(
            case_id, actor, expected_version, payload, trigger="revise_agreement"
        )

    # --- electronic signatures -----------------------------------------------------------

    def sign_party(
        self,
        case_id: int,
        actor: Actor,
        expected_version: int,
        party_id: int,
        *,
        signature_png: bytes | None = None,
        mark: Mark = "signature",
    ) -> FireResult:
        """The party signs the latest version with their own certificate; `actor` records it.

        `mark` is how: a signature (the drawn image, else the typed name), a thumbprint, or —
        for an organisation party — its seal.

        Raises:
            NotASignatory / SigningOutOfOrder / AlreadySigned / ElectronicSignatureExcluded:
                the document's signing plan refuses; nothing is stored or recorded.
            EngineError: the engine refuses the step (guards, roles, concurrency).
        """
        facts = self._facts(case_id, actor, expected_version, "sign_party")
        if self._own_act(facts.case):
            raise OwnActRequired(
                "当事人的电子签名须由当事人（或其法定代理人）本人签署：请发起本人签署（个人签署链接或调解室签署屏），经身份核验后由其本人完成，调解员不能代为签署"
            )
        party = next((p for p in facts.parties if p.party_id == party_id), None)
        if party is None:
            raise InvalidInput(f"当事人 {party_id} 不是本案当事人", field="party_id")
        if mark == "seal" and party.kind != "organisation":
            raise InvalidInput("只有单位当事人可以盖章代替签名", field="mark")
        _require_draft(facts)
        signer = self.authority.issue(party.name, SignerRole.PARTY, key_id=f"party:{party_id}")
        return self._sign(
            facts,
            actor,
            "sign_party",
            signer,
            {"party_id": party_id, "method": "electronic"},
            signature_png=signature_png,
            mark=mark,
        )

    def sign_as_act(
        self,
        case_id: int,
        actor: Actor,
        trigger: str,
        signer: IssuedSigner,
        payload: dict[str, Any],
        *,
        signature_png: bytes | None = None,
        mark: Mark = "signature",
    ) -> FireResult:
        """R-ESIGN: sign the latest agreement with an event certificate the signer's own act
        obtained (api/services/own_signing.py), then fire `trigger`; `actor` is who opened
        the act. The certificate's key is destroyed whatever happens."""
        try:
            case = self.engine.get_case(case_id, actor)
            facts = self._facts(case_id, actor, case.version, trigger)
            assert signer.event is not None, "only event certificates sign as an act"
            if facts.agreement_versions[-1].sha256 != signer.event.document_sha256:
                raise InvalidInput("协议书已更新，请重新发起签署并阅读新版本", field="document")
            return self._sign(
                facts, actor, trigger, signer, payload, signature_png=signature_png, mark=mark
            )
        finally:
            signer.destroy_key()

    def _own_act(self, case: CaseRecord) -> bool:
        return self.engine.registry.get(case.spec_id, case.spec_version).spec.own_act_signing

    def sign_mediator(self, case_id: int, actor: Actor, expected_version: int) -> FireResult:
        """The acting mediator signs with their own certificate, after every party."""
        facts = self._facts(case_id, actor, expected_version, "sign_mediator")
        if self._own_act(facts.case):
            raise OwnActRequired("调解员须本人签署：请在签署时再次输入登录密码")
        _require_draft(facts)
        name = self._user_name(actor)
        signer = self.authority.issue(name, SignerRole.MEDIATOR, key_id=f"user:{actor.user_id}")
        return self._sign(facts, actor, "sign_mediator", signer, {})

    def apply_seal(self, case_id: int, actor: Actor, expected_version: int) -> FireResult:
        """The committee's seal, last (R-AGREEMENT-EFFECT); a room uses its committee's (R-SEAL)."""
        facts = self._facts(case_id, actor, expected_version, "apply_seal")
        _require_draft(facts)
        signer = self.authority.issue(
            facts.branding.seal,
            SignerRole.COMMITTEE,
            organisation=facts.branding.committee_name,
            key_id=f"org:{facts.committee_id}",
        )
        if not self._own_act(facts.case):
            return self._sign(facts, actor, "apply_seal", signer, {})
        # R-ESIGN: the seal is the committee's key, applied by a named person (recorded)
        name = self._user_name(actor)
        return self._sign(
            facts,
            actor,
            "apply_seal",
            signer,
            {"applied_by": name},
            reason=f"加盖调解委员会印章（经办人：{name}）",
        )

    def _sign(
        self,
        facts: _CaseFacts,
        actor: Actor,
        trigger: str,
        signer: IssuedSigner,
        payload: dict[str, Any],
        *,
        signature_png: bytes | None = None,
        mark: Mark = "signature",
        reason: str | None = None,
    ) -> FireResult:
        _require_draft(facts)
        late = overdue_terms(facts.case.data.get("agreement", {}), self._today())
        if late:  # refused before a certificate is issued; the engine checks it again
            raise InvalidInput(
                f"协议约定的履行期限早于签署日期：{'、'.join(late)}；请先修订协议再签署",
                field="terms",
            )
        latest = self.store.get(facts.agreement_versions[-1].sha256)
        signed = sign(
            latest,
            signer,
            signature_png=signature_png,
            timestamp_url=self.timestamp_url,
            location=facts.branding.committee_name,
            mark=mark,
            signed_at=self.engine.clock.now(),
            reason=reason,
        )
        digest = self.store.put(signed)
        return self.engine.fire(
            facts.case.id,
            trigger,
            actor,
            facts.case.version,
            {**payload, "document_sha256": digest},
            performed_by="documents",
        )

    # --- the court's ruling (R-JC-TRACK) -------------------------------------------------

    def issue_ruling(
        self,
        case_id: int,
        actor: Actor,
        expected_version: int,
        *,
        outcome: Literal["confirmed", "rejected"],
        ruling_number: str,
        reasoning: str,
        ground: str | None = None,
    ) -> FireResult:
        """The judge rules: the 民事裁定书 is rendered, signed with the court's key, stored,
        then `confirm` or `reject` is fired with its digest.

        Raises:
            InvalidInput: no application to rule on, or a rejection without a known ground.
            EngineError: the engine refuses the ruling (role, review state, R-JC-SEPARATION).
            DocumentError: the ruling cannot be rendered or signed.
        """
        facts = self._facts(
            case_id, actor, expected_version, "confirm" if outcome == "confirmed" else "reject"
        )
        case = facts.case
        confirmation: dict[str, Any] = case.data.get("confirmation", {})
        if case.court_id is None or "applied_at" not in confirmation:
            raise InvalidInput("本案没有待裁定的司法确认申请", field="court_id")
        grounds = self.labels("rejection_grounds")
        if outcome == "rejected" and ground not in grounds:
            raise InvalidInput(f"驳回须写明理由：{'、'.join(grounds)}", field="ground")
        with self.engine.db.transaction(write=False) as tx:
            court = tx.org_unit(case.court_id)
            assert court is not None, "cases reference their court by foreign key"
            clerk = _court_clerk(tx, case.court_id, confirmation.get("accepted_by"))
            rulings = tx.documents(case_id, RULING)
        court_name = str(court.name)
        names = {p.party_id: p.name for p in facts.parties}
        ruling = CourtRuling(
            number=ruling_number,
            issued_on=self.engine.clock.now().astimezone(BEIJING).date(),
            court=court_name,
            # a joint application: every party is 申请人, none 被申请人 (R-JC-PACKAGE)
            applicants=tuple(
                p.model_copy(update={"label": "申请人"})
                for p in self._document_parties(facts, actor)
            ),
            agreement_number=case.number,
            agreement_date=(case.agreement_effective_at or case.created_at)
            .astimezone(BEIJING)
            .date(),
            filed_on=datetime.fromisoformat(confirmation["applied_at"]).astimezone(BEIJING).date(),
            outcome=outcome,
            agreement_summary=_terms_summary(case.data.get("agreement", {}), names),
            rejection_ground=grounds[ground] if ground else None,
            reasoning=_sentence(reasoning),
            judges=(Person(name=self._user_name(actor), title="审判员"),),
            clerk=Person(name=clerk, title="书记员"),
        )
        version = rulings[-1].version + 1 if rulings else 1
        # the court's document: no room branding, the mediating committee named in the text
        branding = Branding(committee_name=facts.branding.committee_name)
        pdf = self.renderer.render(
            ruling, branding, document_id=self.public_id(case_id, RULING, version)
        )
        signer = self.authority.issue(
            court_name, SignerRole.COURT, organisation=court_name, key_id=f"org:{case.court_id}"
        )
        signed = sign(
            pdf,
            signer,
            timestamp_url=self.timestamp_url,
            location=court_name,
            signed_at=self.engine.clock.now(),
        )
        digest = self.store.put(signed)
        payload: dict[str, Any] = {"ruling_number": ruling_number, "document_sha256": digest}
        if ground:
            payload["ground"] = ground
        trigger = "confirm" if outcome == "confirmed" else "reject"
        return self.engine.fire(
            case_id, trigger, actor, case.version, payload, reasoning, performed_by="court"
        )

    # --- paper (R-ESIGN-EXCLUDE) ---------------------------------------------------------

    def sign_on_paper(
        self,
        case_id: int,
        actor: Actor,
        expected_version: int,
        trigger: str,
        scan: bytes,
        *,
        party_id: int | None = None,
    ) -> FireResult:
        """Record a wet signature (or the physical seal) with the scan that shows it.

        `trigger` is sign_party, sign_mediator or apply_seal. The scan is stored like any
        document and recorded as a version of kind "agreement_scan"; the same scan may back
        several signatures when they were all collected before scanning.
        """
        if trigger not in PAPER_TRIGGERS:
            raise InvalidInput(f"纸质签署只适用于：{'、'.join(PAPER_TRIGGERS)}", field="trigger")
        if not scan.startswith(b"%PDF-"):
            raise InvalidInput("扫描件须为 PDF 文件", field="scan_sha256")
        facts = self._facts(case_id, actor, expected_version, trigger)
        digest = self.store.put(scan)
        payload: dict[str, Any] = {"method": "paper", "scan_sha256": digest}
        if party_id is not None:
            payload["party_id"] = party_id
        return self.engine.fire(
            case_id, trigger, actor, facts.case.version, payload, performed_by="documents"
        )

    # --- reading and verifying -----------------------------------------------------------

    def versions(self, case_id: int, kind: str = AGREEMENT) -> list[DocumentRecord]:
        """Every recorded version of a case's document, oldest first (no scope check: the
        caller has checked the actor may see the case)."""
        with self.engine.db.transaction(write=False) as tx:
            return tx.documents(case_id, kind)

    def latest(self, case_id: int, kind: str = AGREEMENT) -> DocumentRecord | None:
        found = self.versions(case_id, kind)
        return found[-1] if found else None

    def read(self, digest: str) -> bytes:
        """The stored bytes, checked against their digest."""
        return self.store.get(digest)

    @property
    def trust_roots(self) -> tuple[x509.Certificate, ...]:
        """The CA's roots; a verification alone never generates a development CA."""
        if "authority" in self.__dict__:  # already loaded for signing
            return self.authority.trust_roots
        return trust_roots(self.settings)

    def verify(self, digest: str) -> VerificationReport:
        """Verify a stored document against this deployment's CA."""
        return verify(self.store.get(digest), self.trust_roots)

    def resolve(self, public_id: str) -> ResolvedDocument:
        """The document a verification id names, for whoever holds it (no login).

        Raises:
            DocumentNotFound: the id is malformed, its MAC is wrong, or nothing is stored
                under it; all three answer alike.
        """
        parsed = self.public_ids.parse(public_id)
        if parsed is None:
            raise DocumentNotFound(public_id)
        case_id, kind, version = parsed
        with self.engine.db.transaction(write=False) as tx:
            case = tx.load_case(case_id)
            versions = tx.documents(case_id, kind)
            linked = tx.signature_documents(case_id)
            signatures = tx.signatures(case_id)
        named = next((v for v in versions if v.version == version), None)
        if case is None or named is None:
            raise DocumentNotFound(public_id)
        signed = {d for _, _, d in linked if d is not None}
        printed = printed_versions(versions, signed)
        family = [v for v in versions if printed[v.version] == printed[version]]
        later = [v for v in family if v.version >= version]
        renders = sorted({p for p in printed.values() if p > printed[version]})
        return ResolvedDocument(
            case_id=case_id,
            case_number=case.number,
            kind=kind,
            named=named,
            current=later[-1],
            superseded_by=renders[-1] if renders else None,
            paper_signatures=tuple(s.signer_kind for s in signatures if s.method == "paper"),
        )

    # --- the rest of the case file (卷宗), read-only ---------------------------------------

    def render_case_document(
        self, case_id: int, actor: Actor, kind: str, *, index: int | None = None
    ) -> bytes:
        """Render one document of the case file from what the case records, as it stands now.

        A rendering is for reading and printing only: nothing is signed, stored or recorded,
        so its QR code carries version 0, which the verification page answers as not found
        (no recorded document stands behind it). ID and phone numbers appear masked, as in
        every export (R-PII), so nothing is decrypted and there is no unmasked read to log.

        Args:
            case_id: the case.
            actor: who asks; they must be able to see the case, nothing more.
            kind: one of CASE_FILE_KINDS.
            index: 1-based number of the session, visit or legal opinion; the latest if None.

        Returns:
            The PDF bytes.

        Raises:
            CaseNotFound / OutOfScope: the actor may not see the case.
            InvalidInput: an unknown kind, a bad index, or nothing of that kind yet.
            DocumentError: the document cannot be rendered.
        """
        if kind not in CASE_FILE_KINDS:
            raise InvalidInput(f"卷宗文书种类须为：{'、'.join(CASE_FILE_KINDS)}", field="kind")
        if index is not None and index < 1:
            raise InvalidInput("序号从 1 开始", field="index")
        case = self.engine.get_case(case_id, actor)  # scope first: CaseNotFound / OutOfScope
        with self.engine.db.transaction(write=False) as tx:
            file = _case_file(tx, case)
            branding = file.branding
            builders: dict[str, Callable[[Tx, _CaseFile, int | None], DocumentContent]] = {
                "application": self._application,
                "registration": self._registration,
                "transcript": self._transcript,
                "confirmation_application": self._confirmation_application,
                "followup": self._followup,
                "legal_opinion": self._legal_opinion,
            }
            doc = builders[kind](tx, file, index)
        if isinstance(doc, ConfirmationApplication):
            # it leaves the committee for the court: no room brand on it (as on the ruling)
            branding = Branding(committee_name=branding.committee_name)
        return self.renderer.render(
            doc, branding, document_id=self.public_id(case_id, kind, RENDERING_VERSION)
        )

    def confirmation_application_content(
        self, case_id: int, actor: Actor
    ) -> ConfirmationApplication:
        """The 司法确认申请书's content with masked numbers (api/services/jc_package.py fills
        in what the court needs)."""
        case = self.engine.get_case(case_id, actor)
        with self.engine.db.transaction(write=False) as tx:
            return self._confirmation_application(tx, _case_file(tx, case), None)

    def _application(self, tx: Tx, file: _CaseFile, index: int | None) -> MediationApplication:
        del tx, index
        applicants = file.with_role("applicant")
        respondents = file.with_role("respondent")
        if not applicants or not respondents:
            raise InvalidInput("本案没有登记申请人和被申请人，无人民调解申请书", field="parties")
        others = "、".join(p.name for p in respondents)
        return MediationApplication(
            number=file.case.number,
            issued_on=file.registered_on,
            applicants=applicants,
            respondents=respondents,
            category=file.category.name,
            requests=(
                f"请求{file.branding.committee_name}主持调解申请人与{others}之间的"
                f"{file.category.name}纠纷。",
            ),
            facts_and_reasons=file.summary,
        )

    def _registration(self, tx: Tx, file: _CaseFile, index: int | None) -> RegistrationForm:
        del index
        case = file.case
        spec = self.engine.registry.get(case.spec_id, case.spec_version).spec
        risk = spec.risk(case.risk_level)
        origin = ORIGIN_LABELS.get(Origin(case.origin), case.origin)
        return RegistrationForm(
            number=case.number,
            issued_on=file.registered_on,
            accepted_on=file.registered_on,
            parties=file.parties,
            category=file.category.name,
            origin=origin,
            application_form=_application_form(case),
            summary=file.summary,
            risk_level=risk.label if risk is not None else case.risk_level,
            registrar=Person(name=_display_name(tx, file.registrar_id), title="登记人"),
        )

    def _transcript(self, tx: Tx, file: _CaseFile, index: int | None) -> MediationTranscript:
        """R-TRANSCRIPT: who held the session signs as its mediator (a 中心户 as 中心户, never
        as 调解员), the case's recorder as 记录人; one person is never both."""
        sessions = queries.sessions(tx, file.case.id)
        session = _pick(sessions, index, "调解笔录", "尚无调解记录：请先记录一次调解", "index")
        mediators = _presiding(tx, file.case.id, roles=("mediator",))
        households = _presiding(tx, file.case.id, roles=("central_household",))
        held_by = session.recorder_id  # the engine records who fired record_session
        if held_by in households and held_by not in mediators:
            presiding = [Person(name=households[held_by], title="中心户")]
        elif mediators:
            presiding = [Person(name=n, title="人民调解员") for n in mediators.values()]
        else:
            raise InvalidInput("本案尚未指派调解员，无法制作调解笔录", field="mediator")
        recorders = _presiding(tx, file.case.id, roles=("recorder",))
        names = {p.name for p in presiding}
        recorder = next((n for n in recorders.values() if n not in names), None)
        if recorder is None:
            raise InvalidInput(
                "调解笔录须由调解员以外的记录人签名：请先为本案指派记录员", field="recorder"
            )
        parties = file.parties
        present = {p.name for p in parties} | names | {recorder}
        entries = tuple(
            TranscriptEntry(speaker=m[1], text=m[2])
            if (m := _SPEAKER.match(line))
            else TranscriptEntry(speaker="记录", text=line.strip())
            for line in session.record.splitlines()
            if line.strip()
        )
        if not entries:
            raise InvalidInput("本次调解没有记录内容，无法制作调解笔录", field="record")
        return MediationTranscript(
            number=file.case.number,
            issued_on=session.held_at.astimezone(BEIJING).date(),
            held_at=session.held_at.astimezone(BEIJING),
            place=session.place or UNRECORDED,
            public_session=session.public,
            parties=parties,
            mediators=tuple(presiding),
            recorder=Person(name=recorder, title="记录人"),
            invited=tuple(Person(name=a) for a in session.attendees if a not in present),
            entries=entries,
        )

    def _confirmation_application(
        self, tx: Tx, file: _CaseFile, index: int | None
    ) -> ConfirmationApplication:
        del index
        case = file.case
        confirmation: dict[str, Any] = case.data.get("confirmation", {})
        court_id = confirmation.get("court_id", case.court_id)
        if "applied_at" not in confirmation or not isinstance(court_id, int):
            raise InvalidInput("本案尚未申请司法确认，无司法确认申请书", field="confirmation")
        court = tx.org_unit(court_id)
        assert court is not None, "applications name an existing court"
        applied = set(confirmation.get("applicants", []))
        # a joint application: every party applies, so each is 申请人 here
        applicants = tuple(
            p.model_copy(update={"label": "申请人"})
            for p, row in zip(file.parties, file.rows, strict=True)
            if row.party_id in applied
        )
        agreed_on = (case.agreement_effective_at or case.created_at).astimezone(BEIJING).date()
        attachments = [
            f"人民调解协议书（编号：{case.number}）",
            f"{file.branding.committee_name}主持调解的证明",
            "申请人身份证明",
            "与调解协议相关的财产权利证明",
            "双方当事人的送达地址、联系方式（见上）",
        ]
        if any(row.agent_name for row in file.rows if row.party_id in applied):
            attachments.append("委托代理人的授权委托书")
        return ConfirmationApplication(
            number=case.number,
            issued_on=datetime.fromisoformat(confirmation["applied_at"]).astimezone(BEIJING).date(),
            court=str(court.name),
            applicants=applicants,
            agreement_number=case.number,
            agreement_date=agreed_on,
            requests=(
                f"请求依法确认申请人于{agreed_on.year}年{agreed_on.month}月{agreed_on.day}日经"
                f"{file.branding.committee_name}主持调解达成的人民调解协议"
                f"（编号：{case.number}）有效。"
            ),
            attachments=tuple(attachments),
        )

    def _followup(self, tx: Tx, file: _CaseFile, index: int | None) -> FollowUpRecord:
        rows = tx.all(
            "SELECT v.visited_at, v.performance, v.satisfaction, v.new_risks, v.notes, "
            "u.display_name FROM visits v LEFT JOIN users u ON u.id = v.visitor_id "
            "WHERE v.case_id = :case_id ORDER BY v.id",
            {"case_id": file.case.id},
        )
        visit = _pick(rows, index, "回访记录", "尚无回访记录：请先记录一次回访", "index")
        visited_at = tx.codec.dt_in_required(visit[0]).astimezone(BEIJING)
        return FollowUpRecord(
            number=file.case.number,
            issued_on=visited_at.date(),
            agreement_number=file.case.number,
            visited_at=visited_at,
            # the visits table keeps no method (上门 / 电话 / 视频; R-FOLLOWUP does not ask
            # for it): the paper leaves the row out rather than print a placeholder
            visitee="、".join(p.name for p in file.parties),
            performance=visit[1],
            satisfaction=self.labels("satisfaction").get(visit[2] or "", UNRECORDED),
            new_risks=visit[3] or "无",
            notes=visit[4] or "无",
            visitor=Person(name=str(visit[5]) if visit[5] else UNRECORDED, title="回访人"),
        )

    def _legal_opinion(self, tx: Tx, file: _CaseFile, index: int | None) -> LegalOpinion:
        opinions: list[dict[str, Any]] = file.case.data.get("legal_opinions", [])
        given = _pick(opinions, index, "法律意见", "尚无律师出具的法律意见", "index")
        lawyer_id = given.get("by")
        lawyer = queries.user(tx, lawyer_id) if isinstance(lawyer_id, int) else None
        firm: str | None = None
        if lawyer is not None:
            units = sorted(lawyer.memberships, key=lambda m: m.role != "lawyer")
            unit = queries.org_unit(tx, units[0].org_unit_id) if units else None
            firm = unit.name if unit is not None else None
        return LegalOpinion(
            number=file.case.number,
            issued_on=datetime.fromisoformat(given["at"]).astimezone(BEIJING).date(),
            addressee=file.branding.committee_name,
            lawyer=Person(name=lawyer.display_name if lawyer else UNRECORDED, title="律师"),
            law_firm=firm or UNRECORDED,
            question=f"本案{file.category.name}纠纷的调解所涉法律问题",
            facts=file.summary,
            opinion=str(given["opinion"]),
        )

    # --- building the agreement ----------------------------------------------------------

    def _facts(self, case_id: int, actor: Actor, expected_version: int, trigger: str) -> _CaseFacts:
        """The case as the document needs it, once the actor may see it and fire `trigger`:
        a refused role costs no rendering, no signature and no decrypted ID number."""
        case = self.engine.get_case(case_id, actor)  # scope first: CaseNotFound / OutOfScope
        if case.version != expected_version:
            raise ConcurrentUpdate(case_id, expected_version, case.version)
        bound = self.engine.registry.get(case.spec_id, case.spec_version).transition(
            case.state, trigger
        )
        if bound is not None:  # a trigger not available here is refused by fire, with a hint
            access.require_role(actor, bound.spec)
        with self.engine.db.transaction(write=False) as tx:
            category = tx.category(case.category_code)
            assert category is not None, "cases reference categories by foreign key"
            branding, committee_id = _branding(tx, case)
            registering = _committee_of(tx, case.committee_id)
            return _CaseFacts(
                case=case,
                category=category,
                parties=tuple(queries.parties(tx, case_id)),
                branding=branding,
                committee_id=committee_id,
                presiding=_presiding(tx, case_id),
                agreement_versions=tuple(tx.documents(case_id, AGREEMENT)),
                mediators=_presiding(tx, case_id, roles=("mediator",)),
                registered_by=(
                    registering[1]
                    if registering is not None and registering[0] != committee_id
                    else None
                ),
            )

    def branding(self, case: CaseRecord) -> tuple[Branding, int]:
        """The committee in charge of `case` (a room's parent committee, R-SEAL) and its id."""
        with self.engine.db.transaction(write=False) as tx:
            return _branding(tx, case)

    def user_name(self, actor: Actor) -> str:
        """The actor's own name, as they sign (R-TRANSCRIPT: people sign by their names)."""
        return self._user_name(actor)

    def _today(self) -> date:
        return self.engine.clock.now().astimezone(BEIJING).date()

    def _user_name(self, actor: Actor) -> str:
        if actor.user_id is None:
            raise InvalidInput("签署人须为具体的调解员", field="actor")
        with self.engine.db.transaction(write=False) as tx:
            row = tx.one("SELECT display_name FROM users WHERE id = :id", {"id": actor.user_id})
        if row is None:
            raise NotFound("用户", actor.user_id)
        return str(row[0])

    def _agreement(
        self, facts: _CaseFacts, fields: dict[str, Any], actor: Actor
    ) -> MediationAgreement:
        if actor.user_id in facts.mediators:
            mediator = facts.mediators[actor.user_id]
        elif facts.mediators:
            mediator = next(iter(facts.mediators.values()))
        else:
            raise InvalidInput("尚未指派调解员，无法制作调解协议书", field="mediator")
        parties = self._document_parties(facts, actor)
        names = {p.party_id: p.name for p in facts.parties}
        labelled = {
            p.party_id: f"{PARTY_LABELS.get(p.role, p.role)}{p.name}" for p in facts.parties
        }
        try:
            terms = tuple(
                Term(
                    obligor=names[t["obligor"]],
                    obligee=names[t["obligee"]],
                    action=t["content"],
                    amount=None if t["amount"] is None else Decimal(str(t["amount"])),
                    method=t["method"],
                    deadline=date.fromisoformat(t["due_date"]),
                    place=t["place"],
                )
                for t in fields["terms"]
            )
            places = tuple(dict.fromkeys(t.place for t in terms))
            return MediationAgreement(
                number=facts.case.number,
                issued_on=self._today(),
                category=facts.category.name,
                parties=parties,
                registered_by=facts.registered_by,
                content=AgreementContent(
                    facts=fields["facts"],
                    disputed_issues=tuple(fields["issues"]),
                    responsibilities=tuple(
                        Responsibility(party=labelled[r["party_id"]], text=r["responsibility"])
                        for r in fields["responsibilities"]
                    ),
                    terms=terms,
                    performance_method="；".join(dict.fromkeys(t.method for t in terms)),
                    performance_deadline=max(t.deadline for t in terms),
                    performance_place="；".join(places),
                ),
                mediators=(Person(name=mediator, title="人民调解员"),),
                copies=len(parties) + 1,  # R-COPIES
                electronic_signature_excluded=facts.category.excluded_from_esign,
            )
        except ValidationError as exc:
            problems = "；".join(
                f"{'.'.join(str(p) for p in e['loc'])}：{e['msg']}" for e in exc.errors()
            )
            raise InvalidInput(f"协议书内容不完整：{problems}", field="agreement") from exc

    def _document_parties(self, facts: _CaseFacts, actor: Actor) -> tuple[Party, ...]:
        """The parties as R-AGREEMENT-FIELDS lists them; ID and phone numbers are decrypted
        for the document and every such read is logged (R-PII)."""
        result: list[Party] = []
        logged: list[dict[str, Any]] = []
        for row in facts.parties:
            if not row.address:
                raise InvalidInput(
                    f"当事人{row.name}的住址未登记，协议书须载明住址", field="parties"
                )
            id_number = (
                self.engine.pii.decrypt(row.id_number_cipher) if row.id_number_cipher else None
            )
            phone = self.engine.pii.decrypt(row.phone_cipher) if row.phone_cipher else None
            shown = [f for f, v in (("id_number", id_number), ("phone", phone)) if v]
            if shown:
                logged.append({"party_id": row.party_id, "fields": ",".join(shown)})
            result.append(_party(row, id_number=id_number, phone=phone, address=row.address))
        if logged and actor.user_id is not None:
            self._log_pii(facts.case.id, actor.user_id, logged)
        return tuple(result)

    def _log_pii(self, case_id: int, user_id: int, entries: list[dict[str, Any]]) -> None:
        with self.engine.db.transaction(write=True) as tx:
            at = tx.codec.dt_out(self.engine.clock.now())
            for entry in entries:
                tx.execute(
                    "INSERT INTO pii_access_log (at, user_id, case_id, party_id, fields, purpose) "
                    "VALUES (:at, :user_id, :case_id, :party_id, :fields, :purpose)",
                    {
                        "at": at,
                        "user_id": user_id,
                        "case_id": case_id,
                        "purpose": PII_PURPOSE,
                        **entry,
                    },
                )


@dataclass(frozen=True)
class _CaseFile:
    """What the read-only case-file documents draw on, read in one transaction."""

    case: CaseRecord
    category: CategoryRecord
    summary: str
    registrar_id: int | None
    parties: tuple[Party, ...]  # masked, in case-party order; `rows` in the same order
    rows: tuple[queries.PartyRow, ...]
    branding: Branding
    presiding: dict[int, str]

    @property
    def registered_on(self) -> date:
        return self.case.created_at.astimezone(BEIJING).date()

    def with_role(self, role: str) -> tuple[Party, ...]:
        return tuple(p for p, r in zip(self.parties, self.rows, strict=True) if r.role == role)


def _case_file(tx: Tx, case: CaseRecord) -> _CaseFile:
    """What every paper of the case file is drawn from, with the parties' numbers masked."""
    category = tx.category(case.category_code)
    assert category is not None, "cases reference categories by foreign key"
    extra = queries.case_extra(tx, case.id)
    assert extra is not None, "the case was just loaded"
    branding, _ = _branding(tx, case)
    parties, rows = _masked_parties(queries.parties(tx, case.id))
    return _CaseFile(
        case=case,
        category=category,
        summary=extra.summary,
        registrar_id=extra.registrar_id,
        parties=parties,
        rows=rows,
        branding=branding,
        presiding=_presiding(tx, case.id),
    )


def _masked_parties(
    rows: list[queries.PartyRow],
) -> tuple[tuple[Party, ...], tuple[queries.PartyRow, ...]]:
    """The parties as the case file prints them: ID and phone masked (R-PII), an unregistered
    address said to be so rather than refused (these documents record, they do not bind)."""
    parties = tuple(
        _party(
            row,
            id_number=row.id_number_masked,
            phone=row.phone_masked,
            address=row.address or "未登记",
        )
        for row in rows
    )
    return parties, tuple(rows)


def _party(
    row: queries.PartyRow, *, id_number: str | None, phone: str | None, address: str
) -> Party:
    """A party as a document prints it; the caller decides how much of the ID, the phone
    and the address it may show."""
    return Party(
        label=PARTY_LABELS.get(row.role, row.role),
        name=row.name,
        kind="organisation" if row.kind == "organisation" else "person",
        sex=SEX_ZH.get(row.sex or ""),
        ethnicity=row.ethnicity,
        birth_date=row.birth_date,
        occupation=row.occupation,
        id_number=id_number,
        address=address,
        phone=phone,
        representative=row.representative,
        agent=row.agent_name,
        guardian=(
            f"{row.guardian_name}（{row.guardian_relation}）"
            if row.guardian_name and row.guardian_relation
            else row.guardian_name
        ),
    )


def _pick(items: Sequence[_T], index: int | None, what: str, empty: str, field: str) -> _T:
    """The `index`-th item (1-based), the latest when None; a clear refusal otherwise."""
    if not items:
        raise InvalidInput(empty, field=field)
    if index is None:
        return items[-1]
    if index > len(items):
        raise InvalidInput(f"本案只有 {len(items)} 份{what}，没有第 {index} 份", field=field)
    return items[index - 1]


def _display_name(tx: Tx, user_id: int | None) -> str:
    if user_id is None:
        return UNRECORDED
    row = tx.one("SELECT display_name FROM users WHERE id = :id", {"id": user_id})
    return UNRECORDED if row is None else str(row[0])


def _sentence(text: str) -> str:
    """A sentence as printed: ends with a full stop (the court's reasoning often does not)."""
    text = text.strip()
    return text if text.endswith(("。", "！", "？", "；", "”")) else f"{text}。"


def _cn_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def _court_clerk(tx: Tx, court_id: int, accepted_by: object) -> str:
    """The ruling's 书记员: a court clerk, never the judge — the one who accepted the
    application if a clerk did, else the court's first clerk.

    Raises:
        InvalidInput: the court has no clerk registered.
    """
    params: dict[str, Any] = {"court": court_id}
    rows = tx.all(
        "SELECT u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.role = 'court_clerk' AND m.org_unit_id = :court ORDER BY m.id",
        params,
    )
    clerks = {int(r[0]): str(r[1]) for r in rows}
    if not clerks:
        raise InvalidInput("本院未登记书记员，无法制作裁定书：请先添加书记员用户", field="clerk")
    if isinstance(accepted_by, int) and accepted_by in clerks:
        return clerks[accepted_by]
    return next(iter(clerks.values()))


def _terms_summary(agreement: dict[str, Any], names: dict[int, str]) -> str:
    """The agreed terms in one sentence each, as a ruling restates them."""
    if agreement.get("oral"):
        return str(agreement.get("content", ""))
    parts = []
    for term in agreement.get("terms", []):
        amount = f"人民币{term['amount']}元" if term.get("amount") else ""
        towards = f"向{names.get(term.get('obligee'), '')}" if term.get("amount") else ""
        parts.append(
            f"{names.get(term.get('obligor'), '')}于{_cn_date(term['due_date'])}前"
            f"{towards}{term.get('content', '')}{amount}"
        )
    return "；".join(parts) + "。" if parts else "（协议内容见调解协议书）"


def _require_draft(facts: _CaseFacts) -> None:
    """Checked before any certificate is issued: nothing to sign yet is refused cheaply."""
    if not facts.agreement_versions:
        raise InvalidInput(
            "本案尚未生成调解协议书文书，请先通过文书服务拟定协议", field="document_sha256"
        )


def _application_form(case: CaseRecord) -> str | None:
    """R-APPLY: 书面申请 or 口头申请, as recorded at registration (None: not a party's
    application, or registered before it was recorded)."""
    form = case.data.get("application_form")
    return APPLICATION_FORM_LABELS.get(ApplicationForm(form)) if form else None


def _committee_of(tx: Tx, unit_id: int) -> tuple[int, str] | None:
    """The committee a unit numbers and seals for: itself, or a room's parent (R-SEAL)."""
    unit = tx.org_unit(unit_id)
    if unit is not None and unit.kind == "room" and unit.parent_id is not None:
        unit = tx.org_unit(unit.parent_id)
    if unit is None or unit.kind != "committee":
        return None
    return int(unit.id), str(unit.name)


def _branding(tx: Tx, case: CaseRecord) -> tuple[Branding, int]:
    """The committee whose seal the agreement carries, and the room's name if a room mediates.

    A personal-brand room has no seal of its own: its parent committee seals (R-SEAL).
    """
    unit = tx.org_unit(case.org_unit_id)
    room_name: str | None = None
    committee = None
    if unit is not None and unit.kind == "room" and unit.parent_id is not None:
        room_name = unit.name
        committee = tx.org_unit(unit.parent_id)
    elif unit is not None and unit.kind == "committee":
        committee = unit
    if committee is None or committee.kind != "committee":
        committee = tx.org_unit(case.committee_id)
    assert committee is not None, "cases reference their committee by foreign key"
    seal_text, committee_logo = queries.unit_branding(tx, committee.id)
    room_logo = queries.unit_branding(tx, unit.id)[1] if room_name and unit else None
    branding = Branding(
        committee_name=committee.name,
        room_name=room_name,
        seal_text=seal_text,
        logo_png=room_logo or committee_logo,
    )
    return branding, committee.id


def _presiding(
    tx: Tx, case_id: int, roles: tuple[str, ...] = ("mediator", "central_household")
) -> dict[int, str]:
    """Active assignees of the case in `roles` (by default mediators and 中心户), in
    assignment order, by user id."""
    params: dict[str, Any] = {"case_id": case_id}
    rows = tx.all(
        "SELECT a.user_id, u.display_name FROM assignments a JOIN users u ON u.id = a.user_id "
        "WHERE a.case_id = :case_id AND a.ended_at IS NULL "
        f"AND a.role IN ({queries.in_params('role', roles, params)}) ORDER BY a.id",
        params,
    )
    presiding: dict[int, str] = {}
    for user_id, name in rows:
        presiding.setdefault(int(user_id), str(name))
    return presiding
