"""The document service: renders a case's agreement, collects its signatures in turn and
records every version with the engine, so the PDF chain and the signature rows agree.

The engine keeps digests only; the bytes go to the content-addressed store first and the
engine is fired after. If the fire fails nothing references the stored file (it is named by
its digest, so it is harmless and a retry reuses it).
"""

from __future__ import annotations

from api.documents.agreement import AgreementDocuments
from api.documents.case_papers import CaseFileDocuments
from api.documents.paper import PaperSigning
from api.documents.ruling import CourtRulings
from api.documents.signing import AgreementSigning


class DocumentService(
    AgreementDocuments, AgreementSigning, CourtRulings, PaperSigning, CaseFileDocuments
):
    """Agreement documents of cases, from the draft to the committee's seal.

    Args:
        settings: where the store and the CA live, the QR base URL, the time-stamp service.
        engine: the engine every step is recorded through.
        renderer: defaults to the process-wide renderer for `settings.verify_base_url`.
    """
