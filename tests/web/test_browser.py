"""One whole case clicked through in Chromium, as the people who work it would: a 中心户
registers it on a phone, a mediator takes it to the room, the parties sign on one tablet, the
court confirms, a visit is recorded, and the party's progress page shows the confirmation."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

from playwright.sync_api import Browser, FilePayload, Locator, Page, expect

from engine.calendar import SHANGHAI as BEIJING
from tests.api.conftest import PASSWORD, Api, drive_to_application
from tests.flow import open_case
from tests.web.browser import (
    DESK,
    PHONE,
    SMALL_PHONE,
    Served,
    new_context,
    shot,
    under_strict_csp,
)
from tests.web.test_signing import case_at_signing
from tests.web.test_verify import signed_agreement
from tests.world import APPLICANT_ID, RESPONDENT_ID


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def sign_out(page: Page) -> None:
    if not page.get_by_role("button", name="退出登录").count():  # the kiosk hides it
        page.goto("/")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="登录枫桥调解平台")).to_be_visible()


def open_action(page: Page, case_id: int, label: str) -> None:
    page.goto(f"/cases/{case_id}")
    page.locator("#actions").get_by_role("link", name=label, exact=True).click()
    expect(page.get_by_role("heading", name=label)).to_be_visible()


def submit(page: Page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()
    try:
        expect(page.locator(".notice.ok")).to_contain_text("已办理")
    except AssertionError:
        shot(page, "failed")
        raise


def register_on_phone(browser: Browser, served: Served) -> int:
    context = new_context(browser, served.url, PHONE)
    page = context.new_page()
    sign_in(page, "household")
    shot(page, "desk-household")
    page.get_by_role("link", name="新建案件").click()
    parties = page.locator("#parties")
    parties.get_by_label("姓名或单位名称").nth(0).fill("王秀英")
    parties.get_by_label("身份证号码").nth(0).fill("110105194912310021")
    expect(page.locator("#c-parties-0-id_number")).to_contain_text("校验位不正确")
    parties.get_by_label("身份证号码").nth(0).fill(APPLICANT_ID)
    expect(page.locator("#c-parties-0-id_number")).to_contain_text("号码有效")
    parties.get_by_label("手机号码").nth(0).fill("13812341234")
    parties.get_by_label("住址").nth(0).fill("枫桥镇枫源村3组12号")
    parties.get_by_label("姓名或单位名称").nth(1).fill("李建国")
    parties.get_by_label("身份证号码").nth(1).fill(RESPONDENT_ID)
    parties.get_by_label("手机号码").nth(1).fill("13900001111")
    parties.get_by_label("住址").nth(1).fill("枫桥镇枫源村3组14号")
    page.get_by_label("纠纷类型").select_option(label="邻里")
    page.get_by_label("纠纷简要情况").fill("相邻房屋滴水损坏院墙，双方争执")
    shot(page, "intake")
    page.get_by_role("button", name="登记案件").click()
    expect(page.locator(".notice.ok")).to_be_visible()
    case_id = int(re.findall(r"/cases/(\d+)", page.url)[0])
    shot(page, "case-intake")
    context.close()
    return case_id


def field(page: Page, name: str) -> Locator:
    return page.locator(f'[id="f-{name}"]')


def choose(page: Page, name: str, label: str) -> None:
    """Pick an option whichever way the form draws it: radios for a few, a list for many."""
    widget = field(page, name)
    if widget.evaluate("node => node.tagName") == "SELECT":
        value = widget.locator("option", has_text=label).first.get_attribute("value")
        widget.select_option(value=value)
    else:
        widget.get_by_label(label, exact=True).check()


def household_takes_it_to_the_room(page: Page, case_id: int) -> None:
    for name in ("王秀英", "李建国"):
        open_action(page, case_id, "登记当事人同意调解")
        choose(page, "party_id", name)
        choose(page, "source", "书面")
        page.get_by_label("已送达并确认权利义务告知书").check()
        submit(page, "登记当事人同意调解")
    open_action(page, case_id, "交中心户调解")
    submit(page, "交中心户调解")
    open_action(page, case_id, "上报调解室")
    shot(page, "action-escalate")
    choose(page, "room_id", "枫源村人民调解委员会老杨调解工作室")
    submit(page, "上报调解室")


def mediator_schedules_the_next_session(page: Page, case_id: int, when: str) -> None:
    open_action(page, case_id, "安排下次调解")
    page.get_by_label("调解时间").fill(when)  # <input type=datetime-local>, Beijing time
    page.get_by_label("调解地点").fill("老杨调解工作室二楼")
    submit(page, "安排下次调解")
    expect(page.locator(".next-session")).to_contain_text("老杨调解工作室二楼")


def mediator_holds_a_session_and_drafts(page: Page, case_id: int, when: str) -> None:
    open_action(page, case_id, "指派或邀请人员")
    shot(page, "action-assign")
    choose(page, "user_id", "杨光明")
    choose(page, "role", "调解员")
    submit(page, "指派或邀请人员")
    open_action(page, case_id, "记录调解")
    page.get_by_label("调解记录").fill("双方陈述意见，经调解同意由被申请人修缮院墙")
    page.get_by_label("调解地点").fill("老杨调解工作室")
    page.locator("#f-read_back").check()  # R-TRANSCRIPT (v2): read back, signed by each party
    page.locator("#f-signed_by-1").check()
    page.locator("#f-signed_by-2").check()
    shot(page, "action-session")
    submit(page, "记录调解")
    mediator_schedules_the_next_session(page, case_id, when)
    open_action(page, case_id, "拟定调解协议")
    page.get_by_label("纠纷事实").fill("被申请人房屋滴水损坏申请人院墙")
    field(page, "issues").fill("修缮费用的承担\n修缮期限")
    choose(page, "responsibilities.0.party_id", "李建国")
    field(page, "responsibilities.0.responsibility").fill("房屋滴水损坏院墙，承担主要责任")
    page.locator('[data-add-row="responsibilities"]').click()
    choose(page, "responsibilities.1.party_id", "王秀英")
    field(page, "responsibilities.1.responsibility").fill("未及时告知，承担次要责任")
    choose(page, "terms.0.obligor", "李建国")
    choose(page, "terms.0.obligee", "王秀英")
    page.get_by_label("履行内容").fill("赔偿修缮费用人民币3000元")
    page.get_by_label("金额（元）").fill("3000")
    field(page, "terms.0.method").fill("银行转账")
    field(page, "terms.0.place").fill("老杨调解工作室")
    page.get_by_label("履行期限").fill("2026-04-01")
    shot(page, "agreement")
    submit(page, "拟定调解协议")
    open_action(page, case_id, "开始签署")
    submit(page, "开始签署")


def draw(page: Page) -> None:
    box = page.locator("canvas[data-pad]").bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 150)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(x + 30 + step * 20, y + 150 - (step % 3) * 40, steps=3)
    page.mouse.up()


def parties_sign_on_one_tablet(page: Page, case_id: int) -> None:
    """R-ESIGN on the room's kiosk: each party shows their ID to the mediator, who types its
    number; a wrong number signs nothing. The mediator signs again with their password."""
    page.goto(f"/cases/{case_id}/sign")
    page.get_by_role("link", name="多人在本机轮流签署").click()
    for name, id_number in (("王秀英", APPLICANT_ID), ("李建国", RESPONDENT_ID)):
        expect(page.locator(".handover")).to_contain_text(name)
        shot(page, "sign-handover")
        page.get_by_role("link", name=f"我是{name}，开始阅读协议").click()
        expect(page.locator("canvas[data-pad]")).to_be_visible()
        page.get_by_role("button", name="确认签名").click()  # nothing drawn, not agreed
        expect(page.locator("[data-pad-error]")).to_be_visible()
        page.get_by_label(f"我（{name}）已阅读并同意以上协议内容").check()
        if name == "李建国":  # a number that is not the party's own: refused, nothing signed
            page.get_by_label(f"{name}出示的身份证件号码").fill(APPLICANT_ID)
            draw(page)
            page.get_by_role("button", name="确认签名").click()
            expect(page.locator(".error-summary")).to_contain_text("不符")
            page.get_by_label(f"我（{name}）已阅读并同意以上协议内容").check()
        page.get_by_label(f"{name}出示的身份证件号码").fill(id_number)
        draw(page)
        shot(page, "sign-party")
        page.get_by_role("button", name="确认签名").click()
        expect(page.locator(".notice.ok")).to_contain_text(f"{name} 已签署完成")
    page.get_by_label("请再次输入您的登录密码").fill(PASSWORD)
    page.get_by_role("button", name="调解员签署协议").click()
    page.get_by_role("button", name="加盖调解委员会印章，协议生效").click()
    expect(page.locator(".notice.ok")).to_contain_text("协议已生效")


def applicants_sign_the_application(page: Page, case_id: int) -> None:
    """R-JC-PACKAGE: the mediator prepares the 司法确认申请书 and each applicant signs it on the
    room's tablet after showing their ID, before it can be filed."""
    here = f"/cases/{case_id}/application"
    page.goto(here)
    page.get_by_role("button", name="制作司法确认申请书").click()
    for name, id_number in (("王秀英", APPLICANT_ID), ("李建国", RESPONDENT_ID)):
        page.goto(here)
        field = page.get_by_label(f"在调解室平板上签署：{name}（或其法定代理人）出示的身份证件号码")
        field.fill(id_number)
        page.locator("form", has=field).get_by_role("button", name="核对证件后在本机签署").click()
        page.get_by_label(re.compile(f"^我（{name}）已阅读并同意")).check()
        draw(page)
        page.get_by_role("button", name="确认签名").click()
        page.goto(here)
        expect(page.get_by_text(f"✓ {name} 已本人签名")).to_be_visible()
    open_action(page, case_id, "共同申请司法确认")
    page.get_by_label("王秀英").check()
    page.get_by_label("李建国").check()
    submit(page, "共同申请司法确认")


