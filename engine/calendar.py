"""Working days for deadlines: weekends, Chinese public holidays and make-up workdays.

Years come from the `chinesecalendar` package where it has them and from data files a
deployment adds (State Council notices). A deadline touching a year nobody supplied is
computed on weekends only and marked provisional — never a silent guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from engine.errors import CalendarDataError

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class YearData:
    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str


@dataclass(frozen=True, slots=True)
class Deadline:
    due_at: datetime
    provisional: bool
    unknown_years: tuple[int, ...] = ()


class WorkingCalendar:
    """Immutable: `with_year` returns a new calendar."""

    def __init__(self, years: Iterable[YearData] = ()) -> None:
        self._years = {y.year: y for y in years}

    @classmethod
    def from_chinesecalendar(cls) -> WorkingCalendar:
        import chinese_calendar

        holidays: dict[int, set[date]] = {}
        workdays: dict[int, set[date]] = {}
        for day in chinese_calendar.holidays:
            holidays.setdefault(day.year, set()).add(day)
        for day in chinese_calendar.workdays:
            workdays.setdefault(day.year, set()).add(day)
        years = sorted(set(holidays) | set(workdays))
        return cls(
            YearData(
                y, frozenset(holidays.get(y, ())), frozenset(workdays.get(y, ())), "chinesecalendar"
            )
            for y in years
        )

    def with_year(self, data: YearData) -> WorkingCalendar:
        return WorkingCalendar([*self._years.values(), data])

    def load_directory(self, folder: Path) -> WorkingCalendar:
        calendar = self
        for file in sorted(folder.glob("*.yaml")):
            calendar = calendar.with_year(parse_year_file(file))
        return calendar

    def year(self, year: int) -> YearData:
        return self._years[year]

    def years_known(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))

    def is_working_day(self, day: date) -> bool | None:
        """None when the year is unknown (the weekday answer is then only provisional)."""
        data = self._years.get(day.year)
        if data is None:
            return None
        if day in data.workdays:
            return True
        if day in data.holidays:
            return False
        return day.weekday() < 5

    def _working(self, day: date, unknown: set[int]) -> bool:
        known = self.is_working_day(day)
        if known is None:
            unknown.add(day.year)
            return day.weekday() < 5
        return known

    def add_days(
        self, start: datetime, days: int, *, working_days: bool, extend_past_holiday: bool = True
    ) -> Deadline:
        """The end of a period of `days` starting at `start` (the start day does not count).

        Calendar-day periods that end on a rest day run to the next working day (CPL Art. 85).
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        unknown: set[int] = set()
        day = start.astimezone(SHANGHAI).date()
        if working_days:
            counted = 0
            while counted < days:
                day += timedelta(days=1)
                if self._working(day, unknown):
                    counted += 1
        else:
            day += timedelta(days=days)
            if extend_past_holiday:
                while not self._working(day, unknown):
                    day += timedelta(days=1)
        end = datetime.combine(day, time(23, 59, 59, 999999), tzinfo=SHANGHAI)
        return Deadline(due_at=end, provisional=bool(unknown), unknown_years=tuple(sorted(unknown)))

    def working_days_between(self, start: date, end: date) -> int:
        unknown: set[int] = set()
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self._working(day, unknown):
                count += 1
        return count


def months_later(day: date, months: int) -> date:
    """The corresponding day `months` calendar months after `day`, or the month's last day
    when it has none (民法典 Art. 202: 30 January + 1 month = 28/29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + month // 12, month % 12 + 1, 1)
    last = (following - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def month_period_days(start: datetime, months: int) -> int:
    """The length in calendar days of a period of `months` months starting at `start`
    (Beijing date), so a month period is stored, extended and recomputed as days."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    day = start.astimezone(SHANGHAI).date()
    return (months_later(day, months) - day).days


_KEYS = {"year", "source", "holidays", "workdays"}


def parse_year_file(path: Path) -> YearData:
    """Read one year's notice (see docs in README).

    Raises:
        CalendarDataError: unknown keys, dates outside the year, overlapping days.
    """
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CalendarDataError(f"{where}: 无法读取节假日数据：{exc}") from exc
    if not isinstance(raw, dict):
        raise CalendarDataError(f"{where}: 顶层应为映射")
    extra = set(raw) - _KEYS
    if extra:
        raise CalendarDataError(f"{where}: 未知的键 {sorted(extra)}")
    year = raw.get("year")
    if not isinstance(year, int):
        raise CalendarDataError(f"{where}: 缺少 year（整数）")
    holidays: set[date] = set()
    for item in raw.get("holidays") or []:
        if not isinstance(item, dict) or set(item) - {"name", "from", "to"}:
            raise CalendarDataError(f"{where}: holidays 每项应为 {{name, from, to}}")
        first, last = item.get("from"), item.get("to", item.get("from"))
        if not isinstance(first, date) or not isinstance(last, date) or last < first:
            raise CalendarDataError(f"{where}: 假期“{item.get('name')}”的日期无效")
        day = first
        while day <= last:
            holidays.add(day)
            day += timedelta(days=1)
    workdays = set(raw.get("workdays") or [])
    if not all(isinstance(d, date) for d in workdays):
        raise CalendarDataError(f"{where}: workdays 应为日期列表")
    for day in holidays | workdays:
        if day.year != year:
            raise CalendarDataError(f"{where}: 日期 {day} 不在 {year} 年内")
    both = holidays & workdays
    if both:
        raise CalendarDataError(f"{where}: {sorted(both)[0]} 同时是假日和调休工作日")
    return YearData(year, frozenset(holidays), frozenset(workdays), str(raw.get("source", where)))
