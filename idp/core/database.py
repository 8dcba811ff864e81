"""The SQLAlchemy handle shared by every model, and the migration runner."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from alembic import command
from alembic.config import Config
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Connection, CursorResult, Engine, Executable, Result, Row, Table, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"
#: A pooled connection used this recently is taken as alive; one idle for longer is pinged
#: before use. (``pool_pre_ping`` pings at every checkout: one more round trip per request.)
PING_AFTER_IDLE_SECONDS = 10.0
#: The engine of :func:`read_committed_row`: its own pool, whose connections stay in autocommit
#: mode, so a read neither switches a shared connection's mode and back nor rolls back on return.
AUTOCOMMIT_BIND = "autocommit_reads"
#: The Alembic attribute carrying the personal-data cipher to migration 0017.
PERSONAL_DATA_CIPHER = "idp.personal_data_cipher"


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Every model here is mapped to a table (SQLAlchemy allows any FROM clause).
        __table__: ClassVar[Table]


db = SQLAlchemy(model_class=Base)

# The base class of every model. Flask-SQLAlchemy's ``db.Model`` is a subclass of ``Base`` made at
# run time, which a type checker cannot take as a base class; it checks the models against ``Base``.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def conflict_insert(table: Table | type[Base]) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` that can say ``ON CONFLICT`` (PostgreSQL's and SQLite's own): the atomic
    insert-or-skip and insert-or-count statements of one-time values and counters."""
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    return insert(table)


def rows_changed(result: Result[Any]) -> int:
    """How many rows an ``INSERT``, ``UPDATE`` or ``DELETE`` changed. SQLAlchemy types
    ``Session.execute`` as returning a ``Result``; a DML statement's is a ``CursorResult``, which
    counts them."""
    return cast(CursorResult[Any], result).rowcount


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url``, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


class DatabaseUnavailable(RuntimeError):
    """``IDP_DATABASE_URL`` cannot be used, or its database does not answer; the message says which."""


def check_database(database_url: str, connect_timeout: int) -> None:
    """Connect once before migrating or serving, so that a URL no driver takes or a database
    that does not answer (within ``connect_timeout`` seconds, PostgreSQL) is one clear line (its
    password hidden), not a traceback."""
    try:
        url = make_url(normalise_database_url(database_url))
        options = {}
        if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
            options["connect_args"] = {"connect_timeout": connect_timeout}
        engine = create_engine(url, poolclass=NullPool, **options)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as error:
        raise DatabaseUnavailable(f"IDP_DATABASE_URL is not a database URL the provider can use: {error}") from None
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot connect to the database at {make_url(database_url).render_as_string(hide_password=True)}: "
            f"{reason}") from None
    finally:
        engine.dispose()


def upgrade_database(database_url: str, revision: str = "heads", *, personal_data: Any = None) -> None:
    """Apply migrations up to ``revision``: every branch head by default, so features developed
    side by side migrate together (reads ``IDP_DATABASE_URL`` through settings).

    ``personal_data`` (a :class:`~idp.core.personal_data_cipher.PersonalDataCipher`) seals the
    personal data of a database made before migration 0017; one with none needs no key."""
    config = alembic_config(database_url)
    config.attributes[PERSONAL_DATA_CIPHER] = personal_data
    command.upgrade(config, revision)


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in their plain form."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


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


def engine_options(url: str, pool_size: int, connect_timeout: int) -> dict:
    """Flask-SQLAlchemy's engine settings: the default engine and :data:`AUTOCOMMIT_BIND`."""
    # hide_parameters: SQL parameters (phone and document numbers) stay out of logs and errors.
    common: dict = {"hide_parameters": True, "pool_size": pool_size}
    if url.startswith("postgresql"):
        # A server that accepts the connection but never answers (hung, or a firewall dropping
        # packets) would otherwise hold the request, and its thread, for good.
        common["connect_args"] = {"connect_timeout": connect_timeout}
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": common,
        "SQLALCHEMY_BINDS": {AUTOCOMMIT_BIND: {
            "url": url, "isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None, **common}},
    }


def read_committed_row(statement: Executable, params: dict) -> Row | None:
    """The first row of one read of committed state, for checks that must be exact on every
    call (is this token revoked?).

    A request that has not begun a transaction reads on a connection of its own in
    autocommit mode: the statement is its own transaction, and the request opens none, which
    saves BEGIN and COMMIT, two round trips that cost more than the query itself. A request
    already in a transaction, or holding changes not yet flushed, reads inside its session, so
    it sees what it has itself written.
    """
    session = db.session()
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        return session.execute(statement, params).first()
    with autocommit_connection() as connection:
        return connection.execute(statement, params).first()


def autocommit_connection() -> Connection:
    """A connection of :data:`AUTOCOMMIT_BIND`: each statement on it is its own transaction."""
    return db.engines[AUTOCOMMIT_BIND].connect()
