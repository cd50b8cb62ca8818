"""The event store's quick read for a webhook: one fixed statement on the connection its writes use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.connection import webhook_connection
from ivr.events.statements import FastStatement

_prepared: dict[Select[Any], FastStatement] = {}


def first_row(sessions: sessionmaker[Session], statement: Select[Any], params: Mapping[str, Any]) -> Any:
    """The statement's first row (None if it has none), read outside any session. For a module-level
    statement run on most webhooks: it is compiled once, so build it once."""
    prepared = _prepared.get(statement)
    if prepared is None:
        prepared = _prepared.setdefault(statement, FastStatement(statement))
    with webhook_connection(sessions.kw["bind"]) as connection:
        return prepared.execute(connection, params).fetchone()
