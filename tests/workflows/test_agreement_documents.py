"""The engine's side of agreement documents: every rendered or signed version is recorded as
a chain of digests, signatures name the version that carries them, and a case that has
documents cannot be signed or revised without them (and never rolled back)."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from engine.calendar import WorkingCalendar
from engine.errors import GuardRejected, InvalidInput
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.conftest import make_engine
from tests.flow import Driver, open_case
from tests.world import World, build_world


def digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _rows(driver: Driver) -> list[tuple[object, ...]]:
    with driver.engine.db.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT id, kind, version, sha256, parent_id FROM documents "
                "WHERE case_id = :c ORDER BY id"
            ),
            {"c": driver.case_id},
        ).all()
    return [tuple(r) for r in rows]


def _ready(driver: Driver) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")


def _draft(driver: Driver, sha: str | None, trigger: str = "draft_agreement") -> None:
    extra = {} if sha is None else {"document_sha256": sha}
    driver.fire(
        "mediator",
        trigger,
        facts="被申请人房屋滴水损坏申请人院墙",
        issues=["修缮费用的承担"],
        responsibilities=driver.responsibilities(),
        terms=driver.terms(),
        **extra,
    )


@pytest.fixture
def driver(engine: MediationEngine, world: World, clock: FixedClock) -> Driver:
    return open_case(engine, world, clock)


def test_r_esign_every_signature_names_the_version_it_produced(
    any_sa_engine: sa.Engine, clock: FixedClock, calendar: WorkingCalendar
) -> None:
    world = build_world(any_sa_engine)
    driver = open_case(make_engine(any_sa_engine, clock, calendar), world, clock)
    _ready(driver)
    _draft(driver, digest("draft"))
    _draft(driver, digest("revised"), "revise_agreement")
    driver.fire("mediator", "start_signing")
    for n, party_id in enumerate(driver.party_ids()):
        driver.fire(
            "mediator",
            "sign_party",
            party_id=party_id,
            method="electronic",
            document_sha256=digest(f"party{n}"),
        )
    driver.fire("mediator", "sign_mediator", document_sha256=digest("mediator"))
    case = driver.fire("mediator", "apply_seal", document_sha256=digest("seal"))
    assert case.state == "agreement_in_effect"
    rows = _rows(driver)
    labels = ["draft", "revised", "party0", "party1", "mediator", "seal"]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("agreement", n, digest(label)) for n, label in enumerate(labels, start=1)
    ]
    assert [r[4] for r in rows] == [None, *(r[0] for r in rows[:-1])]
    with driver.engine.db.transaction(write=False) as tx:
        linked = [d for _, _, d in tx.signature_documents(driver.case_id)]
    assert linked == [r[0] for r in rows[2:]]


def test_a_documented_agreement_cannot_be_signed_or_revised_without_its_new_version(
    driver: Driver,
) -> None:
    _ready(driver)
    _draft(driver, digest("draft"))
    with pytest.raises(InvalidInput, match="重新生成的协议书") as caught:
        _draft(driver, None, "revise_agreement")
    assert caught.value.fields["field"] == "document_sha256"
    driver.fire("mediator", "start_signing")
    applicant = driver.party_ids()[0]
    version = driver.case.version
    with pytest.raises(InvalidInput, match="签署后的文书摘要"):
        driver.fire("mediator", "sign_party", party_id=applicant, method="electronic")
    with pytest.raises(InvalidInput, match="与上一版本相同"):
        driver.fire(
            "mediator",
            "sign_party",
            party_id=applicant,
            method="electronic",
            document_sha256=digest("draft"),
        )
    with pytest.raises(InvalidInput, match="SHA-256"):
        driver.fire(
            "mediator",
            "sign_party",
            party_id=applicant,
            method="electronic",
            document_sha256="ABC",
        )
    with pytest.raises(InvalidInput, match="电子协议书上签署"):
        driver.fire(
            "mediator", "sign_party", party_id=applicant, method="paper", scan_sha256="ab" * 32
        )
    assert driver.case.version == version
    assert len(_rows(driver)) == 1
    driver.fire(
        "mediator",
        "sign_party",
        party_id=applicant,
        method="electronic",
        document_sha256=digest("signed"),
    )
    with pytest.raises(InvalidInput, match="回退"):
        driver.fire(
            "mediator",
            "sign_party",
            party_id=driver.party_ids()[1],
            method="electronic",
            document_sha256=digest("draft"),
        )


def test_without_the_document_service_signatures_stand_alone(driver: Driver) -> None:
    """A deployment without documents fires the same triggers; a digest then has no parent."""
    _ready(driver)
    _draft(driver, None)
    driver.fire("mediator", "start_signing")
    applicant, respondent = driver.party_ids()
    with pytest.raises(InvalidInput, match="尚未生成协议书文书"):
        driver.fire(
            "mediator",
            "sign_party",
            party_id=applicant,
            method="electronic",
            document_sha256=digest("orphan"),
        )
    driver.fire("mediator", "sign_party", party_id=applicant, method="electronic")
    driver.fire("mediator", "sign_party", party_id=respondent, method="electronic")
    driver.fire("mediator", "sign_mediator")
    assert driver.fire("mediator", "apply_seal").state == "agreement_in_effect"
    assert _rows(driver) == []
    with driver.engine.db.transaction(write=False) as tx:
        assert [d for _, _, d in tx.signature_documents(driver.case_id)] == [None] * 4


def test_r_esign_exclude_every_wet_signature_names_its_scan(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock, category_code="inheritance")
    _ready(driver)
    _draft(driver, digest("printed"))
    driver.fire("mediator", "start_signing")
    applicant, respondent = driver.party_ids()
    with pytest.raises(GuardRejected, match="电子签名法第3条"):
        driver.fire(
            "mediator",
            "sign_party",
            party_id=applicant,
            method="electronic",
            document_sha256=digest("e"),
        )
    driver.fire("mediator", "sign_party", party_id=applicant, scan_sha256=digest("scan1"))
    driver.fire("mediator", "sign_party", party_id=respondent, scan_sha256=digest("scan2"))
    with pytest.raises(InvalidInput, match="扫描件"):
        driver.fire("mediator", "sign_mediator")
    driver.fire("mediator", "sign_mediator", scan_sha256=digest("scan3"))
    with pytest.raises(InvalidInput, match="扫描件"):
        driver.fire("mediator", "apply_seal")
    with pytest.raises(InvalidInput, match="回退"):
        driver.fire("mediator", "apply_seal", scan_sha256=digest("scan1"))
    case = driver.fire("mediator", "apply_seal", scan_sha256=digest("scan3"))  # one scan, both
    assert case.state == "agreement_in_effect"
    rows = _rows(driver)
    assert [(r[1], r[2]) for r in rows] == [
        ("agreement", 1),
        ("agreement_scan", 1),
        ("agreement_scan", 2),
        ("agreement_scan", 3),
    ]
    assert [r[4] for r in rows] == [None, None, rows[1][0], rows[2][0]]  # a chain per kind
    with engine.db.transaction(write=False) as tx:
        signed = [(s.signer_kind, s.method) for s in tx.signatures(driver.case_id)]
        linked = [d for _, _, d in tx.signature_documents(driver.case_id)]
    assert signed == [
        ("party", "paper"),
        ("party", "paper"),
        ("mediator", "paper"),
        ("seal", "paper"),
    ]
    assert linked == [rows[1][0], rows[2][0], rows[3][0], rows[3][0]]
