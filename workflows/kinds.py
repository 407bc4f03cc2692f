"""Names the host shares with the flows: the document kinds it renders and the flows record."""

from __future__ import annotations

AGREEMENT = "agreement"  # document kind of the rendered (and electronically signed) agreement
AGREEMENT_SCAN = "agreement_scan"  # document kind of the scanned wet-signed paper agreement
RULING = "ruling"  # document kind of the court-signed 民事裁定书 on a confirmation application
