"""Demo calls for `make run`: the last days' calls, so that the pages have something to show on day one.

The calls are answered and recorded or abandoned, so that the boards, the history, the reports and the quality
review have something to show.

Each call is written as its webhooks would have written it (call events through the projection, which
makes the `calls`, `queue_entries` and `recordings` rows), plus the dispatcher's routing decision. Every
CallSid starts with `CAdemo` and every RecordingSid with `REdemo`, so demo calls are never mistaken for
real ones. A day's calls are written once: a day that has demo calls already is left as it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.db.demo import AGENTS
from ivr.db.models import (
    Agent,
    AgentStateChange,
    Call,
    Customer,
    MenuVersion,
    QueueEntry,
    RoutingDecision,
    RulesVersion,
    utcnow,
)
from ivr.events import kinds
from ivr.events.store import apply_event

CALL_PREFIX = "CAdemo"
RECORDING_PREFIX = "REdemo"
YESTERDAY_CALLS = 36  # enough that the 10 % audit sample of yesterday has several calls to review
OTHER_DAY_CALLS = (14, 24)  # a quieter spread on the days before
LEAST_DAYS = 7  # at least a week of history, even early in a month
DEMO_WRAP_UP_SECONDS = 30  # after each demo call, before the agent is available again


@dataclass(frozen=True)
class Route:
    """Where a kind of call goes through the default menu: keys pressed, the queue node reached."""

    intent: str
    queue: str
    keys: tuple[tuple[str, str, str], ...]  # (node, key, next node)
    priority: int
    weight: int
    emergency: bool = False
    complaint_class: str | None = None
    reply_within_hours: int | None = None


ROUTES = (
    Route("billing", "billing", (("main", "1", "billing"), ("billing", "0", "billing_queue")), 5, 30),
    Route("repair", "repair", (("main", "3", "repair"), ("repair", "0", "repair_queue")), 5, 24),
    Route("safety", "safety", (("main", "2", "emergency"),), 10, 9, emergency=True),
    Route(
        "complaint",
        "complaint",
        (("main", "4", "complaint"), ("complaint", "1", "complaint_service")),
        6,
        8,
        complaint_class="service",
        reply_within_hours=24,
    ),
    Route(
        "complaint",
        "complaint",
        (("main", "4", "complaint"), ("complaint", "2", "complaint_quality")),
        6,
        5,
        complaint_class="quality",
        reply_within_hours=4,
    ),
    Route("agent", "general", (("main", "0", "agent_queue"),), 4, 14),
)


def demo_days(today: date) -> list[date]:
    """The days given demo calls: this month before today, and at least the week before today."""
    first = min(today.replace(day=1), today - timedelta(days=LEAST_DAYS))
    return [first + timedelta(days=n) for n in range((today - first).days)]


def load_demo_calls(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Write the demo calls of every demo day that has none yet; returns how many calls were written."""
    identities = [identity for _, identity, *_ in AGENTS]
    demo_agents = select(Agent).where(Agent.client_identity.in_(identities), Agent.active.is_(True))
    agents = list(session.scalars(demo_agents.order_by(Agent.id)))
    if not agents:
        return 0
    zone = ZoneInfo(settings.local_timezone)
    now = now or utcnow()
    today = now.replace(tzinfo=UTC).astimezone(zone).date()
    menu_version = session.scalar(select(func.max(MenuVersion.version)))
    rules_version = session.scalar(select(func.max(RulesVersion.version)))
    context = _Context(
        settings=settings,
        zone=zone,
        agents=agents,
        customers=list(session.scalars(select(Customer.phone).order_by(Customer.id))),
        menu_version=menu_version,
        rules_version=rules_version or 1,
    )
    written = 0
    for day in demo_days(today):
        prefix = f"{CALL_PREFIX}{day:%Y%m%d}"
        if session.scalar(select(Call.id).where(Call.call_sid.like(f"{prefix}%")).limit(1)) is not None:
            continue
        count = YESTERDAY_CALLS if day == today - timedelta(days=1) else None
        written += _write_day(session, context, day, count)
    return written


@dataclass(frozen=True)
class _Context:
    settings: Settings
    zone: ZoneInfo
    agents: list[Agent]
    customers: list[str]
    menu_version: int | None
    rules_version: int


