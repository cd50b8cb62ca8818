"""The announcements page: list, create, edit and end announcements, around the storm-mode card.

Supervisors and admins only; times are entered and shown in the hotline's local time zone. The storm card
and its button are queueing's (ivr/queueing/storm_pages.py, template console/storm_card.html).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ivr.configuration import announcements as notices
from ivr.configuration.announcements import (
    AnnouncementClosed,
    AnnouncementInput,
    AnnouncementNotFound,
    InvalidAnnouncement,
)
from ivr.configuration.change_log import recent_changes
from ivr.db.models import Announcement, utcnow
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.web.current_hotline import hotline

bp = Blueprint("announcements", __name__, template_folder="templates", url_prefix="/console/announcements")

EDITORS = ("supervisor", "admin")
STATUSES = {"active": "播放中 / Playing", "upcoming": "未开始 / Upcoming", "ended": "已结束 / Ended"}
_LIST_SEPARATORS = re.compile(r"[\n\r,，、;；]+")
_NUMBER_SEPARATORS = re.compile(r"[\s,，、;；]+")
_MAX_FIELD = 60_000  # characters of one form field: a long list of numbers, not a flood
_YEARS = (2000, 2099)  # the dates an announcement can run between: anything else is a typing slip


@bp.get("")
@role_required(*EDITORS)
def index() -> str:
    """Storm mode, the form for a new announcement, and the active, upcoming and ended ones."""
    return page()


@bp.post("")
@role_required(*EDITORS)
def create() -> Response | tuple[str, int]:
    """Store a new announcement (every problem named; nothing stored if any)."""
    languages = _languages()
    given, problems = _read_form(languages)
    if not problems:
        try:
            with unit_of_work(hotline().sessions) as session:
                row = notices.create(session, given, who=person().username, languages=languages)
                created = row.id
        except InvalidAnnouncement as invalid:
            problems = invalid.problems
    if problems:
        return page(form=request.form, problems=problems), 400
    announcements_changed()
    flash(f"通知 {created} 已保存 / Announcement {created} saved", "ok")
    return redirect(url_for("announcements.index"))


@bp.get("/<int:announcement_id>")
@role_required(*EDITORS)
def edit_page(announcement_id: int) -> str | tuple[str, int]:
    """One announcement, with its form (while it has not ended)."""
    row = _row(announcement_id)
    if row is None:
        return _missing(announcement_id)
    return _edit(row, _form_of(row))


@bp.post("/<int:announcement_id>")
@role_required(*EDITORS)
def edit(announcement_id: int) -> Response | tuple[str, int]:
    """Save changes to an announcement that has not ended."""
    languages = _languages()
    given, problems = _read_form(languages)
    if not problems:
        try:
            with unit_of_work(hotline().sessions) as session:
                notices.edit(session, announcement_id, given, who=person().username, languages=languages)
        except InvalidAnnouncement as invalid:
            problems = invalid.problems
        except AnnouncementNotFound:
            return _missing(announcement_id)
        except AnnouncementClosed:
            problems = ["通知已结束，不能修改 / The announcement has ended: it can no longer be changed"]
    if problems:
        row = _row(announcement_id)
        if row is None:
            return _missing(announcement_id)
        return _edit(row, request.form, problems), 400
    announcements_changed()
    flash(f"通知 {announcement_id} 已修改 / Announcement {announcement_id} changed", "ok")
    return redirect(url_for("announcements.index"))


@bp.post("/<int:announcement_id>/end")
@role_required(*EDITORS)
def end(announcement_id: int) -> Response | tuple[str, int]:
    """End an announcement now (or cancel one that has not started)."""
    try:
        with unit_of_work(hotline().sessions) as session:
            notices.end(session, announcement_id, who=person().username)
    except AnnouncementNotFound:
        return _missing(announcement_id)
    except AnnouncementClosed:
        flash(f"通知 {announcement_id} 已经结束 / Announcement {announcement_id} had already ended", "error")
        return redirect(url_for("announcements.index"))
    announcements_changed()
    flash(f"通知 {announcement_id} 已结束 / Announcement {announcement_id} ended", "ok")
    return redirect(url_for("announcements.index"))


# ---------------------------------------------------------------- helpers


def page(form: Any = None, problems: list[str] | None = None) -> str:
    """The announcements page, with the storm card (ivr/queueing/storm_pages.py) and the recent changes."""
    now = utcnow()
    with hotline().sessions() as session:
        lists = notices.listing(session, now)
        changes = sorted(
            recent_changes(session, kind="announcement", limit=10)
            + recent_changes(session, kind="storm", limit=10),
            key=lambda change: change.id,
            reverse=True,
        )[:10]
    return render_template(
        "console/announcements.html",
        STATUSES=STATUSES,  # passed, not a context processor: the storm switch renders this page too
        lists=lists,
        changes=changes,
        languages=_languages(),
        form=form if form is not None else _blank_form(now),
        problems=problems or [],
        targets=_targets,
    )


def _edit(row: Announcement, form: Any, problems: list[str] | None = None) -> str:
    status = notices.status_of(row, utcnow())
    return render_template(
        "console/announcements_edit.html",
        STATUSES=STATUSES,
        row=row,
        status=status,
        form=form,
        languages=_languages(),
        problems=problems or [],
        targets=_targets,
    )


def _missing(announcement_id: int) -> tuple[str, int]:
    message = f"没有编号为 {announcement_id} 的通知 / There is no announcement {announcement_id}"
    return render_template("admin/error.html", title="404", message=message, detail=""), 404


def _row(announcement_id: int) -> Announcement | None:
    with hotline().sessions() as session:
        return session.get(Announcement, announcement_id)


def _languages() -> list[str]:
    _, menu = hotline().menus.live()
    return list(menu.languages)


def announcements_changed() -> None:
    """Announcements or the storm switch changed: the calls' cache of them is read again."""
    # This process's webhooks see the change at once; other workers within the cache's refresh interval.
    notices.cache_of(current_app.extensions, hotline().sessions).invalidate()


