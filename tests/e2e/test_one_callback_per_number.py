"""A number owed a call-back is owed one: later requests (after hours, a confirmed offer, a storm message)
join it, the owed call-back keeps the earliest place, and the dispatcher offers it to one agent."""

from __future__ import annotations

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from ivr.db.models import Agent, QueueEntry, utcnow
from ivr.events.kinds import CallQueued
from ivr.jobs.tasks import dispatch
from ivr.queueing import queue_entries, storm
from ivr.telephony.sim_telephony import SimulatorTelephony
from tests.e2e.conftest import Phone
from tests.e2e.test_routing import datetime_of

NUMBER = "+8613800000042"


def _entries(hotline) -> list[QueueEntry]:  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        return list(session.scalars(select(QueueEntry).order_by(QueueEntry.id)))


def _billing_closed(hotline):  # type: ignore[no-untyped-def]
    from ivr.configuration.rules.store import RulesCache, publish_rules
    from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file

    document = load_rules_file(DEFAULT_RULES_FILE)
    today = utcnow().replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Asia/Shanghai")).date()
    document["groups"]["billing"]["holidays"] = [str(today), str(today + timedelta(days=1))]
    with hotline.sessions() as session, session.begin():
        publish_rules(session, document, note="tests: billing closed today and tomorrow")
    hotline.rules = RulesCache(hotline.sessions)
    return datetime_of(today + timedelta(days=2), 8)


def test_three_after_hours_calls_from_one_number_owe_one_call_back_offered_once(app, hotline):
    reopening = _billing_closed(hotline)
    phone = Phone(app)
    hotline.telephony = SimulatorTelephony(phone.simulator)
    sids = []
    for _ in range(3):
        result = phone.call("1", "0", "record:5", caller=NUMBER)
        assert "您的留言已收到" in result.spoken() and not result.errors
        sids.append(result.call_sid)
    entries = _entries(hotline)
    assert [(e.call_sid, e.status) for e in entries] == [
        (sids[0], "callback"),
        (sids[1], "joined"),
        (sids[2], "joined"),
    ]
    owed = entries[0]
    assert [e.joined_entry_id for e in entries[1:]] == [owed.id, owed.id]
    assert owed.waiting_since == min(e.waiting_since for e in entries), "the earliest place is kept"

    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="available"))  # every agent free at opening
    offers = dispatch(hotline, reopening + timedelta(minutes=1))
    assert [(o.entry_id, o.callback_number) for o in offers] == [(owed.id, NUMBER)], "one agent, one call"
    assert len(phone.simulator.pending_calls()) == 1
    assert dispatch(hotline, reopening + timedelta(minutes=2)) == []


def _waiting(hotline, call_sid, since, number=NUMBER):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session, session.begin():
        entry = QueueEntry(
            call_sid=call_sid, queue="general", intent="agent", language="zh-CN", caller=number
        )
        entry.waiting_since = since
        session.add(entry)
        session.flush()
        return entry.id


def test_a_confirmed_offer_or_a_storm_message_joins_the_owed_call_back_keeping_the_earlier_place(hotline):
    now = utcnow()
    first = _waiting(hotline, "CA" + "1" * 32, now - timedelta(minutes=3))
    second = _waiting(hotline, "CA" + "2" * 32, now - timedelta(minutes=9))  # had waited longer
    third = _waiting(hotline, "CA" + "3" * 32, now - timedelta(minutes=1))
    with hotline.sessions() as session, session.begin():
        assert queue_entries.book_callback(session, first, NUMBER) == "booked"
    with hotline.sessions() as session, session.begin():
        assert queue_entries.book_callback(session, second, NUMBER) == "joined"
    with hotline.sessions() as session, session.begin():
        assert storm.book_message(session, third, "CA" + "3" * 32, NUMBER, now) is True
        assert storm.message_owed(session, "CA" + "3" * 32), "the joined caller still leaves their message"
    with hotline.sessions() as session, session.begin():
        assert storm.message_left(session, "CA" + "3" * 32, now) == "general"
    owed, joined, stormed = _entries(hotline)
    assert (owed.status, owed.callback_number) == ("callback", NUMBER)
    assert owed.waiting_since == now - timedelta(minutes=9), "the earlier place of the two"
    assert (joined.status, joined.joined_entry_id, stormed.status, stormed.joined_entry_id) == (
        "joined",
        owed.id,
        "joined",
        owed.id,
    )
    # Settled (placed and answered), the number may ask again and is owed a new one.
    with hotline.sessions() as session, session.begin():
        session.execute(update(QueueEntry).where(QueueEntry.id == owed.id).values(status="done"))
    fourth = _waiting(hotline, "CA" + "4" * 32, now)
    with hotline.sessions() as session, session.begin():
        assert queue_entries.book_callback(session, fourth, NUMBER) == "booked"


