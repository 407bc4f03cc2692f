"""The pages over HTTP, as a browser without JavaScript sees them."""

from __future__ import annotations

import sqlalchemy as sa

from tests.api.conftest import Api
from tests.flow import open_case
from tests.web.conftest import Pages


def test_signing_in_sets_an_httponly_lax_session_cookie_and_opens_the_workbench(
    pages: Pages,
) -> None:
    assert pages.get("/").headers["location"] == "/login?next=%2F"
    response = pages.post("/login", {"username": "mediator", "password": "correct horse 枫桥"})
    assert (response.status_code, response.headers["location"]) == (303, "/")
    cookie = next(h for h in response.headers.get_list("set-cookie") if "fq_session" in h)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    desk = pages.get("/")
    assert desk.status_code == 200
    assert "工作台" in desk.text


def test_a_wrong_password_is_said_beside_the_field_and_in_the_summary(pages: Pages) -> None:
    response = pages.post("/login", {"username": "mediator", "password": "wrong"})
    assert response.status_code == 400
    assert 'class="error-summary"' in response.text
    assert 'href="#f-password"' in response.text
    assert 'id="e-password"' in response.text
    assert "用户名或密码不正确" in response.text


def test_a_form_posted_without_its_csrf_token_is_refused_in_chinese(pages: Pages) -> None:
    response = pages.client.post(
        "/login", data={"username": "mediator", "password": "correct horse 枫桥"}
    )
    assert response.status_code == 403
    assert "提交未被接受" in response.text
    assert "fq_session" not in response.headers.get("set-cookie", "")


def test_signing_out_needs_the_token_and_ends_the_session(pages: Pages) -> None:
    pages.sign_in("mediator")
    assert pages.client.post("/logout", data={}).status_code == 403
    assert pages.get("/").status_code == 200
    assert pages.post("/logout", {}, from_page="/").status_code == 303
    assert pages.get("/").status_code == 303


def test_signing_out_revokes_the_session_on_the_server_not_only_the_cookie(
    api: Api, pages: Pages
) -> None:
    other = Pages(api)  # the same user at another desk: a second client, its own cookie
    other.client = type(api.client)(api.client.app)
    other.sign_in("mediator")
    pages.sign_in("mediator")
    copied = pages.client.cookies.get("fq_session")
    assert copied
    assert pages.post("/logout", {}, from_page="/").status_code == 303
    pages.client.cookies.set("fq_session", copied)  # someone replays the old cookie
    replayed = pages.get("/")
    assert (replayed.status_code, replayed.headers["location"]) == (303, "/login?next=%2F")
    api_call = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {copied}"})
    assert api_call.status_code == 401
    assert other.get("/").status_code == 200  # the other desk is still signed in


def test_r_scope_a_case_outside_ones_scope_is_the_same_404_page_as_a_missing_one(
    seeded: Api,
) -> None:
    pages = Pages(seeded).sign_in("far_mediator")
    outside = pages.get(f"/cases/{seeded.cases['A']}")
    missing = pages.get("/cases/999999")
    assert outside.status_code == missing.status_code == 404
    assert outside.text == missing.text
    assert pages.get(f"/cases/{seeded.cases['E']}").status_code == 200


