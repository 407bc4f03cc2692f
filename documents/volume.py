"""The 卷宗 (R-DOCS): one PDF/A-3 volume of a case's papers in the prescribed order — cover,
table of contents with page numbers, the papers, the back cover — with a bookmark per paper,
running page numbers (卷内第 N 页, top right, where archives number their leaves), the signed
originals embedded as associated files so their signatures stay verifiable, and one seal
field for the committee that seals the volume.

Each paper's pages are drawn into the volume as they are (its text stays text); a paper's
signatures are drawn as their appearances show them, and proved by the embedded original.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from markupsafe import Markup
from pydantic import Field

from documents.errors import RenderError
from documents.model import SignerRole, _Frozen
from documents.render import Renderer, SlotView, field_name, qr_data_uri

VOLUME_KIND = "case_file"


class VolumeCover(_Frozen):
    """The cover (卷宗封面): 卷名, 卷号, mediators, dates from–to, filer, filing date, retention."""

    title: str = Field(min_length=1)
    number: str = Field(min_length=1)
    committee: str = Field(min_length=1)
    parties: tuple[str, ...] = Field(min_length=1)
    category: str = Field(min_length=1)
    mediators: tuple[str, ...] = Field(min_length=1)
    started_on: date
    ended_on: date | None = None
    result: str = Field(min_length=1)
    filer: str = Field(min_length=1)
    filed_on: date
    retention: str = Field(min_length=1, description="保管期限, e.g. 长期 / 10年")


class VolumePart(_Frozen):
    """One entry of the volume: a paper's PDF, or a page the volume sets itself (HTML)."""

    title: str = Field(min_length=1)
    dated: date
    pdf: bytes | None = None
    html: str | None = Field(default=None, description="trusted markup made by the caller")
    attachment: str | None = Field(
        default=None, description="embed `pdf` under this file name: a signed original"
    )


def _page_count(reader: Any) -> int:
    return int(reader.root["/Pages"]["/Count"])


def assemble(
    renderer: Renderer,
    cover: VolumeCover,
    parts: tuple[VolumePart, ...],
    *,
    document_id: str,
) -> bytes:
    """Lay out the volume and draw each paper's pages into it; the last part must be a page
    the volume sets (the back cover), which carries the committee's seal field.

    Args:
        renderer: the renderer (font, PDF/A settings).
        cover: what the cover says.
        parts: the papers in the order R-DOCS prescribes.
        document_id: printed and encoded in the QR code of the volume's own pages.

    Returns:
        The unsigned volume, with one empty seal field `sig01_committee`.

    Raises:
        RenderError: no parts, a last part that is not a page of the volume, or layout failed.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not parts or parts[-1].html is None:
        raise RenderError("卷宗须以卷内备考表结尾")
    readers = {
        index: PdfFileReader(io.BytesIO(part.pdf), strict=False)
        for index, part in enumerate(parts, start=1)
        if part.pdf is not None
    }
    views = [
        {
            "title": part.title,
            "dated": part.dated,
            "html": Markup(part.html) if part.html else None,  # the caller's own markup
            "attachment": part.attachment,
            "pages": _page_count(readers[i]) if i in readers else 0,
        }
        for i, part in enumerate(parts, start=1)
    ]
    slots = (
        SlotView(
            field_name(1, SignerRole.COMMITTEE),
            SignerRole.COMMITTEE,
            cover.committee,
            "调解委员会印章",
        ),
    )
    html = renderer.template_html(
        "volume.html",
        {
            "cover": cover,
            "parts": views,
            "slots": slots,
            "document_id": document_id,
            "qr_uri": qr_data_uri(renderer.verify_url(document_id)),
        },
    )
    attachments = tuple(
        (part.attachment, part.pdf, f"{part.title}（签名原件，可单独核验签名）")
        for part in parts
        if part.attachment and part.pdf is not None
    )
    pdf, sheets = renderer.lay_out(html, slots, kind=VOLUME_KIND, attachments=attachments)
    return _draw_papers(pdf, readers, sheets)


def _draw_papers(pdf: bytes, readers: dict[int, Any], sheets: dict[str, int]) -> bytes:
    """Draw page n of part k (its content and its widgets' appearances) under sheet "k-n"."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(pdf), strict=False))
    # keep the renderer's metadata: one producer in the Info dictionary and the XMP packet
    writer._update_meta = lambda: None  # type: ignore[method-assign]  # no hook for it upstream
    for key, page_index in sorted(sheets.items(), key=lambda item: item[1]):
        part, _, sheet = key.partition("-")
        reader = readers[int(part)]
        source_index = int(sheet)
        names = generic.DictionaryObject()  # type: ignore[no-untyped-call]  # untyped upstream
        drawing = [b"q"]
        page_ref = writer.import_page_as_xobject(reader, source_index)
        # WeasyPrint's pages share one resource dictionary: every name is unique in the file
        names[generic.NameObject(f"/FqPg{page_index}")] = page_ref
        drawing.append(f"/FqPg{page_index} Do".encode())
        source = reader.root["/Pages"]["/Kids"][source_index].get_object()
        for n, annot in enumerate(source.get("/Annots", [])):
            widget = annot.get_object()
            appearance = widget.get("/AP", {}).get("/N")
            if appearance is None:
                continue
            stream = appearance.get_object()
            rect = [float(v) for v in widget["/Rect"]]
            box = [float(v) for v in stream["/BBox"]]
            x0, x1 = sorted(rect[0::2])
            y0, y1 = sorted(rect[1::2])
            bx0, bx1 = sorted(box[0::2])
            by0, by1 = sorted(box[1::2])
            if bx1 <= bx0 or by1 <= by0:
                continue
            name = f"/FqAp{page_index}x{n}"
            names[generic.NameObject(name)] = writer.import_object(appearance)
            sx, sy = (x1 - x0) / (bx1 - bx0), (y1 - y0) / (by1 - by0)
            drawing.append(
                f"q {sx:.5f} 0 0 {sy:.5f} {x0 - bx0 * sx:.3f} {y0 - by0 * sy:.3f} cm "
                f"{name} Do Q".encode()
            )
        drawing.append(b"Q")
        stream_ref = writer.add_object(generic.StreamObject(stream_data=b"\n".join(drawing)))
        resources = generic.DictionaryObject(  # type: ignore[no-untyped-call]  # untyped upstream
            {generic.NameObject("/XObject"): names}
        )
        writer.add_stream_to_page(  # type: ignore[no-untyped-call]  # untyped upstream
            page_index, stream_ref, resources=resources, prepend=True
        )
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]  # untyped upstream
    return out.getvalue()
