"""The server imports the PDF libraries before its threads run: two threads importing
pyhanko's `sign` package for the first time at once met it half initialised (a verification
beside the tick's binding of a case file answered document_unreadable)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

import documents
from api.app import create_app
from api.settings import Settings
from engine.calendar import WorkingCalendar
from engine.ports import FixedClock
from tests.conftest import make_engine

ROOT = Path(__file__).resolve().parents[2]


def test_preload_imports_every_module_the_documents_defer() -> None:
    script = (
        "import sys, documents\n"
        "before = [m for m in documents._DEFERRED_MODULES if m in sys.modules]\n"
        "documents.preload()\n"
        "print(sorted(m for m in documents._DEFERRED_MODULES if m not in sys.modules))\n"
        "print(len(before))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "[]"  # every deferred module imported by preload
    assert int(out[1]) < len(documents._DEFERRED_MODULES)  # most of them not before it


def test_the_app_preloads_them_when_it_starts(
    sa_engine: sa.Engine,
    tmp_path: Path,
    clock: FixedClock,
    calendar: WorkingCalendar,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(documents, "preload", lambda: calls.append("preload"))
    app = create_app(Settings(data_dir=tmp_path), make_engine(sa_engine, clock, calendar))
    assert calls == []
    with TestClient(app):
        assert calls == ["preload"]
