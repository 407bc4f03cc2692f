"""The content-addressed store, the certificate authority and the public surface."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

import documents
from documents import (
    DEV_MARK,
    CertificateAuthority,
    CertificateError,
    DocumentError,
    DocumentStore,
    Renderer,
    SignerRole,
    StoreError,
    sign,
    verify,
)
from engine.calendar import SHANGHAI
from tests.documents.samples import BRANDING, OPINION


def test_store_names_files_by_sha256(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    digest = store.put(b"%PDF-1.7 test")
    assert digest == hashlib.sha256(b"%PDF-1.7 test").hexdigest()
    assert store.path_for(digest) == tmp_path / digest[:2] / f"{digest[2:]}.pdf"
    assert store.get(digest) == b"%PDF-1.7 test"
    assert digest in store


def test_store_is_write_once(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    digest = store.put(b"one")
    before = store.path_for(digest).stat().st_mtime_ns
    assert store.put(b"one") == digest
    assert store.path_for(digest).stat().st_mtime_ns == before
    assert not list(store.path_for(digest).parent.glob(".tmp-*"))


def test_store_detects_a_changed_file(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    digest = store.put(b"original")
    path = store.path_for(digest)
    path.chmod(0o644)
    path.write_bytes(b"changed")
    with pytest.raises(StoreError, match="摘要不符"):
        store.get(digest)
    with pytest.raises(StoreError, match="不存在"):
        store.get("0" * 64)
    with pytest.raises(StoreError, match="格式错误"):
        store.path_for("../etc/passwd")


def test_development_ca_says_so_and_is_reused(tmp_path: Path) -> None:
    ca = CertificateAuthority.development(tmp_path)
    assert DEV_MARK in ca.certificate.subject.rfc4514_string()
    signer = ca.issue("修丽君", SignerRole.MEDIATOR)
    assert signer.is_development
    again = CertificateAuthority.development(tmp_path)
    assert again.certificate == ca.certificate
    assert again.issue("修丽君", SignerRole.MEDIATOR).certificate == signer.certificate
    assert again.issue("修丽君", SignerRole.MEDIATOR, key_id="2").certificate != signer.certificate


def test_deployment_ca_from_pkcs12_issues_production_certificates(
    tmp_path: Path, renderer: Renderer
) -> None:
    dev = CertificateAuthority.development(tmp_path / "seed")
    p12 = tmp_path / "ca.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"ca", dev.private_key, dev.certificate, None, BestAvailableEncryption(b"s3cret")
        )
    )
    ca = CertificateAuthority.from_pkcs12(p12, "s3cret", signer_dir=tmp_path / "signers")
    lawyer = ca.issue(OPINION.lawyer.name, SignerRole.LAWYER, organisation=OPINION.law_firm)
    assert "OU=" not in lawyer.certificate.subject.rfc4514_string()
    assert b"ENCRYPTED" in next((tmp_path / "signers").glob("*.key.pem")).read_bytes()
    pdf = sign(renderer.render(OPINION, BRANDING, document_id="FY-1"), lawyer, zone=SHANGHAI)
    report = verify(pdf, ca.trust_roots, zone=SHANGHAI)
    assert report.ok
    assert report.complete
    with pytest.raises(CertificateError, match="口令错误"):
        CertificateAuthority.from_pkcs12(p12, "wrong", signer_dir=tmp_path / "x")


def test_public_surface_is_complete() -> None:
    """Every public name loads on first use, and nothing public is left out of __all__."""
    assert set(documents._WHERE) == set(documents.__all__)
    for name in documents.__all__:
        assert getattr(documents, name) is not None
    # the lazy loader's own names, and preload (it imports what the loader defers)
    loader = {"annotations", "importlib", "TYPE_CHECKING", "Any", "preload"}
    public = {
        name
        for name, value in vars(documents).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name not in loader
    }
    assert public == set(documents.__all__)
    assert callable(documents.sign)  # the function, not the module it lives in
    assert callable(documents.verify)


def test_error_codes_are_stable_and_unique() -> None:
    surface = [getattr(documents, name) for name in documents.__all__]
    errors = [e for e in surface if isinstance(e, type) and issubclass(e, DocumentError)]
    assert len(errors) >= 13
    codes = [e.code for e in errors]
    assert len(codes) == len(set(codes))
    assert all(code.startswith("document_") for code in codes)


def test_r_pii_a_sealed_store_opens_only_with_its_key_and_name(tmp_path: Path) -> None:
    sealed = DocumentStore(tmp_path, key=b"s" * 32)
    digest = sealed.put(b"%PDF-1.7 11010519491231002X")
    raw = sealed.path_for(digest).read_bytes()
    assert b"11010519491231002X" not in raw
    assert sealed.get(digest) == b"%PDF-1.7 11010519491231002X"
    assert sealed.digests() == [digest]
    with pytest.raises(StoreError, match="无法解密"):
        DocumentStore(tmp_path, key=b"t" * 32).get(digest)
    with pytest.raises(StoreError, match="未配置"):
        DocumentStore(tmp_path).get(digest)
    other = sealed.put(b"another")  # a sealed file renamed to another digest does not open
    sealed.path_for(other).chmod(0o600)
    sealed.path_for(other).write_bytes(raw)
    with pytest.raises(StoreError, match="无法解密"):
        sealed.get(other)
