"""What every kind of document stands on: the renderer, verification ids, the CA, a case's
facts read in one transaction (parties, committee, mediators), reading and verifying the
stored versions, and the PII log of what was printed unmasked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from typing import Literal

from cryptography import x509

from api.document_store import open_document_store
from api.documents.authority import load_authority, trust_roots
from api.documents.public_ids import PublicIds, document_key_file
from api.errors import DocumentNotFound
from api.keys import load_document_key
from api.pii import PiiRead, log_reads
from api.settings import Settings
from documents import Branding, CertificateAuthority, Party, Renderer, VerificationReport, verify
from documents.fonts import CJK_FAMILY, check_harfbuzz_subset, find_cjk_font
from documents.store import BlobStore
from engine import access
from engine.calendar import SHANGHAI as BEIJING
from engine.errors import ConcurrentUpdate, InvalidInput, NotFound
from engine.hooks import DocumentRecord
from engine.records import Actor
from engine.repository import Tx
from mediation import queries
from mediation.engine import MediationEngine
from mediation.records import CategoryRecord, MediationCase
from mediation.spec import mediation_spec
from workflows.kinds import AGREEMENT

PARTY_LABELS = {"applicant": "申请人", "respondent": "被申请人", "third_party": "第三人"}
SEX_ZH: dict[str, Literal["男", "女"]] = {"male": "男", "female": "女"}
PII_PURPOSE = "制作人民调解协议书（人民调解法第29条、司法部规定第35条）"
RENDERING_VERSION = 0  # never recorded: its verification id resolves to "not found"
UNRECORDED = "（未记录）"


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
    return Renderer(verify_base_url, font_family=font_family, zone=BEIJING)


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


@dataclass(frozen=True)
class _CaseFacts:
    """What the agreement says about a case besides its terms, read in one transaction."""

    case: MediationCase
    category: CategoryRecord
    parties: tuple[queries.PartyRow, ...]
    branding: Branding
    committee_id: int
    presiding: dict[int, str]  # active mediator / 中心户 user id → display name
    agreement_versions: tuple[DocumentRecord, ...]
    mediators: dict[int, str]  # active mediators only (a 中心户 is not the agreement's 调解员)
    registered_by: str | None  # the numbering committee, when another committee mediates


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


def _require_draft(facts: _CaseFacts) -> None:
    """Checked before any certificate is issued: nothing to sign yet is refused cheaply."""
    if not facts.agreement_versions:
        raise InvalidInput(
            "本案尚未生成调解协议书文书，请先通过文书服务拟定协议", field="document_sha256"
        )


def _committee_of(tx: Tx, unit_id: int) -> tuple[int, str] | None:
    """The committee a unit numbers and seals for: itself, or a room's parent (R-SEAL)."""
    unit = tx.org_unit(unit_id)
    if unit is not None and unit.kind == "room" and unit.parent_id is not None:
        unit = tx.org_unit(unit.parent_id)
    if unit is None or unit.kind != "committee":
        return None
    return int(unit.id), str(unit.name)


def _branding(tx: Tx, case: MediationCase) -> tuple[Branding, int]:
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
    presiding: dict[int, str] = {}
    for assignee in tx.active_assignees(case_id, roles):
        presiding.setdefault(assignee.user_id, assignee.display_name)
    return presiding


class DocumentCore:
    """What every part of DocumentService stands on; the service (api/documents/__init__.py)
    combines one class per document kind on it.

    Args:
        settings: where the store and the CA live, the QR base URL, the time-stamp service.
        engine: the engine every step is recorded through.
        renderer: defaults to the process-wide renderer for `settings.verify_base_url`.
    """

    def __init__(
        self, settings: Settings, engine: MediationEngine, *, renderer: Renderer | None = None
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

    def _own_act(self, case: MediationCase) -> bool:
        return mediation_spec(
            self.engine.registry.get(case.spec_id, case.spec_version).spec
        ).own_act_signing

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
        return verify(self.store.get(digest), self.trust_roots, zone=BEIJING)

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

    # --- building the agreement ----------------------------------------------------------

    def _facts(self, case_id: int, actor: Actor, expected_version: int, trigger: str) -> _CaseFacts:
        """The case as the document needs it, once the actor may see it and fire `trigger`:
        a refused role costs no rendering, no signature and no decrypted ID number."""
        case = self.engine.get_case(case_id, actor)  # scope first: CaseNotFound / OutOfScope
        if case.version != expected_version:
            raise ConcurrentUpdate(case_id, expected_version, case.version)
        compiled = self.engine.registry.get(case.spec_id, case.spec_version)
        bound = compiled.transition(case.state, trigger)
        if bound is not None:  # a trigger not available here is refused by fire, with a hint
            access.require_role(actor, bound.spec, compiled.spec)
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

    def branding(self, case: MediationCase) -> tuple[Branding, int]:
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
            name = tx.display_name(actor.user_id)
        if name is None:
            raise NotFound("用户", actor.user_id)
        return name

    def _document_parties(self, facts: _CaseFacts, actor: Actor) -> tuple[Party, ...]:
        """The parties as R-AGREEMENT-FIELDS lists them; ID and phone numbers are decrypted
        for the document and every such read is logged (R-PII)."""
        result: list[Party] = []
        logged: list[PiiRead] = []
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
                logged.append(PiiRead(row.party_id, tuple(shown)))
            result.append(_party(row, id_number=id_number, phone=phone, address=row.address))
        if logged and actor.user_id is not None:
            self._log_pii(facts.case.id, actor.user_id, logged)
        return tuple(result)

    def _log_pii(self, case_id: int, user_id: int, reads: list[PiiRead]) -> None:
        log_reads(self.engine, user_id, case_id, reads, PII_PURPOSE)
