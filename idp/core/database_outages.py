"""Telling a database that cannot be reached from a bug, and recording its outages.

Every engine reports to :mod:`idp.core.dependency_outages` itself, whoever ran into the failure (a
request, the keyring's refresh, a background worker): a connection that could not be opened, or
one the database dropped, begins an outage; the next connection opened ends it. After a
disconnect SQLAlchemy empties the whole pool, so once the database is back every pooled
connection is a new one, and recovery needs no restart.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from idp.core.dependency_outages import report_outage, report_recovery

DEPENDENCY = "database"


def check_unavailable(error: BaseException) -> bool:
    """True when ``error`` says the database cannot serve now (down, restarting, refusing
    connections, every pooled connection busy): the request may succeed later, so it gets a
    503, not a 500. Integrity errors, missing tables and other bugs stay False."""
    if isinstance(error, (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def watch_availability(engine: Engine) -> None:
    """Report the outages of ``engine``'s database, and their end."""

    def failed(context: ExceptionContext) -> None:
        # No connection: it could not be opened. A disconnect: the database dropped it.
        # Anything else (a deadlock, a constraint) is about one statement, not the database.
        if context.connection is None or context.is_disconnect:
            report_outage(DEPENDENCY, context.original_exception,
                          "requests that need it answer 503; discovery and the JWKS answer from memory")

    def connected(dbapi_connection, record) -> None:
        report_recovery(DEPENDENCY)

    event.listen(engine, "handle_error", failed)
    event.listen(engine, "connect", connected)


def log_task_failure(logger: logging.Logger, message: str, error: BaseException) -> None:
    """Log why a background task (a sweep, a purge, the logout queue) failed, with its traceback;
    only briefly while the database is unreachable, whose outage is logged once already."""
    if check_unavailable(error):
        logger.info("%s: the database is unreachable", message)
    else:
        logger.error(message, exc_info=error)