def test_the_case_page_shows_parties_consent_flow_and_the_actions_with_reasons(
    seeded: Api,
) -> None:
    pages = Pages(seeded).sign_in("mediator")
    case_id = seeded.cases["A"]
    text = pages.get(f"/cases/{case_id}").text
    assert "王秀英" in text
    assert "待确认" in text  # consent not yet recorded
    assert f"/cases/{case_id}/flow.svg" in text
    assert "受理调解室" in text or "可以办理的事项" in text
    svg = pages.get(f"/cases/{case_id}/flow.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "当前" in svg.text


def test_the_docs_pages_use_local_assets_only(pages: Pages) -> None:
    for path in ("/docs", "/redoc"):
        text = pages.get(path).text
        assert "cdn" not in text.lower()
        assert "<script>" not in text
    assert pages.get("/static/vendor/swagger-ui-bundle.js").status_code == 200
    assert pages.get("/static/vendor/redoc.standalone.js").status_code == 200
    for vendored in (
        "htmx.min.js",
        "signature_pad.umd.min.js",
        "echarts.min.js",
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "redoc.standalone.js",
    ):  # copied from node_modules by `make install` (npm ci, package-lock.json)
        assert pages.get(f"/static/vendor/{vendored}").status_code == 200, vendored


def test_an_action_button_opens_its_form_and_firing_it_moves_the_case(seeded: Api) -> None:
    pages = Pages(seeded).sign_in("household")
    case_id = seeded.cases["A"]
    case_page = pages.get(f"/cases/{case_id}").text
    assert f'href="/cases/{case_id}/act/route_to_grid"' in case_page
    form = f"/cases/{case_id}/act/route_to_grid"
    assert pages.get(form).status_code == 200
    version = seeded.version(case_id)
    stale = pages.post(form, {"version": str(version)}, from_page=form)
    assert (stale.status_code, stale.headers["location"]) == (
        303,
        f"/cases/{case_id}?done=route_to_grid#main",
    )
    after = pages.get(f"/cases/{case_id}", done="route_to_grid").text
    assert "已办理" in after
    assert "中心户调解" in after
    again = pages.post(form, {"version": str(version)}, from_page=f"/cases/{case_id}")
    assert again.status_code == 404  # no longer an action of this state: nothing to open


def _intake_form(api: Api, **overrides: str) -> dict[str, str]:
    form = {
        "committee_id": str(api.world.units["committee"]),
        "category_code": "neighbour",
        "summary": "相邻房屋滴水纠纷",
        "origin": "grid_report",
        "risk_level": "blue",
        "parties.0.role": "applicant",
        "parties.0.name": "王秀英",
        "parties.0.id_number": "11010519491231002X",
        "parties.0.phone": "13812341234",
        "parties.0.address": "枫桥镇枫源村3组12号",
        "parties.1.role": "respondent",
        "parties.1.name": "李建国",
        "parties.1.phone": "13900001111",
        "parties.1.address": "枫桥镇枫源村3组14号",
    }
    return {**form, **overrides}


def test_intake_registers_a_case_once_however_often_the_form_is_sent(api: Api) -> None:
    pages = Pages(api).sign_in("household")
    form = pages.get("/cases/new").text
    assert 'name="idempotency_key"' in form
    body = _intake_form(api, idempotency_key="form-1")
    first = pages.post("/cases/new", body, from_page="/cases/new")
    assert first.status_code == 303, first.text
    again = pages.post("/cases/new", body, from_page="/cases/new")
    assert again.headers["location"] == first.headers["location"]
    case_page = pages.get(first.headers["location"].split("?")[0])
    assert "王秀英" in case_page.text
    assert "枫源村第三网格" in case_page.text or "受理登记" in case_page.text


def test_intake_errors_name_the_party_field_in_chinese(api: Api) -> None:
    pages = Pages(api).sign_in("household")
    body = _intake_form(api, **{"parties.0.id_number": "110105194912310021", "summary": ""})
    response = pages.post("/cases/new", body, from_page="/cases/new")
    assert response.status_code == 400
    assert 'class="error-summary"' in response.text
    assert "请填写或选择纠纷简要情况" in response.text
    assert 'id="e-summary"' in response.text
    fixed = pages.post(
        "/cases/new",
        _intake_form(api, **{"parties.0.id_number": "110105194912310021"}),
        from_page="/cases/new",
    )
    assert fixed.status_code == 400
    assert "身份证号码校验位不正确" in fixed.text
    assert 'href="#f-parties-0-id_number"' in fixed.text


def test_r_id_r_phone_as_you_type_say_what_the_server_will_say(api: Api) -> None:
    pages = Pages(api).sign_in("household")
    token = pages.token("/cases/new")
    checks = {
        ("parties.0.id_number", "11010519491231002X"): "号码有效",
        ("parties.0.id_number", "110105194912310021"): "身份证号码校验位不正确",
        ("parties.0.id_number", "11010519491331002X"): "出生日期不存在",
        ("parties.0.phone", "+86 138 1234 1234"): "号码有效",
        ("parties.0.phone", "12812341234"): "手机号码应为11位",
        ("parties.0.address", "枫桥镇枫源村3组12号"): "枫源村第三网格",
        ("parties.0.address", "不存在的地址"): "请在下方选择网格",
    }
    for (name, value), expected in checks.items():
        response = pages.client.post(
            "/cases/new/check", data={name: value}, headers={"X-CSRF-Token": token}
        )
        assert expected in response.text, (name, value, response.text)


def test_parties_are_added_and_removed_on_the_page(api: Api) -> None:
    pages = Pages(api).sign_in("household")
    body = _intake_form(api)
    added = pages.client.post(
        "/cases/new/parties",
        data={**body, "csrf_token": pages.token("/cases/new")},
        headers={"HX-Request": "true"},
    )
    assert added.text.lstrip().startswith('<fieldset id="parties"')
    assert "第 3 名当事人" in added.text
    removed = pages.post("/cases/new/parties", {**body, "remove": "0"}, from_page="/cases/new")
    assert "第 2 名当事人" not in removed.text
    assert 'value="李建国"' in removed.text


def test_the_workbench_puts_overdue_cases_first_in_red_and_counts_them(api: Api) -> None:
    first, second = api.new_case(), api.new_case()
    with api.engine.db.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE cases SET overdue = :t WHERE id = :id"), {"t": True, "id": first}
        )
    text = Pages(api).sign_in("mediator").get("/").text
    assert text.index(f'href="/cases/{first}"') < text.index(f'href="/cases/{second}"')
    assert '<li class="case overdue">' in text
    assert '<li class="red"><a href="#waiting"><strong>1</strong> 件已超期</a></li>' in text
    assert "<strong>2</strong> 件待办" in text


