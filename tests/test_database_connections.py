"""A connection the database dropped (restart, failover, idle timeout) costs no request an
error: idle pooled connections are checked before use (idp.core.database.ping_idle_connections)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from idp.app import create_app
from idp.core import database
from idp.core.database import db

from conftest import make_settings


def _introspect_unknown_token(client, rp):
    # An opaque token is looked up among refresh tokens: the request reads the database.
    return client.post("/introspect", data={"token": "not-a-token"}, headers=rp.basic_auth)


@pytest.fixture
def own_app(database_url, instance_dir):
    """An app with a pool of its own, so only its connections are cut."""
    app = create_app(make_settings(database_url, instance_dir))
    yield app
    with app.app_context():
        db.engine.dispose()


def test_connections_the_database_dropped_are_replaced_before_use(own_app, rp, monkeypatch):
    if own_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite has no server that could drop a connection; the PostgreSQL pass runs this")
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    client = own_app.test_client()
    assert _introspect_unknown_token(client, rp).get_json() == {"active": False}
    with own_app.app_context():
        assert db.engine.pool.checkedin() == 1, "the first request left its connection in the pool"
        pooled = db.engine.raw_connection()
        cursor = pooled.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        cursor.close()
        pooled.close()
        killer = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
        with killer.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        killer.dispose()
    response = _introspect_unknown_token(client, rp)
    assert response.status_code == 200
    assert response.get_json() == {"active": False}
