"""Sample document contents: one of each kind, with the Art. 29 items a test can look for."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from documents.model import (
    AgreementContent,
    Branding,
    ConfirmationApplication,
    CourtRuling,
    DocumentContent,
    FollowUpRecord,
    LegalOpinion,
    MediationAgreement,
    MediationApplication,
    MediationTranscript,
    Party,
    Person,
    RegistrationForm,
    Responsibility,
    Term,
    TranscriptEntry,
)

BRANDING = Branding(
    committee_name="枫桥镇人民调解委员会",
    room_name="枫桥镇人民调解委员会修丽君调解工作室",
)
ZHANG = Party(
    label="甲方",
    name="张三",
    sex="男",
    ethnicity="汉族",
    birth_date=date(1980, 1, 1),
    occupation="农民",
    id_number="34052419800101001X",
    address="浙江省诸暨市枫桥镇枫源村12号",
    phone="13812341234",
)
LI = Party(
    label="乙方",
    name="李四",
    sex="女",
    ethnicity="汉族",
    birth_date=date(1949, 12, 31),
    occupation="退休",
    id_number="11010519491231002X",
    address="浙江省诸暨市枫桥镇枫源村14号",
    phone="13912345678",
)
MEDIATOR = Person(name="修丽君", title="人民调解员")
TERMS = (
    Term(
        obligor="张三",
        obligee="李四",
        action="支付房屋修缮赔偿款",
        amount=Decimal("50000"),
        method="银行转账",
        deadline=date(2026, 4, 30),
        place="枫桥镇人民调解委员会",
    ),
    Term(
        obligor="张三",
        obligee="李四",
        action="拆除越界搭建的围墙",
        method="自行拆除并恢复原状",
        deadline=date(2026, 5, 15),
        place="枫源村12号与14号交界处",
    ),
)
AGREEMENT = MediationAgreement(
    number="（2026）枫调字第0001号",
    issued_on=date(2026, 3, 2),
    category="邻里",
    parties=(ZHANG, LI),
    content=AgreementContent(
        facts="2025年10月，张三在自家院落西侧搭建围墙，越过宅基地界线约0.5米，施工中致李四房屋外墙开裂。",
        disputed_issues=("围墙是否越界", "房屋损失的赔偿数额"),
        responsibilities=(
            Responsibility(party="甲方张三", text="越界搭建并致李四房屋受损，承担主要责任"),
            Responsibility(party="乙方李四", text="未及时制止施工，承担次要责任"),
        ),
        terms=TERMS,
        performance_method="按上列各项约定的方式分别履行",
        performance_deadline=date(2026, 5, 15),
        performance_place="诸暨市枫桥镇",
    ),
    mediators=(MEDIATOR,),
)
APPLICATION = MediationApplication(
    number="SQ-2026-0001",
    issued_on=date(2026, 2, 20),
    applicants=(LI,),
    respondents=(ZHANG,),
    category="邻里",
    requests=("请求调解张三赔偿房屋损失", "请求张三拆除越界围墙"),
    facts_and_reasons="张三搭建围墙越界并致申请人房屋外墙开裂，多次协商未果。",
)
REGISTRATION = RegistrationForm(
    number="（2026）枫调登字第0001号",
    issued_on=date(2026, 2, 21),
    accepted_on=date(2026, 2, 21),
    parties=(LI, ZHANG),
    category="邻里",
    origin="当事人申请",
    summary="相邻宅基地围墙越界及房屋损害赔偿纠纷。",
    risk_level="黄",
    registrar=Person(name="王五"),
)
TRANSCRIPT = MediationTranscript(
    number="（2026）枫调字第0001号-笔录1",
    issued_on=date(2026, 3, 2),
    held_at=datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
    place="修丽君调解工作室",
    parties=(ZHANG, LI),
    mediators=(MEDIATOR,),
    recorder=Person(name="王五"),
    entries=(
        TranscriptEntry(speaker="调解员", text="双方是否同意由本调解室主持调解？"),
        TranscriptEntry(speaker="张三", text="同意。"),
        TranscriptEntry(speaker="李四", text="同意。"),
    ),
)
CONFIRMATION = ConfirmationApplication(
    number="SQQR-2026-0001",
    issued_on=date(2026, 3, 5),
    court="浙江省诸暨市人民法院",
    applicants=(ZHANG, LI),
    agreement_number="（2026）枫调字第0001号",
    agreement_date=date(2026, 3, 2),
    requests="请求确认申请人于2026年3月2日达成的人民调解协议有效。",
    attachments=("人民调解协议书", "调解组织主持调解的证明", "申请人身份证明"),
)
RULING = CourtRuling(
    number="（2026）浙0681民特123号",
    issued_on=date(2026, 3, 12),
    court="浙江省诸暨市人民法院",
    applicants=(ZHANG, LI),
    agreement_number="（2026）枫调字第0001号",
    agreement_date=date(2026, 3, 2),
    filed_on=date(2026, 3, 5),
    outcome="confirmed",
    agreement_summary="张三赔偿李四房屋修缮款50,000元并拆除越界围墙。",
    reasoning="申请确认的调解协议系双方自愿达成，不违反法律强制性规定，不损害国家利益、社会公共利益和他人合法权益，不违背公序良俗。",
    judges=(Person(name="赵六", title="审判员"),),
    clerk=Person(name="钱七"),
)
REJECTED_RULING = RULING.model_copy(
    update={
        "outcome": "rejected",
        "rejection_ground": "内容不明确",
        "reasoning": "协议第二项履行内容不明确。",
    }
)
FOLLOWUP = FollowUpRecord(
    number="HF-2026-0001",
    issued_on=date(2026, 5, 16),
    agreement_number="（2026）枫调字第0001号",
    visited_at=datetime(2026, 5, 16, 2, 0, tzinfo=UTC),
    method="上门",
    visitee="李四",
    performance="performed",
    satisfaction="满意",
    notes="赔偿款已到账，围墙已拆除。",
    visitor=Person(name="孙八"),
)
OPINION = LegalOpinion(
    number="FY-2026-0001",
    issued_on=date(2026, 2, 28),
    addressee="枫桥镇人民调解委员会",
    lawyer=Person(name="周九"),
    law_firm="浙江枫桥律师事务所",
    question="越界搭建围墙致相邻房屋受损的赔偿责任。",
    facts="张三搭建围墙越界约0.5米，施工致李四房屋外墙开裂。",
    analysis="依照民法典相邻关系的规定，不动产权利人不得危及相邻不动产的安全。",
    opinion="张三应当停止侵害、排除妨碍并赔偿损失。",
    legal_basis=("《中华人民共和国民法典》第二百九十五条",),
)

ALL: dict[str, DocumentContent] = {
    "application": APPLICATION,
    "registration": REGISTRATION,
    "transcript": TRANSCRIPT,
    "agreement": AGREEMENT,
    "confirmation_application": CONFIRMATION,
    "ruling_confirmed": RULING,
    "ruling_rejected": REJECTED_RULING,
    "followup": FOLLOWUP,
    "legal_opinion": OPINION,
}
