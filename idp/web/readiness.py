"""Is this worker ready to serve? The checks behind ``/readyz`` (:mod:`idp.web.health`).

A load balancer asks every few seconds, so each check is cheap and bounded: the database is
asked on a fresh connection of its own, not on a pooled one that could hang on a vanished server.
Opening it must finish within ``READINESS_TIMEOUT`` (psycopg counts the whole handshake, so a
server that accepts connections but no longer answers fails too), and the one query is sent
within it. Redis (only when ``REDIS_URL`` is set) is pinged with the same bound; the keyring must
have its active signing key loaded. The answer names
the checks and, for a failed one, the kind of error only: no host, URL or personal data.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

import redis
from flask import Flask
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from idp.core.database import normalise_database_url
from idp.core.settings import current_settings
from idp.keyring import current_keyring

#: The table every migrated database has: answering it says the schema is there too.
SCHEMA_PROBE = text("SELECT count(*) FROM alembic_version")


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    milliseconds: float
    error: str | None = None

    def as_dict(self) -> dict:
        answer = {"status": "ok" if self.ok else "fail", "ms": round(self.milliseconds, 1)}
        return answer if self.ok else {**answer, "error": self.error}


def create_probe_engine(database_url: str, timeout: float) -> Engine:
    """An engine that opens a fresh connection per use (no pool to go stale), its waits bounded
    by ``timeout`` seconds; a SQLite file that is missing is an error, not created empty. Only
    client-side (libpq) parameters are set: a connection pooler in front of PostgreSQL (PgBouncer)
    refuses unknown startup options."""
    url = make_url(normalise_database_url(database_url))
    if url.get_backend_name() == "sqlite":
        path = url.database
        return create_engine("sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(
            f"file:{path}?mode=rw", uri=True, timeout=timeout, check_same_thread=False))
    return create_engine(url, poolclass=NullPool, hide_parameters=True, connect_args={
        "connect_timeout": max(1, round(timeout)),
        # A server that vanished without closing the connection fails the send within the bound.
        "tcp_user_timeout": int(timeout * 1000),
    })


class Readiness:
    """The checks of one app; built once, run per ``/readyz``."""

    def __init__(self, app: Flask):
        settings = current_settings(app)
        self.keyring = current_keyring(app)
        self.database = create_probe_engine(settings.database_url, settings.READINESS_TIMEOUT)
        self.redis = (redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=settings.READINESS_TIMEOUT,
                                           socket_timeout=settings.READINESS_TIMEOUT)
                      if settings.REDIS_URL else None)

    def _database(self) -> None:
        with self.database.connect() as connection:
            connection.execute(SCHEMA_PROBE).scalar_one()

    def _redis(self) -> None:
        if self.redis is not None:
            self.redis.ping()

    def _keyring(self) -> None:
        self.keyring.active_key()

    def check(self) -> dict[str, CheckResult]:
        """Run every check that applies; a check fails by raising."""
        checks = {"database": self._database, "keyring": self._keyring}
        if self.redis is not None:
            checks["redis"] = self._redis
        return {name: _run(check) for name, check in checks.items()}


def _run(check) -> CheckResult:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # any failure means "not ready"; the kind is reported, not the text
        return CheckResult(False, (time.perf_counter() - started) * 1000, type(error).__name__)
    return CheckResult(True, (time.perf_counter() - started) * 1000)


def install_readiness(app: Flask) -> None:
    """Build the checks ``/readyz`` runs (their database engine and Redis client) once per app."""
    app.extensions["idp.readiness"] = Readiness(app)
