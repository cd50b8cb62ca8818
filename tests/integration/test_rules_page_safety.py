"""The rules page says how gas-leak callers are routed: the next free agent of any group, at once."""

from __future__ import annotations

from ivr.configuration.rules_view import rules_view
from tests.integration.test_console_editor import login, supervisor, users

__all__ = ["login", "supervisor", "users"]  # fixtures, used by name

AT_ONCE = "A waiting emergency takes the next free agent of any group at once"


def test_the_rules_page_says_the_safety_rule(supervisor):
    page = supervisor.client.get("/console/rules")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert AT_ONCE in text and "同时空闲的坐席中优先安全组" in text


def test_with_the_rule_off_the_page_says_the_delay(app):
    view = rules_view({"safety_any_agent_at_once": False, "safety_any_agent_after": 25}, [])
    with app.test_request_context():
        html = app.jinja_env.get_template("console/rules_tree.html").render(view=view, editable=False)
    assert "Emergencies go to any free agent after 25 s" in html and AT_ONCE not in html
    assert rules_view({}, []).safety_any_agent_at_once is True, "a document without the rule: on"
