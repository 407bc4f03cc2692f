"""The certificate authority that issues signers' certificates, and the roots documents
signed here chain to."""

from __future__ import annotations

from cryptography import x509

from api.settings import Settings
from documents import CertificateAuthority

DEV_CA_CERTIFICATE = "dev-ca.crt.pem"  # the file CertificateAuthority.development writes


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
