"""The supervisor's page for satisfaction call-backs: the sampling policy (publish a new version) and the
do-not-call list (add, remove). Every change is in the change log (docs/callbacks.md)."""

from __future__ import annotations

import json
import tomllib
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from ivr.configuration.change_log import log_change
from ivr.db.models import DoNotCall, SamplingPolicyVersion
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.surveys.draws import publish_policy
from ivr.surveys.phones import normalise_phone
from ivr.surveys.policy import DEFAULT_POLICY_FILE, InvalidPolicy, load_policy_file
from ivr.web.current_hotline import hotline

bp = Blueprint("callback_settings", __name__, template_folder="templates")
EDITORS = ("supervisor", "admin")
MAX_REASON = 500


@bp.get("/console/callbacks")
@role_required(*EDITORS)
def page(problems: list[str] | None = None, text: str | None = None) -> str:
    """The live policy (as an editable document), its versions, and the do-not-call list."""
    with hotline().sessions() as session:
        versions = list(
            session.scalars(select(SamplingPolicyVersion).order_by(SamplingPolicyVersion.version.desc()))
        )
        numbers = list(session.scalars(select(DoNotCall).order_by(DoNotCall.added_at.desc())))
    live = versions[0].document if versions else load_policy_file(DEFAULT_POLICY_FILE)
    shown = text if text is not None else json.dumps(live, ensure_ascii=False, indent=2)
    return render_template(
        "callbacks/settings.html",
        versions=versions,
        live_version=versions[0].version if versions else 0,
        document=shown,
        problems=problems or [],
        numbers=numbers,
    )


@bp.post("/console/callbacks/policy")
@role_required(*EDITORS)
def publish() -> Response | tuple[str, int]:
    """Validate the edited policy (JSON or TOML) and publish it as the next version, or name every problem."""
    text = request.form.get("document", "")
    try:
        document = _parse(text)
    except ValueError as error:
        return page([f"cannot be read: {error}"], text), 400
    who = person().username
    try:
        with unit_of_work(hotline().sessions) as session:
            before = session.scalar(
                select(SamplingPolicyVersion.document).order_by(SamplingPolicyVersion.version.desc()).limit(1)
            )
            version = publish_policy(session, document, created_by=who)
            log_change(
                session,
                who,
                "callback_policy",
                "publish",
                f"version {version}",
                before=before,
                after=document,
            )
    except InvalidPolicy as invalid:
        return page(list(invalid.problems), text), 400
    flash(f"已发布第 {version} 版 / Published as version {version}", "info")
    return redirect(url_for("callback_settings.page"))


@bp.post("/console/callbacks/do-not-call")
@role_required(*EDITORS)
def add_number() -> Response | tuple[str, int]:
    """Put a number on the do-not-call list (with why)."""
    raw, reason = request.form.get("phone", ""), request.form.get("reason", "").strip()
    number = normalise_phone(raw)
    problems = []
    if number is None:
        problems.append(f"phone: {raw!r} is not a number we can call (E.164, or an 11-digit mainland mobile)")
    if not reason or len(reason) > MAX_REASON:
        problems.append(f"reason: say why, in 1 to {MAX_REASON} characters")
    if problems:
        return page(problems), 400
    who = person().username
    with unit_of_work(hotline().sessions) as session:
        if session.scalar(select(DoNotCall.id).where(DoNotCall.phone == number)) is None:
            session.add(DoNotCall(phone=number, reason=reason))
            log_change(
                session, who, "do_not_call", "add", str(number), after={"phone": number, "reason": reason}
            )
    flash(f"{number} 不再回访 / will not be called back", "info")
    return redirect(url_for("callback_settings.page"))


@bp.post("/console/callbacks/do-not-call/<int:entry_id>/remove")
@role_required(*EDITORS)
def remove_number(entry_id: int) -> Response | tuple[str, int]:
    """Take a number off the list."""
    who = person().username
    with unit_of_work(hotline().sessions) as session:
        entry = session.get(DoNotCall, entry_id)
        if entry is None:
            return page(["that number is not on the list (any more)"]), 404
        log_change(
            session,
            who,
            "do_not_call",
            "remove",
            entry.phone,
            before={"phone": entry.phone, "reason": entry.reason},
        )
        session.delete(entry)
    return redirect(url_for("callback_settings.page"))


def _parse(text: str) -> dict[str, Any]:
    """A policy document written as JSON or TOML."""
    text = text.strip()
    if not text:
        raise ValueError("the document is empty")
    document = json.loads(text) if text.startswith("{") else tomllib.loads(text)
    if not isinstance(document, dict):
        raise ValueError("the document must be a table (an object)")
    return document
