"""What the host supplies to the engine: time, working-day arithmetic and PII protection.

The engine owns no clock, no thread and no key; tests pass fakes through the constructor.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to: for tests, the demo and benchmarks."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at


class DueDate(Protocol):
    @property
    def due_at(self) -> datetime: ...

    @property
    def provisional(self) -> bool: ...


class DeadlineCalendar(Protocol):
    def add_days(self, start: datetime, days: int, *, working_days: bool) -> DueDate:
        """When a period of `days` (calendar or working) that starts at `start` ends."""
        ...

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (handling times, R-STATS)."""
        ...


class PiiProtector(Protocol):
    """Encrypts ID and phone numbers at rest and makes blind indexes to find them (R-PII)."""

    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, ciphertext: str) -> str: ...

    def blind_index(self, plaintext: str) -> str: ...
