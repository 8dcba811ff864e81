"""Alembic environment: the URL comes from the caller's config (``idp db upgrade``)."""

from alembic import context
from sqlalchemy import engine_from_config, pool

import idp.models  # noqa: F401  (registers every table)
from idp.database import db, normalise_database_url

config = context.config
target_metadata = db.metadata


def run_migrations_online() -> None:
    section = config.get_section(config.config_ini_section, {})
    section["sqlalchemy.url"] = normalise_database_url(section["sqlalchemy.url"])
    connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