def _read_form(languages: list[str]) -> tuple[AnnouncementInput, list[str]]:
    """The form as an AnnouncementInput, and the problems only the form can have (unreadable times)."""
    form = request.form
    problems: list[str] = []
    timezone = hotline().settings.local_timezone
    now = utcnow()
    starts_at = _utc(form.get("starts_at", ""), timezone)
    ends_at = _utc(form.get("ends_at", ""), timezone)
    years = f"{_YEARS[0]}-{_YEARS[1]}"
    if starts_at is None:
        problems.append(
            f"开始时间应为 {years} 年间的 年-月-日 时:分 / "
            f"the start must be a date and time (YYYY-MM-DD HH:MM) in the years {years}"
        )
    if ends_at is None:
        problems.append(
            f"结束时间应为 {years} 年间的 年-月-日 时:分 / "
            f"the end must be a date and time (YYYY-MM-DD HH:MM) in the years {years}"
        )
    if any(len(value) > _MAX_FIELD for value in form.values()):
        problems.append(f"某一栏超过 {_MAX_FIELD} 字 / a field has over {_MAX_FIELD} characters")
        return AnnouncementInput({}, now, now), problems
    everyone = form.get("target", "everyone") != "some"
    given = AnnouncementInput(
        texts={language: form.get(f"text_{language}", "") for language in languages},
        starts_at=starts_at or now,
        ends_at=ends_at or now + timedelta(hours=1),
        everyone=everyone,
        numbers=tuple(part for part in _NUMBER_SEPARATORS.split(form.get("numbers", "")) if part),
        districts=tuple(part for part in _LIST_SEPARATORS.split(form.get("districts", "")) if part.strip()),
    )
    if problems:  # the times are placeholders: name every other problem too, in one go
        try:
            notices.check(given, languages=languages, now=now)
        except InvalidAnnouncement as invalid:
            problems += invalid.problems
    return given, problems


def _utc(text: str, timezone: str) -> datetime | None:
    """A local date and time typed in the form, as naive UTC."""
    text = text.strip().replace(" ", "T")
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if not _YEARS[0] <= moment.year <= _YEARS[1]:  # year 1 would not even convert to UTC (an OverflowError)
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def _local(value: datetime) -> str:
    """A naive-UTC time as the form's value: local YYYY-MM-DD HH:MM (admin/fields.html datetime_input)."""
    zone = ZoneInfo(hotline().settings.local_timezone)
    return value.replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _blank_form(now: datetime) -> dict[str, str]:
    start = now.replace(second=0, microsecond=0)
    return {"starts_at": _local(start), "ends_at": _local(start + timedelta(hours=2)), "target": "everyone"}


def _form_of(row: Announcement) -> dict[str, str]:
    target = row.target or {}
    form = {
        "starts_at": _local(row.starts_at),
        "ends_at": _local(row.ends_at),
        "target": "some" if target else "everyone",
        "numbers": "\n".join(target.get("numbers") or []),
        "districts": "\n".join(target.get("districts") or []),
    }
    form.update({f"text_{language}": text for language, text in (row.texts or {}).items()})
    return form


def _targets(target: dict[str, Any] | None) -> str:
    """Who an announcement is for, in words."""
    if not target:
        return "所有来电者 / All callers"
    parts = []
    if target.get("numbers"):
        parts.append(f"号码 / numbers: {', '.join(target['numbers'])}")
    if target.get("districts"):
        parts.append(f"区域 / districts: {', '.join(target['districts'])}")
    return "; ".join(parts)