def court_confirms(page: Page, case_id: int, clerk: bool) -> None:
    page.goto("/court")
    page.locator(f'a[href="/court/{case_id}"]').click()
    if clerk:
        shot(page, "court-review-clerk")
        page.get_by_role("link", name="法院受理").click()
        submit(page, "法院受理")
        return
    shot(page, "court-review-judge")
    page.get_by_label("裁定调解协议有效").check()
    page.get_by_label("裁定书案号").fill("（2026）浙0681民特12号")
    page.get_by_label("裁定理由").fill("协议系双方自愿达成，内容不违反法律规定")
    page.get_by_role("button", name="作出裁定并签发裁定书").click()
    expect(page.get_by_role("link", name="下载民事裁定书")).to_be_visible()


def test_a_whole_case_clicked_through(browser: Browser, served: Served, api: Api) -> None:
    case_id = register_on_phone(browser, served)
    phone = new_context(browser, served.url, PHONE).new_page()
    sign_in(phone, "household")
    household_takes_it_to_the_room(phone, case_id)
    desk = new_context(browser, served.url, DESK).new_page()
    sign_in(desk, "mediator")
    when = (api.clock.now() + timedelta(days=40)).astimezone(BEIJING)
    mediator_holds_a_session_and_drafts(desk, case_id, when.strftime("%Y-%m-%dT09:30"))
    parties_sign_on_one_tablet(desk, case_id)
    applicants_sign_the_application(desk, case_id)
    court = new_context(browser, served.url, DESK).new_page()
    sign_in(court, "clerk")
    court_confirms(court, case_id, clerk=True)
    sign_out(court)
    sign_in(court, "judge")
    court_confirms(court, case_id, clerk=False)
    open_action(desk, case_id, "进入回访")
    submit(desk, "进入回访")
    open_action(phone, case_id, "登记回访")
    choose(phone, "performance", "已履行")
    shot(phone, "action-visit")
    submit(phone, "登记回访")
    desk.goto(f"/cases/{case_id}")
    desk.locator('[id="f-link-party"]').select_option(label="王秀英")
    desk.get_by_role("button", name="生成查询链接和二维码").click()
    link = desk.locator("[data-progress-link]").first.get_attribute("href")
    assert link is not None
    party = new_context(browser, served.url, PHONE).new_page()
    party.goto(urlsplit(link).path)  # the link names the configured base URL
    party.get_by_label("手机号码后四位").fill("1234")
    party.get_by_role("button", name="查看进度").click()
    expect(party.locator("dl.facts")).to_contain_text("法院已裁定确认调解协议有效")
    expect(party.locator(".next-session")).to_contain_text("09:30")
    expect(party.locator(".next-session")).to_contain_text("老杨调解工作室二楼")
    shot(party, "progress")
    assert api.engine.get_case(case_id, api.world.actors["supervisor"]).state == "followup"


