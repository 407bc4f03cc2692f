"""The certificate authority that issues each signer's certificate, and the signers it issues.

A deployment configures its CA as a PKCS#12 file; without one a development CA is generated
on first use and says so in every subject it signs (O/OU "开发用 / FOR DEVELOPMENT ONLY").
Issued signer keys are cached on disk (and in memory, already parsed: re-parsing an RSA key
costs ~0.1 s a signature) so re-runs reuse them — except event certificates (R-ESIGN): one
key per act of signing, bound to the document it signs, never written anywhere and dropped
after use.
"""

from __future__ import annotations

import hashlib
import json
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


@dataclass(frozen=True)
class SigningEvent:
    """What an event certificate binds (R-ESIGN): the act, the exact bytes it signs and how
    the signer's identity was checked. Written into the certificate, read back by `event_of`.

    Args:
        act: the signing act's id in the host.
        document_sha256: SHA-256 of the document as shown to the signer, before this signature.
        document_length: its length: the signed file starts with exactly these bytes.
        identity_method: how the signer's identity was checked (id_document, sms_otp, password).
        signed_by: who performed the act when it is not the named signatory (a 法定代理人).
        capacity: in what capacity `signed_by` acts (e.g. 法定代理人).
    """

    act: int
    document_sha256: str
    document_length: int
    identity_method: str
    signed_by: str | None = None
    capacity: str | None = None


IDENTITY_METHODS: dict[str, str] = {
    "id_document": "出示身份证件，调解员当面核对号码",
    "sms_otp": "手机短信验证码",
    "password": "签署时再次输入登录密码",
    "demo": "示范数据，未核验身份",
}

# A UUID-derived OID (ITU-T X.667, no registration needed) for the SigningEvent extension.
SIGNING_EVENT_OID = x509.ObjectIdentifier("2.25.217645203871207113716359540284406371421")


def _utf8_der(text: str) -> bytes:
    body = text.encode()
    size = len(body)
    if size < 0x80:
        head = bytes([size])
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(raw)]) + raw
    return b"\x0c" + head + body


def _utf8_from_der(data: bytes) -> str:
    if len(data) < 2 or data[0] != 0x0C:
        raise ValueError("not a UTF8String")
    size, offset = data[1], 2
    if size & 0x80:
        count = size & 0x7F
        size, offset = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    return data[offset : offset + size].decode()


def event_of(certificate: x509.Certificate) -> SigningEvent | None:
    """The signing event an event certificate was issued for; None for a standing certificate."""
    try:
        ext = certificate.extensions.get_extension_for_oid(SIGNING_EVENT_OID)
    except x509.ExtensionNotFound:
        return None
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        return None
    try:
        data = json.loads(_utf8_from_der(value.value))
        return SigningEvent(
            act=int(data["act"]),
            document_sha256=str(data["sha256"]),
            document_length=int(data["length"]),
            identity_method=str(data["identity"]),
            signed_by=data.get("by"),
            capacity=data.get("as"),
        )
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(eq=False)
class IssuedSigner:
    """A signer's certificate, chain and loaded private key, ready to sign many times."""

    identity: SignerIdentity
    certificate: x509.Certificate
    private_key: PrivateKey
    chain: tuple[x509.Certificate, ...]
    _pyhanko: Any = field(default=None, repr=False)
    event: SigningEvent | None = None

    def destroy_key(self) -> None:
        """Drop every reference this object holds to the private key (R-ESIGN: an event
        certificate's key serves one act and is never kept). Nothing was written to disk."""
        self._pyhanko = None
        self.__dict__.pop("private_key", None)

    @property
    def key_destroyed(self) -> bool:
        return "private_key" not in self.__dict__

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

    def issue_event(
        self,
        name: str,
        role: SignerRole,
        event: SigningEvent,
        *,
        organisation: str | None = None,
        now: datetime | None = None,
    ) -> IssuedSigner:
        """An event certificate (R-ESIGN): a fresh key for one act of signing, its certificate
        naming the signatory and binding `event` (the document's hash, the identity check).

        The key lives only in the returned object: it is neither written to `signer_dir` nor
        cached here. Sign once, then call `destroy_key()`. The certificate is valid for an
        hour around `now`; its validity does not matter after signing (the signature's time
        is inside it).
        """
        identity = SignerIdentity(name=name, role=role, organisation=organisation)
        key = _new_key("ec")
        at = now or datetime.now(UTC)
        payload = {
            "act": event.act,
            "sha256": event.document_sha256,
            "length": event.document_length,
            "identity": event.identity_method,
        }
        if event.signed_by:
            payload["by"] = event.signed_by
        if event.capacity:
            payload["as"] = event.capacity
        extension = x509.UnrecognizedExtension(
            SIGNING_EVENT_OID, _utf8_der(json.dumps(payload, ensure_ascii=False))
        )
        cert = self._certificate_for(
            identity, key, at, lifetime=timedelta(hours=1), extra=extension
        )
        return IssuedSigner(
            identity=identity,
            certificate=cert,
            private_key=key,
            chain=(self.certificate, *self.chain),
            event=event,
        )

    def _certificate_for(
        self,
        identity: SignerIdentity,
        key: PrivateKey,
        now: datetime,
        *,
        lifetime: timedelta = timedelta(days=3 * 365),
        extra: x509.UnrecognizedExtension | None = None,
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
        builder = x509.CertificateBuilder()
        if extra is not None:
            builder = builder.add_extension(extra, critical=False)
        return (
            builder.subject_name(x509.Name(attributes))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - (timedelta(minutes=5) if extra else timedelta(days=1)))
            .not_valid_after(now + lifetime)
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
