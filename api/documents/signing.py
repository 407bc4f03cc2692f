"""Electronic signatures on the agreement, in turn: the parties', the mediator's and the
committee's seal, each a new version recorded with the engine (R-ESIGN)."""

from __future__ import annotations

from typing import Any

from api.documents.core import DocumentCore, _CaseFacts, _require_draft
from api.errors import OwnActRequired
from documents import IssuedSigner, SignerRole, sign
from documents.signing import Mark
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput
from engine.records import Actor, FireResult
from workflows.agreement_content import overdue_terms


class AgreementSigning(DocumentCore):
    """Electronic signatures on the agreement, in turn: a part of DocumentService."""

    # --- electronic signatures -----------------------------------------------------------

    def sign_party(
        self,
        case_id: int,
        actor: Actor,
        expected_version: int,
        party_id: int,
        *,
        signature_png: bytes | None = None,
        mark: Mark = "signature",
    ) -> FireResult:
        """The party signs the latest version with their own certificate; `actor` records it.

        `mark` is how: a signature (the drawn image, else the typed name), a thumbprint, or —
        for an organisation party — its seal.

        Raises:
            NotASignatory / SigningOutOfOrder / AlreadySigned / ElectronicSignatureExcluded:
                the document's signing plan refuses; nothing is stored or recorded.
            EngineError: the engine refuses the step (guards, roles, concurrency).
        """
        facts = self._facts(case_id, actor, expected_version, "sign_party")
        if self._own_act(facts.case):
            raise OwnActRequired(
                "当事人的电子签名须由当事人（或其法定代理人）本人签署：请发起本人签署（个人签署链接或调解室签署屏），经身份核验后由其本人完成，调解员不能代为签署"
            )
        party = next((p for p in facts.parties if p.party_id == party_id), None)
        if party is None:
            raise InvalidInput(f"当事人 {party_id} 不是本案当事人", field="party_id")
        if mark == "seal" and party.kind != "organisation":
            raise InvalidInput("只有单位当事人可以盖章代替签名", field="mark")
        _require_draft(facts)
        signer = self.authority.issue(party.name, SignerRole.PARTY, key_id=f"party:{party_id}")
        return self._sign(
            facts,
            actor,
            "sign_party",
            signer,
            {"party_id": party_id, "method": "electronic"},
            signature_png=signature_png,
            mark=mark,
        )

    def sign_as_act(
        self,
        case_id: int,
        actor: Actor,
        trigger: str,
        signer: IssuedSigner,
        payload: dict[str, Any],
        *,
        signature_png: bytes | None = None,
        mark: Mark = "signature",
    ) -> FireResult:
        """R-ESIGN: sign the latest agreement with an event certificate the signer's own act
        obtained (api/services/own_signing.py), then fire `trigger`; `actor` is who opened
        the act. The certificate's key is destroyed whatever happens."""
        try:
            case = self.engine.get_case(case_id, actor)
            facts = self._facts(case_id, actor, case.version, trigger)
            assert signer.event is not None, "only event certificates sign as an act"
            if facts.agreement_versions[-1].sha256 != signer.event.document_sha256:
                raise InvalidInput("协议书已更新，请重新发起签署并阅读新版本", field="document")
            return self._sign(
                facts, actor, trigger, signer, payload, signature_png=signature_png, mark=mark
            )
        finally:
            signer.destroy_key()

    def sign_mediator(self, case_id: int, actor: Actor, expected_version: int) -> FireResult:
        """The acting mediator signs with their own certificate, after every party."""
        facts = self._facts(case_id, actor, expected_version, "sign_mediator")
        if self._own_act(facts.case):
            raise OwnActRequired("调解员须本人签署：请在签署时再次输入登录密码")
        _require_draft(facts)
        name = self._user_name(actor)
        signer = self.authority.issue(name, SignerRole.MEDIATOR, key_id=f"user:{actor.user_id}")
        return self._sign(facts, actor, "sign_mediator", signer, {})

    def apply_seal(self, case_id: int, actor: Actor, expected_version: int) -> FireResult:
        """The committee's seal, last (R-AGREEMENT-EFFECT); a room uses its committee's (R-SEAL)."""
        facts = self._facts(case_id, actor, expected_version, "apply_seal")
        _require_draft(facts)
        signer = self.authority.issue(
            facts.branding.seal,
            SignerRole.COMMITTEE,
            organisation=facts.branding.committee_name,
            key_id=f"org:{facts.committee_id}",
        )
        if not self._own_act(facts.case):
            return self._sign(facts, actor, "apply_seal", signer, {})
        # R-ESIGN: the seal is the committee's key, applied by a named person (recorded)
        name = self._user_name(actor)
        return self._sign(
            facts,
            actor,
            "apply_seal",
            signer,
            {"applied_by": name},
            reason=f"加盖调解委员会印章（经办人：{name}）",
        )

    def _sign(
        self,
        facts: _CaseFacts,
        actor: Actor,
        trigger: str,
        signer: IssuedSigner,
        payload: dict[str, Any],
        *,
        signature_png: bytes | None = None,
        mark: Mark = "signature",
        reason: str | None = None,
    ) -> FireResult:
        _require_draft(facts)
        late = overdue_terms(facts.case.data.get("agreement", {}), self._today())
        if late:  # refused before a certificate is issued; the engine checks it again
            raise InvalidInput(
                f"协议约定的履行期限早于签署日期：{'、'.join(late)}；请先修订协议再签署",
                field="terms",
            )
        latest = self.store.get(facts.agreement_versions[-1].sha256)
        signed = sign(
            latest,
            signer,
            signature_png=signature_png,
            timestamp_url=self.timestamp_url,
            location=facts.branding.committee_name,
            mark=mark,
            signed_at=self.engine.clock.now(),
            reason=reason,
            zone=SHANGHAI,
        )
        digest = self.store.put(signed)
        return self.engine.fire(
            facts.case.id,
            trigger,
            actor,
            facts.case.version,
            {**payload, "document_sha256": digest},
            performed_by="documents",
        )
