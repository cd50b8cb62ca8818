"""Several workers claim pairings at once: no agent and no caller is ever paired twice."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from ivr.db.models import Agent, QueueEntry, RoutingDecision, utcnow
from ivr.jobs.tasks import claim_pairings

AGENTS, CALLERS, WORKERS = 12, 30, 4


def _floor(hotline):
    now = utcnow()
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="offline"))
        for i in range(AGENTS):
            session.add(
                Agent(
                    name=f"agent {i}",
                    client_identity=f"load-{i}",
                    skills={"general": 3},
                    languages=["zh-CN"],
                    groups=["general"],
                    state="available",
                    idle_since=now - timedelta(seconds=i),
                )
            )
        for i in range(CALLERS):
            session.add(
                QueueEntry(
                    call_sid=f"CA{i:032d}",
                    queue="general",
                    intent="agent",
                    language="zh-CN",
                    waiting_since=now - timedelta(seconds=200 - i),
                )
            )


def test_concurrent_dispatchers_never_pair_anyone_twice(hotline):
    _floor(hotline)
    offers, errors = [], []
    start = threading.Barrier(WORKERS)

    def worker():
        try:
            start.wait()
            for _ in range(5):
                offers.extend(claim_pairings(hotline, utcnow() + timedelta(seconds=120)))
        except Exception as error:  # surfaced below: a worker must not die
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    agents = [o.agent_id for o in offers]
    callers = [o.call_sid for o in offers]
    assert len(agents) == len(set(agents)) == AGENTS, "every agent once, and all of them used"
    assert len(callers) == len(set(callers))
    with hotline.sessions() as session:
        ringing = session.scalar(select(func.count()).select_from(Agent).where(Agent.state == "ringing"))
        offered = session.scalar(
            select(func.count()).select_from(QueueEntry).where(QueueEntry.status == "offered")
        )
        claimed = session.scalar(
            select(func.count()).select_from(RoutingDecision).where(RoutingDecision.outcome == "claimed")
        )
    assert ringing == offered == claimed == AGENTS
    # the longest-waiting callers were served first
    assert sorted(callers) == [f"CA{i:032d}" for i in range(AGENTS)]


def test_a_claim_left_behind_by_a_dead_worker_is_released(hotline):
    from ivr.jobs.tasks import release_stale

    _floor(hotline)
    offers = claim_pairings(hotline, utcnow(), limit=1)
    assert len(offers) == 1  # ... and the worker dies before connecting or hearing any outcome
    assert release_stale(hotline, utcnow() + timedelta(seconds=30)) == 0, "not stale yet"
    released = release_stale(hotline, utcnow() + timedelta(seconds=hotline.settings.stale_claim_seconds + 5))
    assert released >= 1
    with hotline.sessions() as session:
        agent = session.get(Agent, offers[0].agent_id)
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == offers[0].call_sid))
    assert agent.state == "available" and agent.call_sid is None
    assert entry.status == "waiting" and entry.agent_id is None
