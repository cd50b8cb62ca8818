"""A caller about to be queued while their group is closed: what its filter does, and when the group reopens.

The one rule for live calls (ivr/calls/menu_turns.py) and the editor's trial call
(ivr/calls/trial_call.py), so that a trial call says what a live call does.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.hours import next_opening
from routing.model import Rules, WaitingCall
from routing.router import place

NO_OPENING_CALL_BACK = 12 * 3600.0  # seconds: when a closed group shows no opening, call back this much later

VOICEMAIL = "voicemail"  # the caller leaves a message and is called back when the group opens
AFTER_HOURS_STEP = "step"  # the filter's after-hours step routes the call (e.g. to another group)
QUEUED = "queued"  # the filter says nothing for the night: the caller waits in the queue as usual


@dataclass(frozen=True)
class Closed:
    """The caller's group is closed now: what happens to the call, and when the group opens again."""

    action: str  # VOICEMAIL, AFTER_HOURS_STEP or QUEUED
    opens_at: float | None  # POSIX seconds of the next opening; None when the calendar shows none
    call_back_at: float  # when an owed call-back falls due: the opening, or NO_OPENING_CALL_BACK from now


def closed_now(
    rules: Rules, *, intent: str, language: str, priority: int, emergency: bool, now: float
) -> Closed | None:
    """What the rules do with a caller queued now for `intent`: None when their group is open.

    Safety is 24 hours: an emergency is never closed. Rules no filter of which admits the call (validation
    keeps a catch-all last) count as open: the caller is queued and a person answers."""
    if emergency:
        return None
    call = WaitingCall(id="new", intent=intent, language=language, waiting_since=now, priority=priority)
    try:
        placement = place(rules, call, now)
    except LookupError:
        return None
    if placement.open:
        return None
    after_hours = placement.after_hours
    if after_hours is None:
        action = QUEUED
    else:
        action = VOICEMAIL if after_hours.action == "voicemail" else AFTER_HOURS_STEP
    # The filter's first step names the group whose hours the caller is promised a call-back in.
    steps = next(f.steps for f in rules.filters if f.name == placement.filter)
    calendar = rules.calendars.get(steps[0].group or "")
    opens_at = next_opening(calendar, now) if calendar else None
    return Closed(action, opens_at, opens_at if opens_at is not None else now + NO_OPENING_CALL_BACK)
