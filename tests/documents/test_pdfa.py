"""What we check of PDF/A-3b, before and after signing — no more than this (no validator of
PDF/A can be installed from the registries this project reaches; README says so): the header
and the catalog agree on PDF 1.7, the XMP packet identifies PDF/A-3B, the Info dictionary's
and the XMP packet's producers are equal, an sRGB output intent is present, every font is
embedded, and the file is neither encrypted nor scripted."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest

from documents import CertificateAuthority, Renderer, SignerRole, sign
from documents.volume import VolumeCover, VolumePart, assemble
from engine.calendar import SHANGHAI
from tests.documents.conftest import run_tool, write
from tests.documents.samples import BRANDING


def _facts(pdf: bytes) -> dict[str, object]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    root = reader.root
    xmp = root["/Metadata"].get_object().data.decode("utf-8")
    info = reader.trailer["/Info"].get_object()
    xmp_producer = re.search(r'pdf:Producer="([^"]*)"|<pdf:Producer>([^<]*)<', xmp)
    intents = root.get("/OutputIntents")
    return {
        "header": pdf[:8].decode("ascii"),
        "catalog_version": str(root["/Version"]) if "/Version" in root else None,
        "part": re.search(r'pdfaid:part(?:="|>)(\d)', xmp),
        "conformance": re.search(r'pdfaid:conformance(?:="|>)(\w)', xmp),
        "info_producer": str(info.get("/Producer")),
        "xmp_producer": next(g for g in xmp_producer.groups() if g) if xmp_producer else None,
        "intents": [str(i.get_object()["/S"]) for i in intents] if intents else [],
        "encrypted": "/Encrypt" in reader.trailer,
        "javascript": "/JavaScript" in (root.get("/Names") or {}) or "/OpenAction" in root,
    }


@pytest.mark.parametrize("which", ["unsigned", "signed"])
def test_pdfa_header_catalog_and_producers_agree(
    which: str, agreement_pdf: bytes, signed_agreement: bytes, tmp_path: Path
) -> None:
    pdf = agreement_pdf if which == "unsigned" else signed_agreement
    facts = _facts(pdf)
    assert facts["header"] == "%PDF-1.7"
    assert facts["catalog_version"] in (None, "/1.7")  # never 2.0 behind a 1.7 header
    part, conformance = facts["part"], facts["conformance"]
    assert isinstance(part, re.Match)
    assert part.group(1) == "3"
    assert isinstance(conformance, re.Match)
    assert conformance.group(1) == "B"
    assert facts["info_producer"] == facts["xmp_producer"]
    assert facts["intents"] == ["/GTS_PDFA1"]
    assert not facts["encrypted"]
    assert not facts["javascript"]
    fonts = run_tool("pdffonts", str(write(tmp_path, f"{which}.pdf", pdf))).splitlines()[2:]
    assert fonts
    assert all(" yes " in line for line in fonts), fonts


def test_pdfa_pdfinfo_reads_the_same_version_as_the_header(
    signed_agreement: bytes, tmp_path: Path
) -> None:
    out = run_tool("pdfinfo", str(write(tmp_path, "signed.pdf", signed_agreement)))
    assert re.search(r"PDF version:\s+1\.7", out), out


def test_pdfa_the_case_file_volume_keeps_the_same_promises(
    renderer: Renderer, signed_agreement: bytes, ca: CertificateAuthority, tmp_path: Path
) -> None:
    """The 卷宗 draws other papers into itself and carries the signed original as a PDF/A-3
    associated file; sealed, it still agrees on 1.7, one producer, embedded fonts."""
    cover = VolumeCover(
        title="张三与李四邻里纠纷",
        number="（2026）枫调字第0001号",
        committee=BRANDING.committee_name,
        parties=("张三", "李四"),
        category="邻里",
        mediators=("修丽君",),
        started_on=date(2026, 2, 20),
        ended_on=date(2026, 6, 1),
        result="结案",
        filer="修丽君",
        filed_on=date(2026, 6, 1),
        retention="长期",
    )
    parts = (
        VolumePart(
            title="人民调解协议书",
            dated=date(2026, 3, 2),
            pdf=signed_agreement,
            attachment="agreement.pdf",
        ),
        VolumePart(title="卷内备考表", dated=date(2026, 6, 1), html="<p>本卷收入文书1件。</p>"),
    )
    volume = assemble(renderer, cover, parts, document_id="1-case_file-1-0")
    seal = ca.issue(BRANDING.committee_name, SignerRole.COMMITTEE, organisation="x")
    sealed = sign(volume, seal, zone=SHANGHAI)
    facts = _facts(sealed)
    assert facts["header"] == "%PDF-1.7"
    assert facts["catalog_version"] in (None, "/1.7")
    assert facts["info_producer"] == facts["xmp_producer"]
    assert facts["intents"] == ["/GTS_PDFA1"]
    fonts = run_tool("pdffonts", str(write(tmp_path, "volume.pdf", sealed))).splitlines()[2:]
    assert fonts
    assert all(" yes " in line for line in fonts), fonts
    listed = run_tool("pdfdetach", "-list", str(tmp_path / "volume.pdf"))
    assert "agreement.pdf" in listed
