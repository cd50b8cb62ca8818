"""The agent roster: add, edit, take out of service and bring back an agent (a seat), checked and logged.

Each use case works in the caller's transaction (`session`), writes its change-log entry (kind "agent") in
it, and raises InvalidAgent with every problem found, or RosterRefused, before anything is written.
What an agent may hold is checked in two layers, as the menu and rules documents are: the shape by pydantic
(AgentFields), then against what is live: the groups and skills the live routing rules route by, the
languages the prompt catalogues offer, and the numbers and identities of the other agents.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.configuration.change_log import log_change
from ivr.configuration.menus.validation import Problem, structure_problems
from ivr.db.models import Agent
from ivr.queueing.agent_states import OUT_OF_SERVICE, set_state
from prompts import load_catalogues
from routing.model import Rules

FIELDS = ("name", "client_identity", "phone", "groups", "skills", "languages", "wrap_up_seconds")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
CLIENT_IDENTITY = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")  # what Twilio Client accepts, kept URL-safe
MAX_WRAP_UP_SECONDS = 600  # as a group's wrap-up in the rules document
# States a call is under way in: taking the agent out of service lets the call (and its wrap-up) finish;
# set_state then sends them offline instead of available.
ON_A_CALL = ("ringing", "on_call", "wrap_up")


class AgentFields(BaseModel):
    """What an agent is: the structure, checked by pydantic (layer one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    client_identity: str | None = None
    phone: str | None = None
    groups: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    skills: dict[str, Annotated[int, Field(ge=1, le=5, strict=True)]] = {}
    languages: list[str] = []
    wrap_up_seconds: Annotated[int, Field(ge=0, le=MAX_WRAP_UP_SECONDS)] | None = None

    @field_validator("client_identity", "phone", "wrap_up_seconds", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not E164.match(value):
            raise PydanticCustomError(
                "e164",
                "须为 E.164 格式，如 +8613800000000 / must be E.164: + country code and number, "
                "e.g. +8613800000000",
            )
        return value

    @field_validator("client_identity")
    @classmethod
    def _identity(cls, value: str | None) -> str | None:
        if value is not None and not CLIENT_IDENTITY.match(value):
            raise PydanticCustomError(
                "client_identity",
                "只能用字母、数字、_ . -（最多 100 个）/ letters, digits, _ . - only (at most 100)",
            )
        return value


class InvalidAgent(ValueError):
    """An agent that cannot be saved; carries every problem, each naming its field."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


class RosterRefused(ValueError):
    """A roster change that cannot be made now (no such agent, already out of service); says why."""


class AgentNotFound(RosterRefused):
    """No agent has that id."""


class RosterConflict(RosterRefused):
    """Another change took the same client identity at the same moment; nothing of this one is kept."""


@dataclass(frozen=True)
class RosterVocabulary:
    """What an agent may hold today: the groups and skills the live rules route by, the languages spoken."""

    groups: tuple[str, ...]
    skills: tuple[str, ...]
    languages: tuple[str, ...]


def vocabulary(rules: Rules, languages: Collection[str] | None = None) -> RosterVocabulary:
    """The groups and skills some step of the live rules routes by, and the prompt catalogues' languages.

    A group no step names routes nothing (its agents would never be offered a call as that group), and a
    skill no step asks for never brings a call: both are refused rather than kept as a silent mistake."""
    steps = [step for rule in rules.filters for step in rule.steps]
    steps += [rule.after_hours.step for rule in rules.filters if rule.after_hours and rule.after_hours.step]
    groups = sorted({step.group for step in steps if step.group})
    skills = sorted({step.skill for step in steps})
    spoken = sorted(languages if languages is not None else load_catalogues())
    return RosterVocabulary(tuple(groups), tuple(skills), tuple(spoken))


def snapshot(agent: Agent) -> dict[str, Any]:
    """The agent's roster fields as plain data (the change log's before and after; the API's body)."""
    return {
        "name": agent.name,
        "client_identity": agent.client_identity,
        "phone": agent.phone,
        "groups": list(agent.groups or []),
        "skills": dict(agent.skills or {}),
        "languages": list(agent.languages or []),
        "wrap_up_seconds": agent.wrap_up_seconds,
        "active": agent.active,
    }


def check_agent(
    session: Session,
    values: Mapping[str, Any],
    *,
    known: RosterVocabulary,
    agent_id: int | None = None,
) -> AgentFields:
    """Both layers: the fields as pydantic reads them, then against the live rules and the other agents."""
    try:
        fields = AgentFields.model_validate(dict(values))
    except ValidationError as error:
        raise InvalidAgent(structure_problems(error, "agent")) from None
    problems = meaning_problems(fields, known) + _clashes(session, fields, agent_id)
    if problems:
        raise InvalidAgent(problems)
    return fields


def meaning_problems(fields: AgentFields, known: RosterVocabulary) -> list[Problem]:
    """Layer two: reachable, and only groups, skills and languages that are live."""
    problems = []
    if not fields.phone and not fields.client_identity:
        problems.append(
            Problem(
                "phone",
                "请填写电话号码或浏览器客户端标识 / give the phone number (E.164) or the browser client "
                "identity the agent is dialled on",
            )
        )
    for group in fields.groups:
        if group not in known.groups:
            problems.append(
                Problem(
                    "groups",
                    f"{group} 不是现行路由规则中接听来电的组 / {group} is no group the live routing rules "
                    f"route calls to (groups: {', '.join(known.groups)})",
                )
            )
    if not fields.skills:
        problems.append(Problem("skills", "至少一项技能 / at least one skill, e.g. general:3"))
    for skill in fields.skills:
        if skill not in known.skills:
            problems.append(
                Problem(
                    f"skills.{skill}",
                    f"{skill} 不是现行路由规则使用的技能 / {skill} is no skill the live routing rules ask "
                    f"for (skills: {', '.join(known.skills)})",
                )
            )
    if not fields.languages:
        problems.append(Problem("languages", "至少一种语言 / at least one language"))
    for language in fields.languages:
        if language not in known.languages:
            problems.append(
                Problem(
                    "languages",
                    f"{language} 不是提示音提供的语言 / the prompts are not in {language} "
                    f"(languages: {', '.join(known.languages)})",
                )
            )
    return problems


def _clashes(session: Session, fields: AgentFields, agent_id: int | None) -> list[Problem]:
    """Another agent already dialled on the same number or identity (a call would ring the wrong seat)."""
    problems = []
    for field, value in (("client_identity", fields.client_identity), ("phone", fields.phone)):
        if value is None:
            continue
        column = getattr(Agent, field)
        other = session.scalars(select(Agent).where(column == value, Agent.id != (agent_id or 0))).first()
        if other is not None:
            problems.append(
                Problem(field, f"{value} 已属于坐席 {other.name} (#{other.id}) / already {other.name}'s")
            )
    return problems


def add_agent(
    session: Session,
    *,
    values: Mapping[str, Any],
    rules: Rules,
    by: str,
    languages: Collection[str] | None = None,
) -> Agent:
    """A new agent, in service and offline (they go available themselves when they start work)."""
    fields = check_agent(session, values, known=vocabulary(rules, languages))
    agent = Agent(state="offline", active=True)
    _apply(agent, fields)
    session.add(agent)
    _flush_unique(session)
    log_change(session, by, "agent", "add", _subject(agent), before=None, after=snapshot(agent))
    return agent


def edit_agent(
    session: Session,
    *,
    agent_id: int,
    values: Mapping[str, Any],
    rules: Rules,
    by: str,
    partial: bool = False,
    languages: Collection[str] | None = None,
) -> Agent:
    """Replace the agent's roster fields (`partial`: only those given); the new values count for the next
    routing decision, since the dispatcher reads agents from the database each time."""
    agent = _locked(session, agent_id)
    before = snapshot(agent)
    wanted = {**{key: before[key] for key in FIELDS}, **values} if partial else dict(values)
    fields = check_agent(session, wanted, known=vocabulary(rules, languages), agent_id=agent.id)
    _apply(agent, fields)
    _flush_unique(session)
    after = snapshot(agent)
    if after != before:
        log_change(session, by, "agent", "edit", _subject(agent), before=before, after=after)
    return agent


def deactivate_agent(session: Session, *, agent_id: int, by: str) -> Agent:
    """Out of service: offline now (after the call under way, if any) and never offered a call again."""
    agent = _locked(session, agent_id)
    if not agent.active:
        raise RosterRefused(f"{agent.name} 已停用 / {agent.name} is already out of service")
    before = {**snapshot(agent), "state": agent.state}
    agent.active = False
    if agent.state not in ON_A_CALL and agent.state != "offline":
        set_state(session, agent, "offline", reason=OUT_OF_SERVICE, by=by)
    session.flush()
    after = {**snapshot(agent), "state": agent.state}
    log_change(session, by, "agent", "deactivate", _subject(agent), before=before, after=after)
    return agent


def reactivate_agent(session: Session, *, agent_id: int, by: str) -> Agent:
    """Back in service: still offline until the agent (or a shift lead) makes them available."""
    agent = _locked(session, agent_id)
    if agent.active:
        raise RosterRefused(f"{agent.name} 在岗 / {agent.name} is in service already")
    before = snapshot(agent)
    agent.active = True
    session.flush()
    log_change(session, by, "agent", "reactivate", _subject(agent), before=before, after=snapshot(agent))
    return agent


def find_agent(session: Session, *, client_identity: str | None, phone: str | None) -> Agent | None:
    """The agent dialled on this identity, else on this number (how an import row finds its agent)."""
    if client_identity:
        found = session.scalar(select(Agent).where(Agent.client_identity == client_identity))
        if found is not None:
            return found
    if phone:
        return session.scalars(select(Agent).where(Agent.phone == phone).order_by(Agent.id)).first()
    return None


def roster(session: Session) -> list[Agent]:
    """Every agent, in service first, then by name."""
    return list(session.scalars(select(Agent).order_by(Agent.active.desc(), Agent.name, Agent.id)))


def _flush_unique(session: Session) -> None:
    # The check above saw no other agent with this identity; one saved since then is caught here.
    try:
        session.flush()
    except IntegrityError:
        raise RosterConflict(
            "另一处同时保存了相同的客户端标识，未保存 / another change took the same client identity at the "
            "same moment: nothing was saved; try again"
        ) from None


def _locked(session: Session, agent_id: int) -> Agent:
    # Locked, so a dispatcher claiming this agent now waits for us (or we for it).
    agent = session.scalar(select(Agent).where(Agent.id == agent_id).with_for_update())
    if agent is None:
        raise AgentNotFound(f"没有此坐席 / there is no agent with id {agent_id}")
    return agent


def _apply(agent: Agent, fields: AgentFields) -> None:
    agent.name = fields.name
    agent.client_identity = fields.client_identity
    agent.phone = fields.phone
    # New containers, in a stable order: the JSON columns see the change, and the log compares equal values.
    agent.groups = list(dict.fromkeys(fields.groups))
    agent.skills = dict(fields.skills)
    agent.languages = list(dict.fromkeys(fields.languages))
    agent.wrap_up_seconds = fields.wrap_up_seconds


def _subject(agent: Agent) -> str:
    return f"{agent.name} (#{agent.id})"
