"""The floor: the live board's figures, history by day or hour, staffing inputs, the shift lead's moves.

Answering figures (service level, abandonment, time to answer) are the monthly quality report's, computed by
its own code (ivr/quality/report.py) over other spans of time: a call counts in the local day or
hour it started in, and is "offered" and classified exactly as the report does. Times in the database are
naive UTC; days and hours are those of the hotline's time zone (settings.local_timezone).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ivr.configuration.change_log import log_change
from ivr.db.models import Agent, AgentStateChange, Call, QueueEntry
from ivr.quality.report import (
    CALLBACK,
    DUTY,
    OTHER,
    SERVICE_LEVEL_SECONDS,
    QueueFigures,
    _call_facts,  # the report's own reading of the events: the same definitions, not a copy of them
    _CallFacts,
    _queue_figures,
    _queue_result,
)
from ivr.queueing.agent_states import STATES, StateChangeRefused, request_state
from ivr.queueing.queue_entries import LIVE
from routing.hours import is_open
from routing.model import Rules

MAX_HISTORY_DAYS = 92
EMERGENCY_WINDOW = timedelta(hours=1)
STILL_OPEN_AT_MOST = timedelta(hours=6)  # no call waits or talks this long: its end was lost
HALF_HOUR = 1800
HALF_HOURS = 48
HISTORY_WEEKS = 4  # the staffing form's expected calls: the same weekday of the last 4 weeks
SHIFT_LEAD_STATES = ("available", "break", "offline")  # what a shift lead may put an agent in
ON_A_CALL = ("ringing", "on_call")
_ON_A_CALL_WORDS = {"ringing": ("振铃中", "ringing"), "on_call": ("通话中", "on a call")}


def local_now(now: datetime, timezone: str) -> datetime:
    """A naive-UTC instant as an aware local time."""
    return now.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))


def utc_of_local(moment: datetime, timezone: str) -> datetime:
    """A naive local wall time -> naive UTC."""
    return moment.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC).replace(tzinfo=None)


def _seconds_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max(0, int((now - moment).total_seconds()))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _long_read(session: Session) -> None:
    # A period is read in a few large scans: more than the 3 s a webhook's statement may take on PostgreSQL.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SET LOCAL statement_timeout = '120s'"))


# ---------------------------------------------------------------- answering figures of a set of calls


def answering(figures: QueueFigures, in_progress: int = 0) -> dict[str, Any]:
    """The report's queue figures as plain values (for the JSON, the pages and the CSV)."""
    waits = figures.waits
    return {
        "offered": figures.offered,
        "answered": figures.answered,
        "abandoned": figures.abandoned,
        "callback": figures.results[CALLBACK],
        "duty": figures.results[DUTY],
        "other": figures.results[OTHER],
        "answered_within": figures.answered_within,
        "service_level": figures.service_level,
        "abandonment": figures.abandonment_rate,
        "average_answer_seconds": figures.average_answer_seconds,
        "longest_answer_seconds": max(waits) if waits else None,
        "in_progress": in_progress,
    }


def _still_open(call: Call, fact: _CallFacts, now: datetime) -> bool:
    """Offered but not decided yet: no answer known and the call not over (waiting, or talking still).

    The report classifies finished calls; counting these now as "other" would lower today's service
    level for calls that may yet be answered in time. They join the figures once they are decided. A call
    with no end after STILL_OPEN_AT_MOST lost its last webhook: it counts as the report counts it.
    """
    if call.ended_at is not None or (call.queue is None and fact.queued_at is None):
        return False
    if call.started_at < now - STILL_OPEN_AT_MOST:
        return False
    if fact.after_hours and fact.live_answer is None:
        return False
    return _queue_result(call, fact)[0] == OTHER


def _split_open(calls: Iterable[Call], facts: dict[str, _CallFacts], now: datetime) -> tuple[list[Call], int]:
    decided, still_open = [], 0
    for call in calls:
        if _still_open(call, facts.get(call.call_sid, _CallFacts()), now):
            still_open += 1
        else:
            decided.append(call)
    return decided, still_open


