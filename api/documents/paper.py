"""Signing on paper (R-ESIGN-EXCLUDE): each wet-ink signature, the seal included, recorded
with the scan that shows it."""

from __future__ import annotations

from typing import Any

from api.documents.core import DocumentCore
from engine.errors import InvalidInput
from engine.records import Actor, FireResult

PAPER_TRIGGERS = ("sign_party", "sign_mediator", "apply_seal")


class PaperSigning(DocumentCore):
    """Signing on paper: a part of DocumentService."""

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
