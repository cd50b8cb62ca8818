"""The supervisor console's editors: the menu, the routing rules and the change log.

The menu and the rules each have draft, validate, publish, versions, diff and rollback; the menu's draft page
has the test call, whose view is the calls' (ivr/calls/trial_call_views.py). Supervisors and admins only, on
every page and call."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NoReturn

from flask import Blueprint, abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from ivr.configuration import drafts
from ivr.configuration.change_log import recent_changes
from ivr.configuration.diff import changes, text_diff
from ivr.configuration.drafts import ConsoleRefused, Draft
from ivr.configuration.edit_values import EditRefused
from ivr.configuration.menu_diagram import menu_diagram
from ivr.configuration.menu_tree import menu_tree
from ivr.configuration.menus.validation import Problem
from ivr.configuration.raw_document import read_document, show_document
from ivr.configuration.rules_view import rules_view
from ivr.db.models import ChangeLog
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.web.current_hotline import hotline

bp = Blueprint("editor", __name__, template_folder="templates", url_prefix="/console")

EDITORS = ("supervisor", "admin")
KIND_LABELS = {"menu": "语音菜单 / Menu", "rules": "路由规则 / Routing rules"}
KNOWN_CHANGE_KINDS = ("menu", "rules", "announcement", "storm", "agent")
ACTION_LABELS = {
    "edit_draft": "编辑草稿 / Edited the draft",
    "replace_draft": "替换草稿 / Replaced the draft",
    "discard": "丢弃草稿 / Discarded the draft",
    "restart": "从线上版本重新开始 / Started again from live",
    "publish": "发布 / Published",
    "rollback": "回滚 / Rolled back",
}
CHANGES_PER_PAGE = 50
MAX_FIELDS_SHOWN = 60
_CONFLICT = "someone else published at the same moment: look at the versions and try again"


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"KIND_LABELS": KIND_LABELS, "ACTION_LABELS": ACTION_LABELS}


# ---------------------------------------------------------------- pages of one kind (menu, rules)


def live_page(kind: str) -> str:
    """The live version, read-only, with the draft's state and links to edit, versions and diff."""
    with hotline().sessions() as session:
        row = drafts.live_row(session, kind)
        draft = drafts.current_draft(session, kind)
    return _version_page(kind, row, draft)


def version_page(kind: str, version: int) -> str:
    """One stored version, read-only, with a rollback button."""
    with hotline().sessions() as session:
        row = _or_refuse(lambda: drafts.version_row(session, kind, version))
        draft = drafts.current_draft(session, kind)
    return _version_page(kind, row, draft)


def _version_page(kind: str, row: Any, draft: Draft) -> str:
    return render_template(
        f"console/{kind}_page.html",
        kind=kind,
        row=row,
        draft=draft,
        view=_view(kind, row.document, []),
        live_version=draft.live_version,
    )


def draft_page(kind: str) -> str:
    """The editor: the draft as a tree (or calendars) with forms, its problems, the raw document, publish."""
    return _draft_page(kind)


def _draft_page(
    kind: str,
    *,
    error: tuple[str, list[Problem]] | None = None,
    raw_text: str | None = None,
    raw_error: str | None = None,
) -> str:
    with hotline().sessions() as session:
        draft = drafts.current_draft(session, kind)
    problems = drafts.problems_of(kind, draft.document)
    return render_template(
        f"console/{kind}_draft.html",
        kind=kind,
        draft=draft,
        problems=problems,
        view=_view(kind, draft.document, problems),
        raw_text=raw_text if raw_text is not None else show_document(draft.document),
        raw_error=raw_error,
        error=error,
    )


