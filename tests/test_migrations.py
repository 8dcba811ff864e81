"""Migrations at start: a node that finds the schema current changes nothing (nodes started
together are serialised by tests/faults/test_nodes_start_together.py)."""

from __future__ import annotations

import re

from sqlalchemy import event
from sqlalchemy.engine import Engine

from idp.database import upgrade_database

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