def test_a_safety_caller_is_never_turned_into_a_call_back(hotline):
    entry_id = _waiting(hotline, "CA" + "5" * 32, utcnow())
    with hotline.sessions() as session, session.begin():
        session.execute(update(QueueEntry).where(QueueEntry.id == entry_id).values(emergency=True))
    with hotline.sessions() as session, session.begin():
        assert queue_entries.book_callback(session, entry_id, NUMBER) == ""
    assert _entries(hotline)[0].status == "waiting"


def _race(first, second) -> list[object]:  # type: ignore[no-untyped-def]
    """`first` writes and holds its transaction open while `second` starts (and must wait for it)."""
    results: dict[str, object] = {}
    wrote, hold = threading.Event(), threading.Event()
    a = threading.Thread(target=lambda: results.update(first=first(wrote, hold)))
    a.start()
    assert wrote.wait(5)
    b = threading.Thread(target=lambda: results.update(second=second()))
    b.start()
    b.join(0.5)
    assert b.is_alive(), "the second request waits for the first's transaction"
    hold.set()
    a.join(10)
    b.join(10)
    return [results.get("first"), results.get("second")]


def test_two_confirmations_of_one_number_racing_give_one_owed_call_back(hotline):
    now = utcnow()
    first = _waiting(hotline, "CA" + "6" * 32, now - timedelta(minutes=2))
    second = _waiting(hotline, "CA" + "7" * 32, now - timedelta(minutes=5))

    def book_and_hold(wrote: threading.Event, hold: threading.Event) -> str:
        with hotline.sessions() as session, session.begin():
            booked = queue_entries.book_callback(session, first, NUMBER)
            wrote.set()
            hold.wait(5)
            return booked

    def book() -> str:
        with hotline.sessions() as session, session.begin():
            return queue_entries.book_callback(session, second, NUMBER)

    assert _race(book_and_hold, book) == ["booked", "joined"]
    owed, joined = _entries(hotline)
    assert (owed.status, joined.status, joined.joined_entry_id) == ("callback", "joined", owed.id)
    assert owed.waiting_since == now - timedelta(minutes=5)


def test_two_after_hours_requests_of_one_number_racing_give_one_owed_call_back(hotline):
    now = utcnow()
    request = CallQueued(queue="billing", from_=NUMBER, callback_after=(now + timedelta(hours=9)).isoformat())

    def enqueue_and_hold(wrote: threading.Event, hold: threading.Event) -> None:
        with hotline.engine.begin() as connection:
            queue_entries.enqueue(connection, "CA" + "8" * 32, request, now - timedelta(seconds=30))
            wrote.set()
            hold.wait(5)

    def enqueue() -> None:
        with hotline.engine.begin() as connection:
            queue_entries.enqueue(connection, "CA" + "9" * 32, request, now)

    _race(enqueue_and_hold, enqueue)
    owed, joined = _entries(hotline)
    assert (owed.call_sid, owed.status) == ("CA" + "8" * 32, "callback")
    assert (joined.status, joined.joined_entry_id, joined.callback_number) == ("joined", owed.id, NUMBER)