def edit(kind: str) -> tuple[Response, int] | Response:
    """JSON: apply one small operation to the draft; answers the new tree and every validation problem."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _json_error("send a JSON object: {'operation': {'op': ...}, 'revision': ...}", 400)
    operation = body.get("operation", body)
    revision = body.get("revision")
    if revision is not None and not isinstance(revision, str):
        return _json_error("revision must be the text the last answer gave", 400)
    try:
        with unit_of_work(hotline().sessions) as session:
            draft, said = drafts.edit_draft(session, kind, person().username, operation, revision=revision)
    except EditRefused as refused:
        return _json_error(str(refused), 400)
    except ConsoleRefused as refused:
        return _json_error(refused.message, refused.status)
    except IntegrityError:
        return _json_error("another edit was saved at the same moment: reload the page", 409)
    return jsonify(_draft_answer(draft, said)), 200


def _draft_answer(draft: Draft, said: str) -> dict[str, Any]:
    problems = drafts.problems_of(draft.kind, draft.document)
    view = _view(draft.kind, draft.document, problems)
    return {
        "did": said,
        "revision": draft.revision,
        "stale": draft.stale,
        "publishable": not problems and not draft.stale,
        "problems": [{"where": p.where, "message": p.message} for p in problems],
        "tree": view.as_json(),
        "html": render_template(f"console/{draft.kind}_tree.html", view=view, editable=True, kind=draft.kind),
        "problems_html": render_template("console/changes_problems.html", problems=problems),
        "document": show_document(draft.document),
    }


def raw(kind: str) -> Response | tuple[str, int]:
    """The whole draft from the raw editor (JSON or TOML); a text that cannot be read is not saved."""
    text = request.form.get("document", "")
    try:
        document = read_document(text)
        with unit_of_work(hotline().sessions) as session:
            draft = drafts.replace_draft(
                session, kind, person().username, document, revision=request.form.get("revision") or None
            )
    except EditRefused as refused:
        return _draft_page(kind, raw_text=text, raw_error=str(refused)), 400
    except ConsoleRefused as refused:
        return _draft_page(kind, raw_text=text, raw_error=refused.message), refused.status
    except IntegrityError:
        return _draft_page(kind, raw_text=text, raw_error="another edit was saved at the same moment"), 409
    count = len(drafts.problems_of(kind, draft.document))
    if count:
        flash(f"草稿已保存，有 {count} 个问题 / Draft saved with {count} problem(s) to fix", "error")
    else:
        flash("草稿已保存，无问题 / Draft saved: no problems", "ok")
    return redirect(url_for(f"editor.{kind}_draft"))


def publish(kind: str) -> Response | tuple[str, int]:
    """Make the draft live (refused, naming every problem, when it is invalid or someone published since)."""
    note = request.form.get("note", "")
    try:
        with unit_of_work(hotline().sessions) as session:
            version = drafts.publish_draft(session, kind, person().username, note)
    except ConsoleRefused as refused:
        return _draft_page(kind, error=(refused.message, refused.problems)), refused.status
    except IntegrityError:
        return _draft_page(kind, error=(_CONFLICT, [])), 409
    _live_now(kind)
    flash(
        f"第 {version} 版已上线；进行中的通话保持原版本 / Version {version} is live;"
        " calls in progress keep theirs",
        "ok",
    )
    return redirect(url_for(f"editor.{kind}"))


def discard(kind: str) -> Response | tuple[str, int]:
    """Throw the draft away."""
    return _drop(kind, "discard", "草稿已丢弃 / The draft was discarded")


def restart(kind: str) -> Response | tuple[str, int]:
    """Start again from the live version (after someone else published)."""
    return _drop(kind, "restart", "已从线上版本重新开始 / Started again from the live version")


def _drop(kind: str, action: str, done: str) -> Response | tuple[str, int]:
    try:
        with unit_of_work(hotline().sessions) as session:
            drafts.discard_draft(session, kind, person().username, action=action)
    except ConsoleRefused as refused:
        return _draft_page(kind, error=(refused.message, [])), refused.status
    flash(done, "ok")
    return redirect(url_for(f"editor.{kind}_draft"))


def versions_page(kind: str) -> str:
    """Every version, newest first: who, when, note; view, diff with the one before, roll back."""
    with hotline().sessions() as session:
        rows = drafts.versions(session, kind)
        draft = drafts.current_draft(session, kind)
    return render_template("console/changes_versions.html", kind=kind, rows=rows, draft=draft)


def rollback(kind: str, version: int) -> Response | tuple[str, int]:
    """Publish an earlier version again, as a new version."""
    try:
        with unit_of_work(hotline().sessions) as session:
            new = drafts.rollback(session, kind, person().username, version, request.form.get("note", ""))
    except ConsoleRefused as refused:
        _refuse(refused.status, refused.message, "; ".join(str(p) for p in refused.problems))
    except IntegrityError:
        _refuse(409, _CONFLICT)
    _live_now(kind)
    flash(
        f"已回滚：第 {version} 版的内容作为第 {new} 版上线 / Rolled back: version {version} is live again as"
        f" version {new}",
        "ok",
    )
    return redirect(url_for(f"editor.{kind}"))


def diff_page(kind: str) -> str:
    """The differences between two versions (?a=1&b=2; a version number, 'live' or 'draft')."""
    with hotline().sessions() as session:
        live = drafts.live_row(session, kind)
        a_text = request.args.get("a", "").strip() or str(max(1, live.version - 1))
        b_text = request.args.get("b", "").strip() or "live"
        a_name, a_doc = _side(session, kind, a_text, live)
        b_name, b_doc = _side(session, kind, b_text, live)
        numbers = [row.version for row in drafts.versions(session, kind)]
    found = changes(a_doc, b_doc)
    return render_template(
        "console/changes_diff.html",
        kind=kind,
        a=a_text,
        b=b_text,
        a_name=a_name,
        b_name=b_name,
        changes=found,
        lines=text_diff(a_doc, b_doc, a_name, b_name),
        numbers=numbers,
    )


def _side(session: Any, kind: str, text: str, live: Any) -> tuple[str, Any]:
    if text == "draft":
        return "draft", drafts.current_draft(session, kind).document
    if text == "live":
        return f"v{live.version} (live)", live.document
    if not text.isdigit():
        _refuse(400, "a and b are version numbers, 'live' or 'draft'", f"not {text!r}")
    row = _or_refuse(lambda: drafts.version_row(session, kind, int(text)))
    return f"v{row.version}", row.document


def diagram(kind: str) -> tuple[Response, int]:
    """JSON: the menu's flow diagram (?of=draft, live or a version number), drawn by menu_diagram.js."""
    of = request.args.get("of", "draft").strip()
    if of not in ("draft", "live") and not (of.isdigit() and len(of) < 10):
        return _json_error(f"of must be draft, live or a version number, not {of[:40]!r}", 400)
    with hotline().sessions() as session:
        if of == "draft":
            draft = drafts.current_draft(session, kind)
            document, base = draft.document, draft.base_version
            title = f"草稿（基于第 {base} 版） / Draft (based on version {base})"
        else:
            try:
                if of == "live":
                    row = drafts.live_row(session, kind)
                else:
                    row = drafts.version_row(session, kind, int(of))
            except ConsoleRefused as refused:
                return _json_error(refused.message, refused.status)
            document = row.document
            title = f"第 {row.version} 版 / Version {row.version}"
            if of == "live":
                title = f"线上 {title} (live)"
    return jsonify(of=of, title=title, diagram=menu_diagram(document)), 200


