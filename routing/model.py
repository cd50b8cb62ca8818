"""Plain data the router works on: waiting calls, agents, rules, calendars, and its decisions.

Times are seconds (float) on one clock the caller chooses (e.g. POSIX time); the router never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

SKILLS = ("billing", "safety", "repair", "complaint", "general")
CALLER_LANGUAGE = "caller"  # a step's language requirement meaning "the caller's own language"


@dataclass(frozen=True)
class WaitingCall:
    """A caller waiting for an agent (or a call-back waiting for its turn)."""

    id: str  # the queue entry's key, e.g. the CallSid
    intent: str  # billing, safety, repair, complaint, agent
    language: str  # zh-CN, en-US
    waiting_since: float  # first time enqueued: kept when the caller is put back after a missed agent
    priority: int = 5  # 0-10, higher first
    emergency: bool = False
    customer_class: str | None = None  # residential, commercial, or unknown
    callback: bool = False  # a call-back request rather than a caller on the line


@dataclass(frozen=True)
class Agent:
    """An agent as the router sees them."""

    id: int
    skills: dict[str, int]  # skill -> proficiency 1-5
    languages: frozenset[str]
    available: bool
    idle_since: float  # when they last became available; longest idle is served first
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Step:
    """One stage of a filter: who may take the call, for how long before the pool widens."""

    skill: str
    min_proficiency: int = 1
    language: str | None = CALLER_LANGUAGE  # None: any language
    timeout_seconds: float | None = None  # None: this step lasts for good
    group: str | None = None  # the agent group whose opening hours apply


@dataclass(frozen=True)
class AfterHours:
    """What happens to a filter's calls when its group is closed."""

    action: str  # "step" (route by `step`, e.g. another group) or "voicemail" (take a message, call back)
    step: Step | None = None


@dataclass(frozen=True)
class Match:
    """Conditions on a call; None means any."""

    intents: frozenset[str] | None = None
    languages: frozenset[str] | None = None
    emergency: bool | None = None
    customer_classes: frozenset[str] | None = None


@dataclass(frozen=True)
class Filter:
    """A named rule: calls it matches are routed through its steps in order."""

    name: str
    match: Match
    steps: tuple[Step, ...]
    after_hours: AfterHours | None = None


@dataclass(frozen=True)
class Calendar:
    """Opening hours of one group: weekly hours (0 = Monday) and closed days, in a named time zone."""

    timezone: str = "Asia/Shanghai"
    weekly: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)  # missing day: closed
    holidays: frozenset[date] = frozenset()
    always_open: bool = False


@dataclass(frozen=True)
class Rules:
    """A routing rules version: filters (first match wins; the last catches all) and calendars."""

    version: int
    filters: tuple[Filter, ...]
    calendars: dict[str, Calendar] = field(default_factory=dict)  # group -> calendar
    safety_any_agent_after: float = 20.0  # seconds before every available agent may take a safety call
    wrap_up_seconds: dict[str, float] = field(default_factory=dict)  # group -> wrap-up after a call
    # A waiting emergency takes the next free agent of any group at once (safety agents first among those free
    # at the same moment); off: only after safety_any_agent_after.
    safety_any_agent_at_once: bool = True


@dataclass(frozen=True)
class Candidate:
    """An agent considered for a call, with what decided their rank."""

    agent_id: int
    proficiency: int
    idle_since: float


@dataclass(frozen=True)
class Pairing:
    """One routing decision: this call to this agent, and why."""

    call_id: str
    agent_id: int
    filter: str
    step: int  # index into the filter's steps; -1 for the safety widening
    reason: str  # in words, for a supervisor
    candidates: tuple[Candidate, ...] = ()  # eligible agents, best first (capped)
    after_hours: bool = False  # served by the filter's after-hours step because its own group is closed


@dataclass(frozen=True)
class Placement:
    """Where a waiting call stands now: its filter, current step, and whether its group is open."""

    call_id: str
    filter: str
    step: int
    open: bool
    after_hours: AfterHours | None = None
