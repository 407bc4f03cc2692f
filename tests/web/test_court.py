"""The court's pages: the queue with its legal deadlines, acceptance, the judge's ruling."""

from __future__ import annotations

from tests.api.conftest import Api, drive_to_application
from tests.flow import open_case
from tests.web.conftest import Pages


def test_r_jc_the_clerk_sees_days_left_accepts_and_the_judge_rules(api: Api) -> None:
    driver = open_case(api.engine, api.world, api.clock)
    drive_to_application(driver)
    case_id = driver.case_id
    clerk = Pages(api).sign_in("clerk")
    queue = clerk.get("/court").text
    assert f'href="/court/{case_id}"' in queue
    assert "受理审查（3日）" in queue
    assert "还剩 2 天" in queue or "还剩 3 天" in queue
    assert "最长期限（30日）" in queue
    desk = clerk.get("/").text
    assert "件司法确认申请" in desk
    review = clerk.get(f"/court/{case_id}").text
    assert f"/cases/{case_id}/act/accept_application" in review
    form = f"/cases/{case_id}/act/accept_application"
    accepted = clerk.post(form, {"version": str(api.version(case_id))}, from_page=form)
    assert accepted.status_code == 303, accepted.text
    judge = Pages(api).sign_in("judge")
    page = judge.get(f"/court/{case_id}").text
    assert "作出裁定并签发裁定书" in page
    assert "审查（15日，可延长10日）" in page
    ruling = f"/court/{case_id}/ruling"
    version = str(api.version(case_id))
    missing = judge.post(
        ruling, {"version": version, "outcome": "rejected"}, from_page=f"/court/{case_id}"
    )
    assert missing.status_code == 400
    for text in ("驳回申请须选择驳回理由", "请填写裁定书案号", "请写明裁定理由"):
        assert text in missing.text
    done = judge.post(
        ruling,
        {
            "version": version,
            "outcome": "confirmed",
            "ruling_number": "（2026）浙0681民特12号",
            "reasoning": "协议系双方自愿达成，内容不违反法律规定",
        },
        from_page=f"/court/{case_id}",
    )
    assert done.status_code == 303, done.text
    after = judge.get(f"/court/{case_id}").text
    assert "下载民事裁定书" in after
    pdf = judge.get(f"/cases/{case_id}/documents/ruling/1")
    assert pdf.headers["content-type"] == "application/pdf"
    assert b"/ByteRange" in pdf.content
