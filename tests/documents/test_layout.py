"""Layout as a court clerk sees it, checked by geometry and by poppler's text: a seal's
characters evenly spaced and apart for committee names of 6–20 characters, signature blocks
on the page of the text they sign (never alone on a page), footers on one line."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from documents import Renderer, TranscriptEntry
from documents.appearance import seal, seal_layout
from tests.documents.conftest import run_tool, write
from tests.documents.samples import BRANDING, CONFIRMATION, TRANSCRIPT

NAMES = {
    6: "某村调委会甲",
    10: "柳湾镇人民调解委员会",
    13: "青石街道东桥社区人民调解委员会"[:13],
    16: "浙江省诸暨市枫桥镇人民调解委员会",
    20: "浙江省诸暨市枫桥镇枫源村人民调解委员会",
}


@pytest.mark.parametrize("count", range(6, 21))
def test_r_seal_ring_text_is_evenly_spaced_and_never_overlaps(count: int) -> None:
    text = ("浙江省诸暨市枫桥镇枫源村人民调解委员会" * 2)[:count]
    layout = seal_layout(text, 640)
    steps = [b - a for a, b in zip(layout.angles, layout.angles[1:], strict=False)]
    assert max(steps) - min(steps) < 1e-9  # even
    middle = (layout.angles[0] + layout.angles[-1]) / 2
    assert abs(middle + math.pi / 2) < 1e-9  # centred on the top
    assert layout.advance >= 1.1 * layout.font_size  # a gap between neighbours
    assert math.degrees(layout.angles[-1] - layout.angles[0]) <= 250
    assert layout.font_size >= 0.065 * 640  # still legible at 20 characters
    outer = 640 / 2 - 640 * 0.019
    assert layout.radius + layout.font_size * 0.6 < outer  # inside the ring


@pytest.mark.parametrize("count", sorted(NAMES))
def test_r_seal_drawn_characters_are_apart(count: int) -> None:
    """On the image: sampling the arc between neighbouring characters finds no red ink."""
    image = seal(NAMES[count]).convert("RGBA")
    layout = seal_layout(NAMES[count], 640)
    scale = image.width / 640
    centre = image.width / 2
    red_between = 0
    for a, b in zip(layout.angles, layout.angles[1:], strict=False):
        mid = (a + b) / 2
        for r in (layout.radius - layout.font_size * 0.2, layout.radius + layout.font_size * 0.2):
            x = centre + r * scale * math.cos(mid)
            y = centre + r * scale * math.sin(mid)
            pixel = image.getpixel((int(x), int(y)))
            assert isinstance(pixel, tuple)
            red, _, _, alpha = pixel
            red_between += int(alpha > 128 and red > 150)
    assert red_between == 0


def _pages(pdf: bytes, tmp_path: Path, name: str) -> list[str]:
    path = write(tmp_path, name, pdf)
    info = run_tool("pdfinfo", str(path))
    count = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    return [
        run_tool("pdftotext", "-layout", "-f", str(n), "-l", str(n), str(path), "-")
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("entries", range(4, 34, 3))
def test_r_transcript_signature_block_stays_with_the_text_it_signs(
    renderer: Renderer, tmp_path: Path, entries: int
) -> None:
    said = tuple(
        TranscriptEntry(speaker="调解员" if i % 2 else "张三", text=f"第{i}段陈述，" + "意见" * 20)
        for i in range(entries)
    )
    pdf = renderer.render(
        TRANSCRIPT.model_copy(update={"entries": said}), BRANDING, document_id="T-1"
    )
    pages = _pages(pdf, tmp_path, "transcript.pdf")
    signed = [i for i, text in enumerate(pages) if "记录人（签名）" in text]
    closing = [i for i, text in enumerate(pages) if "以上笔录已向当事人宣读" in text]
    assert signed == closing, f"signatures on {signed}, read-back sentence on {closing}"
    first_slot = [i for i, text in enumerate(pages) if "甲方（签名" in text]
    assert first_slot == signed  # the block is whole


def test_r_jc_package_the_application_signs_below_its_addressee(
    renderer: Renderer, tmp_path: Path
) -> None:
    many = tuple(f"附件{i}：证明材料" for i in range(1, 19))
    pdf = renderer.render(
        CONFIRMATION.model_copy(update={"attachments": many}), BRANDING, document_id="C-1"
    )
    pages = _pages(pdf, tmp_path, "confirmation.pdf")
    page = next(i for i, text in enumerate(pages) if "此致" in text)
    assert "浙江省诸暨市人民法院" in pages[page]
    assert "甲方（签名" in pages[page]


@pytest.mark.parametrize("document_id", ["A-1", "123456-confirmation_application-0-" + "f" * 20])
def test_footer_never_wraps(renderer: Renderer, tmp_path: Path, document_id: str) -> None:
    pdf = renderer.render(CONFIRMATION, BRANDING, document_id=document_id)
    pages = _pages(pdf, tmp_path, "footer.pdf")
    for number, text in enumerate(pages, start=1):
        footer = rf"核验码 {re.escape(document_id)}\s+第\s*{number}\s*页\s*共\s*{len(pages)}\s*页"
        assert re.search(footer, text), text[-400:]
