"""The 受理通知书 a party takes home: their own slip, with the QR code of their own progress
link (issue 10: "a link and a QR code, printed on the 受理 notice"). Rendered for printing
only, like the other papers rendered from the case: nothing is signed or stored, and the
verification id it carries resolves to "not found"."""

from __future__ import annotations

from api.authz import Principal
from api.documents import DocumentService
from api.documents.core import RENDERING_VERSION
from api.services import progress
from documents import AcceptanceNotice
from engine.calendar import SHANGHAI
from engine.errors import NotFound
from mediation import queries

KIND = "acceptance_notice"


def acceptance_notice(
    documents: DocumentService, principal: Principal, case_id: int, link_id: int
) -> bytes:
    """The notice for the party of one of the case's progress links (still usable).

    Raises:
        CaseNotFound: out of scope.  NotFound: no such usable link on this case.
    """
    link = next(
        (x for x in progress.case_links(documents.engine, principal, case_id) if x.id == link_id),
        None,
    )
    if link is None or link.revoked:
        raise NotFound("查询链接", link_id)
    case = documents.engine.get_case(case_id, principal.actor)
    with documents.engine.db.transaction(write=False) as tx:
        parties = queries.parties(tx, case_id)
        category = tx.category(case.category_code)
    branding, _ = documents.branding(case)
    accepted_on = case.created_at.astimezone(SHANGHAI).date()
    notice = AcceptanceNotice(
        number=case.number,
        issued_on=documents.engine.clock.now().astimezone(SHANGHAI).date(),
        party_name=link.party_name,
        others=tuple(p.name for p in parties if p.party_id != link.party_id),
        accepted_on=accepted_on,
        category=category.name if category else case.category_code,
        progress_url=progress.link_url(documents.settings.base_url, link.token),
    )
    return documents.renderer.render(
        notice, branding, document_id=documents.public_id(case_id, KIND, RENDERING_VERSION)
    )
