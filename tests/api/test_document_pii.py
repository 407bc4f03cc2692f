"""R-PII for stored documents: downloading one is an unmasked read (the reveal=true roles
only, logged), and the files are sealed at rest and readable by the service user only."""

from __future__ import annotations

import hashlib
import stat

import sqlalchemy as sa

from tests.api.conftest import Api
from tests.api.test_documents_routes import _draft, _in_room
from tests.world import APPLICANT_ID


def _log_rows(api: Api) -> list[tuple[int, int, str, str]]:
    with api.engine.db.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT user_id, party_id, fields, purpose FROM pii_access_log ORDER BY id")
        ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def test_r_pii_a_document_download_needs_the_reveal_permission_and_is_logged(
    api: Api,
) -> None:
    driver = _in_room(api)
    drafted = _draft(api, driver)
    assert drafted.status_code == 201, drafted.text
    url = drafted.json()["document"]["download_url"]
    drafting = _log_rows(api)  # the mediator's drafting read, logged by the service
    for user in ("household", "supervisor"):
        assert api.get(user, f"/api/v1/cases/{driver.case_id}").status_code == 200  # in scope
        refused = api.get(user, url)
        assert (refused.status_code, refused.json()["code"]) == (403, "pii_not_permitted")
        assert api.get(user, f"/api/v1/cases/{driver.case_id}/parties", reveal="true").json()[
            "code"
        ] == ("pii_not_permitted")
    assert _log_rows(api) == drafting
    allowed = api.get("mediator", url)
    assert allowed.status_code == 200
    assert allowed.headers["cache-control"] == "private, no-store"
    rows = _log_rows(api)[len(drafting) :]
    assert sorted(r[1] for r in rows) == sorted(driver.party_ids())
    assert {r[0] for r in rows} == {api.world.users["mediator"]}
    assert {r[2] for r in rows} == {"id_number,phone"}
    assert all("documents/agreement/1" in r[3] for r in rows)


def test_r_pii_stored_documents_are_sealed_and_private(api: Api) -> None:
    driver = _in_room(api)
    drafted = _draft(api, driver)
    assert drafted.status_code == 201, drafted.text
    document = drafted.json()["document"]
    pdf = api.get("mediator", document["download_url"]).content
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == document["sha256"]  # the plaintext's address
    root = api.client.app.state.documents.store.root  # type: ignore[attr-defined]
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    for path in files:
        raw = path.read_bytes()
        assert not raw.startswith(b"%PDF")
        assert APPLICANT_ID.encode() not in raw
        assert stat.S_IMODE(path.stat().st_mode) == 0o400
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    key = root.parent / "keys" / "store.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
