"""Administrators' pages: org units created under a parent, users with a role in a unit, and
the branding of committees and rooms that documents print."""

from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import Browser, expect

from api.documents.core import _branding
from tests.api.conftest import Api
from tests.flow import open_case
from tests.web.browser import DESK, PHONE, Served, new_context, shot, under_strict_csp
from tests.web.conftest import Pages
from tests.web.test_browser import sign_in


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_an_admin_creates_a_grid_under_a_community_and_is_told_what_belongs_where(
    api: Api,
) -> None:
    admin = Pages(api).sign_in("admin")
    community = api.world.units["community"]
    created = admin.post(
        "/admin/units",
        {"parent_id": str(community), "kind": "grid", "name": "枫源村第五网格"},
        from_page="/admin/units",
    )
    assert created.status_code == 303, created.text
    listed = admin.get("/admin/units").text
    assert "枫源村第五网格" in listed
    unit = api.get("admin", "/api/v1/org-units", parent_id=community).json()
    grid = next(u for u in unit if u["name"] == "枫源村第五网格")
    assert grid["path"].startswith(f"/{api.world.units['district']}/")
    assert grid["path"].endswith(f"/{community}/{grid['id']}/")
    wrong = admin.post(
        "/admin/units",
        {"parent_id": str(api.world.units["grid"]), "kind": "street", "name": "错误的街道"},
        from_page="/admin/units",
    )
    assert wrong.status_code == 400
    assert "error-summary" in wrong.text
    assert "下只能建立" in wrong.text
    empty = admin.post(
        "/admin/units", {"parent_id": "", "kind": "", "name": ""}, from_page="/admin/units"
    )
    assert empty.status_code == 400
    for anchor in ("#f-kind", "#f-name"):
        assert f'href="{anchor}"' in empty.text
    committee = admin.post(
        "/admin/units",
        {"parent_id": str(community), "kind": "committee", "name": "新调委会"},
        from_page="/admin/units",
    )
    assert committee.status_code == 400
    assert 'href="#f-short_name"' in committee.text


def test_the_api_creates_org_units_for_admins_only(api: Api) -> None:
    body = {"parent_id": api.world.units["street"], "kind": "community", "name": "东溪村"}
    refused = api.client.post("/api/v1/org-units", json=body, headers=api.headers("supervisor"))
    assert refused.status_code == 403
    made = api.client.post("/api/v1/org-units", json=body, headers=api.headers("admin"))
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "community"


def test_an_admin_creates_a_mediator_who_can_sign_in(api: Api) -> None:
    admin = Pages(api).sign_in("admin")
    fields = {
        "display_name": "何调解",
        "username": "he_tiaojie",
        "password": "changeme-2026",
        "org_unit_id": str(api.world.units["committee"]),
        "role": "mediator",
    }
    made = admin.post("/admin/users", fields, from_page="/admin/users")
    assert made.status_code == 303, made.text
    listed = admin.get("/admin/users").text
    assert "何调解" in listed
    assert "调解员 · 枫源村人民调解委员会" in listed
    assert "changeme-2026" not in listed
    again = admin.post("/admin/users", fields, from_page="/admin/users")
    assert again.status_code == 400
    assert "已存在" in again.text
    bad = admin.post(
        "/admin/users",
        {**fields, "username": "x", "password": "short", "role": ""},
        from_page="/admin/users",
    )
    assert bad.status_code == 400
    for anchor in ("#f-username", "#f-password", "#f-role"):
        assert f'href="{anchor}"' in bad.text
    newcomer = Pages(api)
    newcomer.client.cookies.clear()
    signed = newcomer.post("/login", {"username": "he_tiaojie", "password": "changeme-2026"})
    assert signed.status_code == 303


def test_only_admins_open_the_admin_pages(api: Api) -> None:
    supervisor = Pages(api).sign_in("supervisor")
    for path in ("/admin/units", "/admin/users", "/admin/rooms"):
        assert supervisor.get(path).status_code == 403, path


