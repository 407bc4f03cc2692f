"""HTML → A4 PDF/A-3b with an embedded, subset Noto Serif CJK SC, a QR code to the
verification page on every page, and one empty signature field per signatory.

The signature fields are created in the original revision (where the template drew their
boxes), so every later signature only fills a field: the certification signature (DocMDP,
form filling) then lets verification tell a signature from any other change.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from documents.errors import RenderError, TemplateDataError
from documents.fonts import CJK_FAMILY, check_harfbuzz_subset, find_cjk_font
from documents.model import Branding, DocumentContent, SignerRole

TEMPLATES_DIR = Path(__file__).parent / "templates"
PDF_VARIANT = "pdf/a-3b"
FIELD_PREFIX = "sig"
ESIGN_INFO_KEY = "FengqiaoSigning"
ESIGN_WET_ONLY = "wet-only"
KIND_INFO_KEY = "FengqiaoKind"
_PX_TO_PT = 0.75


@dataclass(frozen=True)
class SlotView:
    """A signature slot as the template and the PDF field see it."""

    field: str
    role: SignerRole
    name: str
    label: str

    @property
    def is_seal(self) -> bool:
        return self.role.is_seal

    @property
    def tooltip(self) -> str:
        return f"{self.label}：{self.name}"


def field_name(index: int, role: SignerRole) -> str:
    """`sig01_party`: the number gives the signing order, the suffix the expected role."""
    return f"{FIELD_PREFIX}{index:02d}_{role.value}"


# --- template filters -------------------------------------------------------------------

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL = ("", "拾", "佰", "仟")
_BIG = ("", "万", "亿", "兆")


def cn_date(value: date, zone: tzinfo) -> str:
    """2026年3月2日; aware datetimes are shown in the deployment's zone (Beijing time)."""
    if isinstance(value, datetime):
        value = value.astimezone(zone).date()
    return f"{value.year}年{value.month}月{value.day}日"


def cn_datetime(value: datetime, zone: tzinfo) -> str:
    local = value.astimezone(zone)
    return f"{cn_date(local.date(), zone)}{local.hour:02d}时{local.minute:02d}分"


