"""Announcements: a text per language, a time window and a target, spoken to callers before the menu.

Supervisors create, edit and end them (each change in the audit log, in the same transaction); calls read
them through `AnnouncementCache`, refreshed every few seconds, so a webhook does not query the table.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.configuration.change_log import log_change
from ivr.db.deadline import bounded
from ivr.db.models import Announcement, Customer, Switch, utcnow
from ivr.telephony.phones import normalise_phone

log = logging.getLogger(__name__)

MAX_TEXT = 500  # characters of one language's text (about a minute of speech)
MAX_NUMBERS = 1000
MAX_DISTRICTS = 100
MAX_DISTRICT = 100  # customers.district holds 100 characters
MAX_PER_CALL = 5  # announcements one caller hears at most: more would bury the menu
REFRESH_SECONDS = 5.0
STORM_SWITCH = "storm_mode"
_SPACES = re.compile(r"\s+")


class InvalidAnnouncement(ValueError):
    """The announcement given is not valid; `problems` says every reason, for people."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class AnnouncementNotFound(LookupError):
    """No announcement has that id."""


class AnnouncementClosed(ValueError):
    """The announcement has ended: it can be neither edited nor ended again."""


@dataclass(frozen=True)
class AnnouncementInput:
    """What a person gives: texts by language, the window (naive UTC), and who it is for."""

    texts: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime
    everyone: bool = True
    numbers: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Live:
    """An announcement as a call sees it (detached from the database)."""

    id: int
    texts: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime
    numbers: frozenset[str] = frozenset()
    districts: frozenset[str] = frozenset()  # case-folded

    @property
    def everyone(self) -> bool:
        return not self.numbers and not self.districts

    def current(self, now: datetime) -> bool:
        """Playing now: from its start (included) to its end (excluded)."""
        return self.starts_at <= now < self.ends_at

    def reaches(self, number: str | None, district: str | None) -> bool:
        """Whether a caller with this number (E.164) and customer district is in the target."""
        if self.everyone:
            return True
        if number is not None and number in self.numbers:
            return True
        return district is not None and _district_key(district) in self.districts


@dataclass(frozen=True)
class Snapshot:
    """What calls need from the console, as last read: the live announcements and the storm switch."""

    announcements: tuple[Live, ...] = ()
    storm: bool = False
    healthy: bool = True  # False: the last read failed (the database is away); this is older news


# ---------------------------------------------------------------- validation


def check(given: AnnouncementInput, *, languages: Iterable[str], now: datetime) -> dict[str, Any]:
    """The fields to store (texts, window, target); InvalidAnnouncement names every problem."""
    languages = list(languages)
    problems: list[str] = []
    texts: dict[str, str] = {}
    for language in languages:
        text = _SPACES.sub(" ", given.texts.get(language) or "").strip()
        if not text:
            problems.append(f"{language}: 请填写通知内容 / the text is empty")
        elif len(text) > MAX_TEXT:
            problems.append(
                f"{language}: 通知内容不能超过 {MAX_TEXT} 字 / the text has {len(text)} characters, "
                f"at most {MAX_TEXT}"
            )
        else:
            texts[language] = text
    for language, text in given.texts.items():
        if language not in languages and (text or "").strip():
            problems.append(f"{language}: 当前菜单不提供此语言 / the live menu does not offer this language")
    if given.starts_at >= given.ends_at:
        problems.append("结束时间须晚于开始时间 / the end must come after the start")
    if given.ends_at <= now:
        problems.append("结束时间须在将来 / the end must be in the future")
    target = _target(given, problems)
    if problems:
        raise InvalidAnnouncement(problems)
    return {"texts": texts, "starts_at": given.starts_at, "ends_at": given.ends_at, "target": target}


