"""The roster end to end: an agent added now takes the next call (the dispatcher reads agents from the
database), an agent taken out of service is never offered one, and the agent's own wrap-up wins."""

from __future__ import annotations

from sqlalchemy import select, update

from ivr.db.models import Agent, QueueEntry
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import dispatch
from ivr.queueing.agent_roster import add_agent, deactivate_agent
from ivr.queueing.agent_states import request_state
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from tests.e2e.conftest import HOTLINE_NUMBER, Phone

LIHUA = {
    "name": "李华",
    "client_identity": "agent-lihua",
    "phone": "+8613700000011",
    "groups": ["billing"],
    "skills": {"billing": 5},
    "languages": ["zh-CN"],
    "wrap_up_seconds": 7,
}


def floor_with_everyone_offline(app, hotline):
    phone = Phone(app)
    hotline.telephony = SimulatorTelephony(phone.simulator)
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="offline"))
    return phone


def waiting_billing_caller(phone):
    # 1: billing, 0: a person (the default menu); the caller holds until an agent is found.
    call = phone.simulator.start_call(
        "+8613800000001", HOTLINE_NUMBER, ScriptedCaller(["1", "0"], max_queue_loops=50)
    )
    assert call.run_until_waiting(), "the caller should be holding in a queue"
    return call


def agent_named(hotline, name):
    with hotline.sessions() as session:
        return session.scalar(select(Agent).where(Agent.name == name))


def test_an_agent_added_now_receives_the_next_call_and_wraps_up_for_their_own_time(app, hotline):
    phone = floor_with_everyone_offline(app, hotline)
    call = waiting_billing_caller(phone)
    assert dispatch(hotline) == []  # nobody to take it yet
    with unit_of_work(hotline.sessions) as session:
        lihua = add_agent(session, values=LIHUA, rules=hotline.rules.live(), by="admin")
    with unit_of_work(hotline.sessions) as session:
        request_state(session, session.get(Agent, lihua.id), "available", by="lihua")
    [offer] = dispatch(hotline)
    assert offer.agent_id == lihua.id and offer.call_sid == call.sid
    result = call.run()
    assert not result.errors, result.errors
    assert result.dialled in (["agent-lihua"], ["client:agent-lihua"])
    after = agent_named(hotline, "李华")
    assert after.state == "wrap_up"
    # The billing group's wrap-up is 60 s; the agent's own 7 s wins.
    assert (after.wrap_up_until - after.state_since).total_seconds() == 7


def test_an_agent_taken_out_of_service_is_never_offered_the_waiting_caller(app, hotline):
    phone = floor_with_everyone_offline(app, hotline)
    chen = agent_named(hotline, "陈静")
    with unit_of_work(hotline.sessions) as session:
        request_state(session, session.get(Agent, chen.id), "available", by="chen")
        deactivate_agent(session, agent_id=chen.id, by="admin")
    call = waiting_billing_caller(phone)
    assert dispatch(hotline) == []
    with hotline.sessions() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call.sid))
    assert entry.status == "waiting" and agent_named(hotline, "陈静").state == "offline"
