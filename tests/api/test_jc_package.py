"""R-JC-PACKAGE: the application printed for the court carries the parties' full ID numbers
and phones (masked in every other print), each read logged; only the case's mediator or the
court applied to may print it; the attachments are what the case holds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from api.authz import build_principal
from api.documents import DocumentService
from api.errors import PiiNotPermitted
from api.services.jc_package import confirmation_package
from api.settings import Settings
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.flow import open_case
from tests.world import APPLICANT_ID, World


def _text(tmp_path: Path, pdf: bytes, name: str = "package.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return out.stdout.replace(" ", "")


def test_r_jc_package_unmasked_for_the_court_logged_and_attachments_from_the_case(
    engine: MediationEngine, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    service = DocumentService(Settings(data_dir=tmp_path / "var"), engine)
    driver = open_case(engine, world, clock)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    driver.apply_confirmation()
    with engine.db.transaction(write=False) as tx:
        mediator = build_principal(tx, world.users["mediator"])
        supervisor = build_principal(tx, world.users["supervisor"])
        before = tx.one(
            "SELECT COUNT(*) FROM pii_access_log WHERE case_id = :c", {"c": driver.case_id}
        )
    text = _text(tmp_path, confirmation_package(service, mediator, driver.case_id))
    assert APPLICANT_ID in text
    assert "13812341234" in text
    assert "居民身份证" in text
    assert "主持调解的证明" in text
    assert "授权委托书" not in text  # nobody appointed an agent: nothing to attach
    masked = _text(
        tmp_path,
        service.render_case_document(driver.case_id, mediator.actor, "confirmation_application"),
        "masked.pdf",
    )
    assert APPLICANT_ID not in masked
    with engine.db.transaction(write=False) as tx:
        after = tx.one(
            "SELECT COUNT(*) FROM pii_access_log WHERE case_id = :c", {"c": driver.case_id}
        )
    assert before is not None
    assert after is not None
    assert after[0] == before[0] + 2  # both applicants' numbers read, each logged
    with pytest.raises(PiiNotPermitted):
        confirmation_package(service, supervisor, driver.case_id)
