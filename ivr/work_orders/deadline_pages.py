"""The deadline rules page: the live version, the TOML editor (validate, save), history, diff, rollback.

Supervisors and admins edit; shift leads and quality staff may look. Nothing is written while the text has a
problem. The versions live in ivr/work_orders/deadline_versions.py; see docs/work-orders.md.
"""

from __future__ import annotations

import difflib
from typing import Any, NoReturn

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from ivr.configuration.diff import changes
from ivr.configuration.menus.validation import Problem
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.web.current_hotline import hotline
from ivr.work_orders import deadline_versions
from ivr.work_orders.deadline_rules import InvalidDeadlines
from ivr.work_orders.deadline_versions import DeadlinesRefused, LiveDeadlines

bp = Blueprint("deadlines", __name__, template_folder="templates", url_prefix="/console/deadlines")

EDITORS = ("supervisor", "admin")
VIEWERS = (*EDITORS, "shift_lead", "quality")
MAX_NOTE = 500
_CONFLICT = "另一位主管同时保存了版本 / someone else saved a version at the same moment: see the history"


@bp.get("")
@role_required(*VIEWERS)
def page() -> str:
    """The live version: its deadlines as a table, its text in the editor (read-only unless an editor)."""
    return _page()


@bp.post("/validate")
@role_required(*EDITORS)
def validate() -> tuple[str, int]:
    """Check the editor's text and list every problem with where it is; writes nothing."""
    text = request.form.get("document", "")
    try:
        deadline_versions.read_deadlines_text(text)
    except InvalidDeadlines as invalid:
        return _page(text=text, problems=invalid.problems, checked=True), 422
    return _page(text=text, problems=[], checked=True), 200


@bp.post("/save")
@role_required(*EDITORS)
def save() -> Response | tuple[str, int]:
    """Save the editor's text as the new live version, with a comment; refused (nothing saved) if invalid."""
    text = request.form.get("document", "")
    note = request.form.get("note", "").strip()
    based_on = request.form.get("based_on", "")
    if len(note) > MAX_NOTE:
        return _page(text=text, refused=f"说明太长 / the comment is over {MAX_NOTE} characters"), 422
    if based_on and not based_on.isdigit():
        return _page(text=text, refused=f"based_on must be a version number, not {based_on!r}"), 400
    try:
        with unit_of_work(hotline().sessions) as session:
            row = deadline_versions.save_deadlines(
                session,
                text,
                by=person().username,
                note=note,
                based_on=int(based_on) if based_on else None,
            )
            version = row.version
    except InvalidDeadlines as invalid:
        return _page(text=text, problems=invalid.problems, checked=True, refused="未保存 / Not saved"), 422
    except DeadlinesRefused as refused:
        return _page(text=text, refused=refused.message), refused.status
    except IntegrityError:
        return _page(text=text, refused=_CONFLICT), 409
    flash(f"第 {version} 版已保存并生效 / Version {version} saved: it is live", "ok")
    return redirect(url_for("deadlines.page"))


@bp.get("/versions")
@role_required(*VIEWERS)
def versions() -> str:
    """Every saved version, newest first: who, when, comment; view, diff with the one before, roll back."""
    with hotline().sessions() as session:
        rows = deadline_versions.all_versions(session)
    return render_template("deadlines/versions.html", rows=rows, editor=_is_editor())


@bp.get("/versions/<int:version>")
@role_required(*VIEWERS)
def version(version: int) -> str:
    """One saved version's text, read-only, with a rollback button."""
    with hotline().sessions() as session:
        row = _row_or_404(session, version)
        live = deadline_versions.live_row(session)
    return render_template(
        "deadlines/version.html", row=row, live_version=live.version if live else None, editor=_is_editor()
    )


@bp.post("/versions/<int:version>/rollback")
@role_required(*EDITORS)
def rollback(version: int) -> Response:
    """Save an earlier version's document again as the newest (live) version."""
    note = request.form.get("note", "").strip()[:MAX_NOTE]
    try:
        with unit_of_work(hotline().sessions) as session:
            new = deadline_versions.rollback_deadlines(session, version, by=person().username, note=note)
            number = new.version
    except DeadlinesRefused as refused:
        _refuse(refused.status, refused.message)
    except InvalidDeadlines as invalid:
        _refuse(422, "这个版本已不符合现在的检查 / that version no longer passes the checks", str(invalid))
    except IntegrityError:
        _refuse(409, _CONFLICT)
    flash(
        f"已回滚：第 {version} 版的内容作为第 {number} 版生效 / Rolled back: version {version} is live again"
        f" as version {number}",
        "ok",
    )
    return redirect(url_for("deadlines.page"))


@bp.get("/diff")
@role_required(*VIEWERS)
def diff() -> str:
    """The differences between two saved versions (?a=1&b=2), field by field and as text."""
    a_text, b_text = request.args.get("a", "").strip(), request.args.get("b", "").strip()
    for text in (a_text, b_text):
        if not text.isdigit():
            _refuse(400, "a 和 b 应为版本号 / a and b must be version numbers", f"not {text!r}")
    with hotline().sessions() as session:
        a_row = _row_or_404(session, int(a_text))
        b_row = _row_or_404(session, int(b_text))
    lines = difflib.unified_diff(
        a_row.source.splitlines(),
        b_row.source.splitlines(),
        fromfile=f"v{a_row.version}",
        tofile=f"v{b_row.version}",
        lineterm="",
        n=2,
    )
    return render_template(
        "deadlines/diff.html",
        a=a_row,
        b=b_row,
        fields=changes(a_row.document, b_row.document),
        lines=list(lines),
        editor=_is_editor(),
    )


# ---------------------------------------------------------------- helpers


def _page(
    *,
    text: str | None = None,
    problems: list[Problem] | None = None,
    checked: bool = False,
    refused: str | None = None,
) -> str:
    with hotline().sessions() as session:
        live = deadline_versions.live_document(session)
        live_row = deadline_versions.live_row(session)
    return render_template(
        "deadlines/page.html",
        live=live,
        row=live_row,
        classes=_class_rows(live),
        text=text if text is not None else live.source,
        problems=problems or [],
        checked=checked,
        refused=refused,
        editor=_is_editor(),
    )


def _class_rows(live: LiveDeadlines) -> list[dict[str, Any]]:
    """The live document's classes, one row per deadline, for the read-only table."""
    rules = live.rules
    rows = []
    for name, entry in rules.classes.items():
        for kind, deadline in entry.deadlines.items():
            share = deadline.warning_share if deadline.warning_share is not None else rules.warning_share
            rows.append(
                {"class": name, "desk": entry.desk, "kind": kind, "deadline": deadline, "share": share}
            )
    return rows


def _is_editor() -> bool:
    return person().role in EDITORS


def _row_or_404(session: Any, number: int) -> Any:
    row = deadline_versions.version_row(session, number)
    if row is None:
        _refuse(404, f"没有第 {number} 版 / there is no deadline rules version {number}")
    return row


def _refuse(code: int, message: str, detail: str = "") -> NoReturn:
    abort(
        make_response(
            render_template("admin/error.html", title=str(code), message=message, detail=detail), code
        )
    )
