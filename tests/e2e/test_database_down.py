"""The database stops in the middle of simulated calls: every caller hears valid TwiML, no event is lost."""

from __future__ import annotations

from sqlalchemy import select

from ivr.app import create_app
from ivr.db.models import Call, CallEvent, WorkOrder
from ivr.events.store import call_inputs
from ivr.telephony.callers import ScriptedCaller
from tests.e2e.conftest import HOTLINE_NUMBER, Phone
from tests.helpers import count


class CallerWithHooks(ScriptedCaller):
    """A scripted caller that runs a hook before its n-th input (to stop the database mid-call)."""

    def __init__(self, script, hooks):  # type: ignore[no-untyped-def]
        super().__init__(script, max_queue_loops=1)
        self.hooks, self.given = hooks, 0

    def gather(self, prompt):  # type: ignore[no-untyped-def]
        self.given += 1
        if self.given in self.hooks:
            self.hooks[self.given]()
        return super().gather(prompt)


def test_calls_in_flight_when_the_database_stops_lose_nothing(outage_hotline):
    hotline, outage = outage_hotline
    phone = Phone(create_app(hotline=hotline))
    sim = phone.simulator
    results = [
        sim.place_call("+8613800000001", HOTLINE_NUMBER, ScriptedCaller(["1", "1", "0"], max_queue_loops=1)),
        # stops the database after its first key: the rest of this call and the next ones run without it
        sim.place_call(
            "+8613800000002", HOTLINE_NUMBER, CallerWithHooks(["1", "2", "1", "0"], {2: outage.stop})
        ),
        sim.place_call(
            "+8613800000004", HOTLINE_NUMBER, ScriptedCaller(["speech:煤气泄漏"], max_queue_loops=1)
        ),
        sim.place_call("+8613800000005", HOTLINE_NUMBER, ScriptedCaller(["3", "2", "1000001#", "0"])),
        sim.place_call(
            "+8613800000003", HOTLINE_NUMBER, ScriptedCaller(["7", "silence", "9"], max_queue_loops=1)
        ),
        # the database comes back while this caller is in the menu
        sim.place_call("+8613800000001", HOTLINE_NUMBER, CallerWithHooks(["4", "1"], {2: outage.start})),
    ]
    assert [r.errors for r in results] == [[]] * 6, "every document was valid TwiML"
    assert results[2].final_queue == "safety" and "阀门" in results[2].spoken()
    assert results[3].final_queue == "general", "a lookup without the database goes to a person"
    assert "系统暂时出现故障" in results[3].spoken()

    spooled = len(hotline.spool.pending())
    assert spooled > 10
    assert hotline.spool.replay(hotline.sessions) == spooled

    with hotline.sessions() as session:
        calls = {c.call_sid: c for c in session.scalars(select(Call))}
        assert set(calls) == {r.call_sid for r in results}
        assert all(call.status == "completed" for call in calls.values())
        assert count(session, CallEvent, CallEvent.replayed.is_(True)) == spooled
        rescued = calls[results[3].call_sid]
        inputs = call_inputs(session, rescued.call_sid)
        assert [entry.get("digits") for entry in inputs][:3] == ["3", "2", "1000001"]
        assert inputs[2]["reason"] == "rescued"
        leak = calls[results[2].call_sid]
        assert leak.emergency and leak.intent == "safety"
        order = session.scalar(select(WorkOrder).where(WorkOrder.call_sid == leak.call_sid))
        assert order.kind == "gas_leak" and order.caller_number == "+8613800000004"
        for result in results:
            distinct = {(r.url, tuple(sorted(r.params.items()))) for r in result.requests}
            written = count(
                session, CallEvent, CallEvent.call_sid == result.call_sid, CallEvent.kind != "call.queued"
            )
            assert written == len(distinct), f"{result.call_sid}: one event per webhook, none lost"