def _calls_between(
    session: Session, start: datetime, end: datetime
) -> tuple[list[Call], dict[str, _CallFacts]]:
    between = (Call.started_at >= start) & (Call.started_at < end)
    calls = list(session.scalars(select(Call).where(between).order_by(Call.started_at, Call.id)))
    facts, _talks = _call_facts(session, select(Call.call_sid).where(between))
    return calls, facts


# ---------------------------------------------------------------- the live board


def queue_names(rules: Rules, *more: Iterable[str | None]) -> list[str]:
    """The queues to show: the routing rules' groups in their order, then any other queue seen."""
    names = list(rules.calendars)
    for values in more:
        for name in values:
            if name and name not in names:
                names.append(name)
    return names


def _where(call: Call, entry: QueueEntry | None, names: dict[int, str], now: datetime) -> dict[str, Any]:
    """Where an emergency caller is now, in words (Chinese / English) and as a kind."""

    def agent(agent_id: int | None) -> str:
        return names.get(agent_id or 0, f"#{agent_id}") if agent_id else "?"

    queue = entry.queue if entry else (call.queue or "safety")
    if call.ended_at is not None or (entry is not None and entry.status in ("done", "abandoned")):
        outcome = call.outcome or ""
        if (entry is not None and entry.status == "done") or outcome == "answered":
            name = agent(entry.agent_id if entry else None)
            how = f"坐席 {name} 已接听 / answered by agent {name}"
        elif outcome == "duty-engineer-answered":
            how = "值班工程师已接听 / answered by the duty engineer"
        elif outcome in ("abandoned", "redirected", "ended-in-menu"):
            how = "来电者挂断 / the caller hung up"
        else:
            how = outcome or "—"
        return {"kind": "ended", "seconds": None, "text": f"已结束 / ended: {how}"}
    if entry is None:
        return {"kind": "menu", "seconds": None, "text": "菜单中 / in the menu"}
    waited = _seconds_since(entry.waiting_since, now)
    if entry.status == "waiting":
        text = f"在 {queue} 队列等待 {waited} 秒 / waiting in the {queue} queue for {waited} s"
        return {"kind": "waiting", "seconds": waited, "text": text}
    if entry.status == "offered":
        name = agent(entry.agent_id)
        return {"kind": "ringing", "seconds": waited, "text": f"坐席 {name} 振铃中 / ringing agent {name}"}
    if entry.status == "connected":
        name = agent(entry.agent_id)
        return {"kind": "with_agent", "seconds": None, "text": f"与坐席 {name} 通话 / with agent {name}"}
    if entry.status == "duty":
        return {"kind": "duty", "seconds": None, "text": "已转值班工程师 / dialled the duty engineer"}
    if entry.status == "callback":
        return {"kind": "callback", "seconds": None, "text": "待回电 / call-back owed"}
    return {"kind": entry.status, "seconds": None, "text": entry.status}


def emergencies(
    session: Session, now: datetime, names: dict[int, str], timezone: str
) -> list[dict[str, Any]]:
    """Gas emergencies of the last hour, and any older one still on the line, newest first."""
    on_line = select(QueueEntry.call_sid).where(QueueEntry.emergency.is_(True), QueueEntry.status.in_(LIVE))
    calls = session.scalars(
        select(Call)
        .where(Call.emergency.is_(True))
        .where((Call.started_at >= now - EMERGENCY_WINDOW) | Call.call_sid.in_(on_line))
        .order_by(Call.started_at.desc(), Call.id.desc())
    ).all()
    sids = [call.call_sid for call in calls]
    entries = {
        e.call_sid: e for e in session.scalars(select(QueueEntry).where(QueueEntry.call_sid.in_(sids)))
    }
    rows = []
    for call in calls:
        entry = entries.get(call.call_sid)
        rows.append(
            {
                "call_sid": call.call_sid,
                "caller": call.from_number,
                "started_at": _iso(call.started_at),
                "started_local": local_now(call.started_at, timezone).strftime("%H:%M:%S"),
                "where": _where(call, entry, names, now),
            }
        )
    return rows


