"""The dispatcher: the router pairs waiting callers with free agents; this claims and connects them.

A pairing is claimed in the database with conditional updates (entry waiting -> offered, agent
available -> ringing): two workers never give one agent two callers or one caller two agents. On
PostgreSQL the candidates are also locked with FOR UPDATE SKIP LOCKED, so concurrent dispatchers work
on disjoint rows instead of waiting on each other.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.db.models import Agent, AgentStateChange, QueueEntry, RoutingDecision, utcnow
from ivr.queueing.placed_calls import CLOCK_SKEW, known_call_sids
from ivr.telephony.base import Telephony, TelephonyError
from routing import model
from routing.router import pair

log = logging.getLogger(__name__)
_sqlite_lock = (
    threading.Lock()
)  # SQLite has one writer at a time anyway; queue in-process, not on busy errors


@dataclass(frozen=True)
class Offer:
    """A claimed pairing, to be connected through the telephony adapter."""

    entry_id: int
    call_sid: str
    agent_id: int
    language: str
    callback_number: str | None


def epoch(moment: datetime) -> float:
    """Naive-UTC datetime -> POSIX seconds (the router's clock)."""
    return moment.replace(tzinfo=UTC).timestamp()


def dispatch(
    now: datetime | None = None,
    *,
    sessions: sessionmaker[Session],
    telephony: Telephony | None,
    rules: model.Rules,
    settings: Settings,
) -> list[Offer]:
    """Pair, claim and connect; returns the offers made. Safe to run from several processes at once."""
    if telephony is None:
        return []  # nothing could connect a caller: claiming would only take agents away
    offers = claim_pairings(now or utcnow(), sessions=sessions, rules=rules)
    for offer in offers:
        _connect(offer, sessions=sessions, telephony=telephony, settings=settings)
    return offers


def claim_pairings(
    now: datetime, *, sessions: sessionmaker[Session], rules: model.Rules, limit: int | None = None
) -> list[Offer]:
    """Ask the router for pairings and claim (at most `limit` of) them in one transaction."""
    with sessions() as probe:
        sqlite = probe.get_bind().dialect.name == "sqlite"  # no connection is opened to ask
    if sqlite:
        with _sqlite_lock:
            return _claim(now, limit, sessions=sessions, rules=rules)
    return _claim(now, limit, sessions=sessions, rules=rules)


WINDOW = 500  # the most urgent waiting callers one pass considers (and locks, on PostgreSQL)
CALL_NOT_FOUND, CALL_NOT_IN_PROGRESS = 20404, 21220  # Twilio error codes: the caller has gone


def _claim(
    now: datetime, limit: int | None, *, sessions: sessionmaker[Session], rules: model.Rules
) -> list[Offer]:
    with sessions() as session, session.begin():
        entries = _waiting_entries(session, now)
        if not entries:
            return []
        agents = _available_agents(session)
        if not agents:
            return []
        calls = [routing_call(entry) for entry in entries]
        pairings = pair(rules, calls, [routing_agent(agent) for agent in agents], epoch(now))
        by_id = {str(entry.id): entry for entry in entries}
        offers = []
        records: list[RoutingDecision | AgentStateChange] = []
        # Claim agents in id order: concurrent dispatchers then never wait on each other in a cycle.
        # The records are written together at the end (one batch, not a flush per claim).
        with session.no_autoflush:
            for pairing in sorted(pairings[:limit], key=lambda p: p.agent_id):
                entry = by_id[pairing.call_id]
                claimed = _claim_pair(session, entry, pairing.agent_id, now)
                records.append(
                    _decision(rules.version, entry, pairing, "claimed" if claimed else "lost-race", now)
                )
                if claimed:
                    records.append(
                        AgentStateChange(
                            agent_id=pairing.agent_id,
                            state="ringing",
                            previous="available",
                            at=now,
                            call_sid=entry.call_sid,
                        )
                    )
                    offers.append(
                        Offer(
                            entry.id, entry.call_sid, pairing.agent_id, entry.language, entry.callback_number
                        )
                    )
        session.add_all(records)
        return offers


def _waiting_entries(session: Session, now: datetime) -> list[QueueEntry]:
    # Locked with SKIP LOCKED: a second dispatcher takes the next callers instead of waiting for these.
    query = (
        select(QueueEntry)
        .where(QueueEntry.status.in_(("waiting", "callback")))
        .where((QueueEntry.callback_after.is_(None)) | (QueueEntry.callback_after <= now))
        .order_by(QueueEntry.emergency.desc(), QueueEntry.priority.desc(), QueueEntry.waiting_since)
        .limit(WINDOW)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def _available_agents(session: Session) -> list[Agent]:
    # SKIP LOCKED: while one dispatcher holds the free agents, another finds none and returns at once,
    # rather than choosing the same agents and losing the races (the conditional update still decides).
    # Out-of-service agents are never offered a call, whatever their row says (ivr/queueing/agent_roster.py).
    query = (
        select(Agent)
        .where(Agent.state == "available", Agent.active.is_(True))
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


_ENTRIES: Table = QueueEntry.__table__  # type: ignore[assignment]
_AGENTS: Table = Agent.__table__  # type: ignore[assignment]


def _claim_pair(session: Session, entry: QueueEntry, agent_id: int, now: datetime) -> bool:
    """Entry first, then agent; if the agent is gone, the entry goes back as it was.

    Plain statements on the session's connection: the ORM's bulk-update bookkeeping cost more than the SQL.
    """
    connection = session.connection()
    entries, agents = _ENTRIES.c, _AGENTS.c
    taken = connection.execute(
        update(_ENTRIES)
        .where(entries.id == entry.id, entries.status == entry.status)
        .values(status="offered", agent_id=agent_id, claimed_at=now, attempts=entries.attempts + 1)
    ).rowcount
    if not taken:
        return False
    agent_taken = connection.execute(
        update(_AGENTS)
        .where(agents.id == agent_id, agents.state == "available", agents.active.is_(True))
        .values(state="ringing", state_reason="", state_since=now, call_sid=entry.call_sid)
    ).rowcount
    if not agent_taken:
        connection.execute(
            update(_ENTRIES)
            .where(entries.id == entry.id)
            .values(status=entry.status, agent_id=None, claimed_at=None, attempts=entries.attempts - 1)
        )
        return False
    return True


def _decision(
    version: int, entry: QueueEntry, pairing: model.Pairing, outcome: str, now: datetime
) -> RoutingDecision:
    inputs: dict[str, Any] = {
        "call": {
            "call_sid": entry.call_sid,
            "queue": entry.queue,
            "intent": entry.intent,
            "language": entry.language,
            "priority": entry.priority,
            "emergency": entry.emergency,
            "customer_class": entry.customer_class,
            "waited_seconds": round((now - entry.waiting_since).total_seconds(), 1),
            "callback": entry.status == "callback",
        },
        "candidates": [
            {
                "agent_id": c.agent_id,
                "proficiency": c.proficiency,
                "idle_seconds": round(epoch(now) - c.idle_since, 1),
            }
            for c in pairing.candidates
        ],
    }
    return RoutingDecision(
        call_sid=entry.call_sid,
        agent_id=pairing.agent_id,
        rules_version=version,
        filter=pairing.filter,
        step=pairing.step,
        reason=pairing.reason,
        inputs=inputs,
        outcome=outcome,
        at=now,
    )


def routing_call(entry: QueueEntry) -> model.WaitingCall:
    """The queue entry as the router sees a waiting call."""
    return model.WaitingCall(
        id=str(entry.id),
        intent=entry.intent,
        language=entry.language,
        waiting_since=epoch(entry.waiting_since),
        priority=entry.priority,
        emergency=entry.emergency,
        customer_class=entry.customer_class,
        callback=entry.status == "callback",
    )


def routing_agent(agent: Agent) -> model.Agent:
    """The agent row as the router sees an agent."""
    return model.Agent(
        id=agent.id,
        skills={str(k): int(v) for k, v in (agent.skills or {}).items()},
        languages=frozenset(agent.languages or ()),
        available=agent.state == "available",
        idle_since=epoch(agent.idle_since or agent.state_since),
        groups=frozenset(agent.groups or ()),
    )


# ---------------------------------------------------------------- connecting


def _connect(
    offer: Offer, *, sessions: sessionmaker[Session], telephony: Telephony | None, settings: Settings
) -> None:
    """Redirect the caller (or call the customer back) to TwiML that dials the agent."""
    base = settings.public_base_url or "http://127.0.0.1:5000"
    query = f"e={offer.entry_id}&a={offer.agent_id}&l={offer.language}"
    try:
        if telephony is None:
            raise TelephonyError("no telephony adapter configured")
        if offer.callback_number:
            sid = telephony.create_call(
                to=offer.callback_number,
                from_=settings.hotline_number,
                url=f"{base}/voice/callback-connect?{query}",
                status_callback=f"{base}/voice/callback-status?{query}",
            )
            with sessions() as session, session.begin():
                session.execute(
                    update(QueueEntry).where(QueueEntry.id == offer.entry_id).values(callback_call_sid=sid)
                )
        else:
            telephony.redirect_call(offer.call_sid, f"{base}/voice/connect?{query}")
    except TelephonyError as error:
        log.warning("could not connect %s to agent %s: %s", offer.call_sid, offer.agent_id, error)
        # Only Twilio's word that the call is over ends the caller's place; an outage keeps it.
        gone = "abandoned" if caller_gone(error) else "waiting"
        status = "callback" if offer.callback_number else gone
        reason = f"connect failed: {error}"
        release(offer.entry_id, offer.agent_id, sessions=sessions, entry_status=status, reason=reason)


def caller_gone(error: TelephonyError) -> bool:
    """Whether the provider said the call is over (unknown call, or not in progress)."""
    return error.status == 404 or error.code in (CALL_NOT_FOUND, CALL_NOT_IN_PROGRESS)


def release(
    entry_id: int, agent_id: int, *, sessions: sessionmaker[Session], entry_status: str, reason: str
) -> None:
    """Undo a claim: the agent is free again, the entry goes to `entry_status`."""
    now = utcnow()
    with sessions() as session, session.begin():
        session.execute(
            update(QueueEntry)
            .where(QueueEntry.id == entry_id, QueueEntry.status == "offered")
            .values(status=entry_status, agent_id=None, claimed_at=None)
        )
        agent = session.get(Agent, agent_id)
        if agent is not None and agent.state == "ringing":
            from ivr.queueing.agent_states import set_state

            set_state(session, agent, "available", reason=reason[:100], now=now)


def release_stale(
    now: datetime | None = None,
    *,
    sessions: sessionmaker[Session],
    telephony: Telephony | None,
    stale_claim_seconds: int,
) -> int:
    """A worker that died mid-pairing leaves nothing stuck: old claims go back to waiting / available."""
    now = now or utcnow()
    limit = now - timedelta(seconds=stale_claim_seconds)
    released = 0
    with sessions() as session:
        stale = session.scalars(
            select(QueueEntry).where(QueueEntry.status == "offered", QueueEntry.claimed_at < limit)
        ).all()
    for entry in stale:
        if entry.callback_number and _call_back_under_way(entry, now, sessions=sessions, telephony=telephony):
            continue  # still ringing the customer, or placed by a dispatcher that died: never placed twice
        back = "callback" if entry.callback_number else "waiting"
        reason = "stale claim released"
        release(entry.id, entry.agent_id or 0, sessions=sessions, entry_status=back, reason=reason)
        released += 1
    with sessions() as session, session.begin():
        # An agent an adopted call-back is about to dial stays reserved for it.
        held = select(QueueEntry.agent_id).where(
            QueueEntry.status == "offered", QueueEntry.claimed_at >= limit, QueueEntry.agent_id.is_not(None)
        )
        ringing = session.scalars(
            select(Agent).where(Agent.state == "ringing", Agent.state_since < limit, Agent.id.not_in(held))
        ).all()
        from ivr.queueing.agent_states import set_state

        for agent in ringing:
            set_state(session, agent, "available", reason="stale ringing released", now=now)
            released += 1
    return released


def _call_back_under_way(
    entry: QueueEntry, now: datetime, *, sessions: sessionmaker[Session], telephony: Telephony | None
) -> bool:
    """A stale call-back claim: ask Twilio's Calls list (to its number, since the claim) before releasing it.

    Its call still live (the one whose CallSid we kept, or, without one, a call we hold no CallSid for:
    its dispatcher died after Twilio accepted it, adopted now) keeps the claim, renewed: True. So does
    Twilio not answering (asked again at the next tidy-up). False: no such call, or it is over; the claim
    is released as before (docs/callbacks.md, "Restarts")."""
    number, claimed_at = entry.callback_number, entry.claimed_at
    if telephony is None or number is None or claimed_at is None:
        return False
    try:
        placed = telephony.calls_placed(to=number, since=claimed_at - CLOCK_SKEW)
    except TelephonyError as error:
        log.warning("call-back of %s: cannot ask Twilio whether it was placed: %s", entry.call_sid, error)
        return True
    with sessions() as session, session.begin():
        if entry.callback_call_sid:
            ours = [call for call in placed if call.sid == entry.callback_call_sid]
        else:
            known = known_call_sids(session, number)
            ours = [call for call in placed if call.sid not in known]
        if not ours:
            return False
        live = ours[0].live
        # Compare-and-set on claimed_at: of two processes settling this claim, only the first acts.
        kept = session.execute(
            update(QueueEntry)
            .where(QueueEntry.id == entry.id, QueueEntry.status == "offered")
            .where(QueueEntry.claimed_at == claimed_at)
            .values(callback_call_sid=ours[0].sid, claimed_at=now if live else claimed_at)
        ).rowcount  # type: ignore[attr-defined]
    if kept and not entry.callback_call_sid:
        log.warning("call-back of %s: adopted call %s, its dispatcher died", entry.call_sid, ours[0].sid)
    return bool(kept) and live


def end_wrap_ups(now: datetime | None = None, *, session: Session, needs_disposition: bool = True) -> int:
    """Agents whose wrap-up time is over are available again, once their last call has a disposition (one
    without stays in wrap-up: their page says why; a shift lead can free them). The caller commits."""
    now = now or utcnow()
    from ivr.queueing.agent_states import set_state
    from ivr.queueing.dispositions import disposition_missing

    over = session.scalars(select(Agent).where(Agent.state == "wrap_up", Agent.wrap_up_until <= now)).all()
    done = [agent for agent in over if not (needs_disposition and disposition_missing(session, agent))]
    for agent in done:
        set_state(session, agent, "available", reason="wrap-up over", now=now)
    return len(done)
