"""The case's 卷宗 (R-DOCS, R-CLOSE): every paper of the case in the prescribed order, bound
into one volume and sealed by the committee; called alike by the route and the CLI.

A case still open gets a volume of the case as it stands, not stored. A closed case's volume
is archived the first time it is asked for and is served from the archive from then on:
write-once, version 1 of kind "case_file", nothing in it changes afterwards.
"""

from __future__ import annotations

import html
import logging
from datetime import date, datetime
from typing import Any

from api.documents import DocumentService
from documents import SignerRole, sign
from documents.volume import VOLUME_KIND, VolumeCover, VolumePart, assemble
from engine.calendar import SHANGHAI as BEIJING
from engine.errors import InvalidInput
from engine.records import Actor
from mediation import queries
from mediation.records import MediationCase
from workflows.kinds import AGREEMENT, AGREEMENT_SCAN, RULING

ARCHIVED_VERSION = 1
RETENTION = "长期"  # MoJ practice for mediation files; the volume prints it on its cover
_ROLES = {"applicant": "申请人", "respondent": "被申请人", "third_party": "第三人"}


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _local(at: datetime) -> datetime:
    return at.astimezone(BEIJING)


log = logging.getLogger(__name__)


class CaseFileService:
    """Binds a case's papers into its 卷宗, archives it when the case is closed.

    Args:
        documents: the document service (renderer, store, CA, engine).
        retention: the 保管期限 the cover prints (configurable per deployment).
    """

    def __init__(self, documents: DocumentService, *, retention: str = RETENTION) -> None:
        self.documents = documents
        self.engine = documents.engine
        self.retention = retention

    def volume(self, case_id: int, actor: Actor) -> bytes:
        """The case's volume, sealed by its committee; archived once the case is closed.

        Raises:
            CaseNotFound / OutOfScope: the actor may not see the case.
            DocumentError: a paper cannot be rendered or the seal cannot be applied.
        """
        case = self.engine.get_case(case_id, actor)  # scope first
        archived = self.documents.versions(case_id, VOLUME_KIND)
        if archived:
            return self.documents.read(archived[0].sha256)
        closed = case.closed_at is not None
        version = ARCHIVED_VERSION if closed else 0  # 0: a rendering, its QR finds nothing
        pdf = self._bind(case, actor, version)
        if not closed:
            return pdf
        digest = self.documents.store.put(pdf)
        with self.engine.db.transaction(write=True) as tx:
            if not tx.documents(case_id, VOLUME_KIND):
                tx.add_document(
                    case_id=case_id,
                    kind=VOLUME_KIND,
                    version=ARCHIVED_VERSION,
                    sha256=digest,
                    parent_id=None,
                    created_at=self.engine.clock.now(),
                )
        # the first archived volume is the volume: a concurrent first request serves it too
        first = self.documents.versions(case_id, VOLUME_KIND)[0]
        return self.documents.read(first.sha256)

    def archive_closed(
        self, *, limit: int = 1, skip: frozenset[int] = frozenset()
    ) -> tuple[list[int], list[int]]:
        """R-CLOSE: bind and archive the volumes of closed cases that have none yet, oldest
        closing first (the tick calls it, so a case is archived soon after it closes,
        whichever door closed it). Returns the cases archived and those that failed (logged;
        the caller skips them)."""
        with self.engine.db.transaction(write=False) as tx:
            waiting = tx.closed_without_document(VOLUME_KIND, limit + len(skip))
        done: list[int] = []
        failed: list[int] = []
        for case_id in waiting:
            if case_id in skip or len(done) + len(failed) >= limit:
                continue
            try:
                self.volume(case_id, Actor.system())
            except Exception:  # per-item isolation: one broken case never stops the others
                log.exception("case %s: its case file could not be archived", case_id)
                failed.append(case_id)
            else:
                done.append(case_id)
        return done, failed

    # --- binding ---------------------------------------------------------------------

    def _bind(self, case: MediationCase, actor: Actor, version: int) -> bytes:
        documents = self.documents
        with self.engine.db.transaction(write=False) as tx:
            parties = tx.case_parties(case.id)
            category = tx.category(case.category_code)
            assignments = queries.assignments(tx, case.id)
            held = [_local(at).date() for at in tx.session_times(case.id)]
            visited = [_local(v.visited_at).date() for v in tx.visits(case.id)]
        branding, committee_id = documents.branding(case)
        committee = branding.committee_name
        notes: list[str] = []
        parts: list[VolumePart] = []

        def paper(title: str, kind: str, dated: date, index: int | None = None) -> None:
            try:
                pdf = documents.render_case_document(case.id, actor, kind, index=index)
            except InvalidInput as exc:
                notes.append(f"{title}：{exc.message_zh}")
                return
            parts.append(VolumePart(title=title, dated=dated, pdf=pdf))

        registered = _local(case.created_at).date()
        if any(p.role == "applicant" for p in parties) and any(
            p.role == "respondent" for p in parties
        ):
            paper("人民调解申请书", "application", registered)
        paper("人民调解受理登记表", "registration", registered)
        parts.append(
            VolumePart(title="当事人权利义务告知书", dated=registered, html=_notice(parties))
        )
        for n, day in enumerate(held, start=1):
            paper(f"人民调解笔录（第{n}次）", "transcript", day, index=n)
        signed = documents.latest(case.id, AGREEMENT) or documents.latest(case.id, AGREEMENT_SCAN)
        if signed is not None:
            effective = case.agreement_effective_at or signed.created_at
            parts.append(
                VolumePart(
                    title="人民调解协议书",
                    dated=_local(effective).date(),
                    pdf=documents.read(signed.sha256),
                    attachment=f"agreement-v{signed.version}.pdf",
                )
            )
        # R-DOCS (DOMAIN.md): visits come before the judicial confirmation papers
        for n, day in enumerate(visited, start=1):
            paper(f"人民调解回访记录（第{n}次）", "followup", day, index=n)
        confirmation: dict[str, Any] = case.data.get("confirmation", {})
        if "applied_at" in confirmation:
            applied = _local(datetime.fromisoformat(confirmation["applied_at"])).date()
            paper("司法确认申请书", "confirmation_application", applied)
        ruling = documents.latest(case.id, RULING)
        if ruling is not None:
            parts.append(
                VolumePart(
                    title="民事裁定书",
                    dated=_local(ruling.created_at).date(),
                    pdf=documents.read(ruling.sha256),
                    attachment=f"ruling-v{ruling.version}.pdf",
                )
            )
        report: dict[str, Any] = case.data.get("closing_report", {})
        if report:
            at = _local(datetime.fromisoformat(report["at"])).date()
            parts.append(
                VolumePart(
                    title="结案报告",
                    dated=at,
                    html=f"<p>{html.escape(str(report['summary']))}</p>"
                    f"<p>结案日期：{_cn(at)}。</p>",
                )
            )
        today = _local(self.engine.clock.now()).date()
        filer = documents.user_name(actor) if actor.user_id is not None else committee
        parts.append(
            VolumePart(
                title="卷内备考表",
                dated=today,
                html=_back_cover(len(parts), notes, filer, today, archived=version > 0),
            )
        )
        mediators = tuple(
            dict.fromkeys(a.display_name for a in assignments if a.role == "mediator")
        )
        households = tuple(
            dict.fromkeys(a.display_name for a in assignments if a.role == "central_household")
        )
        spec = self.engine.registry.get(case.spec_id, case.spec_version).spec
        names = [p.name for p in parties]
        category_name = category.name if category is not None else case.category_code
        cover = VolumeCover(
            title=f"{'与'.join(names[:2])}{category_name}纠纷",
            number=case.number,
            committee=committee,
            parties=tuple(f"{_ROLES.get(p.role, p.role)}{p.name}" for p in parties),
            category=category_name,
            mediators=mediators or tuple(f"{n}（中心户）" for n in households) or ("（未指派）",),
            started_on=registered,
            ended_on=_local(case.closed_at).date() if case.closed_at else None,
            result=spec.state(case.state).label,
            filer=filer,
            filed_on=today,
            retention=self.retention,
        )
        volume = assemble(
            documents.renderer,
            cover,
            tuple(parts),
            document_id=documents.public_id(case.id, VOLUME_KIND, version),
        )
        seal = documents.authority.issue(
            committee,
            SignerRole.COMMITTEE,
            organisation=committee,
            key_id=f"org:{committee_id}",
        )
        return sign(
            volume,
            seal,
            timestamp_url=documents.timestamp_url,
            location=committee,
            signed_at=self.engine.clock.now(),
            zone=BEIJING,
        )


