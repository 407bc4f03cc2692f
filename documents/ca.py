"""The certificate authority that issues each signer's certificate, and the signers it issues.

A deployment configures its CA as a PKCS#12 file; without one a development CA is generated
on first use and says so in every subject it signs (O/OU "开发用 / FOR DEVELOPMENT ONLY").
Issued signer keys are cached on disk (and in memory, already parsed: re-parsing an RSA key
costs ~0.1 s a signature) so re-runs reuse them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from documents.errors import CertificateError
from documents.model import SignerRole

DEV_MARK = "开发用 / FOR DEVELOPMENT ONLY"
KeyType = Literal["ec", "rsa"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")


@dataclass(frozen=True)
class SignerIdentity:
    """Who a certificate names: the name and role the signing plan expects."""

    name: str
    role: SignerRole
    organisation: str | None = None


@dataclass(eq=False)
class IssuedSigner:
    """A signer's certificate, chain and loaded private key, ready to sign many times."""

    identity: SignerIdentity
    certificate: x509.Certificate
    private_key: PrivateKey
    chain: tuple[x509.Certificate, ...]
    _pyhanko: Any = field(default=None, repr=False)

    @property
    def is_development(self) -> bool:
        return DEV_MARK in self.certificate.subject.rfc4514_string()


def _new_key(key_type: KeyType) -> PrivateKey:
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: PrivateKey, passphrase: bytes | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _load_key(data: bytes, passphrase: bytes | None) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=passphrase)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CertificateError("仅支持 EC P-256 或 RSA 密钥")
    return key


def _write_once(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)


def _hash_algorithm() -> hashes.SHA256:
    return hashes.SHA256()


