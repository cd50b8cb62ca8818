"""The supervisor's page for satisfaction call-backs: the sampling policy and the do-not-call list.

The sampling policy as a form (saved as a new version), its JSON export and import (previewed as a diff before
it is published), and the do-not-call list. Every change is in the change log (docs/callbacks.md, "The
settings page")."""

from __future__ import annotations

import json
import tomllib
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response as BaseResponse

from ivr.configuration.change_log import log_change
from ivr.configuration.diff import changes
from ivr.db.models import DoNotCall, SamplingPolicyVersion
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.surveys.policy import InvalidPolicy, validate_policy
from ivr.surveys.policy_changes import PolicyConflict, document_of, live_document, publish_as
from ivr.surveys.policy_form import PolicyForm, form_of, read_form
from ivr.telephony.phones import normalise_phone
from ivr.web.current_hotline import hotline

bp = Blueprint("callback_settings", __name__, template_folder="templates")
EDITORS = ("supervisor", "admin")
MAX_REASON = 500
MAX_IMPORT_BYTES = 200_000
_SEE_FIELDS = "未保存：请改正标出的项 / Not saved: correct the marked fields"
_SAME_MOMENT = "另一位主管同时发布了 / someone published a version at the same moment: reload and check it"


@bp.get("/console/callbacks")
@role_required(*EDITORS)
def page() -> str:
    """The live policy as a form, its versions, export and import, and the do-not-call list."""
    return _page()


@bp.post("/console/callbacks/policy")
@role_required(*EDITORS)
def publish() -> BaseResponse | tuple[str, int]:
    """Save the form as the next version, or show it again with a message at each wrong field."""
    form, document = read_form(request.form, request.form.getlist("type"))
    based_on = _based_on()
    if document is None:
        return _page(form=form, based_on=based_on, refused=_SEE_FIELDS), 422
    return _publish(
        document, based_on, "publish", lambda refused: _page(form=form, based_on=based_on, refused=refused)
    )


@bp.get("/console/callbacks/policy.json")
@role_required(*EDITORS)
def export() -> Response:
    """A version's document (the live one unless ?version=N) as a JSON file to keep or edit."""
    text = request.args.get("version", "").strip()
    if text and not text.isdigit():
        abort(400, description=f"version must be a number (got {text!r})")
    with hotline().sessions() as session:
        version, document = live_document(session)
        if text:
            version, found = int(text), document_of(session, int(text))
            if found is None:
                abort(404, description=f"there is no version {text}")
            document = found
    body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    headers = {"Content-Disposition": f'attachment; filename="callback-policy-v{version}.json"'}
    return Response(body, mimetype="application/json", headers=headers)


