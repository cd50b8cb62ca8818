"""The objects one running hotline shares between requests and jobs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ivr.calls.twiml import Voice
from ivr.config import Settings
from ivr.configuration.menus.store import MenuCache
from ivr.configuration.rules.store import RulesCache
from ivr.db.session import make_engine, make_session_factory
from ivr.events.spool import Spool
from ivr.telephony.base import Telephony
from ivr.telephony.factory import build_telephony


@dataclass
class Hotline:
    """Settings, database, menu cache, spool and voice of one process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    menus: MenuCache
    spool: Spool
    voice: Voice
    rules: RulesCache
    telephony: Telephony | None = None  # redirect live calls, call out, fetch recordings
    clock: Callable[[], float] = time.time  # POSIX seconds: webhook deadlines run on it (tests: simulated)

    @classmethod
    def build(cls, settings: Settings) -> Hotline:
        """Wire everything up; opens no connection yet."""
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(engine)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            menus=MenuCache(sessions),
            spool=Spool(settings.spool_dir),
            voice=Voice(settings),
            rules=RulesCache(sessions),
            telephony=build_telephony(settings),
        )