def _target(given: AnnouncementInput, problems: list[str]) -> dict[str, list[str]]:
    if given.everyone:
        if given.numbers or given.districts:
            problems.append(
                "面向所有来电者时不填号码和区域 / "
                "an announcement for all callers takes no numbers or districts"
            )
        return {}
    numbers: list[str] = []
    for raw in given.numbers:
        number = normalise_phone(raw)
        if number is None:
            problems.append(f"号码 {raw!r} 无效 / {raw!r} is not a phone number (E.164, e.g. +8613800000001)")
        elif number not in numbers:
            numbers.append(number)
    districts: list[str] = []
    for raw in given.districts:
        district = _SPACES.sub(" ", raw).strip()
        if not district:
            problems.append("区域不能为空 / a district is empty")
        elif len(district) > MAX_DISTRICT:
            problems.append(
                f"区域名称过长 / the district {district[:20]!r}... has over {MAX_DISTRICT} characters"
            )
        elif _district_key(district) not in {_district_key(d) for d in districts}:
            districts.append(district)
    if len(numbers) > MAX_NUMBERS:
        problems.append(f"号码不能超过 {MAX_NUMBERS} 个 / at most {MAX_NUMBERS} numbers")
    if len(districts) > MAX_DISTRICTS:
        problems.append(f"区域不能超过 {MAX_DISTRICTS} 个 / at most {MAX_DISTRICTS} districts")
    if not given.numbers and not given.districts:
        problems.append(
            "请填写至少一个号码或区域，或选择所有来电者 / "
            "give at least one number or district, or choose all callers"
        )
    target: dict[str, list[str]] = {}
    if numbers:
        target["numbers"] = numbers
    if districts:
        target["districts"] = districts
    return target


def _district_key(district: str) -> str:
    return _SPACES.sub(" ", district).strip().casefold()


# ---------------------------------------------------------------- changes (each one logged)


def describe(row: Announcement) -> dict[str, Any]:
    """The announcement as the audit log keeps it (times in naive UTC, ISO)."""
    return {
        "texts": dict(row.texts),
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "target": dict(row.target or {}),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
    }


def create(
    session: Session,
    given: AnnouncementInput,
    *,
    who: str,
    languages: Iterable[str],
    now: datetime | None = None,
) -> Announcement:
    """Store a new announcement and its audit entry."""
    now = now or utcnow()
    fields = check(given, languages=languages, now=now)
    row = Announcement(created_by=who, created_at=now, ended_at=None, **fields)
    session.add(row)
    session.flush()
    log_change(
        session, who, "announcement", "create", f"announcement {row.id}", before=None, after=describe(row)
    )
    return row


def edit(
    session: Session,
    announcement_id: int,
    given: AnnouncementInput,
    *,
    who: str,
    languages: Iterable[str],
    now: datetime | None = None,
) -> Announcement:
    """Change an announcement that has not ended; the audit entry keeps it before and after."""
    now = now or utcnow()
    row = _open_row(session, announcement_id, now)
    fields = check(given, languages=languages, now=now)
    before = describe(row)
    for name, value in fields.items():
        setattr(row, name, value)
    after = describe(row)
    if after != before:
        session.flush()
        log_change(session, who, "announcement", "edit", f"announcement {row.id}", before=before, after=after)
    return row


def end(session: Session, announcement_id: int, *, who: str, now: datetime | None = None) -> Announcement:
    """End an announcement now (or cancel one not yet started)."""
    now = now or utcnow()
    row = _open_row(session, announcement_id, now)
    before = describe(row)
    row.ended_at = now
    session.flush()
    log_change(
        session, who, "announcement", "end", f"announcement {row.id}", before=before, after=describe(row)
    )
    return row


def _open_row(session: Session, announcement_id: int, now: datetime) -> Announcement:
    # Locked, so two people changing the same announcement take turns (PostgreSQL; SQLite writes serially).
    row = session.get(Announcement, announcement_id, with_for_update=True)
    if row is None:
        raise AnnouncementNotFound(announcement_id)
    if status_of(row, now) == "ended":
        raise AnnouncementClosed(announcement_id)
    return row


# ---------------------------------------------------------------- reading


def status_of(row: Announcement, now: datetime) -> str:
    """upcoming, active or ended."""
    if row.ended_at is not None or row.ends_at <= now:
        return "ended"
    return "upcoming" if row.starts_at > now else "active"


def listing(session: Session, now: datetime, *, ended_limit: int = 50) -> dict[str, list[Announcement]]:
    """Active (by start), upcoming (by start) and the latest ended announcements."""
    open_rows = session.scalars(
        select(Announcement)
        .where(Announcement.ended_at.is_(None), Announcement.ends_at > now)
        .order_by(Announcement.starts_at, Announcement.id)
    ).all()
    ended = session.scalars(
        select(Announcement)
        .where((Announcement.ended_at.is_not(None)) | (Announcement.ends_at <= now))
        .order_by(Announcement.id.desc())
        .limit(ended_limit)
    ).all()
    return {
        "active": [row for row in open_rows if row.starts_at <= now],
        "upcoming": [row for row in open_rows if row.starts_at > now],
        "ended": list(ended),
    }


