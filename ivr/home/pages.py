"""The home page of each role: the agent's open items, the review queue, the floor, the centre's figures."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from ivr.db.models import utcnow
from ivr.home.figures import agent_items, centre_figures, floor_at_a_glance, review_queue
from ivr.people.auth import person, role_required
from ivr.people.users import ROLES
from ivr.queueing.floor_pages import QUEUE_LABELS
from ivr.web.current_hotline import hotline
from ivr.web.navigation import may_open

bp = Blueprint("home", __name__, template_folder="templates")


@bp.get("/home")
@role_required(*ROLES)
def page() -> str:
    """What needs doing for the signed-in user's role, with the figures read now from the database."""
    who = person()
    h = hotline()
    now = utcnow()
    timezone = h.settings.local_timezone
    shown: dict[str, Any] = {}
    with h.sessions() as session, session.begin():
        if who.role == "agent" and who.agent_id is not None:
            shown["mine"] = agent_items(
                session, agent_id=who.agent_id, user_id=who.id, now=now, timezone=timezone
            )
        if who.role in ("quality", "supervisor", "admin"):
            shown["reviews"] = review_queue(session, reviewer_id=who.id, now=now)
        if who.role in ("shift_lead", "supervisor", "admin"):
            shown["floor"] = floor_at_a_glance(session, rules=h.rules.live(), timezone=timezone, now=now)
        if who.role in ("supervisor", "admin"):
            # Events written to the spool while the database was away, not yet replayed into it.
            waiting = sum(1 for _ in h.spool.directory.glob("*.json")) if h.spool.has_pending() else 0
            shown["centre"] = centre_figures(session, shown["floor"], now=now, spool_waiting=waiting)
    views = current_app.view_functions
    return render_template(
        "home/home.html",
        QUEUE_LABELS=QUEUE_LABELS,
        can=lambda endpoint: may_open(who.role, endpoint, views),  # a link only where the role may go
        **shown,
    )