class CertificateAuthority:
    """Issues per-signer certificates; build with `from_pkcs12` or `development`.

    Args:
        certificate: the issuing CA certificate.
        private_key: its key.
        chain: certificates above `certificate` (empty when it is the root).
        signer_dir: where issued signer keys and certificates are cached.
        passphrase: encrypts cached signer keys (None: unencrypted, development only).
        development: whether this is a generated development CA.
    """

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: PrivateKey,
        *,
        chain: tuple[x509.Certificate, ...] = (),
        signer_dir: Path,
        passphrase: bytes | None = None,
        development: bool = False,
    ) -> None:
        self.certificate = certificate
        self.private_key = private_key
        self.chain = chain
        self.signer_dir = signer_dir
        self.passphrase = passphrase
        self.is_development = development
        self._issued: dict[str, IssuedSigner] = {}

    # --- construction -----------------------------------------------------------------

    @classmethod
    def from_pkcs12(
        cls, path: Path, passphrase: str | bytes | None, *, signer_dir: Path
    ) -> CertificateAuthority:
        """Load the deployment CA (key, certificate and chain) from a PKCS#12 file.

        Raises:
            CertificateError: the file is missing, the passphrase wrong, or it holds no key.
        """
        secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(path.read_bytes(), secret)
        except (OSError, ValueError) as exc:
            raise CertificateError(
                f"无法读取 CA 证书文件 {path}（文件不存在或口令错误）", path=str(path)
            ) from exc
        if cert is None or not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise CertificateError(f"CA 证书文件 {path} 中没有证书或私钥", path=str(path))
        return cls(cert, key, chain=tuple(extra), signer_dir=signer_dir, passphrase=secret)

    @classmethod
    def development(
        cls, directory: Path, *, now: datetime | None = None, key_type: KeyType = "ec"
    ) -> CertificateAuthority:
        """The development CA under `directory`, generated on first use and reused after.

        Its subject and every certificate it issues carry "开发用 / FOR DEVELOPMENT ONLY".
        """
        key_path, cert_path = directory / "dev-ca.key.pem", directory / "dev-ca.crt.pem"
        if key_path.exists() and cert_path.exists():
            key = _load_key(key_path.read_bytes(), None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        else:
            at = now or datetime.now(UTC)
            key = _new_key(key_type)
            name = x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_MARK),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_MARK),
                    x509.NameAttribute(NameOID.COMMON_NAME, "枫桥开发用根证书 Fengqiao Dev CA"),
                ]
            )
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(at - timedelta(days=1))
                .not_valid_after(at + timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=True,
                        crl_sign=True,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(
                    x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
                )
                .sign(key, _hash_algorithm())
            )
            _write_once(key_path, _pem_key(key, None))
            _write_once(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return cls(cert, key, signer_dir=directory / "signers", development=True)

    # --- trust ------------------------------------------------------------------------

    @property
    def trust_roots(self) -> tuple[x509.Certificate, ...]:
        """The self-signed certificates a verifier should trust for documents signed here."""
        candidates = (self.certificate, *self.chain)
        return tuple(c for c in candidates if c.issuer == c.subject) or (candidates[-1],)

    # --- issuing ----------------------------------------------------------------------

    def issue(
        self,
        name: str,
        role: SignerRole,
        *,
        organisation: str | None = None,
        key_type: KeyType = "ec",
        key_id: str | None = None,
        now: datetime | None = None,
    ) -> IssuedSigner:
        """The signer certificate for (name, role), issued once and then reused.

        Args:
            name: the signer's name, written as the certificate's CN.
            role: written as the certificate's `title`; the signing plan checks it.
            organisation: O of the subject (committee, court, law firm).
            key_type: "ec" (P-256, default: fastest) or "rsa" (2048).
            key_id: tells apart two signers with the same name and role (e.g. a party id).
            now: issuing time (aware); defaults to the system clock.
        """
        identity = SignerIdentity(name=name, role=role, organisation=organisation)
        digest = hashlib.sha256(
            "\x1f".join((role.value, name, organisation or "", key_id or "", key_type)).encode()
        ).hexdigest()[:32]
        if digest in self._issued:
            return self._issued[digest]
        key_path = self.signer_dir / f"{digest}.key.pem"
        cert_path = self.signer_dir / f"{digest}.crt.pem"
        if key_path.exists() and cert_path.exists():
            try:
                key = _load_key(key_path.read_bytes(), self.passphrase)
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            except (ValueError, TypeError) as exc:
                raise CertificateError(
                    f"签名人证书缓存 {key_path.name} 无法读取", path=str(key_path)
                ) from exc
        else:
            key = _new_key(key_type)
            cert = self._certificate_for(identity, key, now or datetime.now(UTC))
            _write_once(key_path, _pem_key(key, self.passphrase))
            _write_once(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        issued = IssuedSigner(
            identity=identity,
            certificate=cert,
            private_key=key,
            chain=(self.certificate, *self.chain),
        )
        self._issued[digest] = issued
        return issued

    def _certificate_for(
        self, identity: SignerIdentity, key: PrivateKey, now: datetime
    ) -> x509.Certificate:
        attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
        org = identity.organisation or (DEV_MARK if self.is_development else None)
        if org:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        if self.is_development:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_MARK))
        attributes += [
            x509.NameAttribute(NameOID.TITLE, identity.role.value),
            x509.NameAttribute(NameOID.COMMON_NAME, identity.name),
        ]
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3 * 365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.EMAIL_PROTECTION, _DOCUMENT_SIGNING_EKU]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.certificate.public_key()  # type: ignore[arg-type]
                ),
                critical=False,
            )
            .sign(self.private_key, _hash_algorithm())
        )


def role_of(certificate: x509.Certificate) -> SignerRole | None:
    """The role written in a signer certificate's `title`, if it is one of ours."""
    values = certificate.subject.get_attributes_for_oid(NameOID.TITLE)
    if not values:
        return None
    try:
        return SignerRole(str(values[0].value))
    except ValueError:
        return None


def common_name(certificate: x509.Certificate) -> str:
    values = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else certificate.subject.rfc4514_string()
