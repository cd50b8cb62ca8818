"""The Alembic migrations build exactly the tables the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ivr.db.models import Base


def test_migrated_schema_matches_the_models(hotline):
    with hotline.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_init_database_is_idempotent(hotline):
    from ivr.setup import init_database

    first = init_database(hotline, demo=True)
    assert first == ["schema up to date"], "menu and demo data were already there"
