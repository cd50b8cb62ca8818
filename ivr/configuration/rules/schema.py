"""The routing rules document: its structure, checked by pydantic (layer one of validation)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
Intent = Literal["billing", "safety", "repair", "complaint", "agent"]
CustomerClass = Literal["residential", "commercial"]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}-[A-Z]{2}$")]
# "caller": the caller's own language; "any": no requirement; or one language tag.
StepLanguage = Annotated[str, Field(pattern=r"^(caller|any|[a-z]{2,3}-[A-Z]{2})$")]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HourRange = Annotated[str, Field(pattern=r"^\d\d:\d\d-\d\d:\d\d$")]  # parsed in layer two


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    """Conditions on a call; a missing field admits any value, a list admits its members."""

    intents: Annotated[list[Intent], Field(min_length=1)] | None = None
    languages: Annotated[list[Language], Field(min_length=1)] | None = None
    emergency: bool | None = None
    customer_classes: Annotated[list[CustomerClass], Field(min_length=1)] | None = None

    def is_empty(self) -> bool:
        """Admits every call."""
        return all(value is None for value in self.model_dump().values())


class Step(_Strict):
    """Who may take the call at this stage, and for how long before the pool widens."""

    skill: str  # one of routing.model.SKILLS (checked in layer two, to name the known ones)
    min_proficiency: Annotated[int, Field(ge=1, le=5)] = 1
    language: StepLanguage = "caller"
    timeout_seconds: Annotated[float, Field(gt=0, le=3600)] | None = None  # how long this step lasts
    group: Name | None = None  # whose opening hours apply


class AfterHours(_Strict):
    """What a filter's calls get while the current step's group is closed."""

    action: Literal["step", "voicemail"]
    step: Step | None = None  # for action "step": route by this step (e.g. another group's agents)


class Filter(_Strict):
    """A named rule: the calls it matches go through its steps in order."""

    name: Name
    match: Match = Match()
    steps: list[Step]
    after_hours: AfterHours | None = None


class Group(_Strict):
    """An agent group's calendar: weekly hours in its time zone, closed days, and wrap-up after a call."""

    timezone: str = "Asia/Shanghai"
    hours: dict[Day, list[HourRange]] = {}
    holidays: list[date] = []
    always_open: bool = False
    wrap_up_seconds: Annotated[float, Field(ge=0, le=600)] = 0


class RulesDocument(_Strict):
    """A whole routing rules document: filters (first match wins, the last catches all) and groups."""

    schema_version: Literal[1]
    safety_any_agent_after: Annotated[float, Field(gt=0, le=300)] = 20
    safety_any_agent_at_once: bool = True  # an emergency takes the next free agent of any group at once
    groups: dict[Name, Group] = {}
    filters: Annotated[list[Filter], Field(min_length=1)]
