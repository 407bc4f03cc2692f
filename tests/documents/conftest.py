"""Session fixtures: one renderer, one development CA, and one agreement rendered and signed
by all four signatories — reused so the whole documents suite stays fast."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from documents import (
    CertificateAuthority,
    IssuedSigner,
    Renderer,
    SignerRole,
    sign,
)
from engine.calendar import SHANGHAI
from tests.documents.samples import AGREEMENT, BRANDING, LI, MEDIATOR, ZHANG

VERIFY_BASE = "https://fengqiao.example.cn/verify"
AGREEMENT_ID = "AGR-2026-0001"


def run_tool(*args: str) -> str:
    """Run a poppler tool and return stdout (stderr merged; pdfsig exits non-zero on bad sigs)."""
    if shutil.which(args[0]) is None:
        pytest.skip(f"{args[0]} (poppler-utils) is not installed")
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)
    return done.stdout + done.stderr


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer(VERIFY_BASE, zone=SHANGHAI)


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.development(tmp_path_factory.mktemp("dev-ca"))


@pytest.fixture(scope="session")
def agreement_signers(ca: CertificateAuthority) -> tuple[IssuedSigner, ...]:
    return (
        ca.issue(ZHANG.name, SignerRole.PARTY),
        ca.issue(LI.name, SignerRole.PARTY),
        ca.issue(MEDIATOR.name, SignerRole.MEDIATOR),
        ca.issue(BRANDING.seal, SignerRole.COMMITTEE, organisation=BRANDING.committee_name),
    )


@pytest.fixture(scope="session")
def agreement_pdf(renderer: Renderer) -> bytes:
    return renderer.render(AGREEMENT, BRANDING, document_id=AGREEMENT_ID)


@pytest.fixture(scope="session")
def signed_agreement(agreement_pdf: bytes, agreement_signers: tuple[IssuedSigner, ...]) -> bytes:
    pdf = agreement_pdf
    for signer in agreement_signers:
        pdf = sign(pdf, signer, zone=SHANGHAI)
    return pdf


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path
