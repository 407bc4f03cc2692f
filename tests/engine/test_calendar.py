"""Working days (R-DL-WORKDAYS): weekends, public holidays and make-up workdays; years nobody
supplied are computed on weekends only and marked provisional, never silently guessed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from engine.calendar import SHANGHAI, WorkingCalendar, parse_year_file
from engine.errors import CalendarDataError

CALENDAR = WorkingCalendar.from_chinesecalendar()


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=SHANGHAI)


def test_national_day_week_is_not_counted_and_the_make_up_saturday_is() -> None:
    # 30 Sep 2026 (Wed) + 3 working days: 1–7 Oct are holidays, 8 Oct (Thu), 9 Oct (Fri),
    # 10 Oct (Sat) is an official make-up workday.
    deadline = CALENDAR.add_days(_at(date(2026, 9, 30)), 3, working_days=True)
    assert deadline.due_at.date() == date(2026, 10, 10)
    assert not deadline.provisional


def test_spring_festival_make_up_workday_counts() -> None:
    # 13 Feb 2026 (Fri) + 1 working day is Sat 14 Feb, a make-up workday.
    assert CALENDAR.add_days(_at(date(2026, 2, 13)), 1, working_days=True).due_at.date() == date(
        2026, 2, 14
    )


def test_calendar_day_period_ending_on_a_holiday_runs_to_the_next_working_day() -> None:
    # 15 days from 16 Sep 2026 end on 1 Oct, a holiday: the period ends 8 Oct (CPL Art. 85).
    deadline = CALENDAR.add_days(_at(date(2026, 9, 16)), 15, working_days=False)
    assert deadline.due_at.date() == date(2026, 10, 8)
    assert deadline.due_at.astimezone(SHANGHAI).time().hour == 23


def test_a_year_nobody_supplied_is_weekends_only_and_provisional() -> None:
    deadline = CALENDAR.add_days(_at(date(2026, 12, 30)), 3, working_days=True)
    # 31 Dec (Thu) counts; 1 Jan 2027 (Fri) is unknown — counted as a working day, flagged.
    assert deadline.due_at.date() == date(2027, 1, 4)
    assert deadline.provisional
    assert deadline.unknown_years == (2027,)


def test_a_supplied_year_file_replaces_the_provisional_answer(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(
        "year: 2027\n"
        "source: 国务院办公厅关于2027年部分节假日安排的通知\n"
        "holidays:\n"
        "  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}\n"
        "workdays: []\n",
        encoding="utf-8",
    )
    calendar = CALENDAR.load_directory(tmp_path)
    deadline = calendar.add_days(_at(date(2026, 12, 30)), 3, working_days=True)
    assert deadline.due_at.date() == date(2027, 1, 5)
    assert not deadline.provisional
    assert 2027 in calendar.years_known()


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        CALENDAR.add_days(datetime(2026, 3, 2), 1, working_days=True)  # noqa: DTZ001 - the point


def test_start_in_utc_counts_from_the_shanghai_date() -> None:
    # 16:30 UTC on Fri 27 Nov is already Sat 28 Nov in Shanghai: next working day is Mon 30.
    start = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    assert CALENDAR.add_days(start, 1, working_days=True).due_at.date() == date(2026, 11, 30)


def test_working_days_between_skips_the_holiday_week() -> None:
    assert CALENDAR.working_days_between(date(2026, 9, 30), date(2026, 10, 9)) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("year: 2027\nholiday: []\n", "未知的键"),
        ("holidays: []\n", "缺少 year"),
        ("year: 2027\nholidays:\n  - {name: 元旦, from: 2026-01-01, to: 2026-01-01}\n", "不在"),
        ("year: 2027\nholidays:\n  - {name: 元旦, from: 2027-01-03, to: 2027-01-01}\n", "无效"),
        (
            "year: 2027\nholidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-01}\n"
            "workdays: [2027-01-01]\n",
            "2027-01-01",
        ),
        ("[1, 2]\n", "顶层"),
    ],
)
def test_bad_year_files_name_the_file_and_the_problem(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "2027.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CalendarDataError) as caught:
        parse_year_file(path)
    assert str(path) in caught.value.message_zh
    assert message in caught.value.message_zh