def test_the_workbench_lists_follow_up_visits_due_within_a_week(api: Api) -> None:
    driver = open_case(api.engine, api.world, api.clock)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=api.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.sign_all()
    assert "七日内到期的回访" not in Pages(api).sign_in("mediator").get("/").text
    driver.wait(days=2)  # the 7th-day visit is now 5½ days away
    text = Pages(api).sign_in("mediator").get("/").text
    assert "七日内到期的回访（1）" in text
    assert "协议生效后第7日回访" in text
    assert "还有 5 天" in text


def test_a_search_by_name_is_posted_never_put_in_the_url(api: Api) -> None:
    mine = api.new_case()
    pages = Pages(api).sign_in("mediator")
    listing = pages.get("/cases").text
    assert 'method="post" action="/cases"' in listing
    assert "?q=" not in listing
    found = pages.post("/cases", {"q": "王秀英"}, from_page="/cases")
    assert f'href="/cases/{mine}"' in found.text
    assert 'value="王秀英"' in found.text
    nothing = pages.post("/cases", {"q": "不存在的人"}, from_page="/cases")
    assert "没有找到符合条件的案件" in nothing.text
    assert pages.client.post("/cases", data={"q": "王秀英"}).status_code == 403


def test_a_refusal_outside_any_form_is_a_chinese_page_never_json(seeded: Api) -> None:
    pages = Pages(seeded).sign_in("judge")
    case_id = seeded.cases["C"]
    refused = pages.post(f"/cases/{case_id}/progress-links", {"party_id": "1"}, from_page="/")
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert "只有调解员或中心户可以生成当事人查询链接" in refused.text


def test_a_browser_asking_for_a_missing_page_gets_the_404_page(pages: Pages) -> None:
    page = pages.client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "找不到这个页面" in page.text
    api = pages.client.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert api.headers["content-type"].startswith("application/problem+json")
    assert (
        pages.client.get("/no-such-page")
        .headers["content-type"]
        .startswith("application/problem+json")
    )


def test_garbled_ids_and_versions_in_a_form_are_refused_not_crashed(seeded: Api) -> None:
    pages = Pages(seeded).sign_in("mediator")
    case_id = seeded.cases["A"]
    form = f"/cases/{case_id}/act/route_to_grid"
    refused = pages.post(form, {"version": "²"}, from_page=form)
    assert refused.status_code in (303, 400)  # the current version is used, or a refusal said
    links = pages.post(f"/cases/{case_id}/progress-links", {"party_id": "abc"}, from_page="/")
    assert links.status_code in (400, 404)
    assert "text/html" in links.headers["content-type"]
