"""Who has signed a case's agreement and who is next, for the signing page (kiosk included),
and photos (a thumbprint, an organisation's seal) turned into the PNG the signature's
appearance takes."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from api.authz import Principal, visible_case
from engine.errors import InvalidInput
from mediation import queries
from mediation.engine import MediationEngine
from mediation.spec import mediation_spec

MAX_PIXELS = 40_000_000  # a phone camera's photo, not a decompression bomb


@dataclass(frozen=True, slots=True)
class Signatory:
    party_id: int
    name: str
    kind: str  # person | organisation
    role: str
    signed: bool
    method: str | None
    # R-MINOR: who performs the act — the party, or the 法定代理人 who signs for a minor
    signer: str = ""

    @property
    def signs_for(self) -> str:
        """How the page names the person at the kiosk: "王建华（王小明的法定代理人）"."""
        if self.signer and self.signer != self.name:
            return f"{self.signer}（{self.name}的法定代理人）"
        return self.name


@dataclass(frozen=True, slots=True)
class SigningStatus:
    case_id: int
    number: str
    state: str
    version: int
    parties: list[Signatory]
    mediator_signed: bool
    sealed: bool
    esign_excluded: bool  # R-ESIGN-EXCLUDE: wet signatures and a scan instead
    category_name: str
    agreement: dict[str, Any]
    # R-ESIGN: each signature its signer's own act (an identity check, an event certificate)
    own_act: bool = False

    @property
    def next_party(self) -> Signatory | None:
        return next((p for p in self.parties if not p.signed), None)

    def party(self, party_id: int) -> Signatory | None:
        return next((p for p in self.parties if p.party_id == party_id), None)


def signing_status(engine: MediationEngine, principal: Principal, case_id: int) -> SigningStatus:
    """Raises:
    CaseNotFound: missing or out of the principal's scope.
    """
    with engine.db.transaction(write=False) as tx:
        case = visible_case(tx, case_id, principal)
        parties = queries.parties(tx, case_id)
        signatures = tx.signatures(case_id)
        category = tx.category(case.category_code)
    by_party = {s.party_id: s for s in signatures if s.signer_kind == "party"}
    return SigningStatus(
        case_id=case.id,
        number=case.number,
        state=case.state,
        version=case.version,
        parties=[
            Signatory(
                p.party_id,
                p.name,
                p.kind,
                p.role,
                p.party_id in by_party,
                by_party[p.party_id].method if p.party_id in by_party else None,
                p.guardian_name or p.name,
            )
            for p in parties
        ],
        mediator_signed=any(s.signer_kind == "mediator" for s in signatures),
        sealed=any(s.signer_kind == "seal" for s in signatures),
        esign_excluded=bool(category and category.excluded_from_esign),
        category_name=category.name if category else case.category_code,
        agreement=dict(case.data.get("agreement", {})),
        own_act=mediation_spec(
            engine.registry.get(case.spec_id, case.spec_version).spec
        ).own_act_signing,
    )


def photo_as_png(data: bytes, field: str) -> bytes:
    """A photo of a thumbprint or a seal (JPEG, PNG, HEIF a browser converted…) as a PNG.

    Raises:
        InvalidInput: not an image, or absurdly large.
    """
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        opened = Image.open(io.BytesIO(data))
        opened.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput("照片无法读取，请重新拍照或选择 JPG、PNG 图片", field=field) from exc
    image = opened.convert("RGBA")
    image.thumbnail((960, 960))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
