"""R-ESIGN: the signature as the signer's own act (电子签名法 Art. 13). A mediator opens a
signing act for one party (their 法定代理人 for a minor) on the agreement version shown; the
signer's identity is checked and recorded — the ID document shown to the mediator, who types
its number, or a one-time code sent to the party's phone — and the signer then signs on their
own device (a personal link: a random secret, no personal data, expiring, single use) or the
room's kiosk. The key is an event certificate for that act, bound to the document's bytes,
and destroyed after the one signature. The mediator signs the same way, re-entering their
password at the moment of signing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from api.auth import verify_password
from api.authz import Principal, build_principal, visible_case
from api.documents import DocumentService
from api.otp import CodeSender
from api.services.jc_application import sign_application_as_act
from documents import SignerRole, SigningEvent
from documents.signing import Mark
from engine.errors import InvalidInput, NotFound
from engine.records import FireResult
from mediation import queries
from mediation.validation import mask_phone
from mediation.vocabulary import Role
from workflows.confirmation import APPLICATION
from workflows.kinds import AGREEMENT

DOCUMENT_TITLES = {AGREEMENT: "调解协议", APPLICATION: "司法确认申请书"}
OPENING_ROLES = frozenset({Role.mediator, Role.central_household})
Channel = Literal["link", "kiosk"]
MAX_ID_FAILURES = 5
KIOSK_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class SigningAct:
    id: int
    case_id: int
    party_id: int | None
    party_name: str
    signer_name: str  # who performs the act: the party, or their 法定代理人
    document_kind: str  # the agreement, or the 司法确认申请书 (R-JC-PACKAGE)
    capacity: str | None  # "法定代理人" when a representative signs for the party
    channel: str
    document_sha256: str
    expires_at: datetime
    identity_method: str | None
    used: bool
    created_by: int


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt), 100_000).hex()
    return f"{salt}${digest}"


def _code_matches(code: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(_code_hash(code, salt), stored)


class OwnActSigning:
    """Signing acts of parties and mediators, on the document service.

    Args:
        documents: renders, signs and records (the CA issues the event certificates).
        sender: delivers one-time codes (api/otp.py).
    """

    def __init__(self, documents: DocumentService, sender: CodeSender) -> None:
        self.documents = documents
        self.engine = documents.engine
        self.sender = sender
        self.settings = documents.settings

    # --- opening ------------------------------------------------------------------------

    def open_party_act(
        self,
        principal: Principal,
        case_id: int,
        party_id: int,
        channel: Channel,
        document: str = AGREEMENT,
    ) -> tuple[SigningAct, str]:
        """A signing act for one party on the latest agreement (or, R-JC-PACKAGE, the latest
        司法确认申请书); its secret, once (the link's last segment, or the kiosk page's).

        Raises:
            InvalidInput: not a mediator, no such document yet, or not a party of the case.
        """
        if not principal.has_any(OPENING_ROLES):
            raise InvalidInput("只有调解员或中心户可以发起当事人签署", field="party_id")
        if document not in DOCUMENT_TITLES:
            raise InvalidInput("只能签署调解协议书或司法确认申请书", field="document")
        latest = self.documents.latest(case_id, document)
        now = self.engine.clock.now()
        token = secrets.token_urlsafe(24)
        lifetime = (
            timedelta(minutes=self.settings.signing_link_minutes)
            if channel == "link"
            else KIOSK_LIFETIME
        )
        with self.engine.db.transaction(write=True) as tx:
            visible_case(tx, case_id, principal)
            if latest is None:
                raise InvalidInput(
                    f"本案尚无{DOCUMENT_TITLES[document]}，不能发起签署", field="document"
                )
            party = next((p for p in queries.parties(tx, case_id) if p.party_id == party_id), None)
            if party is None:
                raise NotFound("当事人", party_id)
            signer = party.guardian_name or party.name
            tx.add_party_signing_act(
                case_id=case_id,
                document_kind=document,
                document_sha256=latest.sha256,
                party_id=party_id,
                signer_name=signer,
                channel=channel,
                token_hash=_hash(token),
                created_by=principal.user_id,
                now=now,
                expires_at=now + lifetime,
            )
        return self.act(token), token

    def act(self, token: str) -> SigningAct:
        """The act a secret opens, whether or not it is still usable.

        Raises:
            NotFound: no act has this secret.
        """
        with self.engine.db.transaction(write=False) as tx:
            row = tx.signing_act(_hash(token))
        if row is None:
            raise NotFound("签署链接", 0)
        return SigningAct(
            id=row.id,
            case_id=row.case_id,
            party_id=row.party_id,
            party_name=row.party_name or row.signer_name,
            signer_name=row.signer_name,
            document_kind=row.document_kind,
            capacity="法定代理人" if row.guardian_name else None,
            channel=row.channel,
            document_sha256=row.document_sha256,
            expires_at=row.expires_at,
            identity_method=row.identity_method,
            used=row.used_at is not None,
            created_by=row.created_by,
        )

    def _usable(self, token: str) -> SigningAct:
        act = self.act(token)
        if act.used:
            raise InvalidInput("该签署链接已使用，不能再次签署", field="token")
        if self.engine.clock.now() >= act.expires_at:
            raise InvalidInput("该签署链接已过期，请调解员重新发起签署", field="token")
        return act

    # --- identity checks ----------------------------------------------------------------

    def check_id_document(self, principal: Principal, token: str, id_number: str) -> SigningAct:
        """(a) The signer showed their ID document; the mediator typed its number, which must
        be the one stored for the signer (the representative's for a minor).

        Raises:
            InvalidInput: not the same number (counted; the act ends after five).
        """
        act = self._usable(token)
        now = self.engine.clock.now()
        with self.engine.db.transaction(write=True) as tx:
            visible_case(tx, act.case_id, principal)
            if not principal.has_any(OPENING_ROLES):
                raise InvalidInput("身份证件须由调解员当面核对", field="id_number")
            identity = tx.signer_identity(act.id)
            assert identity is not None, "the act was just read"
            cipher = (
                identity.guardian_id_cipher if identity.guardian_name else identity.id_number_cipher
            )
            if identity.identity_failures >= MAX_ID_FAILURES:
                raise InvalidInput("身份核对失败次数过多，请重新发起签署", field="id_number")
            stored = self.engine.pii.decrypt(cipher) if cipher else None
            typed = id_number.strip().upper()
            if stored is None or not hmac.compare_digest(stored.upper(), typed):
                tx.count_identity_failure(act.id)
        if stored is None or not hmac.compare_digest(stored.upper(), typed):
            raise InvalidInput(
                f"证件号码与{act.signer_name}登记的身份证号码不符，请核对证件", field="id_number"
            )
        self._record_identity(act.id, "id_document", principal.user_id, now)
        return self.act(token)

    def send_code(self, token: str) -> str:
        """(b) A six-digit code to the party's phone; returns the masked number it went to.

        Raises:
            InvalidInput: no phone on record for the signer.
        """
        act = self._usable(token)
        now = self.engine.clock.now()
        code = f"{secrets.randbelow(1_000_000):06d}"
        with self.engine.db.transaction(write=True) as tx:
            parties = queries.parties(tx, act.case_id)
            party = next((p for p in parties if p.party_id == act.party_id), None)
            if party is None or party.guardian_name or not party.phone_cipher:
                raise InvalidInput(
                    "没有登记签署人本人的手机号码，请改为出示身份证件由调解员核对", field="phone"
                )
            phone = self.engine.pii.decrypt(party.phone_cipher)
            tx.set_signing_code(
                act.id, _code_hash(code), now + timedelta(minutes=self.settings.otp_minutes)
            )
        self.sender.send(
            phone,
            f"【枫桥调解】您正在签署{DOCUMENT_TITLES[act.document_kind]}，验证码 {code}，"
            f"{self.settings.otp_minutes} 分钟内有效。非本人操作请忽略。",
        )
        return mask_phone(phone)

    def check_code(self, token: str, code: str) -> SigningAct:
        """Raises:
        InvalidInput: wrong, expired, or too many attempts (then a new code is needed).
        """
        act = self._usable(token)
        now = self.engine.clock.now()
        with self.engine.db.transaction(write=True) as tx:
            sent = tx.signing_code(act.id)
            assert sent is not None, "the act was just read"
            if sent.otp_hash is None or sent.otp_expires_at is None:
                raise InvalidInput("请先获取验证码", field="code")
            if now >= sent.otp_expires_at:
                raise InvalidInput("验证码已过期，请重新获取", field="code")
            if sent.otp_attempts >= self.settings.otp_max_attempts:
                raise InvalidInput("验证码错误次数过多，请重新获取", field="code")
            ok = _code_matches(code.strip(), sent.otp_hash)
            tx.record_code_attempt(act.id, ok=ok)
        if not ok:
            raise InvalidInput("验证码不正确", field="code")
        self._record_identity(act.id, "sms_otp", None, now)
        return self.act(token)

    def _record_identity(self, act_id: int, method: str, by: int | None, now: datetime) -> None:
        with self.engine.db.transaction(write=True) as tx:
            tx.record_identity(act_id, method, by, now)

    # --- signing ------------------------------------------------------------------------

    def sign(
        self,
        token: str,
        *,
        read_and_agreed: bool,
        signature_png: bytes | None,
        mark: Mark = "signature",
    ) -> FireResult:
        """The signer signs the version they were shown, after the identity check.

        Raises:
            InvalidInput: not read, nothing drawn, no identity check, used or expired.
            EngineError / DocumentError: the engine or the signing plan refuses.
        """
        act = self._usable(token)
        if act.identity_method is None:
            raise InvalidInput("请先完成身份核验（出示身份证件或短信验证码）", field="identity")
        if not read_and_agreed:
            raise InvalidInput("请先阅读协议，并勾选“我已阅读并同意”", field="agree")
        if signature_png is None and mark == "signature":
            raise InvalidInput("请在方框内签名，或拍照上传指印", field="signature")
        now = self.engine.clock.now()
        with self.engine.db.transaction(write=True) as tx:  # single use: claim it first
            claimed = tx.claim_signing_act(act.id, now)
            creator = build_principal(tx, act.created_by)
        if not claimed:
            raise InvalidInput("该签署链接已使用，不能再次签署", field="token")
        pdf = self.documents.read(act.document_sha256)
        event = SigningEvent(
            act=act.id,
            document_sha256=act.document_sha256,
            document_length=len(pdf),
            identity_method=act.identity_method,
            signed_by=act.signer_name if act.capacity else None,
            capacity=act.capacity,
        )
        signer = self.documents.authority.issue_event(act.party_name, SignerRole.PARTY, event)
        payload: dict[str, Any] = {
            "party_id": act.party_id,
            "signing_act": act.id,
            "identity_method": act.identity_method,
        }
        try:
            if act.document_kind == AGREEMENT:
                result = self.documents.sign_as_act(
                    act.case_id,
                    creator.actor,
                    "sign_party",
                    signer,
                    {**payload, "method": "electronic"},
                    signature_png=signature_png,
                    mark=mark,
                )
            else:  # R-JC-PACKAGE: the applicant's own signature on the application
                result = sign_application_as_act(
                    self.documents,
                    act.case_id,
                    creator.actor,
                    signer,
                    payload,
                    signature_png=signature_png,
                    mark=mark,
                )
        except Exception:
            with self.engine.db.transaction(write=True) as tx:  # not signed: usable again
                tx.release_signing_act(act.id)
            raise
        with self.engine.db.transaction(write=True) as tx:
            tx.set_certificate_serial(act.id, format(signer.certificate.serial_number, "x"))
        return result

    def sign_as_mediator(self, principal: Principal, case_id: int, password: str) -> FireResult:
        """The mediator's own act: in their session, re-entering their password now.

        Raises:
            InvalidInput: wrong password (nothing signed).
        """
        now = self.engine.clock.now()
        latest = self.documents.latest(case_id)
        with self.engine.db.transaction(write=True) as tx:
            visible_case(tx, case_id, principal)
            if latest is None:
                raise InvalidInput("本案尚无协议书", field="document")
            stored = queries.password_hash(tx, principal.user_id)
        if not verify_password(stored, password):
            raise InvalidInput("密码不正确，未签署", field="password")
        with self.engine.db.transaction(write=True) as tx:
            act_id = tx.add_mediator_signing_act(
                case_id=case_id,
                document_kind=AGREEMENT,
                document_sha256=latest.sha256,
                user_id=principal.user_id,
                signer_name=principal.display_name,
                token_hash=_hash(secrets.token_urlsafe(24)),
                now=now,
            )
        pdf = self.documents.read(latest.sha256)
        event = SigningEvent(
            act=act_id,
            document_sha256=latest.sha256,
            document_length=len(pdf),
            identity_method="password",
        )
        signer = self.documents.authority.issue_event(
            self.documents.user_name(principal.actor), SignerRole.MEDIATOR, event
        )
        return self.documents.sign_as_act(
            case_id,
            principal.actor,
            "sign_mediator",
            signer,
            {"signing_act": act_id, "identity_method": "password"},
        )
