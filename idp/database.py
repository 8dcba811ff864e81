"""The SQLAlchemy handle shared by every model, and the migration runner."""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: A pooled connection used this recently is taken as alive; one idle for longer is pinged
#: before use. (``pool_pre_ping`` pings at every checkout: one more round trip per request.)
PING_AFTER_IDLE_SECONDS = 10.0


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url``, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str, revision: str = "heads") -> None:
    """Apply migrations up to ``revision``: every branch head by default, so features developed
    side by side migrate together (reads ``IDP_DATABASE_URL`` through settings)."""
    command.upgrade(alembic_config(database_url), revision)


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in their plain form."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def read_row(statement, parameters: dict | None = None):
    """The first row of a read-only ``statement``.

    A request that has not begun a transaction (introspection, userinfo) reads in autocommit
    mode on a connection of its own: one round trip to the database instead of BEGIN, the
    query and COMMIT. Inside a transaction it reads there, seeing what this request changed.
    """
    session = db.session()
    if session.in_transaction():
        return session.execute(statement, parameters).first()
    # The session holds no connection now, so this takes at most one from the pool per thread.
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn.execute(statement, parameters).first()


def write_statements(statements: list) -> int:
    """Run ``statements`` and commit them, with whatever the request left uncommitted; returns
    the rows the last one changed. Outside a transaction a lone statement runs in autocommit
    mode (one round trip), several in one transaction of their own."""
    session = db.session()
    if session.in_transaction():
        for statement in statements:
            changed = session.execute(statement).rowcount
        session.commit()
        return changed
    with db.engine.connect() as conn:
        if len(statements) == 1:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            changed = conn.execute(statement).rowcount
        conn.commit()
        return changed


def ping_idle_connections(engine: Engine) -> None:
    """Replace a pooled connection the database dropped (restart, idle timeout, failover)
    before a request uses it, checking only connections that sat idle in the pool."""

    def checked_in(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out a fresh one (SQLAlchemy's
            # documented pessimistic disconnect handling).
            raise DisconnectionError() from error

    event.listen(engine.pool, "checkin", checked_in)
    event.listen(engine.pool, "checkout", checked_out)
