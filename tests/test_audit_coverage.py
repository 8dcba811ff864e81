"""What the audit log must hold beyond logins (GB/T 22239-2019 8.1.4.3: every security event
with its time, subject, event and outcome): tokens issued and refused, failed client
authentication, attempts the rate limit refused, and the operator's commands."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from test_audit import audit_rows
from test_database_outage import database_down, make_provider  # noqa: F401
from test_rate_limits import post_login
from test_token_endpoint import client_assertion, decode, jwt_client, redeem_with_assertion, refresh  # noqa: F401

from idp.app import create_app
from idp.audit.log import record_event, report_lost_events
from idp.core.clock import utcnow
from idp.core.database import AUTOCOMMIT_BIND, db
from idp.models import AuditEvent

from conftest import make_settings, obtain_code, redeem, register_client, tokens_for


def test_code_redemption_and_refresh_are_audited_with_the_jti_and_no_token(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    refreshed = refresh(client, rp, tokens["refresh_token"]).get_json()
    first, second = audit_rows(app, "token.issued")
    for row, issued in ((first, tokens), (second, refreshed)):
        claims = decode(client, issued["access_token"])
        assert (row.outcome, row.subject, row.client_id) == ("success", person["sub"], rp.client_id)
        assert row.detail["jti"] == claims["jti"]
        assert row.detail["acr"] == claims["acr"]
        assert row.detail["business"] == "natural_person"
        text = repr(row.detail)
        assert not [v for v in (issued["access_token"], issued["refresh_token"], issued["id_token"]) if v in text]
    assert (first.detail["grant_type"], second.detail["grant_type"]) == ("authorization_code", "refresh_token")


def test_client_credentials_tokens_are_audited_without_a_subject(app, client):
    machine = register_client(app, grant_types=["client_credentials"], redirect_uris=[])
    response = client.post("/token", headers=machine.basic_auth, data={"grant_type": "client_credentials"})
    assert response.status_code == 200, response.get_data(as_text=True)
    [row] = audit_rows(app, "token.issued")
    assert (row.subject, row.client_id, row.detail["grant_type"]) == (None, machine.client_id, "client_credentials")


def test_a_client_credentials_token_costs_the_database_one_statement_and_no_transaction(
        database_url, instance_dir, app):
    """Its audit record is all the request writes: one INSERT in autocommit mode, which is the
    same atomic unit as BEGIN, INSERT and COMMIT at a third of the round trips (bench/README.md)."""
    machine = register_client(app, grant_types=["client_credentials"], redirect_uris=[])
    provider = create_app(make_settings(database_url, instance_dir, CLIENT_CACHE_TTL=30))
    client = provider.test_client()

    def token():
        return client.post("/token", headers=machine.basic_auth, data={"grant_type": "client_credentials"})

    assert token().status_code == 200  # reads the client, which is then cached for a while
    with provider.app_context():
        engines = {"transactional": db.engine, "autocommit": db.engines[AUTOCOMMIT_BIND]}
    sent: list[tuple[str, str]] = []
    ended: list[str] = []

    def statement(name):
        return lambda conn, cursor, sql, parameters, context, executemany: sent.append((name, sql.split("(")[0]))

    listeners = [(engine, "before_cursor_execute", statement(name)) for name, engine in engines.items()]
    listeners += [(engines["transactional"], end, lambda conn, end=end: ended.append(end))
                  for end in ("commit", "rollback")]
    for listener in listeners:
        event.listen(*listener)
    try:
        response = token()
    finally:
        for listener in listeners:
            event.remove(*listener)
    assert response.status_code == 200
    assert sent == [("autocommit", "INSERT INTO audit_event ")] and ended == []
    assert [row.detail["grant_type"] for row in audit_rows(app, "token.issued")] == ["client_credentials"] * 2


def test_records_of_a_transaction_with_other_work_stand_or_fall_with_it(app):
    with app.test_request_context("/token", method="POST"):
        record_event("test.before_work")
        db.session.execute(text("SELECT 1"))
        record_event("test.after_work")
        db.session.rollback()
        record_event("test.with_work")
        db.session.add(AuditEvent(at=utcnow(), event="test.orm_row", outcome="success"))
        db.session.commit()
    assert [row.event for row in audit_rows(app) if row.event.startswith("test.")] == ["test.with_work", "test.orm_row"]


def test_a_refused_code_is_audited_with_the_error(app, client, person, rp):
    code, auth = obtain_code(app, client, rp)
    assert redeem(client, rp, code, auth.verifier).status_code == 200
    assert redeem(client, rp, code, auth.verifier).status_code == 400
    [refused] = audit_rows(app, "token.refused")
    assert (refused.outcome, refused.client_id) == ("failure", rp.client_id)
    assert (refused.detail["grant_type"], refused.detail["error"]) == ("authorization_code", "invalid_grant")
    assert code not in repr(refused.detail)


def test_a_token_request_too_large_to_read_is_refused_in_json_and_audited(app, client):
    response = client.post("/token", data={"grant_type": "client_credentials", "client_id": "x" * 70_000})
    assert response.status_code == 413 and response.get_json()["error"] == "invalid_request"
    [refused] = audit_rows(app, "token.refused")
    assert (refused.outcome, refused.client_id, refused.detail["grant_type"]) == ("failure", None, None)


def test_a_wrong_client_secret_is_audited_as_a_failed_client_authentication(app, client, rp):
    rp.client_secret = "not-the-secret"
    response = client.post("/token", headers=rp.basic_auth, data={"grant_type": "client_credentials"})
    assert response.status_code == 401
    [failed] = audit_rows(app, "client.authentication")
    assert (failed.outcome, failed.client_id) == ("failure", rp.client_id)
    assert failed.detail["method"] == "client_secret_basic"
    assert failed.detail["reason"] == "The client secret is wrong."
    assert "not-the-secret" not in repr(failed.detail)
    [refused] = audit_rows(app, "token.refused")
    assert refused.detail["error"] == "invalid_client"


def test_a_replayed_client_assertion_is_audited(app, client, person, jwt_client):  # noqa: F811
    rp, key = jwt_client
    assertion = client_assertion(rp.client_id, key)
    code, auth = obtain_code(app, client, rp)
    assert redeem_with_assertion(client, rp, code, auth.verifier, assertion).status_code == 200
    code, auth = obtain_code(app, client, rp)
    assert redeem_with_assertion(client, rp, code, auth.verifier, assertion).get_json()["error"] == "invalid_client"
    [failed] = audit_rows(app, "client.authentication")
    assert (failed.client_id, failed.detail["method"], failed.detail["known_client"]) == (
        rp.client_id, "private_key_jwt", True)
    assert assertion["client_assertion"] not in repr(failed.detail)


def test_attempts_the_rate_limit_refused_are_audited(database_url, instance_dir, app):
    limited = create_app(make_settings(database_url, instance_dir, LOGIN_RATE_LIMIT="2 per minute"))
    client = limited.test_client()
    statuses = [post_login(client).status_code for _ in range(4)]
    assert statuses == [400, 400, 429, 429]
    refused = audit_rows(app, "rate_limit.refused")
    assert [(r.outcome, r.ip, r.detail["budget"]) for r in refused] == [("failure", "127.0.0.1", "authentication")] * 2
    assert refused[0].detail["endpoint"] == "login.login_submit"


def test_events_a_failed_database_loses_are_logged_as_warnings(app, caplog):
    with app.test_request_context("/login", method="POST"), caplog.at_level(logging.WARNING, "idp.audit"):
        record_event("login.password", "failure", subject="s-1", reason="wrong_credential")
        report_lost_events(OperationalError("INSERT", {}, Exception("server closed the connection")))
    lost = [r for r in caplog.records if getattr(r, "audit_lost", False)]
    assert [(r.event, r.outcome) for r in lost] == [("login.password", "failure"), ("request.lost", "unavailable")]
    assert lost[0].subject == "s-1" and lost[0].detail == {"reason": "wrong_credential"}


def test_operator_commands_are_audited_with_the_os_user_and_no_option_value(app, cli, monkeypatch):
    monkeypatch.setenv("USER", "ops-li")
    monkeypatch.setenv("LOGNAME", "ops-li")
    cli("clients", "add", "--name", "纳税服务", "--redirect-uri", "https://rp.test/cb")
    [row] = audit_rows(app, "admin.command")
    assert (row.outcome, row.detail["command"], row.detail["os_user"]) == ("success", "clients add", "ops-li")
    assert row.detail["options"] == ["name", "redirect_uris"]
    assert "纳税服务" not in repr(row.detail)


def test_a_failed_operator_command_is_audited_as_a_failure(app, cli):
    from click.testing import CliRunner

    from idp.cli.main import main

    cli("audit", "tail")  # the environment of the cli fixture
    result = CliRunner().invoke(main, ["users", "add", "--doc-type", "ID_CARD", "--doc-number", "123",
                                       "--name", "x", "--phone", "1", "--password", "Secret#123456"])
    assert result.exit_code != 0
    rows = audit_rows(app, "admin.command")
    assert [(r.detail["command"], r.outcome) for r in rows] == [("audit tail", "success"), ("users add", "failure")]
    assert "password" in rows[1].detail["options"] and "Secret#123456" not in repr(rows[1].detail)
    assert rows[1].detail["reason"]


def test_an_operator_command_that_fails_midway_keeps_nothing_but_its_failure_record(app, cli, monkeypatch):
    """The command's one transaction (cli/command_audit.py): a client written before the
    command fails is not registered, and the failure is audited all the same."""
    from click.testing import CliRunner

    import idp.cli.main as cli_main

    cli("audit", "tail")  # the environment of the cli fixture
    real_create_client = cli_main.create_client

    def create_then_fail(**options):
        real_create_client(**options)
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(cli_main, "create_client", create_then_fail)
    result = CliRunner().invoke(cli_main.main, ["clients", "add", "--name", "半途", "--redirect-uri", "https://rp.test/cb"])
    assert result.exit_code != 0
    assert "半途" not in cli("clients", "list")
    rows = audit_rows(app, "admin.command")
    assert [(r.detail["command"], r.outcome, r.detail.get("reason")) for r in rows] == [
        ("audit tail", "success", None), ("clients add", "failure", "RuntimeError"), ("clients list", "success", None)]


@pytest.mark.parametrize("command", [("keys", "list"), ("purge",)])
def test_key_and_retention_commands_are_audited(app, cli, command):
    cli(*command)
    assert [r.detail["command"] for r in audit_rows(app, "admin.command")] == [" ".join(command)]


def test_a_token_request_lost_to_a_database_outage_is_logged_as_a_lost_audit_event(make_provider, caplog):  # noqa: F811
    provider = make_provider()
    machine = register_client(provider, grant_types=["client_credentials"], redirect_uris=[])
    with caplog.at_level(logging.WARNING, "idp.audit"), database_down(provider):
        response = provider.test_client().post("/token", headers=machine.basic_auth,
                                               data={"grant_type": "client_credentials"})
    assert response.status_code == 503
    [lost] = [r for r in caplog.records if getattr(r, "audit_lost", False)]
    assert (lost.event, lost.endpoint, lost.method, lost.ip) == ("request.lost", "protocol.token", "POST", "127.0.0.1")
