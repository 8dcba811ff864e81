"""``idp users close``: an operator closes an account at the person's request (by phone, in writing),
with the same effects as the person's own closure in the account centre (docs/privacy.md)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.cli.main import main
from idp.core.database import db
from idp.models import BackchannelLogout, ConsentRecord, FaceConsent, Grant, LoginSession, Person
from idp.people.account_closure import close_account
from idp.protocol.backchannel_logout import deliver_due_logouts

from account_steps import audit_events, person_row
from conftest import DOC_NUMBER, PHONE, RACE_THREADS, all_at_once, register_client, tokens_for
from loopback_servers import start_logout_receiver

REASON = "工单 2026-1207-018：本人来电申请注销"


def close(*args: str, answer: str | None = None):
    """Run ``idp users close`` (in the environment the ``cli`` fixture set), answering the prompt."""
    return CliRunner().invoke(main, ["users", "close", *args], input=answer)


def test_an_operator_closes_an_account_as_its_owner_would(app, client, person, cli, monkeypatch):
    monkeypatch.setenv("USER", "ops-wang")
    monkeypatch.setenv("LOGNAME", "ops-wang")
    receiver = start_logout_receiver()
    try:
        rp = register_client(app, name="laptop", backchannel_logout_uri=receiver.uri_for("laptop"))
        tokens = tokens_for(app, client, rp)
        with app.app_context():
            db.session.add(FaceConsent(doc_type="ID_CARD", doc_number=DOC_NUMBER, notice_version="2026-11"))
            db.session.commit()

        output = cli("users", "close", "--person", "zhangsan", "--reason", REASON, "--yes")
        assert f"closed {person['sub']}" in output

        # The person's browser is logged out, and their tokens are dead.
        assert client.get("/account").headers["Location"] == "/login"
        answer = client.post("/introspect", headers=rp.basic_auth, data={"token": tokens["access_token"]})
        assert answer.get_json() == {"active": False}
        refresh = client.post("/token", headers=rp.basic_auth, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert refresh.get_json()["error"] == "invalid_grant"
        # The relying party is told by back-channel logout.
        with app.app_context():
            [queued] = db.session.execute(select(BackchannelLogout)).scalars().all()
            sid = queued.sid
            assert deliver_due_logouts().delivered == 1
        [logout_token] = receiver.tokens_for("laptop")
        claims = jwt.decode(logout_token, KeySet.import_key_set(client.get("/jwks.json").get_json())).claims
        assert (claims["sub"], claims["sid"]) == (person["sub"], sid)
    finally:
        receiver.live.stop()

    # Erased as the person's own closure erases, and the tombstone left.
    closed = person_row(app, person["id"])
    assert (closed.status, closed.sub, closed.name, closed.username, closed.password_hash) == (
        "closed", person["sub"], "", None, "")
    assert DOC_NUMBER not in (closed.doc_number, closed.phone)
    with app.app_context():
        for model in (ConsentRecord, FaceConsent, LoginSession, Grant):
            assert db.session.execute(select(model)).first() is None, model
    # Audited: the closure with the operator and the reason, the command with the OS user.
    [event] = audit_events(app, "account.closed")
    assert event.subject == person["sub"]
    assert (event.detail["method"], event.detail["os_user"], event.detail["reason"]) == ("operator", "ops-wang", REASON)
    assert event.detail["doc_number"] == "1101**********002X" and PHONE not in str(event.detail)
    [command] = audit_events(app, "admin.command")
    assert (command.outcome, command.detail["command"], command.detail["os_user"]) == (
        "success", "users close", "ops-wang")
    assert command.detail["options"] == ["confirmed", "identifier", "reason"] and REASON not in str(command.detail)


def test_without_yes_the_operator_sees_whom_and_confirms(app, person, cli):
    cli("audit", "tail")  # the environment of the cli fixture
    refused = close("--person", PHONE, "--reason", REASON, answer="n\n")
    assert refused.exit_code == 1
    assert "1101**********002X" in refused.output and "138****5678" in refused.output
    assert DOC_NUMBER not in refused.output and PHONE not in refused.output
    assert person_row(app, person["id"]).status == "active"
    assert audit_events(app, "account.closed") == []

    done = close("--person", PHONE, "--reason", REASON, answer="y\n")
    assert done.exit_code == 0, done.output
    assert person_row(app, person["id"]).status == "closed"
    commands = audit_events(app, "admin.command")
    assert [(c.detail["command"], c.outcome) for c in commands] == [
        ("audit tail", "success"), ("users close", "failure"), ("users close", "success")]


@pytest.mark.parametrize("how", ["username", "phone", "document", "sub"])
def test_the_account_is_named_by_username_phone_document_or_sub(app, person, cli, how):
    name = {"username": ["--person", "ZhangSan"], "phone": ["--person", PHONE],
            "document": ["--person", DOC_NUMBER], "sub": ["--sub", person["sub"]]}[how]
    cli("users", "close", *name, "--reason", REASON, "--yes")
    assert person_row(app, person["id"]).status == "closed"


def test_unknown_closed_or_ambiguous_accounts_and_a_missing_reason_are_refused(app, person, cli):
    cli("users", "close", "--sub", person["sub"], "--reason", REASON, "--yes")
    refusals = {
        "already": close("--sub", person["sub"], "--reason", REASON, "--yes"),
        "no account matches": close("--person", "nobody", "--reason", REASON, "--yes"),
        "exactly one of": close("--person", "zhangsan", "--sub", person["sub"], "--reason", REASON, "--yes"),
        "--reason must be": close("--sub", person["sub"], "--reason", " ", "--yes"),
        "Missing option '--reason'": close("--sub", person["sub"], "--yes"),
    }
    for message, result in refusals.items():
        assert result.exit_code == 2 and message in result.output, (message, result.output)
    assert len(audit_events(app, "account.closed")) == 1


def test_closures_at_the_same_moment_close_the_account_once(app, person):
    """The person and an operator (or two operators) at once: one closure, one audit event."""
    def close_now(index: int) -> bool:
        with app.app_context():
            closed = close_account(db.session.get(Person, person["id"]), "operator", reason=f"ticket {index}")
            db.session.commit()
            return closed

    assert sorted(all_at_once(close_now)) == [False] * (RACE_THREADS - 1) + [True]
    assert len(audit_events(app, "account.closed")) == 1
