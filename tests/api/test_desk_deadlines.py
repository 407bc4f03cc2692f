"""A court deadline on the clerk's queue: overdue once past, near within COURT_WARN_DAYS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.services.desk import COURT_WARN_DAYS, Deadline

DUE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days_left", "near", "overdue"),
    [
        (-1, False, True),
        (0, True, False),
        (COURT_WARN_DAYS - 1, True, False),
        (COURT_WARN_DAYS, False, False),
        (10, False, False),
    ],
)
def test_a_deadline_is_near_within_the_warning_days_and_overdue_once_past(
    days_left: int, near: bool, overdue: bool
) -> None:
    deadline = Deadline("受理审查（3日）", DUE, days_left)
    assert deadline.near is near
    assert deadline.overdue is overdue