# ---------------------------------------------------------------- the change log


@bp.get("/changes")
@role_required(*EDITORS)
def changes_page() -> str:
    """Every console change, newest first (filter by kind): who, when, what, before and after as a diff."""
    kind = request.args.get("kind", "").strip() or None
    before_text = request.args.get("before", "").strip()
    if kind is not None and not re.fullmatch(r"[a-z_]{1,30}", kind):
        _refuse(400, "kind 无效 / kind is not a kind of change", f"not {kind!r}")
    if before_text and not before_text.isdigit():
        _refuse(400, "before 应为编号 / before must be an entry number", f"not {before_text!r}")
    with hotline().sessions() as session:
        if before_text:
            query = select(ChangeLog).where(ChangeLog.id < int(before_text)).order_by(ChangeLog.id.desc())
            if kind:
                query = query.where(ChangeLog.kind == kind)
            entries = list(session.scalars(query.limit(CHANGES_PER_PAGE)))
        else:
            entries = recent_changes(session, kind=kind, limit=CHANGES_PER_PAGE)
        kinds = sorted(set(KNOWN_CHANGE_KINDS) | set(session.scalars(select(ChangeLog.kind).distinct())))
    shown = []
    for entry in entries:
        found = changes(entry.before, entry.after)
        shown.append((entry, found[:MAX_FIELDS_SHOWN], len(found)))
    older = entries[-1].id if len(entries) == CHANGES_PER_PAGE else None
    return render_template("console/changes.html", entries=shown, kinds=kinds, kind=kind, older=older)


# ---------------------------------------------------------------- helpers and registration


def _view(kind: str, document: dict[str, Any], problems: list[Problem]) -> Any:
    return menu_tree(document, problems) if kind == "menu" else rules_view(document, problems)


def _live_now(kind: str) -> None:
    # This process answers new calls with the new version at once; other workers within their refresh.
    if kind == "menu":
        hotline().menus.expire()


def _or_refuse(find: Callable[[], Any]) -> Any:
    try:
        return find()
    except ConsoleRefused as refused:
        _refuse(refused.status, refused.message)


def _json_error(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


def _refuse(code: int, message: str, detail: str = "") -> NoReturn:
    abort(
        make_response(
            render_template("admin/error.html", title=str(code), message=message, detail=detail), code
        )
    )


def _register() -> None:
    """The same views for both kinds, each under its own URL and endpoint (e.g. editor.menu_draft)."""
    routes: list[tuple[str, str, Callable[..., Any], list[str]]] = [
        ("", "", live_page, ["GET"]),
        ("/draft", "_draft", draft_page, ["GET"]),
        ("/draft/edit", "_edit", edit, ["POST"]),
        ("/draft/raw", "_raw", raw, ["POST"]),
        ("/draft/publish", "_publish", publish, ["POST"]),
        ("/draft/discard", "_discard", discard, ["POST"]),
        ("/draft/restart", "_restart", restart, ["POST"]),
        ("/versions", "_versions", versions_page, ["GET"]),
        ("/versions/<int:version>", "_version", version_page, ["GET"]),
        ("/versions/<int:version>/rollback", "_rollback", rollback, ["POST"]),
        ("/diff", "_diff", diff_page, ["GET"]),
    ]
    for kind in ("menu", "rules"):
        for path, suffix, view, methods in routes:
            bp.add_url_rule(
                f"/{kind}{path}",
                f"{kind}{suffix}",
                role_required(*EDITORS)(view),
                methods=methods,
                defaults={"kind": kind},
            )
    bp.add_url_rule(
        "/menu/diagram", "menu_diagram", role_required(*EDITORS)(diagram), defaults={"kind": "menu"}
    )


_register()
