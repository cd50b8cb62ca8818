"""The editor's test call: JSON, one turn of the draft menu's call flow per request; it writes nothing.

The panel is on the menu editor's draft page (configuration's, ivr/configuration/editor_pages.py); the walk
is a call's (ivr/calls/trial_call.py), so its view lives here, under the editor's URL
(`POST /console/menu/draft/test-call`).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify, request

from ivr.calls.trial_call import TestCallInput, TestCallRefused, walk_test_call
from ivr.configuration import drafts
from ivr.configuration.editor_pages import EDITORS
from ivr.people.auth import role_required
from ivr.web.current_hotline import hotline

bp = Blueprint("trial_call", __name__, url_prefix="/console")

_CALLER = re.compile(r"^\+?[0-9]{3,20}$")


@bp.post("/menu/draft/test-call")
@role_required(*EDITORS)
def menu_test_call() -> tuple[Response, int]:
    """JSON: one turn of a test call on the draft menu; writes nothing."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _json_error("send a JSON object: {'state': null, 'language': 'zh-CN'} to start", 400)
    caller = body.get("caller") or "+8613800000001"
    state = body.get("state")
    fields = {name: body.get(name) or "" for name in ("digits", "speech", "language")}
    if not isinstance(caller, str) or not _CALLER.match(caller.strip()):
        return _json_error("caller must be a phone number such as +8613800000001", 400)
    if not all(isinstance(value, str) for value in fields.values()):
        return _json_error("digits, speech and language must be text", 400)
    if state is not None and not isinstance(state, dict):
        return _json_error("state must be the object the last answer gave, or null to start", 400)
    h = hotline()
    with h.sessions() as session:
        document = drafts.current_draft(session, "menu").document
    try:
        rules = h.rules.live()
    except Exception:  # rules unknown: the test call says nothing about opening hours
        rules = None
    given = TestCallInput(
        state=state,
        digits=fields["digits"],
        speech=fields["speech"],
        language=fields["language"] or None,
        caller=caller.strip(),
    )
    try:
        answer = walk_test_call(h.sessions, document, given, rules, h.settings.local_timezone)
    except TestCallRefused as refused:
        problems = [{"where": p.where, "message": p.message} for p in refused.problems]
        return jsonify(error=refused.message, problems=problems), 400
    return jsonify(answer), 200


def _json_error(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status
