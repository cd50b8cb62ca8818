"""After a call the agent wraps up as the group the call came from does (a safety call: 30 s)."""

from __future__ import annotations

from ivr.db.models import utcnow
from ivr.services.dispatch import dispatch
from tests.e2e.test_routing import agent, agents_available, floor, waiting_caller

__all__ = ["floor"]  # the fixture, used by name


def wrap_up_seconds(hotline, name: str) -> float:  # type: ignore[no-untyped-def]
    chosen = agent(hotline, name)
    assert chosen.state == "wrap_up"
    return (chosen.wrap_up_until - utcnow()).total_seconds()


def test_after_a_safety_call_the_agent_wraps_up_as_the_safety_group_does(floor, hotline):
    # 吴刚's first group is general (60 s wrap-up); the call came through the safety desk (30 s).
    agents_available(hotline, "吴刚")
    call = waiting_caller(floor, "2", caller="+8613800000004")
    assert [o.agent_id for o in dispatch(hotline)] == [agent(hotline, "吴刚").id]
    result = call.run()
    assert result.dialled in (["agent-wugang"], ["client:agent-wugang"]), result.dialled
    assert 20 < wrap_up_seconds(hotline, "吴刚") <= 30


def test_after_a_billing_call_the_agent_wraps_up_as_billing_does(floor, hotline):
    agents_available(hotline, "Emily Wu")
    call = waiting_caller(floor, "1", "0")
    assert len(dispatch(hotline)) == 1
    call.run()
    assert 50 < wrap_up_seconds(hotline, "Emily Wu") <= 60