def _write_day(session: Session, context: _Context, day: date, count: int | None) -> int:
    rng = random.Random(f"demo-calls-{day.isoformat()}")  # the same day always gets the same calls
    count = count or rng.randint(*OTHER_DAY_CALLS)
    opening = datetime.combine(day, time(8, 0), tzinfo=context.zone)
    moments = sorted(rng.uniform(0, 12 * 3600) for _ in range(count))  # 08:00 to 20:00 local
    talks: list[_Talk] = []
    for number, offset in enumerate(moments, start=1):
        started = (opening + timedelta(seconds=offset)).astimezone(UTC).replace(tzinfo=None)
        if talk := _write_call(session, context, rng, f"{day:%Y%m%d}{number:020d}", started):
            talks.append(talk)
    closing = opening + timedelta(hours=12)
    _write_shifts(session, context.agents, talks, _naive_utc(opening), _naive_utc(closing))
    return count


@dataclass(frozen=True)
class _Talk:
    agent_id: int
    call_sid: str
    answered: datetime
    ended: datetime


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _write_shifts(
    session: Session, agents: list[Agent], talks: list[_Talk], opening: datetime, closing: datetime
) -> None:
    """Each agent's states of the day, as the floor's history reads them: available from opening, on a call
    and in wrap-up around each call they answered, offline at closing."""
    for agent in agents:
        changes: list[tuple[datetime, str, str, str | None]] = [(opening, "available", "offline", None)]
        free_from = opening
        for talk in sorted((t for t in talks if t.agent_id == agent.id), key=lambda t: t.answered):
            if talk.answered < free_from:
                continue  # the demo gave them two calls at once: keep the first
            wrapped = talk.ended + timedelta(seconds=DEMO_WRAP_UP_SECONDS)
            changes += [
                (talk.answered, "on_call", "available", talk.call_sid),
                (talk.ended, "wrap_up", "on_call", talk.call_sid),
                (wrapped, "available", "wrap_up", None),
            ]
            free_from = wrapped
        changes.append((max(closing, free_from), "offline", "available", None))
        for at, state, previous, call_sid in changes:
            session.add(
                AgentStateChange(
                    agent_id=agent.id, state=state, previous=previous, at=at, by="demo", call_sid=call_sid
                )
            )