def _agent_row(agent: Agent, now: datetime) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "state": agent.state,
        "reason": agent.state_reason,
        "since": _iso(agent.state_since),
        "seconds": _seconds_since(agent.state_since, now),
        "groups": list(agent.groups or []),
        "call_sid": agent.call_sid,
    }


def live_board(session: Session, *, rules: Rules, timezone: str, now: datetime) -> dict[str, Any]:
    """Everything the live board shows, as plain values: queues, agents, today's answering, emergencies."""
    agents = list(session.scalars(select(Agent).order_by(Agent.name, Agent.id)))
    entries = list(session.scalars(select(QueueEntry).where(QueueEntry.status.in_((*LIVE, "callback")))))
    local = local_now(now, timezone)
    day_start = utc_of_local(datetime.combine(local.date(), time.min), timezone)
    calls, facts = _calls_between(session, day_start, now + timedelta(seconds=1))
    by_queue: dict[str | None, list[Call]] = defaultdict(list)
    for call in calls:
        by_queue[call.queue].append(call)

    queues = []
    for name in queue_names(rules, (e.queue for e in entries), by_queue):
        decided, still_open = _split_open(by_queue[name], facts, now)
        waiting = [e for e in entries if e.queue == name]
        staff = [a for a in agents if name in (a.groups or [])]
        queues.append(_queue_row(name, waiting, staff, decided, still_open, facts, now))
    decided, still_open = _split_open(calls, facts, now)
    total = _queue_row("all", entries, agents, decided, still_open, facts, now)
    return {
        "now": _iso(now),
        "local_time": local.strftime("%Y-%m-%d %H:%M:%S"),
        "day": local.date().isoformat(),
        "timezone": timezone,
        "sl_seconds": SERVICE_LEVEL_SECONDS,
        "queues": queues,
        "total": total,
        "agents": [_agent_row(agent, now) for agent in agents],
        "emergencies": emergencies(session, now, {a.id: a.name for a in agents}, timezone),
    }


def _queue_row(
    name: str,
    entries: Sequence[QueueEntry],
    agents: Sequence[Agent],
    decided: Sequence[Call],
    still_open: int,
    facts: dict[str, _CallFacts],
    now: datetime,
) -> dict[str, Any]:
    live = [e for e in entries if e.status in LIVE]
    states = Counter(agent.state for agent in agents)
    return {
        "name": name,
        "waiting": len(live),
        "emergencies_waiting": sum(e.emergency for e in live),
        "longest_wait": max((_seconds_since(e.waiting_since, now) or 0 for e in live), default=None),
        "callbacks": sum(e.status == "callback" for e in entries),
        "agents": {state: states.get(state, 0) for state in STATES},
        "today": answering(_queue_figures(decided, facts), still_open),
    }


# ---------------------------------------------------------------- history by day or by hour


class PeriodError(ValueError):
    """A period that cannot be shown; the message says why, in both languages."""


@dataclass
class HistoryRow:
    """One day (or one hour of the day, over the whole period): calls, answering, agents by state."""

    key: str  # YYYY-MM-DD, or HH
    label: str
    calls: int = 0
    figures: QueueFigures = field(default_factory=QueueFigures)
    in_progress: int = 0  # offered, not decided yet (only possible today)
    agent_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATES, 0.0))
    span_seconds: float = 0.0  # how much of the bucket lies in the period read (for the agent averages)

    @property
    def agents(self) -> dict[str, float | None]:
        """Mean number of agents in each state over the bucket."""
        span = self.span_seconds
        return {state: (seconds / span if span else None) for state, seconds in self.agent_seconds.items()}


@dataclass
class History:
    """A period's figures by day or by hour of the day, with totals and the figures of each queue."""

    start: date
    end: date  # inclusive
    by: str  # "day" or "hour"
    timezone: str
    rows: list[HistoryRow]
    total: HistoryRow
    queues: list[tuple[str, QueueFigures]]


