"""Alembic environment: the URL comes from the caller's config (``idp db upgrade``)."""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import context
from sqlalchemy import engine_from_config, pool, text
from sqlalchemy.engine import Connection

import idp.models  # noqa: F401  (registers every table)
from idp.core.database import db, normalise_database_url

#: Arbitrary constant naming the migrations' advisory lock ("qdmg"; the keyring's is "qdtx").
MIGRATION_LOCK_ID = 0x71646D67
#: How often a node waiting for another node's migration asks for the lock again.
LOCK_POLL_SECONDS = 0.2

log = logging.getLogger(__name__)

config = context.config
target_metadata = db.metadata


@contextmanager
def migrations_serialised(connection: Connection) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock of the migrations for the whole upgrade.

    Nodes started together (or during a rolling upgrade) would otherwise run the same DDL at
    once and all but one die on a duplicate catalog row. The lock is session-level, not
    transactional, because a migration with an ``autocommit_block`` (CREATE INDEX
    CONCURRENTLY) commits halfway; the nodes that waited then read the version table and find
    the schema current, so they run no DDL.

    The waiting nodes poll with ``pg_try_advisory_lock`` between transactions instead of
    blocking in ``pg_advisory_lock``: CREATE INDEX CONCURRENTLY waits for every open snapshot,
    the blocked statement's included, which would deadlock.
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    told = False
    while not connection.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID}).scalar():
        connection.rollback()
        if not told:
            log.warning("another node is migrating the database; waiting for it to finish")
            told = True
        time.sleep(LOCK_POLL_SECONDS)
    connection.commit()  # Alembic begins its own transaction; the session lock outlives this one.
    try:
        yield
    finally:
        connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()


def run_migrations_online() -> None:
    section = config.get_section(config.config_ini_section, {})
    section["sqlalchemy.url"] = normalise_database_url(section["sqlalchemy.url"])
    connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection, migrations_serialised(connection):
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
