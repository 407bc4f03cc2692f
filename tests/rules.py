"""The `rule` marker: which rule of docs/DOMAIN.md a test proves.

    @rule("R-JC-WINDOW")
    def test_application_after_thirty_days_is_refused(...): ...

tests/test_rules.py reads every test file and fails when a rule of DOMAIN.md is named by no
test, or a marker names a rule DOMAIN.md does not have. A test may also carry the rule in its
name (`test_r_jc_window_...`), the older convention.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOMAIN_FILE = Path(__file__).resolve().parent.parent / "docs" / "DOMAIN.md"
RULE_ID = re.compile(r"\bR-[A-Z][A-Z0-9-]*[A-Z0-9]\b")


def rule(*ids: str) -> pytest.MarkDecorator:
    """Mark a test (or, as `pytestmark`, a module) as proving these rules."""
    return pytest.mark.rule(*ids)


def domain_rules(text: str | None = None) -> set[str]:
    """Every rule id DOMAIN.md defines or mentions."""
    return set(RULE_ID.findall(DOMAIN_FILE.read_text(encoding="utf-8") if text is None else text))
