"""Migrations at start: a node that finds the schema current changes nothing (nodes started
together are serialised by tests/faults/test_nodes_start_together.py)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from idp.audit.chain import GENESIS, verify_chain
from idp.core.database import normalise_database_url, upgrade_database
from idp.models import AuditChain, AuditEvent

from conftest import _fresh_postgres_database

DDL = re.compile(r"^\s*(CREATE|ALTER|DROP)\b", re.IGNORECASE)


def test_upgrading_a_current_database_runs_no_ddl(database_url):
    statements: list[str] = []

    def executed(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", executed)
    try:
        upgrade_database(database_url)
    finally:
        event.remove(Engine, "before_cursor_execute", executed)
    assert statements, "the upgrade must have read the version table"
    assert not [s for s in statements if DDL.match(s)]


@pytest.fixture
def fresh_database_url(tmp_path):
    server = os.environ.get("IDP_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    url, drop = _fresh_postgres_database(server)
    yield url
    drop()


def test_the_audit_chain_migration_chains_the_records_already_there(fresh_database_url):
    upgrade_database(fresh_database_url, "0014_username_case")
    engine = create_engine(normalise_database_url(fresh_database_url))
    with engine.begin() as connection:
        for index, (event_name, detail) in enumerate((("login.password", '{"reason": "wrong_credential"}'),
                                                       ("login.succeeded", '{"acr": "urn:qdtax:loa:2"}'))):
            connection.execute(text(
                "INSERT INTO audit_event (at, event, outcome, subject, detail)"
                " VALUES (:at, :event, 'success', 's', :detail)"),
                {"at": datetime(2026, 1, 1, 8, index, 0, 123456, tzinfo=UTC), "event": event_name, "detail": detail})
    upgrade_database(fresh_database_url)
    with Session(engine) as session:
        rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        assert [(r.seq, r.event) for r in rows] == [(1, "login.password"), (2, "login.succeeded")]
        assert verify_chain(session, 0, GENESIS)[2] is None
        assert session.get(AuditChain, 1).head_seq == 2
    # 0018: a request writes its record unchained; the chain before it still verifies.
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO audit_event (at, event, outcome, detail)"
                                " VALUES (:at, 'token.issued', 'success', '{}')"), {"at": datetime.now(UTC)})
    with Session(engine) as session:
        assert [r.seq for r in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()] == [1, 2, None]
        assert verify_chain(session, 0, GENESIS)[2] is None
    engine.dispose()
