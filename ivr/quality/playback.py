"""Playback of call recordings through the application: permission checked, every playback logged."""

from __future__ import annotations

from typing import NoReturn

from flask import Blueprint, abort, make_response, render_template, send_file
from werkzeug.wrappers import Response

from ivr.db.models import Recording
from ivr.db.session import unit_of_work
from ivr.people.auth import Person, person, role_required
from ivr.quality.recordings import RecordingUnavailable, local_audio, log_playback
from ivr.web.current_hotline import hotline

bp = Blueprint("recordings", __name__, url_prefix="/recordings")

LISTENERS = ("quality", "supervisor", "admin")  # may hear any recording; an agent only their own calls


@bp.get("/<int:recording_id>/audio")
@role_required("agent", *LISTENERS)
def audio(recording_id: int) -> Response:
    """The audio of one recording: the local copy, or fetched from the telephony provider and kept."""
    h = hotline()
    who = person()
    with h.sessions() as session:
        recording = session.get(Recording, recording_id)
    if recording is None:
        _refuse(404, f"没有此录音 / There is no recording {recording_id}")
    if not may_hear(who, recording):
        _refuse(403, "坐席只能收听自己接听的通话录音 / An agent may hear only the recordings of their calls")
    if recording.status != "completed" or not recording.recording_sid:
        why = f"{recording.status}: {recording.error}" if recording.error else recording.status
        _refuse(404, f"此通话没有可播放的录音 / This call has no recording to play ({why})")
    try:
        path = local_audio(recording.recording_sid, settings=h.settings, telephony=h.telephony)
    except RecordingUnavailable as error:
        _refuse(503, f"录音暂时无法获取 / The recording cannot be fetched now: {error}")
    # Logged before a byte is sent: a playback that cannot be logged does not happen. Every request
    # that returns audio counts, so a player that fetches in ranges leaves several rows, never none.
    with unit_of_work(h.sessions) as session:
        log_playback(recording, who.id, session=session)
    response = send_file(path, mimetype="audio/wav", conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"  # call audio stays out of shared caches
    return response


def may_hear(who: Person, recording: Recording) -> bool:
    """Quality, supervisors and admins hear any recording; an agent only those of their own calls."""
    if who.role in LISTENERS:
        return True
    return who.role == "agent" and who.agent_id is not None and who.agent_id == recording.agent_id


def _refuse(code: int, message: str) -> NoReturn:
    # A rendered page, like the other pages people open: it says why there is nothing to hear.
    abort(make_response(render_template("admin/error.html", title=str(code), message=message), code))
