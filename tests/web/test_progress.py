"""The party's progress page: a link per party, a check of the last four digits of their
phone, nothing about anyone else, revocable, dead once the case is closed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import zxingcpp
from PIL import Image

from tests.api.conftest import Api
from tests.web.conftest import Pages


def _link(pages: Pages, case_id: int, party_id: int) -> str:
    made = pages.post(
        f"/cases/{case_id}/progress-links",
        {"party_id": str(party_id)},
        from_page=f"/cases/{case_id}",
    )
    assert made.status_code == 303, made.text
    case_page = pages.get(f"/cases/{case_id}").text
    links = re.findall(r'href="http://[^"]+(/p/[A-Za-z0-9_-]+)" data-progress-link', case_page)
    assert links
    return str(links[-1])


def test_a_party_sees_only_their_case_after_the_last_four_digits(seeded: Api) -> None:
    case_id = seeded.cases["A"]
    staff = Pages(seeded).sign_in("mediator")
    parties = seeded.get("mediator", f"/api/v1/cases/{case_id}/parties").json()
    link = _link(staff, case_id, parties[0]["party_id"])
    qr = staff.get(f"/cases/{case_id}/progress-links/1/qr.svg")
    assert qr.headers["content-type"].startswith("image/svg+xml")

    party = Pages(seeded)
    party.client.cookies.clear()
    asked = party.get(link)
    assert asked.status_code == 200
    assert "手机号码的<strong>后四位</strong>" in asked.text
    assert "王秀英" not in asked.text  # nothing before the check
    assert asked.headers["referrer-policy"] == "no-referrer"
    wrong = party.post(link, {"digits": "0000"}, from_page=link)
    assert wrong.status_code == 400
    assert "后四位不对" in wrong.text
    right = party.post(link, {"digits": "1234"}, from_page=link)
    assert right.status_code == 303
    shown = party.get(link).text
    assert "王秀英，您好" in shown
    assert "您的纠纷已登记" in shown
    assert "李建国" not in shown  # the other party is not named
    assert "13812341234" not in shown


def test_five_wrong_answers_lock_the_link_and_revoking_kills_it(seeded: Api) -> None:
    case_id = seeded.cases["A"]
    staff = Pages(seeded).sign_in("mediator")
    parties = seeded.get("mediator", f"/api/v1/cases/{case_id}/parties").json()
    link = _link(staff, case_id, parties[1]["party_id"])
    party = Pages(seeded)
    for _ in range(5):
        party.post(link, {"digits": "9999"}, from_page=link)
    locked = party.post(link, {"digits": "1111"}, from_page=link)  # right, but locked
    assert "输错次数过多" in locked.text
    staff = Pages(seeded).sign_in("mediator")
    page = staff.get(f"/cases/{case_id}").text
    revoke = re.findall(r'action="(/cases/\d+/progress-links/\d+/revoke)"', page)[-1]
    assert staff.post(revoke, {}, from_page=f"/cases/{case_id}").status_code == 303
    gone = Pages(seeded).get(link)
    assert gone.status_code == 404
    assert "链接已失效" in gone.text


def test_the_acceptance_notice_carries_the_partys_own_link_as_a_qr_code(
    seeded: Api, tmp_path: Path
) -> None:
    """Each party takes home their own 受理通知书; its QR code opens their own progress page,
    and it prints neither ID nor phone numbers."""
    case_id = seeded.cases["A"]
    staff = Pages(seeded).sign_in("mediator")
    parties = seeded.get("mediator", f"/api/v1/cases/{case_id}/parties").json()
    link = _link(staff, case_id, parties[1]["party_id"])
    link_id = re.findall(r"/progress-links/(\d+)/notice\.pdf", staff.get(f"/cases/{case_id}").text)
    notice = staff.get(f"/cases/{case_id}/progress-links/{link_id[-1]}/notice.pdf")
    assert notice.status_code == 200
    assert notice.headers["content-type"] == "application/pdf"
    (tmp_path / "notice.pdf").write_bytes(notice.content)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", "notice.pdf", "notice"],
        cwd=tmp_path,
        check=True,
    )
    codes = {c.text for c in zxingcpp.read_barcodes(Image.open(tmp_path / "notice.png"))}
    assert any(code.endswith(link) for code in codes), codes  # the party's own page
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "notice.pdf", "-"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert "人民调解受理通知书" in "".join(text.split())
    assert "李建国：" in "".join(text.split())
    assert "13900001111" not in text  # no phone, no ID number on the slip
    assert "440524" not in text
    outsider = Pages(seeded).sign_in("far_mediator")
    assert (
        outsider.get(f"/cases/{case_id}/progress-links/{link_id[-1]}/notice.pdf").status_code == 404
    )