def parse_period(start: str | None, end: str | None, by: str | None, today: date) -> tuple[date, date, str]:
    """The history page's ?start=&end=&by= (default: the last 7 days, by day); raises PeriodError."""
    by = (by or "day").strip()
    if by not in ("day", "hour"):
        raise PeriodError(f"by 只能是 day 或 hour / by must be day or hour, not {by!r}")
    try:
        last = date.fromisoformat(end.strip()) if end and end.strip() else today
        first = date.fromisoformat(start.strip()) if start and start.strip() else last - timedelta(days=6)
    except ValueError:
        raise PeriodError(
            f"日期格式应为 YYYY-MM-DD / dates must be YYYY-MM-DD (got {start!r} and {end!r})"
        ) from None
    if first > last:
        raise PeriodError(f"开始日期晚于结束日期 / the start {first} is after the end {last}")
    days = (last - first).days + 1
    if days > MAX_HISTORY_DAYS:
        raise PeriodError(
            f"最多 {MAX_HISTORY_DAYS} 天 / at most {MAX_HISTORY_DAYS} days at a time ({days} asked for)"
        )
    return first, last, by


def history(session: Session, *, start: date, end: date, by: str, timezone: str, now: datetime) -> History:
    """The figures of the local days start..end (inclusive), by day or by hour of the day."""
    _long_read(session)
    zone = ZoneInfo(timezone)
    period_start = utc_of_local(datetime.combine(start, time.min), timezone)
    period_end = utc_of_local(datetime.combine(end + timedelta(days=1), time.min), timezone)
    calls, facts = _calls_between(session, period_start, period_end)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    if by == "day":
        rows = {d.isoformat(): HistoryRow(d.isoformat(), d.isoformat()) for d in days}
    else:
        rows = {f"{h:02d}": HistoryRow(f"{h:02d}", f"{h:02d}:00") for h in range(24)}

    def key_of(moment: datetime) -> str:
        local = moment.replace(tzinfo=UTC).astimezone(zone)
        return local.date().isoformat() if by == "day" else f"{local.hour:02d}"

    grouped: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        grouped[key_of(call.started_at)].append(call)
    for key, row in rows.items():
        decided, row.in_progress = _split_open(grouped[key], facts, now)
        row.calls = len(grouped[key])
        row.figures = _queue_figures(decided, facts)
    decided, still_open = _split_open(calls, facts, now)
    total = HistoryRow("total", "合计 / Total", len(calls), _queue_figures(decided, facts), still_open)

    by_queue: dict[str, list[Call]] = defaultdict(list)
    for call in decided:
        if call.queue is not None:
            by_queue[call.queue].append(call)
    queues = [(name, _queue_figures(by_queue[name], facts)) for name in sorted(by_queue)]

    _agent_time(session, rows, total, period_start, min(period_end, now), key_of, timezone)
    return History(start, end, by, timezone, list(rows.values()), total, queues)


def _agent_time(
    session: Session,
    rows: dict[str, HistoryRow],
    total: HistoryRow,
    start: datetime,
    end: datetime,
    key_of: Any,
    timezone: str,
) -> None:
    """Seconds each state was held by the agents within each bucket (state changes replayed)."""
    if end <= start:
        return
    before = (
        select(func.max(AgentStateChange.id))
        .where(AgentStateChange.at < start)
        .group_by(AgentStateChange.agent_id)
    )
    changes = session.execute(
        select(AgentStateChange.agent_id, AgentStateChange.state, AgentStateChange.at)
        .where(
            (AgentStateChange.id.in_(before)) | ((AgentStateChange.at >= start) & (AgentStateChange.at < end))
        )
        .order_by(AgentStateChange.agent_id, AgentStateChange.at, AgentStateChange.id)
    ).all()
    by_agent: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for agent_id, state, at in changes:
        by_agent[agent_id].append((state, max(at, start)))
    for timeline in by_agent.values():
        for (state, began), (_next, ended) in zip(timeline, [*timeline[1:], ("", end)], strict=True):
            for piece_start, piece_end in _hour_pieces(began, ended, timezone):
                seconds = (piece_end - piece_start).total_seconds()
                row = rows.get(key_of(piece_start))
                if row is not None and state in row.agent_seconds:
                    row.agent_seconds[state] += seconds
                if state in total.agent_seconds:
                    total.agent_seconds[state] += seconds
    for piece_start, piece_end in _hour_pieces(start, end, timezone):
        row = rows.get(key_of(piece_start))
        if row is not None:
            row.span_seconds += (piece_end - piece_start).total_seconds()
    total.span_seconds = (end - start).total_seconds()


