"""Shared fixtures: a real database (SQLite file, and PostgreSQL when IVR_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from ivr.app import create_app
from ivr.config import Settings
from ivr.configuration.menus.store import seed_default_menu
from ivr.configuration.rules.store import publish_rules
from ivr.db import migrate
from ivr.db.demo import load_demo_data
from ivr.db.models import Base
from ivr.db.session import make_engine, unit_of_work
from ivr.hotline import Hotline
from tests.helpers import PUBLIC_BASE_URL, TEST_AUTH_TOKEN, SignedClient, open_all_day_rules
from tests.outage import PostgresProxy, SqliteOutage

POSTGRES_URL = os.environ.get("IVR_TEST_POSTGRES_URL", "")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database, copied for each test (migrating once is faster)."""
    path = tmp_path_factory.mktemp("template") / "hotline.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL test database, emptied and migrated once per test session."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need IVR_TEST_POSTGRES_URL (.ci/run starts PostgreSQL and sets it)")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    engine.dispose()
    return POSTGRES_URL


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        target = tmp_path / "hotline.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    # The webhooks' database budget is about a failing database; a test of something else must not fail
    # because this shared machine stalled for a moment. Tests of the bound keep the production value.
    budget = Settings().webhook_db_budget if request.node.get_closest_marker("webhook_budget") else 5.0
    return Settings(
        webhook_db_budget=budget,
        database_url=database_url,
        public_base_url=PUBLIC_BASE_URL,
        twilio_auth_token=TEST_AUTH_TOKEN,
        spool_dir=tmp_path / "spool",
        scheduler_in_process=False,
        duty_engineer_number="+8613900000000",
    )


@pytest.fixture
def hotline(settings: Settings) -> Iterator[Hotline]:
    """A hotline on a fresh database holding the default menu and the demo data."""
    built = Hotline.build(settings)
    with unit_of_work(built.sessions) as session:
        seed_default_menu(session)
        publish_rules(session, open_all_day_rules(), note="tests: the default rules, open all day")
        load_demo_data(session)
    yield built
    built.engine.dispose()


@pytest.fixture
def app(hotline: Hotline):  # type: ignore[no-untyped-def]
    return create_app(hotline=hotline)


@pytest.fixture
def twilio(app) -> SignedClient:  # type: ignore[no-untyped-def]
    """Posts webhooks the way Twilio does, signed with the test auth token."""
    return SignedClient(app)


@pytest.fixture
def outage_hotline(database_url, settings):  # type: ignore[no-untyped-def]
    """A hotline whose database a test can stop and start: (hotline, outage)."""
    proxy = None
    if database_url.startswith("sqlite"):
        built = Hotline.build(settings)
        outage = SqliteOutage(Path(database_url.split(":///", 1)[1]), built.engine)
    else:
        url = make_url(database_url)
        proxy = PostgresProxy((url.host or "127.0.0.1", url.port or 5432))
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        built = Hotline.build(settings.with_overrides(database_url=proxied))
        outage = proxy
    with unit_of_work(built.sessions) as session:
        seed_default_menu(session)
        publish_rules(session, open_all_day_rules(), note="tests: the default rules, open all day")
        load_demo_data(session)
    yield built, outage
    built.engine.dispose()
    if proxy:
        proxy.stop()
