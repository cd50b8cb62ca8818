"""Gas-leak callers and agents: the next free agent of any group at once; the safety wrap-up after."""

from __future__ import annotations

from sqlalchemy import select

from ivr.db.models import RoutingDecision, utcnow
from ivr.jobs.tasks import dispatch
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


def test_a_gas_leak_caller_takes_a_free_agent_without_the_safety_skill_at_once(floor, hotline):
    # General callers waited longer; a free agent without the safety skill becomes free: the leak goes first.
    billing = [waiting_caller(floor, "1", "0", caller=f"+861380000002{n}") for n in range(2)]
    leak = waiting_caller(floor, "2", caller="+8613800000004")
    agents_available(hotline, "Emily Wu")
    offers = dispatch(hotline)
    assert [(o.call_sid, o.agent_id) for o in offers] == [(leak.sid, agent(hotline, "Emily Wu").id)]
    with hotline.sessions() as session:
        decision = session.scalar(select(RoutingDecision).where(RoutingDecision.call_sid == leak.sid))
    assert decision.step == -1 and "at once" in decision.reason
    assert all(not call.ended for call in billing)