def live_announcements(session: Session, now: datetime) -> tuple[Live, ...]:
    """Announcements playing now or later (not ended), as calls see them."""
    rows = session.scalars(
        select(Announcement)
        .where(Announcement.ended_at.is_(None), Announcement.ends_at > now)
        .order_by(Announcement.starts_at, Announcement.id)
    ).all()
    return tuple(_live(row) for row in rows)


def _live(row: Announcement) -> Live:
    target = row.target or {}
    return Live(
        id=row.id,
        texts=dict(row.texts),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        numbers=frozenset(target.get("numbers") or ()),
        districts=frozenset(_district_key(d) for d in target.get("districts") or ()),
    )


def active_for(
    announcements: Iterable[Live], caller_number: str | None, district: str | None, now: datetime
) -> list[Live]:
    """What this caller hears now: those aimed at them (number or district) first, then those for everyone,
    each group by start; at most MAX_PER_CALL."""
    number = normalise_phone(caller_number)
    current = [a for a in announcements if a.current(now) and a.reaches(number, district)]
    current.sort(key=lambda a: (a.everyone, a.starts_at, a.id))
    return current[:MAX_PER_CALL]


def district_of(session: Session, caller_number: str | None) -> str | None:
    """The district of the customer who has this number among their numbers, if any."""
    number = normalise_phone(caller_number)
    if number is None:
        return None
    found = session.scalar(select(Customer.district).where(Customer.with_number(number)))
    return found or None


def read_snapshot(session: Session, now: datetime) -> Snapshot:
    """The announcements and the storm switch, read now."""
    storm = session.scalar(select(Switch.on).where(Switch.name == STORM_SWITCH))
    return Snapshot(live_announcements(session, now), bool(storm))


class AnnouncementCache:
    """The console's state as calls need it, read at most every `refresh_seconds`; when the database is
    away the last known state is kept (and read again only after the same interval, so calls stay fast)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._factory = factory
        self._refresh = refresh_seconds
        self._clock = clock
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The state as last read; read again when older than the refresh interval."""
        current = self._snapshot
        if current is not None and self._clock() - self._checked_at <= self._refresh:
            return current
        with self._lock:  # one reader refreshes; the others get its result
            current = self._snapshot
            if current is not None and self._clock() - self._checked_at <= self._refresh:
                return current
            try:
                fresh = bounded(self._read)  # a webhook waits its budget at most (ivr/db/deadline.py)
            except Exception:
                log.warning("announcements unavailable; keeping the last known ones", exc_info=True)
                previous = current or Snapshot()
                fresh = Snapshot(previous.announcements, previous.storm, healthy=False)
            self._snapshot, self._checked_at = fresh, self._clock()
            return fresh

    def _read(self) -> Snapshot:
        with self._factory() as session:
            return read_snapshot(session, utcnow())

    def invalidate(self) -> None:
        """Read again on next use (after a change made in this process)."""
        self._checked_at = float("-inf")

    def active_for(self, caller_number: str | None, now: datetime | None = None) -> list[Live]:
        """The announcements this caller hears now. The customer's district is looked up only when an
        announcement playing now targets districts and the database answered the last read."""
        now = now or utcnow()
        state = self.snapshot()
        playing = [a for a in state.announcements if a.current(now)]
        district = None
        if state.healthy and any(a.districts for a in playing):
            try:
                district = bounded(lambda: self._district(caller_number))
            except Exception:
                log.warning("customer district unavailable; district announcements skipped", exc_info=True)
        return active_for(playing, caller_number, district, now)

    def _district(self, caller_number: str | None) -> str | None:
        with self._factory() as session:
            return district_of(session, caller_number)


def cache_of(extensions: dict[str, Any], factory: sessionmaker[Session]) -> AnnouncementCache:
    """The app's cache (kept in `app.extensions`, so the pages and the webhooks of one app share it)."""
    cache = extensions.get("announcements")
    if cache is None:
        cache = extensions.setdefault("announcements", AnnouncementCache(factory))
    return cache  # type: ignore[no-any-return]