@bp.post("/console/callbacks/policy/import")
@role_required(*EDITORS)
def import_preview() -> tuple[str, int]:
    """Read an uploaded policy file (JSON or TOML), check it and show what it would change; stores nothing."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(refused="请选择文件 / choose a JSON file to import"), 400
    raw = upload.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        return _page(refused=f"文件太大 / the file is over {MAX_IMPORT_BYTES // 1000} kB"), 400
    try:
        document = _parse(raw.decode("utf-8-sig"), toml=upload.filename.lower().endswith(".toml"))
    except (ValueError, UnicodeDecodeError) as error:
        return _preview(None, [f"无法读取 / cannot be read: {error}"], upload.filename), 422
    try:
        validate_policy(document)
    except InvalidPolicy as invalid:
        return _preview(document, list(invalid.problems), upload.filename), 422
    return _preview(document, [], upload.filename), 200


@bp.post("/console/callbacks/policy/import/confirm")
@role_required(*EDITORS)
def import_confirm() -> BaseResponse | tuple[str, int]:
    """Publish the previewed import, unless another version went live since the preview."""
    try:
        document = _parse(request.form.get("document", ""), toml=False)
    except ValueError as error:
        return _page(refused=f"无法读取 / cannot be read: {error}"), 400
    try:
        validate_policy(document)  # the hidden field came back from the browser: checked again
    except InvalidPolicy as invalid:
        return _preview(None, list(invalid.problems), ""), 422
    based_on = _based_on()
    return _publish(document, based_on, "import", lambda refused: _preview(document, [], "", refused=refused))


@bp.post("/console/callbacks/do-not-call")
@role_required(*EDITORS)
def add_number() -> BaseResponse | tuple[str, int]:
    """Put a number on the do-not-call list (with why)."""
    raw, reason = request.form.get("phone", ""), request.form.get("reason", "").strip()
    number = normalise_phone(raw)
    problems = []
    if number is None:
        problems.append(f"phone: {raw!r} is not a number we can call (E.164, or an 11-digit mainland mobile)")
    if not reason or len(reason) > MAX_REASON:
        problems.append(f"reason: say why, in 1 to {MAX_REASON} characters")
    if problems:
        return _page(problems=problems), 400
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
def remove_number(entry_id: int) -> BaseResponse | tuple[str, int]:
    """Take a number off the list."""
    who = person().username
    with unit_of_work(hotline().sessions) as session:
        entry = session.get(DoNotCall, entry_id)
        if entry is None:
            return _page(problems=["that number is not on the list (any more)"]), 404
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


# ---------------------------------------------------------------- helpers


def _publish(
    document: dict[str, Any], based_on: int | None, action: str, again: Any
) -> BaseResponse | tuple[str, int]:
    """Publish and go back to the page; `again(refused)` shows the form or preview again when refused."""
    try:
        with unit_of_work(hotline().sessions) as session:
            version = publish_as(session, document, who=person().username, based_on=based_on, action=action)
    except InvalidPolicy as invalid:
        return again("未保存 / Not saved: " + "; ".join(invalid.problems)), 422
    except PolicyConflict as conflict:
        return again(str(conflict)), 409
    except IntegrityError:
        return again(_SAME_MOMENT), 409
    if version is None:
        flash("没有改动，未建新版本 / Nothing changed: no new version", "info")
    else:
        flash(f"已发布第 {version} 版 / Published as version {version}: used from the next draw", "ok")
    return redirect(url_for("callback_settings.page"))


def _based_on() -> int | None:
    text = request.form.get("based_on", "").strip()
    return int(text) if text.isdigit() else None


def _page(
    *,
    form: PolicyForm | None = None,
    based_on: int | None = None,
    refused: str | None = None,
    problems: list[str] | None = None,
) -> str:
    """The settings page; `form`: the posted fields shown again with their messages."""
    with hotline().sessions() as session:
        live, document = live_document(session)
        versions = list(
            session.scalars(select(SamplingPolicyVersion).order_by(SamplingPolicyVersion.version.desc()))
        )
        numbers = list(session.scalars(select(DoNotCall).order_by(DoNotCall.added_at.desc())))
    return render_template(
        "callbacks/settings.html",
        form=form or form_of(document),
        based_on=live if based_on is None else based_on,
        live_version=live,
        versions=versions,
        refused=refused,
        problems=problems or [],
        numbers=numbers,
    )


def _preview(
    document: dict[str, Any] | None, problems: list[str], filename: str, refused: str | None = None
) -> str:
    """What an imported document would change against the live version, with the button to publish it."""
    with hotline().sessions() as session:
        live, current = live_document(session)
    valid = document is not None and not problems
    return render_template(
        "callbacks/import_preview.html",
        filename=filename,
        problems=problems,
        refused=refused,
        live_version=live,
        fields=changes(current, document) if document is not None else [],
        form=form_of(document) if valid and document is not None else None,
        document_text=json.dumps(document, ensure_ascii=False) if valid else "",
    )


def _parse(text: str, *, toml: bool) -> dict[str, Any]:
    """A policy document written as JSON (or TOML, for a file named .toml)."""
    text = text.strip()
    if not text:
        raise ValueError("the document is empty")
    try:
        document = tomllib.loads(text) if toml else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(str(error)) from None
    if not isinstance(document, dict):
        raise ValueError("the document must be an object")
    return document
