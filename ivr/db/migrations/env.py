"""Alembic environment: migrations run against the URL the caller configured."""

from alembic import context

from ivr.db.models import Base
from ivr.db.session import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Online migrations only: the app always has a database to talk to."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
