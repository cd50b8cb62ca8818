"""The month a monthly report covers: a calendar month of the hotline's local time, parsed from YYYY-MM."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class MonthError(ValueError):
    """A month that is not YYYY-MM (or not a real month)."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month of the hotline's local time zone."""

    year: int
    month: int

    @classmethod
    def parse(cls, value: str | None) -> Month:
        """`YYYY-MM` -> Month; anything else raises MonthError with a message for people."""
        found = _MONTH.match((value or "").strip())
        if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1900:
            raise MonthError(f"month must be YYYY-MM, e.g. 2026-03 (got {value!r})")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def current(cls, now: datetime, timezone: str) -> Month:
        """The month `now` (naive UTC) falls in, in local time."""
        local = now.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
        return cls(local.year, local.month)

    @classmethod
    def last_complete(cls, now: datetime, timezone: str) -> Month:
        """The month before the one `now` (naive UTC) falls in, in local time."""
        return cls.current(now, timezone).previous()

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def days(self) -> list[date]:
        """Every day of the month."""
        first, following = date(self.year, self.month, 1), date(self.next().year, self.next().month, 1)
        return [first + timedelta(days=n) for n in range((following - first).days)]

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """[start, end) of the local month, as naive UTC (what the DateTime columns hold)."""
        zone = ZoneInfo(timezone)

        def utc(month: Month) -> datetime:
            local = datetime(month.year, month.month, 1, tzinfo=zone)
            return local.astimezone(UTC).replace(tzinfo=None)

        return utc(self), utc(self.next())


def month_asked(asked: str | None, *, now: datetime, timezone: str) -> tuple[Month | None, str]:
    """The month asked for as YYYY-MM (nothing asked: the current month, to date), or None and why not."""
    try:
        return (Month.parse(asked) if asked else Month.current(now, timezone)), ""
    except MonthError as error:
        return None, f"月份格式应为 YYYY-MM / {error}"
