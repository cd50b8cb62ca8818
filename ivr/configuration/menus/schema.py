"""The menu document: its structure, checked by pydantic (layer one of validation)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1
Intent = Literal["billing", "safety", "repair", "complaint", "agent"]
NodeId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}-[A-Z]{2}$")]
PromptKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
PromptText = Annotated[str, Field(min_length=1, max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    """One choice of a menu: a key, spoken phrases per language, and where it leads."""

    key: Annotated[str, Field(pattern=r"^[0-9*#]$")]
    target: NodeId
    phrases: dict[Language, list[str]] = {}
    language: Language | None = None  # switches the call to this language before going on


class _Node(_Strict):
    prompts: list[str] = []
    intent: Intent | None = None  # the call's intent once it reaches this node


class MenuNode(_Node):
    """Plays its prompts and waits for a key or a phrase."""

    type: Literal["menu"]
    intro: list[str] = []  # spoken before the prompts only when the call starts here or changes language
    options: Annotated[list[Option], Field(min_length=1)]
    timeout_seconds: Annotated[int, Field(ge=2, le=30)] | None = None
    max_tries: Annotated[int, Field(ge=1, le=5)] | None = None

    @field_validator("options")
    @classmethod
    def _keys_unique(cls, options: list[Option]) -> list[Option]:
        keys = [option.key for option in options]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"key(s) {', '.join(duplicates)} used by more than one option")
        return options


class InfoNode(_Node):
    """Plays its prompts (a self-service answer) and goes on to `next`."""

    type: Literal["info"]
    next: NodeId


class ActionNode(_Node):
    """Runs a service action without caller input, speaks its result, goes on to `next`."""

    type: Literal["action"]
    action: Literal["caller_balance", "report_fault"]
    next: NodeId
    on_missing: NodeId | None = None  # where to go when the action finds nothing (e.g. unknown caller)


class InputNode(_Node):
    """Asks for digits ended by #, runs a lookup with them, speaks the result, goes on to `next`."""

    type: Literal["input"]
    action: Literal["account_balance", "work_order_status"]
    next: NodeId
    back: NodeId | None = None  # where * leads, so the caller is never stuck keying a number
    max_digits: Annotated[int, Field(ge=1, le=20)] = 12
    timeout_seconds: Annotated[int, Field(ge=2, le=30)] | None = None
    max_tries: Annotated[int, Field(ge=1, le=5)] | None = None


class QueueNode(_Node):
    """Plays its prompts and puts the caller in a queue for an agent."""

    type: Literal["queue"]
    queue: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
    intent: Intent
    priority: Annotated[int, Field(ge=0, le=10)] = 5
    emergency: bool = False  # flags the call and opens an emergency work order
    complaint_class: Literal["service", "quality", "safety"] | None = None
    reply_within_hours: Annotated[int, Field(ge=1, le=720)] | None = None


class DialNode(_Node):
    """Plays its prompts and dials an outside number."""

    type: Literal["dial"]
    number: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")]


Node = Annotated[
    MenuNode | InfoNode | ActionNode | InputNode | QueueNode | DialNode, Field(discriminator="type")
]


class Emergency(_Strict):
    """The gas-leak path: the node it leads to and the phrases that reach it from anywhere."""

    target: NodeId
    phrases: dict[Language, Annotated[list[str], Field(min_length=1)]]


class Defaults(_Strict):
    """Timeouts and retries for nodes that do not set their own."""

    timeout_seconds: Annotated[int, Field(ge=2, le=30)] = 6
    max_tries: Annotated[int, Field(ge=1, le=5)] = 3


class MenuDocument(_Strict):
    """A whole menu: nodes by id, the root, the languages, the gas-leak path and the fallback."""

    schema_version: Literal[1]
    name: str
    root: NodeId
    default_language: Language
    languages: Annotated[list[Language], Field(min_length=1)]
    fallback: NodeId  # where a caller goes after too many failed tries: never hung up on
    emergency: Emergency
    defaults: Defaults = Defaults()
    nodes: Annotated[dict[NodeId, Node], Field(min_length=1)]
    # Texts per language that replace or add to the catalogues' prompts for calls under this version,
    # so a supervisor can change what callers hear without a developer (docs/menus.md).
    prompts: dict[PromptKey, dict[Language, PromptText]] = {}