def test_r_seal_branding_a_room_logo_and_the_committee_seal_reach_the_documents(
    api: Api,
) -> None:
    admin = Pages(api).sign_in("admin")
    room, committee = api.world.units["room"], api.world.units["committee"]
    token = admin.token(f"/admin/rooms/{committee}")
    saved = admin.client.post(
        f"/admin/rooms/{committee}",
        data={"csrf_token": token, "name": "枫源村人民调解委员会", "seal_text": "枫源村人调委"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    token = admin.token(f"/admin/rooms/{room}")
    saved = admin.client.post(
        f"/admin/rooms/{room}",
        data={"csrf_token": token, "name": "老杨调解工作室"},
        files={"logo": ("logo.png", _png(), "image/png")},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    page = admin.get("/admin/rooms").text
    assert "老杨调解工作室" in page
    assert "使用枫源村人民调解委员会的印章（枫源村人调委）" in page
    logo = admin.get(f"/admin/rooms/{room}/logo.png")
    assert logo.headers["content-type"] == "image/png"
    token = admin.token(f"/admin/rooms/{room}")
    refused = admin.client.post(
        f"/admin/rooms/{room}",
        data={"csrf_token": token, "name": "老杨调解工作室", "seal_text": "老杨"},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert "没有自己的印章" in refused.text
    driver = open_case(api.engine, api.world, api.clock)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=room)
    with api.engine.db.transaction(write=False) as tx:
        record = tx.load_case(driver.case_id)
        assert record is not None
        branding, _ = _branding(tx, record)
    assert branding.room_name == "老杨调解工作室"
    assert branding.seal == "枫源村人调委"
    assert branding.logo_png is not None
    assert branding.logo_png.startswith(b"\x89PNG")


def test_the_admin_pages_in_chromium(browser: Browser, served: Served, api: Api) -> None:
    for viewport in (PHONE, DESK):
        context = new_context(browser, served.url, viewport)
        refused = under_strict_csp(context)
        page = context.new_page()
        sign_in(page, "admin")
        page.get_by_role("link", name="系统管理").click()
        expect(page.get_by_role("heading", name="组织机构", exact=True)).to_be_visible()
        page.get_by_role("button", name="建立组织").click()  # nothing chosen: the summary
        expect(page.locator(".error-summary")).to_be_visible()
        shot(page, "page-admin-units")
        page.get_by_label("上级组织").select_option(str(api.world.units["community"]))
        page.get_by_label("组织类型").select_option("grid")
        page.get_by_label("名称", exact=True).fill(f"第{viewport['width']}网格")
        page.get_by_role("button", name="建立组织").click()
        expect(page.get_by_role("status")).to_contain_text("已建立新组织")
        page.get_by_role("link", name="用户与角色").click()
        expect(page.get_by_role("heading", name="用户与角色")).to_be_visible()
        shot(page, "page-admin-users")
        page.get_by_role("link", name=re.compile("管理杨光明的账号")).click()
        expect(page.get_by_role("heading", name="杨光明")).to_be_visible()
        expect(page.get_by_label("新密码")).to_be_visible()
        shot(page, "page-admin-user")
        page.get_by_role("link", name="用户与角色", exact=True).click()
        page.get_by_role("link", name="调解组织与标识").click()
        shot(page, "page-admin-rooms")
        page.get_by_role("link", name=re.compile("修改.*工作室")).first.click()
        expect(page.get_by_label("标识图片")).to_be_visible()
        shot(page, "page-admin-room")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], width
        context.close()
        assert refused == []


def test_an_admin_disables_enables_and_resets_a_password_and_sessions_end(api: Api) -> None:
    mediator = Pages(api).sign_in("mediator")
    assert mediator.get("/").status_code == 200
    admin = Pages(api)
    admin.client = type(api.client)(api.client.app)  # a second browser
    admin.sign_in("admin")
    user_id = api.world.users["mediator"]
    page = f"/admin/users/{user_id}"
    assert "停用杨光明的账号" in admin.get(page).text
    disabled = admin.post(f"{page}/disable", {}, from_page=page)
    assert disabled.status_code == 303, disabled.text
    assert "已停用" in admin.get(page).text
    assert mediator.get("/").status_code == 303  # back to the sign-in page
    assert admin.post(f"{page}/enable", {}, from_page=page).status_code == 303
    short = admin.post(f"{page}/password", {"new_password": "123"}, from_page=page)
    assert short.status_code == 400
    assert 'href="#f-new_password"' in short.text
    reset = admin.post(f"{page}/password", {"new_password": "new-secret-2026"}, from_page=page)
    assert reset.status_code == 303
    again = Pages(api)
    again.client.cookies.clear()
    signed = again.post("/login", {"username": "mediator", "password": "new-secret-2026"})
    assert signed.status_code == 303
    myself = f"/admin/users/{api.world.users['admin']}"
    assert "停用管理员的账号" not in admin.get(myself).text
    refused = admin.post(f"{myself}/disable", {}, from_page=myself)
    assert refused.status_code == 400
    assert "不能停用自己的账号" in refused.text


def test_an_admin_adds_and_removes_a_role_through_the_api_function(api: Api) -> None:
    admin = Pages(api).sign_in("admin")
    user_id = api.world.users["mediator"]
    page = f"/admin/users/{user_id}"
    room = str(api.world.units["room"])
    added = admin.post(
        f"{page}/add_role", {"org_unit_id": room, "role": "mediator"}, from_page=page
    )
    assert added.status_code == 303, added.text
    shown = admin.get(page).text
    assert "调解员 · 枫源村人民调解委员会老杨调解工作室" in shown
    assert "取消此角色" in shown
    empty = admin.post(f"{page}/add_role", {"org_unit_id": "", "role": ""}, from_page=page)
    assert empty.status_code == 400
    for anchor in ("#f-org_unit_id", "#f-role"):
        assert f'href="{anchor}"' in empty.text
    removed = admin.post(
        f"{page}/remove_role", {"org_unit_id": room, "role": "mediator"}, from_page=page
    )
    assert removed.status_code == 303
    assert "老杨调解工作室" not in admin.get(page).text.split('id="h-roles"')[1].split("</ul>")[0]
    committee = str(api.world.units["committee"])
    last = admin.post(
        f"{page}/remove_role", {"org_unit_id": committee, "role": "mediator"}, from_page=page
    )
    assert last.status_code == 400
    assert "至少保留一个角色" in last.text
