"""Rendering: every document says what the law requires, in an embedded subset CJK font."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from documents import FontUnavailable, Renderer, TemplateDataError, signing_plan
from documents.render import css_string, qr_data_uri, rmb_upper
from engine.calendar import SHANGHAI
from tests.documents.conftest import AGREEMENT_ID, VERIFY_BASE, run_tool, write
from tests.documents.samples import AGREEMENT, ALL, BRANDING

REQUIRED_TEXT = {
    "application": ["人民调解申请书", "申请人", "被申请人", "申请事项", "事实和理由", "李四"],
    "registration": [
        "受理登记表",
        "受理日期",
        "纠纷类型",
        "纠纷来源",
        "当事人申请",
        "登记人",
        "王五",
    ],
    "transcript": ["调解笔录", "调解员", "记录人", "不公开调解", "宣读", "2026年3月2日09时30分"],
    "confirmation_application": [
        "司法确认申请书",
        "浙江省诸暨市人民法院",
        "第三十三条",
        "送达地址",
    ],
    "ruling_confirmed": ["民事裁定书", "民特", "人民调解协议有效", "强制执行"],
    "ruling_rejected": ["民事裁定书", "驳回", "内容不明确"],
    "followup": ["回访记录", "已履行", "满意", "孙八"],
    "legal_opinion": ["法律意见书", "法律分析", "周九", "民法典"],
}


def _text(tmp_path: Path, pdf: bytes) -> str:
    path = write(tmp_path, "doc.pdf", pdf)
    return "".join(run_tool("pdftotext", "-enc", "UTF-8", str(path), "-").split())


def test_r_agreement_fields_art_29_contents_are_printed(
    tmp_path: Path, agreement_pdf: bytes
) -> None:
    text = _text(tmp_path, agreement_pdf)
    for required in [
        "人民调解协议书",
        "（2026）枫调字第0001号",
        # parties' basic information
        "张三",
        "男",
        "汉族",
        "1980年1月1日出生",
        "农民",
        "34052419800101001X",
        "浙江省诸暨市枫桥镇枫源村12号",
        "13812341234",
        "李四",
        # main facts, disputed matters, liability
        "纠纷主要事实",
        "越过宅基地界线约0.5米",
        "争议事项",
        "房屋损失的赔偿数额",
        "各方责任",
        "承担主要责任",
        # agreed terms: obligor, obligee, action, amount, method, deadline
        "张三于2026年4月30日前向李四支付房屋修缮赔偿款",
        "50,000.00",
        "伍万元整",
        "银行转账",
        "拆除越界搭建的围墙",
        # performance method, place and deadline; effect; copies; date
        "履行方式",
        "履行期限",
        "2026年5月15日前全部履行完毕",
        "诸暨市枫桥镇",
        "加盖人民调解委员会印章之日起生效",
        "一式三份",
        "本协议的日期为协议生效之日",
        # branding: room name, committee (whose seal it is, R-SEAL)
        "修丽君调解工作室",
        "枫桥镇人民调解委员会",
        AGREEMENT_ID,
    ]:
        assert required in text, required


@pytest.mark.parametrize("kind", sorted(REQUIRED_TEXT))
def test_each_document_prints_its_required_contents(
    tmp_path: Path, renderer: Renderer, kind: str
) -> None:
    pdf = renderer.render(ALL[kind], BRANDING, document_id=f"DOC-{kind}")
    text = _text(tmp_path, pdf)
    for required in REQUIRED_TEXT[kind]:
        assert required in text, required
    assert signing_plan(pdf), "every document has at least one signature slot"


def test_cjk_font_is_embedded_as_a_subset(tmp_path: Path, agreement_pdf: bytes) -> None:
    out = run_tool("pdffonts", str(write(tmp_path, "a.pdf", agreement_pdf)))
    rows = [line.split() for line in out.splitlines() if "Noto-Serif-CJK-SC" in line]
    assert rows, out
    for row in rows:
        assert "+" in row[0]  # subset tag ABCDEF+
        assert row[0].split("+")[0].isupper()
        emb, sub = row[-5], row[-4]
        assert (emb, sub) == ("yes", "yes"), out
    assert all(
        "CJK" in line or not line.strip() or line.startswith(("name", "---"))
        for line in out.splitlines()
    ), "no other (fallback) fonts"


def test_pdf_is_pdf_a_3b_with_an_srgb_output_intent(agreement_pdf: bytes) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    root = PdfFileReader(io.BytesIO(agreement_pdf)).root
    xmp = root["/Metadata"].get_object().data
    assert b'pdfaid:part="3"' in xmp
    assert b'pdfaid:conformance="B"' in xmp
    assert str(root["/OutputIntents"][0]["/S"]) == "/GTS_PDFA1"


def test_every_page_carries_the_verification_qr(renderer: Renderer) -> None:
    html = renderer.render_html(AGREEMENT, BRANDING, document_id=AGREEMENT_ID)
    assert qr_data_uri(f"{VERIFY_BASE}/{AGREEMENT_ID}") in html
    assert "@bottom-right" in html  # the page margin box: repeated on every page


def test_signature_slots_follow_the_signing_order(agreement_pdf: bytes) -> None:
    plan = signing_plan(agreement_pdf)
    assert [(s.field, s.name) for s in plan] == [
        ("sig01_party", "张三"),
        ("sig02_party", "李四"),
        ("sig03_mediator", "修丽君"),
        ("sig04_committee", "枫桥镇人民调解委员会"),
    ]
    assert not any(s.signed for s in plan)


def test_r_seal_room_agreement_carries_the_committee_seal(renderer: Renderer) -> None:
    slots = renderer.slots(AGREEMENT, BRANDING)
    assert slots[-1].name == BRANDING.committee_name != BRANDING.room_name


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("50000", "伍万元整"),
        ("100.05", "壹佰元零伍分"),
        ("1010", "壹仟零壹拾元整"),
        ("100000001", "壹亿零壹元整"),
        ("0.5", "伍角"),
        ("12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"),
    ],
)
def test_amounts_are_written_in_capital_numerals(amount: str, words: str) -> None:
    assert rmb_upper(Decimal(amount)) == words


def test_css_strings_are_escaped() -> None:
    assert css_string('a"b') == '"a\\22 b"'


def test_missing_template_parameter_names_it(tmp_path: Path) -> None:
    (tmp_path / "agreement.html").write_text("{{ doc.no_such_field }}", encoding="utf-8")
    broken = Renderer(VERIFY_BASE, templates_dir=tmp_path, zone=SHANGHAI)
    with pytest.raises(TemplateDataError, match="no_such_field") as caught:
        broken.render(AGREEMENT, BRANDING, document_id="X")
    assert caught.value.code == "document_template_data"
    assert "缺少数据" in caught.value.message_zh


def test_missing_cjk_font_is_a_clear_chinese_error() -> None:
    with pytest.raises(FontUnavailable, match="未找到中文字体") as caught:
        Renderer(VERIFY_BASE, font_family="No Such Font SC", zone=SHANGHAI)
    assert "fonts-noto-cjk" in caught.value.message_zh


def test_harfbuzz_subsetting_is_active() -> None:
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    assert harfbuzz_subset is not None
    assert harfbuzz.hb_version_atleast(4, 1, 0)