def _hour_pieces(start: datetime, end: datetime, timezone: str) -> Iterable[tuple[datetime, datetime]]:
    """[start, end) (naive UTC) cut at every local full hour."""
    zone = ZoneInfo(timezone)
    moment = start
    while moment < end:
        local = moment.replace(tzinfo=UTC).astimezone(zone)
        to_hour = timedelta(minutes=60 - local.minute) - timedelta(
            seconds=local.second, microseconds=local.microsecond
        )
        cut = min(end, moment + to_hour)
        yield moment, cut
        moment = cut


def history_rows(report: History) -> list[list[str]]:
    """The history as CSV rows: one line per day (or hour), then the total, rates in percent."""

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value * 100:.1f}"

    def num(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    header = [
        "day" if report.by == "day" else "hour",
        "calls",
        "offered",
        "answered",
        f"answered_within_{SERVICE_LEVEL_SECONDS}s",
        "abandoned",
        "callback",
        "duty",
        "other",
        "service_level_pct",
        "abandonment_pct",
        "average_answer_seconds",
        "longest_answer_seconds",
        "in_progress",
        *(f"mean_agents_{state}" for state in STATES),
    ]
    lines = [header]
    for row in [*report.rows, report.total]:
        figures = answering(row.figures, row.in_progress)
        agents = row.agents
        lines.append(
            [
                row.key,
                str(row.calls),
                str(figures["offered"]),
                str(figures["answered"]),
                str(figures["answered_within"]),
                str(figures["abandoned"]),
                str(figures["callback"]),
                str(figures["duty"]),
                str(figures["other"]),
                pct(figures["service_level"]),
                pct(figures["abandonment"]),
                num(figures["average_answer_seconds"]),
                num(figures["longest_answer_seconds"]),
                str(row.in_progress),
                *(("" if agents[state] is None else f"{agents[state]:.2f}") for state in STATES),
            ]
        )
    return lines


# ---------------------------------------------------------------- staffing inputs


def half_hour_labels() -> list[str]:
    """00:00, 00:30, ... 23:30."""
    return [f"{n // 2:02d}:{30 * (n % 2):02d}" for n in range(HALF_HOURS)]


def past_same_weekdays(day: date, today: date, weeks: int = HISTORY_WEEKS) -> list[date]:
    """The last `weeks` days of `day`'s weekday that are over (before today), newest first."""
    latest = today - timedelta(days=1)
    latest -= timedelta(days=(latest.weekday() - day.weekday()) % 7)
    return [latest - timedelta(weeks=n) for n in range(weeks)]


def expected_calls(
    session: Session, *, day: date, today: date, timezone: str
) -> tuple[list[float], list[date]]:
    """Calls offered to a queue per local half hour, averaged over the same weekday of the last 4 weeks.

    Only the weeks with at least one such call are averaged (a hotline started two weeks ago is not
    divided by four); returns the 48 averages and the days used (none: no history to go by).
    """
    zone = ZoneInfo(timezone)
    counts: dict[date, list[int]] = {}
    for past in past_same_weekdays(day, today):
        start = utc_of_local(datetime.combine(past, time.min), timezone)
        end = utc_of_local(datetime.combine(past + timedelta(days=1), time.min), timezone)
        slots = [0] * HALF_HOURS
        started = session.scalars(
            select(Call.started_at).where(
                Call.started_at >= start, Call.started_at < end, Call.queue.is_not(None)
            )
        )
        for moment in started:
            local = moment.replace(tzinfo=UTC).astimezone(zone)
            slots[local.hour * 2 + local.minute // 30] += 1
        if any(slots):
            counts[past] = slots
    if not counts:
        return [0.0] * HALF_HOURS, []
    used = sorted(counts)
    return [sum(counts[d][slot] for d in used) / len(used) for slot in range(HALF_HOURS)], used


def scheduled_agents(session: Session, *, rules: Rules, day: date, timezone: str) -> list[int]:
    """Agents per half hour whose groups are open then by the live rules' calendars (what the system
    knows of a schedule: there is no roster), whatever their state."""
    groups = [set(agent.groups or []) for agent in session.scalars(select(Agent))]
    counts = []
    for slot in range(HALF_HOURS):
        local = datetime.combine(day, time(slot // 2, 30 * (slot % 2)))
        moment = utc_of_local(local, timezone).replace(tzinfo=UTC).timestamp()
        open_now = {name for name, calendar in rules.calendars.items() if is_open(calendar, moment)}
        counts.append(sum(bool(mine & open_now) for mine in groups))
    return counts


# ---------------------------------------------------------------- the shift lead's moves


def set_agent_state(session: Session, *, agent_id: int, state: str, reason: str, by: str) -> Agent:
    """A shift lead puts an agent in available, break (with a reason) or offline; logged with the change."""
    if state not in SHIFT_LEAD_STATES:
        raise StateChangeRefused(
            "只能设为示闲、小休或离线 / a shift lead may set available, break or offline"
        )
    reason = reason.strip()
    if len(reason) > 100:
        raise StateChangeRefused("原因太长（最多 100 字）/ the reason is too long: at most 100 characters")
    # Locked, so a dispatcher claiming this agent now waits for us (or we for it): the check below sees
    # the state that is really replaced.
    agent = session.scalar(select(Agent).where(Agent.id == agent_id).with_for_update())
    if agent is None:
        raise StateChangeRefused(f"没有此坐席 / there is no agent with id {agent_id}")
    if agent.state in ON_A_CALL:
        zh, en = _ON_A_CALL_WORDS[agent.state]
        raise StateChangeRefused(
            f"{agent.name} {zh}：通话中不能更改状态，请在通话结束后再试 / "
            f"{agent.name} is {en}: an agent cannot be taken off a call midway; "
            "try again when the call has ended"
        )
    if state == "break" and not reason:
        raise StateChangeRefused("小休需要填写原因 / a break needs a reason (e.g. lunch, training, coaching)")
    if state == agent.state and (state != "break" or reason == agent.state_reason):
        raise StateChangeRefused(
            f"{agent.name} 已是此状态 / {agent.name} is already {state.replace('_', ' ')}"
        )
    before = {"state": agent.state, "reason": agent.state_reason}
    request_state(session, agent, state, reason=reason, by=by)
    log_change(
        session,
        by,
        "agent",
        "state",
        f"{agent.name} (#{agent.id})",
        before=before,
        after={"state": agent.state, "reason": agent.state_reason},
    )
    return agent


class GroupChangeRefused(ValueError):
    """A group change that cannot be made; the message says why, in both languages."""


def change_agent_groups(
    session: Session, *, rules: Rules, agent_id: int, add: str = "", remove: str = "", by: str
) -> Agent:
    """Add the agent to a group, take them out of one, or both at once (a move); logged with the change."""
    add, remove = add.strip(), remove.strip()
    if not add and not remove:
        raise GroupChangeRefused("请选择要加入或移出的组 / choose a group to add or to remove")
    if add and add == remove:
        raise GroupChangeRefused(f"加入和移出是同一个组 / {add} is both the group to leave and to join")
    agent = session.scalar(select(Agent).where(Agent.id == agent_id).with_for_update())
    if agent is None:
        raise GroupChangeRefused(f"没有此坐席 / there is no agent with id {agent_id}")
    before = list(agent.groups or [])
    if add and add not in rules.calendars:
        known = ", ".join(rules.calendars)
        raise GroupChangeRefused(
            f"{add} 不是现行路由规则中的组 / {add} is not a group of the live routing rules ({known})"
        )
    if add in before:
        raise GroupChangeRefused(f"{agent.name} 已在 {add} 组 / {agent.name} is already in {add}")
    if remove and remove not in before:
        raise GroupChangeRefused(f"{agent.name} 不在 {remove} 组 / {agent.name} is not in {remove}")
    after = [group for group in before if group != remove] + ([add] if add else [])
    agent.groups = after  # a new list: the JSON column sees the change
    session.flush()
    log_change(session, by, "agent", "groups", f"{agent.name} (#{agent.id})", before=before, after=after)
    return agent