MAIN_PAGES = [
    ("login", None, "/login"),
    ("desk", "mediator", "/"),
    ("cases", "mediator", "/cases"),
    ("case", "mediator", "/cases/{signing}"),
    ("intake", "household", "/cases/new"),
    ("action-consent", "mediator", "/cases/{intake}/act/record_consent"),
    ("sign", "mediator", "/cases/{signing}/sign"),
    ("sign-kiosk", "mediator", "/cases/{signing}/sign?kiosk=true&ready=true"),
    ("court", "clerk", "/court"),
    ("review", "judge", "/court/{applied}"),
    ("verify", None, "/verify"),
]


def test_main_pages_at_phone_and_desk_width(browser: Browser, served: Served, api: Api) -> None:
    """Screenshots of each main page at 390 and 1280 px (test-artifacts/, git-ignored), and
    what a phone must never do: scroll sideways."""
    cases = {
        "signing": case_at_signing(api),
        "intake": api.new_case(),
    }
    applied = open_case(api.engine, api.world, api.clock)
    drive_to_application(applied)
    cases["applied"] = applied.case_id
    for viewport in (SMALL_PHONE, PHONE, DESK):
        context = new_context(browser, served.url, viewport)
        refused = under_strict_csp(context)
        page = context.new_page()
        user = None
        for name, who, path in MAIN_PAGES:
            if who != user and who is not None:
                if user is not None:
                    sign_out(page)
                sign_in(page, who)
                user = who
            elif who is None and user is not None:
                sign_out(page)
                user = None
            page.goto(path.format(**cases))
            expect(page.locator("h1")).to_be_visible()
            if viewport is not SMALL_PHONE:
                shot(page, f"page-{name}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], (name, width)
        context.close()
        assert refused == []


def test_a_form_without_its_csrf_token_is_refused(browser: Browser, served: Served) -> None:
    page = new_context(browser, served.url, PHONE).new_page()
    sign_in(page, "household")
    page.goto("/cases/new")
    page.evaluate("document.querySelector('#intake input[name=csrf_token]').remove()")
    page.get_by_role("button", name="登记案件").click()
    expect(page.get_by_role("heading", name="提交未被接受")).to_be_visible()
    shot(page, "csrf-refused")


def test_a_case_out_of_scope_is_the_same_404_as_a_missing_one(
    browser: Browser, served: Served, api: Api
) -> None:
    case_id = api.new_case()
    page = new_context(browser, served.url, PHONE).new_page()
    sign_in(page, "far_mediator")
    outside = page.goto(f"/cases/{case_id}")
    assert outside is not None
    assert outside.status == 404
    text = page.locator("main").inner_text()
    missing = page.goto("/cases/99999")
    assert missing is not None
    assert missing.status == 404
    assert page.locator("main").inner_text() == text


def test_verification_page_genuine_and_tampered(browser: Browser, served: Served, api: Api) -> None:
    with ThreadPoolExecutor(1) as pool:  # pyHanko runs its own event loop; Playwright's is here
        pdf = pool.submit(signed_agreement, api).result()
    tampered = bytearray(pdf)
    position = pdf.index(b"(", 1000)
    tampered[position + 1] = ord("X") if tampered[position + 1] != ord("X") else ord("Y")
    page = new_context(browser, served.url, PHONE).new_page()
    for name, data, verdict in (("genuine", pdf, "ok"), ("tampered", bytes(tampered), "bad")):
        page.goto("/verify")
        upload = FilePayload(name=f"{name}.pdf", mimeType="application/pdf", buffer=data)
        page.get_by_label("PDF 文件").set_input_files(files=[upload])
        page.get_by_role("button", name="核验这份文件").click()
        expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", verdict)
        shot(page, f"verify-{name}")


def test_signing_in_and_opening_a_case_by_keyboard_alone(
    browser: Browser, served: Served, api: Api
) -> None:
    case_id = api.new_case()
    page = new_context(browser, served.url, PHONE).new_page()
    page.goto("/login")
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.locator(".skip")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="枫桥调解")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("用户名")).to_be_focused()
    page.keyboard.type("mediator")
    page.keyboard.press("Tab")
    expect(page.get_by_label("密码")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    link = page.locator(f'a[href="/cases/{case_id}"]')
    for _ in range(30):  # Tab through the page until the case's link has the focus
        page.keyboard.press("Tab")
        if link.evaluate("node => node === document.activeElement"):
            break
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("调字第")