def _write_call(
    session: Session, context: _Context, rng: random.Random, suffix: str, started: datetime
) -> _Talk | None:
    """One call: greeting, menu turns, queue, then answered by an agent and recorded, or abandoned."""
    call_sid = CALL_PREFIX + suffix
    route = rng.choices(ROUTES, weights=[r.weight for r in ROUTES])[0]
    english = rng.random() < 0.12
    language = "en-US" if english else "zh-CN"
    caller = rng.choice(context.customers) if context.customers and rng.random() < 0.4 else _stranger(rng)
    line = context.settings.hotline_number
    connection = session.connection()
    step = 0

    def write(event: kinds.Event, at: datetime) -> None:
        nonlocal step
        step += 1
        apply_event(connection, event.record(call_sid=call_sid, request_id=f"demo-{step}", at=at))

    at = started
    menu_version = context.menu_version
    write(kinds.CallStarted(from_=caller, to=line, menu_version=menu_version, visited=("main",)), at)
    visited = ["main"]  # the path so far; each event holds the nodes its own turn reached
    if english:
        at += timedelta(seconds=rng.uniform(4, 8))
        visited.append("main")
        choice = kinds.MenuTurn(from_=caller, to=line, node="main", step=1, digits="9", reason="key")
        write(replace(choice, visited=("main",), language=language), at)
    for node, key, target in route.keys:
        at += timedelta(seconds=rng.uniform(5, 14))
        visited.append(target)
        turn = kinds.MenuTurn(
            from_=caller,
            to=line,
            node=node,
            step=len(visited) - 1,
            digits=key,
            reason="key",
            visited=(target,),
            language=language,
            intent=route.intent,
            menu_version=context.menu_version,
        )
        write(turn, at)
    at += timedelta(seconds=rng.uniform(3, 12))  # the node's prompts (the safety advice is longer)
    queued = kinds.CallQueued(
        from_=caller,
        to=line,
        queue=route.queue,
        intent=route.intent,
        priority=route.priority,
        emergency=route.emergency,
        complaint_class=route.complaint_class,
        reply_within_hours=route.reply_within_hours,
        node=visited[-1],
        language=language,
    )
    write(queued, at)
    queued_at = at
    # A centre near its target: most callers answered within 20 s, a tail waits minutes.
    quick = route.emergency or rng.random() < 0.75
    wait = round(rng.uniform(3, 20) if quick else rng.triangular(20, 300, 50))
    agent = _agent_for(context.agents, route.queue, language, rng)
    abandoned = agent is None or (not route.emergency and rng.random() < min(0.5, wait / 900))
    at = queued_at + timedelta(seconds=wait)
    if abandoned or agent is None:
        gave_up = kinds.QueueLeft(from_=caller, to=line, queue=route.queue, result="hangup")
        write(replace(gave_up, queue_time=str(wait)), at)
        total = round((at - started).total_seconds())
        write(kinds.CallStatus(from_=caller, to=line, status="completed", duration=str(total)), at)
        return None
    session.add(_decision(context, call_sid, route, language, agent, queued_at, wait))
    write(kinds.AgentOffered(from_=caller, to=line, agent_id=agent.id), at)
    left = kinds.QueueLeft(from_=caller, to=line, queue=route.queue, result="bridged", queue_time=str(wait))
    write(replace(left, emergency=route.emergency), at)
    answered = at + timedelta(seconds=rng.uniform(3, 9))  # the agent's phone rings
    talk = round(rng.triangular(45, 600, 150))
    ended = answered + timedelta(seconds=talk)
    result = kinds.AgentResult(from_=caller, to=line, status="completed", agent_id=agent.id)
    write(replace(result, duration=str(talk)), ended)
    session.execute(
        update(QueueEntry)
        .where(QueueEntry.call_sid == call_sid)
        .values(status="done", agent_id=agent.id, claimed_at=queued_at + timedelta(seconds=wait), attempts=1)
        .values(ended_at=ended)
        .execution_options(synchronize_session=False)
    )
    recording = kinds.RecordingReported(
        from_=caller,
        to=line,
        recording_sid=RECORDING_PREFIX + suffix,
        recording_url="",
        recording_duration=str(talk),
        recording_status="completed",
        recording_channels="2",
        agent_id=str(agent.id),
    )
    total = round((ended - started).total_seconds())
    write(kinds.CallStatus(from_=caller, to=line, status="completed", duration=str(total)), ended)
    write(recording, ended + timedelta(seconds=rng.uniform(2, 20)))  # Twilio's callback comes after
    return _Talk(agent.id, call_sid, answered, ended)


def _stranger(rng: random.Random) -> str:
    return f"+86139{rng.randrange(10**8):08d}"


def _agent_for(agents: list[Agent], queue: str, language: str, rng: random.Random) -> Agent | None:
    """An agent in the queue's group, speaking the caller's language if one does."""
    group = [a for a in agents if queue in (a.groups or []) or queue in (a.skills or {})]
    speaking = [a for a in group if language in (a.languages or [])]
    choice = speaking or group
    return rng.choice(choice) if choice else None


def _decision(
    context: _Context,
    call_sid: str,
    route: Route,
    language: str,
    agent: Agent,
    queued_at: datetime,
    wait: int,
) -> RoutingDecision:
    """The dispatcher's record of why this agent took the call, as dispatch writes it."""
    at = queued_at + timedelta(seconds=wait)
    skill = (agent.skills or {}).get(route.queue) or (agent.skills or {}).get("general") or 3
    inputs = {
        "call": {
            "call_sid": call_sid,
            "queue": route.queue,
            "intent": route.intent,
            "language": language,
            "priority": route.priority,
            "emergency": route.emergency,
            "customer_class": None,
            "waited_seconds": float(wait),
            "callback": False,
        },
        "candidates": [{"agent_id": agent.id, "proficiency": skill, "idle_seconds": 60.0}],
    }
    return RoutingDecision(
        call_sid=call_sid,
        agent_id=agent.id,
        rules_version=context.rules_version,
        filter="emergency" if route.emergency else route.queue,
        step=0,
        reason=f"demo: the longest idle agent of group {route.queue}",
        inputs=inputs,
        outcome="claimed",
        at=at,
    )
