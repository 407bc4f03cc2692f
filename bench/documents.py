"""Documents: warm render of the agreement beside bare WeasyPrint on the same HTML, time per
PAdES signature, verification time, and the size of the four-signature agreement.

Targets: render within 1.2× of bare WeasyPrint, each signature < 100 ms, signed < 400 KB.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from documents import CertificateAuthority, Renderer, SignerRole, sign, verify
from engine.calendar import SHANGHAI
from tests.documents.samples import AGREEMENT, BRANDING, LI, MEDIATOR, ZHANG

RUNS = 15


def _times(run: Callable[[], object], n: int) -> list[float]:
    run()  # warm
    out = []
    for _ in range(n):
        started = time.perf_counter()
        run()
        out.append(time.perf_counter() - started)
    return out


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000}


def run(postgres_url: str | None = None) -> dict[str, Any]:
    del postgres_url  # documents touch no database
    from weasyprint import HTML

    renderer = Renderer("https://fengqiao.example.cn/verify", zone=SHANGHAI)
    html = renderer.render_html(AGREEMENT, BRANDING, document_id="AGR-BENCH")
    ours = _times(lambda: renderer.render(AGREEMENT, BRANDING, document_id="AGR-BENCH"), RUNS)
    bare = _times(lambda: HTML(string=html).write_pdf(), RUNS)
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    bare_cached = _times(
        lambda: HTML(string=html).write_pdf(font_config=fonts, pdf_variant="pdf/a-3b"), RUNS
    )

    with tempfile.TemporaryDirectory() as folder:
        ca = CertificateAuthority.development(Path(folder))
        signers = [
            ca.issue(ZHANG.name, SignerRole.PARTY),
            ca.issue(LI.name, SignerRole.PARTY),
            ca.issue(MEDIATOR.name, SignerRole.MEDIATOR),
            ca.issue(BRANDING.seal, SignerRole.COMMITTEE),
        ]
        base = renderer.render(AGREEMENT, BRANDING, document_id="AGR-BENCH")
        warm = base
        for signer in signers:  # warm: seal drawing, key wrapping, imports
            warm = sign(warm, signer, zone=SHANGHAI)
        per_signature: list[float] = []
        signed = base
        for _ in range(5):
            signed = base
            for signer in signers:
                started = time.perf_counter()
                signed = sign(signed, signer, zone=SHANGHAI)
                per_signature.append(time.perf_counter() - started)
        roots = ca.trust_roots
        verification = _times(lambda: verify(signed, roots, zone=SHANGHAI), 5)
        assert verify(signed, roots, zone=SHANGHAI).ok
    return {
        "render": _stats(ours),
        "bare_weasyprint": _stats(bare),
        "bare_weasyprint_cached": _stats(bare_cached),
        "render_ratio_cached": statistics.median(ours) / statistics.median(bare_cached),
        "render_ratio": statistics.median(ours) / statistics.median(bare),
        "signature": _stats(per_signature),
        "verify": _stats(verification),
        "signed_kb": len(signed) / 1024,
        "unsigned_kb": len(base) / 1024,
    }


def describe(results: dict[str, Any]) -> str:
    r, b = results["render"], results["bare_weasyprint"]
    s, v = results["signature"], results["verify"]
    c = results["bare_weasyprint_cached"]
    rows = [
        "| documents | median | p95 | target |",
        "| --- | ---: | ---: | --- |",
        f"| render agreement (ours, warm) | {r['median_ms']:.0f} ms | {r['p95_ms']:.0f} ms | "
        f"≤ 1.2× bare ({results['render_ratio']:.2f}×) |",
        f"| bare WeasyPrint, same HTML | {b['median_ms']:.0f} ms | {b['p95_ms']:.0f} ms | — |",
        f"| bare WeasyPrint, shared FontConfiguration, PDF/A-3b | {c['median_ms']:.0f} ms | "
        f"{c['p95_ms']:.0f} ms | ours is {results['render_ratio_cached']:.2f}× this |",
        f"| one PAdES signature | {s['median_ms']:.0f} ms | {s['p95_ms']:.0f} ms | < 100 ms |",
        f"| verify 4 signatures + diff analysis | {v['median_ms']:.0f} ms | "
        f"{v['p95_ms']:.0f} ms | — |",
        f"| signed 4-signature agreement | {results['signed_kb']:.0f} KB | "
        f"(unsigned {results['unsigned_kb']:.0f} KB) | < 400 KB |",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    print(describe(run()))