def _notice(parties: list[Any]) -> str:
    """R-NOTICE: what the parties were told, and when each acknowledged it."""
    rows = "".join(
        f"<tr><td>{html.escape(_ROLES.get(p.role, p.role))}</td><td>{html.escape(p.name)}</td>"
        f"<td>{_acknowledged(p.notice_acknowledged_at)}</td></tr>"
        for p in parties
    )
    return (
        "<p>依照《中华人民共和国人民调解法》第二十三条、第二十四条，当事人在人民调解活动中享有"
        "选择或者接受人民调解员、接受调解或者拒绝调解、要求调解公开进行或者不公开进行、自主表达"
        "意愿并自愿达成调解协议的权利；负有如实陈述纠纷事实、遵守调解现场秩序、尊重人民调解员"
        "和对方当事人、尊重对方当事人行使权利的义务。</p>"
        '<table class="grid"><tr><th>身份</th><th>姓名</th><th>告知并签收日期</th></tr>'
        f"{rows}</table>"
    )


def _acknowledged(at: datetime | None) -> str:
    return _cn(_local(at).date()) if at is not None else "未签收"


def _back_cover(papers: int, notes: list[str], filer: str, today: date, *, archived: bool) -> str:
    """卷内备考表: what the volume holds, what could not be bound, who filed it."""
    lines = [f"<p>本卷共收入文书{papers}件，按人民调解卷宗规定的顺序排列。</p>"]
    lines.append("<p>经电子签名的文书，其签名原件作为附件嵌入本卷，可逐件导出核验签名。</p>")
    lines.extend(f"<p>未能收入：{html.escape(n)}</p>" for n in notes)
    if not archived:
        lines.append("<p>本卷为案件办理中的卷宗，尚未归档；结案后归档的卷宗以归档版本为准。</p>")
    lines.append(f"<p>立卷人：{html.escape(filer)}　　立卷日期：{_cn(today)}</p>")
    return "".join(lines)
