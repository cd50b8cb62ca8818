"""The spool: events kept while the database is away, replayed in order, never blocked by a bad one."""

from __future__ import annotations

from sqlalchemy import select

from ivr.db.models import Call, CallEvent
from ivr.events.store import new_event
from tests.helpers import count, new_call_sid


def test_a_poison_event_is_set_aside_and_does_not_block_the_rest(hotline):
    sid = new_call_sid()
    base = {"from": "+8613800000001", "to": "+864008888888"}
    poison = new_event(sid, "call.queued", "k-poison", {**base, "reply_within_hours": "not a number"})
    good = new_event(sid, "call.status", "k-good", {**base, "status": "completed", "duration": "12"})
    hotline.spool.put([poison, good])
    (hotline.spool.directory / "0000-garbage.json").write_text("{not json", encoding="utf-8")

    assert hotline.spool.replay(hotline.sessions) == 1
    leftovers = sorted(p.suffix for p in hotline.spool.directory.iterdir())
    assert leftovers == [".bad", ".failed"], "kept for a human, not dropped, not retried forever"
    with hotline.sessions() as session:
        assert count(session, CallEvent) == 1
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        assert call.status == "completed" and call.duration_seconds == 12


def test_replaying_twice_writes_once(hotline):
    event = new_event(new_call_sid(), "call.started", "k-once", {"from": "+8613800000002", "menu_version": 1})
    hotline.spool.put([event])
    hotline.spool.put([event])  # the same event spooled twice (two workers, a retry)
    assert hotline.spool.replay(hotline.sessions) == 1
    with hotline.sessions() as session:
        assert count(session, CallEvent) == 1 and count(session, Call) == 1
        call = session.scalar(select(Call))
        assert call.customer_id is not None, "the caller's number matched a demo customer"


def test_an_event_claimed_by_a_dead_replayer_goes_back_in_line(hotline):
    event = new_event(
        new_call_sid(), "call.started", "k-orphan", {"from": "+8613800000003", "menu_version": 1}
    )
    hotline.spool.put([event])
    (spooled,) = hotline.spool.directory.glob("*.json")
    dead_pid = 2**22 + 12345  # above Linux's default pid_max: no such process
    spooled.rename(spooled.with_suffix(f".claimed-{dead_pid}"))
    assert hotline.spool.replay(hotline.sessions) == 1
    assert list(hotline.spool.directory.iterdir()) == []
