"""The search page (/search): customers and work orders by phone, name, account or work-order number."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ivr.people.auth import role_required
from ivr.people.users import ROLES
from ivr.web.current_hotline import hotline
from ivr.work_orders.search import SearchRefused, SearchResult, search

bp = Blueprint("search", __name__, template_folder="templates")


@bp.get("/search")
@role_required(*ROLES)
def page() -> tuple[str, int] | str:
    """The form, and what ?q= found; 400 with the form and a message when the search cannot be run."""
    query = request.args.get("q")
    if query is None:
        return render_template("work_orders/search.html", query="", result=None, problem="")
    result: SearchResult | None = None
    try:
        with hotline().sessions() as session:
            result = search(session, query)
            # Read the orders' rows while the session is open; the template reads only loaded attributes.
            html = render_template("work_orders/search.html", query=query, result=result, problem="")
    except SearchRefused as refused:
        return render_template("work_orders/search.html", query=query, result=None, problem=str(refused)), 400
    return html