def rmb(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"


def _four(n: int) -> str:
    out = ""
    zero = False
    for pos in range(3, -1, -1):
        digit = n // 10**pos % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + _SMALL[pos]
    return out


def rmb_upper(value: Decimal) -> str:
    """The amount in capital numerals as contracts write it: 伍万元整, 壹佰元零伍分."""
    cents = int(value.quantize(Decimal("0.01"), ROUND_HALF_UP) * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    words = ""
    if yuan:
        groups: list[int] = []
        while yuan:
            groups.append(yuan % 10000)
            yuan //= 10000
        need_zero = False
        for i in range(len(groups) - 1, -1, -1):
            group = groups[i]
            if group == 0:
                need_zero = bool(words)
                continue
            if words and (need_zero or group < 1000):
                words += "零"
            words += _four(group) + _BIG[i]
            need_zero = False
        words += "元"
    if not jiao and not fen:
        return (words or "零元") + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif words:
        words += "零"
    if fen:
        words += _DIGITS[fen] + "分"
    return words


def cn_count(value: int) -> str:
    return "零一二三四五六七八九十"[value] if 0 <= value <= 10 else str(value)


def css_string(value: object) -> Markup:
    """A double-quoted CSS string; `<style>` is raw text, so HTML escaping would corrupt it."""
    text = str(value)
    escaped = "".join(
        ch if ch not in '"\\\n<>' and ord(ch) >= 0x20 else f"\\{ord(ch):x} " for ch in text
    )
    return Markup(f'"{escaped}"')


def qr_data_uri(url: str) -> str:
    """An SVG QR code as a base64 data URI (base64 keeps it safe inside a CSS string)."""
    import segno

    svg = io.BytesIO()
    segno.make(url, error="m").save(svg, kind="svg", border=1, xmldecl=False, svgns=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode("ascii")


@lru_cache(maxsize=8)
def _environment(templates: Path, zone: tzinfo) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=jinja2.select_autoescape(["html"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        cn_date=partial(cn_date, zone=zone),
        cn_datetime=partial(cn_datetime, zone=zone),
        rmb=rmb,
        rmb_upper=rmb_upper,
        cn_count=cn_count,
        css_string=css_string,
        qr=qr_data_uri,
    )
    return env


class Renderer:
    """Renders documents to signed-ready PDF bytes; build one and keep it (state is cached).

    Args:
        verify_base_url: where the QR code points: "{verify_base_url}/{document_id}".
        zone: the zone dates and times are printed in (the host's; documents defines none).
        templates_dir: the Jinja2 templates; defaults to documents/templates.
        font_family: the CJK family fontconfig must resolve.
        pdf_variant: a WeasyPrint PDF variant; PDF/A-3b by default (None for plain PDF).

    Raises:
        FontUnavailable: the CJK font is not installed.
        SubsetterUnavailable: HarfBuzz subsetting is not active.
    """

    def __init__(
        self,
        verify_base_url: str,
        *,
        zone: tzinfo,
        templates_dir: Path | None = None,
        font_family: str = CJK_FAMILY,
        pdf_variant: str | None = PDF_VARIANT,
    ) -> None:
        check_harfbuzz_subset()
        self.font = find_cjk_font(font_family)
        from weasyprint.text.fonts import FontConfiguration

        self.verify_base_url = verify_base_url.rstrip("/")
        self.font_family = font_family
        self.pdf_variant = pdf_variant
        self._env = _environment((templates_dir or TEMPLATES_DIR).resolve(), zone)
        self._font_config = FontConfiguration()
        self._cache: dict[str, Any] = {}
        self._color_profiles = _srgb_profiles()

    def template_html(self, template: str, context: Mapping[str, Any]) -> str:
        """Render one of the templates with the renderer's filters, font and QR code helpers.

        Raises:
            TemplateDataError: the template needs a value the context lacks (named).
        """
        try:
            return self._env.get_template(template).render(
                {"font_family": self.font_family, **context}
            )
        except jinja2.UndefinedError as exc:
            raise TemplateDataError(
                f"文书模板“{template}”缺少数据：{exc.message}", template=template
            ) from exc

    def verify_url(self, document_id: str) -> str:
        return f"{self.verify_base_url}/{document_id}"

    def slots(self, doc: DocumentContent, branding: Branding) -> tuple[SlotView, ...]:
        """The signature slots of `doc`, in signing order."""
        return tuple(
            SlotView(field_name(i, s.role), s.role, s.name, s.label)
            for i, s in enumerate(doc.signatories(branding), start=1)
        )

    def render_html(self, doc: DocumentContent, branding: Branding, *, document_id: str) -> str:
        """The HTML the PDF is made from (useful for previews and benchmarks).

        Raises:
            TemplateDataError: the template needs a value the context lacks (named).
            RenderError: the template is missing or broken.
        """
        context: Mapping[str, Any] = {
            "doc": doc,
            "branding": branding,
            "slots": self.slots(doc, branding),
            "document_id": document_id,
            "verify_url": self.verify_url(document_id),
            "qr_uri": qr_data_uri(self.verify_url(document_id)),
            "logo_uri": _png_uri(branding.logo_png),
            "font_family": self.font_family,
            "header_text": doc.issuer(branding),
        }
        try:
            return self._env.get_template(doc.template).render(context)
        except jinja2.UndefinedError as exc:
            raise TemplateDataError(
                f"文书模板“{doc.template}”缺少数据：{exc.message}", template=doc.template
            ) from exc
        except jinja2.TemplateError as exc:
            raise RenderError(
                f"文书模板“{doc.template}”有误：{exc}", template=doc.template
            ) from exc

    def html_to_pdf(
        self,
        html: str,
        slots: tuple[SlotView, ...] = (),
        *,
        wet_only: bool = False,
        kind: str | None = None,
    ) -> bytes:
        """Lay out `html` and write the PDF, adding signature fields where `data-sig` boxes are.

        `kind` (the template's stem: agreement, ruling, …) is written into the document
        information so that a verifier can word its verdict for the paper it checks.
        """
        return self.lay_out(html, slots, wet_only=wet_only, kind=kind)[0]

    def lay_out(
        self,
        html: str,
        slots: tuple[SlotView, ...] = (),
        *,
        wet_only: bool = False,
        kind: str | None = None,
        attachments: tuple[tuple[str, bytes, str], ...] = (),
    ) -> tuple[bytes, dict[str, int]]:
        """`html_to_pdf`, also embedding `attachments` (file name, bytes, description) as
        PDF/A-3 associated files, and telling on which page each `data-sheet` box fell.

        Raises:
            RenderError: WeasyPrint failed, or a signature box was not laid out.
        """
        from weasyprint import HTML, Attachment

        try:
            document = HTML(string=html, base_url=str(TEMPLATES_DIR)).render(
                font_config=self._font_config,
                color_profiles=dict(self._color_profiles),
                output_intent=_OUTPUT_INTENT,
                cache=self._cache,
            )
            finisher = _FieldFinisher(slots, wet_only=wet_only, kind=kind)
            pdf = document.write_pdf(
                pdf_variant=self.pdf_variant,
                output_intent=_OUTPUT_INTENT,
                finisher=finisher,
                cache=self._cache,
                attachments=[
                    Attachment(
                        file_obj=io.BytesIO(data),
                        name=name,
                        description=description,
                        relationship="Source",
                    )
                    for name, data, description in attachments
                ],
            )
        except RenderError:
            raise
        except Exception as exc:
            raise RenderError(f"PDF 生成失败：{exc}") from exc
        return bytes(pdf), finisher.sheets

    def render(self, doc: DocumentContent, branding: Branding, *, document_id: str) -> bytes:
        """Render `doc` to PDF bytes with empty signature fields for its signatories.

        Args:
            doc: the document content (one of the models in documents.model).
            branding: the room/committee look and the seal text.
            document_id: the id printed and encoded in the QR verification link.

        Returns:
            The PDF (PDF/A-3b unless the renderer was built otherwise).

        Raises:
            TemplateDataError: a template value is missing.
            RenderError: WeasyPrint failed, or a signature box was not laid out.
        """
        html = self.render_html(doc, branding, document_id=document_id)
        wet_only = bool(getattr(doc, "electronic_signature_excluded", False))
        kind = doc.template.removesuffix(".html")
        return self.html_to_pdf(html, self.slots(doc, branding), wet_only=wet_only, kind=kind)


_OUTPUT_INTENT = "fengqiao-srgb"


@lru_cache(maxsize=1)
def _srgb_profiles() -> dict[str, Any]:
    """The sRGB output intent PDF/A needs, loaded once and closed.

    WeasyPrint's own `output_intent="srgb"` opens its ICC file on every write and never
    closes it (a ResourceWarning per document, an error under `-W error`).
    """
    from importlib.resources import files

    from weasyprint.css import ColorProfile

    data = (files("weasyprint.pdf") / "sRGB2014.icc").read_bytes()
    profile = ColorProfile(
        io.BytesIO(data), "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"])
    )
    return {_OUTPUT_INTENT: profile}


def _png_uri(data: bytes | None) -> str | None:
    if not data:
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


class _FieldFinisher:
    """WeasyPrint finisher: one empty /Sig widget per slot, placed on its `data-sig` box."""

    def __init__(
        self, slots: tuple[SlotView, ...], *, wet_only: bool, kind: str | None = None
    ) -> None:
        self.slots = {s.field: s for s in slots}
        self.wet_only = wet_only
        self.kind = kind
        self.sheets: dict[str, int] = {}  # data-sheet → page index

    def __call__(self, document: Any, pdf: Any) -> None:
        import pydyf  # type: ignore[import-untyped]  # pydyf ships no type information

        if self.wet_only:
            pdf.info[ESIGN_INFO_KEY] = pydyf.String(ESIGN_WET_ONLY)
        if self.kind:
            pdf.info[KIND_INFO_KEY] = pydyf.String(self.kind)
        for page_index, page in enumerate(document.pages):
            for box in page._page_box.descendants():
                element = getattr(box, "element", None)
                sheet = element.get("data-sheet") if element is not None else None
                if sheet is not None and sheet not in self.sheets:
                    self.sheets[sheet] = page_index
        if not self.slots:
            return
        found: dict[str, tuple[int, tuple[float, float, float, float]]] = {}
        for page_index, page in enumerate(document.pages):
            for box in page._page_box.descendants():
                element = getattr(box, "element", None)
                if element is None or getattr(box, "element_tag", None) is None:
                    continue
                name = element.get("data-sig")
                if name in self.slots and name not in found:
                    x, y = box.border_box_x(), box.border_box_y()
                    w, h = box.border_width(), box.border_height()
                    found[name] = (page_index, (x, y, x + w, y + h))
        missing = [name for name in self.slots if name not in found]
        if missing:
            raise RenderError(f"模板缺少签名位置：{', '.join(missing)}", fields=missing)
        page_numbers = list(pdf.pages["Kids"][::3])
        field_refs = []
        for name, slot in self.slots.items():
            page_index, (x0, y0, x1, y1) = found[name]
            page = pdf.objects[page_numbers[page_index]]
            height_pt = float(page["MediaBox"][3])
            rect = [
                round(x0 * _PX_TO_PT, 2),
                round(height_pt - y1 * _PX_TO_PT, 2),
                round(x1 * _PX_TO_PT, 2),
                round(height_pt - y0 * _PX_TO_PT, 2),
            ]
            width, height = rect[2] - rect[0], rect[3] - rect[1]
            appearance = pydyf.Stream(
                [],
                {
                    "Type": "/XObject",
                    "Subtype": "/Form",
                    "BBox": pydyf.Array([0, 0, width, height]),
                },
            )
            pdf.add_object(appearance)
            widget = pydyf.Dictionary(
                {
                    "Type": "/Annot",
                    "Subtype": "/Widget",
                    "FT": "/Sig",
                    "T": pydyf.String(name),
                    "TU": pydyf.String(slot.tooltip),
                    "Rect": pydyf.Array(rect),
                    "F": 4,
                    "P": page.reference,
                    "AP": pydyf.Dictionary({"N": appearance.reference}),
                }
            )
            pdf.add_object(widget)
            page.setdefault("Annots", pydyf.Array()).append(widget.reference)
            field_refs.append(widget.reference)
        pdf.catalog["AcroForm"] = pydyf.Dictionary({"Fields": pydyf.Array(field_refs)})
