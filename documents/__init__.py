"""Documents: Chinese mediation documents as PDF/A, signed in turn with PAdES, verified,
and stored by content; bytes in, bytes out — imports nothing else of Fengqiao's.

Names load on first use (PEP 562), so that reading a stored file does not pay for the
renderer, the signer and the verifier (the CLI starts fast).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from documents.ca import (
        DEV_MARK,
        CertificateAuthority,
        IssuedSigner,
        SignerIdentity,
        SigningEvent,
        event_of,
    )
    from documents.errors import (
        AlreadySigned,
        CertificateError,
        DocumentError,
        ElectronicSignatureExcluded,
        FontUnavailable,
        NotASignatory,
        RenderError,
        SigningError,
        SigningOutOfOrder,
        StoreError,
        SubsetterUnavailable,
        TemplateDataError,
        VerificationError,
    )
    from documents.model import (
        AcceptanceNotice,
        AgreementContent,
        Branding,
        ConfirmationApplication,
        CourtRuling,
        DocumentContent,
        FollowUpRecord,
        LegalOpinion,
        MediationAgreement,
        MediationApplication,
        MediationTranscript,
        Party,
        Person,
        RegistrationForm,
        Responsibility,
        Signatory,
        SignerRole,
        Term,
        TranscriptEntry,
    )
    from documents.render import Renderer
    from documents.signing import Slot, sign, signing_plan
    from documents.store import DocumentStore
    from documents.verification import SignatureReport, Verdict, VerificationReport, verify

_WHERE = {
    "AgreementContent": "documents.model",
    "AlreadySigned": "documents.errors",
    "Branding": "documents.model",
    "CertificateAuthority": "documents.ca",
    "CertificateError": "documents.errors",
    "ConfirmationApplication": "documents.model",
    "CourtRuling": "documents.model",
    "DEV_MARK": "documents.ca",
    "DocumentContent": "documents.model",
    "DocumentError": "documents.errors",
    "DocumentStore": "documents.store",
    "AcceptanceNotice": "documents.model",
    "ElectronicSignatureExcluded": "documents.errors",
    "FollowUpRecord": "documents.model",
    "FontUnavailable": "documents.errors",
    "IssuedSigner": "documents.ca",
    "LegalOpinion": "documents.model",
    "MediationAgreement": "documents.model",
    "MediationApplication": "documents.model",
    "MediationTranscript": "documents.model",
    "NotASignatory": "documents.errors",
    "Party": "documents.model",
    "Person": "documents.model",
    "RegistrationForm": "documents.model",
    "RenderError": "documents.errors",
    "Renderer": "documents.render",
    "Responsibility": "documents.model",
    "Signatory": "documents.model",
    "SignatureReport": "documents.verification",
    "SignerIdentity": "documents.ca",
    "SignerRole": "documents.model",
    "SigningError": "documents.errors",
    "SigningOutOfOrder": "documents.errors",
    "Slot": "documents.signing",
    "StoreError": "documents.errors",
    "SubsetterUnavailable": "documents.errors",
    "TemplateDataError": "documents.errors",
    "Term": "documents.model",
    "TranscriptEntry": "documents.model",
    "Verdict": "documents.verification",
    "VerificationError": "documents.errors",
    "VerificationReport": "documents.verification",
    "sign": "documents.signing",
    "signing_plan": "documents.signing",
    "SigningEvent": "documents.ca",
    "event_of": "documents.ca",
    "verify": "documents.verification",
}


# what the functions here import when first called: preload() imports them all at once
_DEFERRED_MODULES = (
    "documents.ca",
    "documents.render",
    "documents.signing",
    "documents.store",
    "documents.verification",
    "documents.volume",
    "pyhanko.pdf_utils.generic",
    "pyhanko.pdf_utils.images",
    "pyhanko.pdf_utils.incremental_writer",
    "pyhanko.pdf_utils.layout",
    "pyhanko.pdf_utils.reader",
    "pyhanko.pdf_utils.writer",
    "pyhanko.sign",
    "pyhanko.sign.diff_analysis",
    "pyhanko.sign.fields",
    "pyhanko.sign.signers",
    "pyhanko.sign.timestamps",
    "pyhanko.sign.validation",
    "pyhanko.stamp",
    "pyhanko_certvalidator",
    "pyhanko_certvalidator.registry",
    "weasyprint",
    "weasyprint.css",
    "weasyprint.text.fonts",
    "segno",
)


def preload() -> None:
    """Import now, in this thread, what the renderer, signer and verifier import on first
    use. A server calls it before its threads start: two threads importing pyhanko's `sign`
    package for the first time at once can meet it half initialised (an ImportError — a
    verification beside the tick's binding of a case file failed so)."""
    for module in _DEFERRED_MODULES:
        importlib.import_module(module)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'documents' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEV_MARK",
    "AcceptanceNotice",
    "AgreementContent",
    "AlreadySigned",
    "Branding",
    "CertificateAuthority",
    "CertificateError",
    "ConfirmationApplication",
    "CourtRuling",
    "DocumentContent",
    "DocumentError",
    "DocumentStore",
    "ElectronicSignatureExcluded",
    "FollowUpRecord",
    "FontUnavailable",
    "IssuedSigner",
    "LegalOpinion",
    "MediationAgreement",
    "MediationApplication",
    "MediationTranscript",
    "NotASignatory",
    "Party",
    "Person",
    "RegistrationForm",
    "RenderError",
    "Renderer",
    "Responsibility",
    "Signatory",
    "SignatureReport",
    "SignerIdentity",
    "SignerRole",
    "SigningError",
    "SigningEvent",
    "SigningOutOfOrder",
    "Slot",
    "StoreError",
    "SubsetterUnavailable",
    "TemplateDataError",
    "Term",
    "TranscriptEntry",
    "Verdict",
    "VerificationError",
    "VerificationReport",
    "event_of",
    "sign",
    "signing_plan",
    "verify",
]
