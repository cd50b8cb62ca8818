"""The storm switch on the announcements page: its card (state, callers since) and the button that sets it.

Storm mode is queueing's (ivr/queueing/storm.py); the page around the card is configuration's
(ivr/configuration/announcement_pages.py), whose template includes the card (console/storm_card.html). The
card reads the switch through the `storm_card()` template global, so the announcements page needs nothing
of queueing; the button posts to the same URL as before, /console/announcements/storm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from ivr.configuration.announcement_pages import EDITORS, announcements_changed, page
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.queueing.queue_sizing import QueueChange, size_queues
from ivr.queueing.storm import StormState, set_storm, storm_state
from ivr.queueing.storm_outcomes import StormOutcomes, storm_outcomes
from ivr.web.current_hotline import hotline

log = logging.getLogger(__name__)
bp = Blueprint("storm", __name__, template_folder="templates", url_prefix="/console/announcements")


@dataclass(frozen=True)
class StormCard:
    """What the card shows: the switch, and while it is on, how the callers since it went on left."""

    switch: StormState
    outcomes: StormOutcomes | None


@bp.app_template_global()
def storm_card() -> StormCard:
    """The card's figures, read when the announcements page is drawn."""
    with hotline().sessions() as session:
        switch = storm_state(session)
        outcomes = storm_outcomes(session, switch.set_at) if switch.on and switch.set_at else None
    return StormCard(switch, outcomes)


@bp.post("/storm")
@role_required(*EDITORS)
def switch() -> Response | tuple[str, int]:
    """Turn storm mode on or off (the button says which: pressing twice changes nothing)."""
    wanted = request.form.get("on", "")
    if wanted not in ("0", "1"):
        return page(
            problems=["请用页面上的按钮切换风暴模式 / Use the page's button to switch storm mode"]
        ), 400
    with unit_of_work(hotline().sessions) as session:
        changed = set_storm(session, wanted == "1", who=person().username)
    announcements_changed()
    zh, en = ("开启", "on") if wanted == "1" else ("关闭", "off")
    if changed:
        flash(f"风暴模式已{zh} / Storm mode is {en}", "ok")
    else:
        flash(f"风暴模式本来就是{zh}状态 / Storm mode was already {en}", "ok")
    if wanted == "1":
        _size_queues_for_storm()
    return redirect(url_for("announcements.index"))


def _size_queues_for_storm() -> None:
    """Twilio's queues grown to the maximum now, not at the scheduler's next run; a failure is shown."""
    try:
        h = hotline()
        changes = size_queues(True, sessions=h.sessions, telephony=h.telephony, menu=h.menus.live()[1])
        failed = [change for change in changes if change.action == "failed"]
    except Exception:  # the switch is set all the same: the scheduler sizes them at its next run
        log.warning("call queues not sized for storm mode", exc_info=True)
        failed = [QueueChange("*", "failed", 0)]
    if failed:
        names = ", ".join(change.name for change in failed)
        flash(f"以下 Twilio 队列未能扩容 / These Twilio queues could not be resized: {names}", "error")
