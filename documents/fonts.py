"""Find the CJK font through fontconfig and make sure HarfBuzz subsets it.

Without Noto Serif CJK SC every Chinese glyph would fall back or turn into boxes; without
libharfbuzz-subset WeasyPrint silently subsets with fontTools (~40× slower). Both fail loudly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from documents.errors import FontUnavailable, SubsetterUnavailable

CJK_FAMILY = "Noto Serif CJK SC"
_INSTALL_HINT = "apt-get install -y fonts-noto-cjk libharfbuzz-subset0"


@dataclass(frozen=True)
class FontFile:
    """The file fontconfig resolves a family to (often a TrueType collection)."""

    family: str
    path: Path


def _fc_string(ffi: object, fc: object, pattern: object, key: bytes) -> str | None:
    out = ffi.new("FcChar8 **")  # type: ignore[attr-defined]
    result = fc.FcPatternGetString(pattern, key, 0, out)  # type: ignore[attr-defined]
    if result != 0:
        return None
    return str(ffi.string(out[0]).decode())  # type: ignore[attr-defined]


@lru_cache(maxsize=4)
def find_cjk_font(family: str = CJK_FAMILY) -> FontFile:
    """The font file fontconfig picks for `family`, if it really is that family.

    Raises:
        FontUnavailable: fontconfig only offers a fallback for `family`.
    """
    from weasyprint.text.ffi import ffi, fontconfig

    config = fontconfig.FcInitLoadConfigAndFonts()
    pattern = fontconfig.FcPatternCreate()
    try:
        fontconfig.FcPatternAddString(pattern, b"family", family.encode())
        fontconfig.FcConfigSubstitute(config, pattern, 0)  # FcMatchPattern
        fontconfig.FcDefaultSubstitute(pattern)
        result = ffi.new("FcResult *")
        match = fontconfig.FcFontMatch(config, pattern, result)
        if match == ffi.NULL:
            raise FontUnavailable(f"未找到中文字体“{family}”，请安装：{_INSTALL_HINT}")
        try:
            found = _fc_string(ffi, fontconfig, match, b"family")
            path = _fc_string(ffi, fontconfig, match, b"file")
        finally:
            fontconfig.FcPatternDestroy(match)
    finally:
        fontconfig.FcPatternDestroy(pattern)
        fontconfig.FcConfigDestroy(config)
    if found != family or path is None:
        raise FontUnavailable(
            f"未找到中文字体“{family}”（系统只提供了“{found}”），请安装：{_INSTALL_HINT}",
            family=family,
            fallback=found,
        )
    return FontFile(family=family, path=Path(path))


@lru_cache(maxsize=1)
def check_harfbuzz_subset() -> None:
    """Fail unless WeasyPrint will subset fonts with HarfBuzz (≥ 4.1.0).

    Raises:
        SubsetterUnavailable: libharfbuzz-subset is missing or too old.
    """
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is None or not harfbuzz.hb_version_atleast(4, 1, 0):
        raise SubsetterUnavailable(
            "未启用 HarfBuzz 字体子集化（缺少 libharfbuzz-subset 或版本低于 4.1.0），"
            f"生成文书会慢约四十倍，请安装：{_INSTALL_HINT}"
        )
