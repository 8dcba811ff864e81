"""The audit log (docs/architecture.md §10): every login attempt leaves a row naming the event and
its outcome, with identifiers masked and no secrets."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.audit.chain import pending_records
from idp.audit.log import record_event
from idp.core.database import db
from idp.models import AuditEvent

from conftest import DOC_NUMBER, PASSWORD, PHONE, last_sms_code, submit_password, submit_sms_code


def audit_rows(app, event: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if event:
            query = query.where(AuditEvent.event == event)
        return list(db.session.execute(query).scalars())


def wrong_code(app) -> str:
    return f"{(int(last_sms_code(app)) + 1) % 10**6:06d}"


def test_unknown_identity_is_recorded_with_the_identifier_masked(app, client, person):
    submit_password(client, identifier="110105194912310037")
    submit_password(client, identifier="13900001111")
    first, second = audit_rows(app, "login.password")
    assert (first.outcome, first.subject) == ("failure", None)
    assert first.detail == {"reason": "not_registered", "identifier": "1101**********0037"}
    assert second.detail == {"reason": "not_registered", "identifier": "139****1111"}
    assert first.ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("identifier", "masked"),
    [("zhangsan", "******an"), (PHONE, "138****5678"), (DOC_NUMBER.lower(), "1101**********002x")],
    ids=["username", "phone", "document-number"],
)
def test_wrong_password_is_recorded_per_person_with_the_typed_identifier_masked(
    app, client, person, identifier, masked
):
    submit_password(client, identifier=identifier, password="Wrong#2026")
    [row] = audit_rows(app, "login.password")
    assert (row.outcome, row.subject) == ("failure", person["sub"])
    assert row.detail == {"reason": "wrong_credential", "identifier": masked}


def test_lockout_is_recorded_once_and_each_refused_attempt_too(app, client, person):
    for _ in range(6):
        submit_password(client, password="Wrong#2026")
    attempts = audit_rows(app, "login.password")
    assert [row.detail["reason"] for row in attempts] == ["wrong_credential"] * 4 + ["method_locked"] * 2
    [locked] = audit_rows(app, "factor.locked")
    assert (locked.outcome, locked.subject, locked.detail) == ("failure", person["sub"], {"method": "password"})


def test_sms_sent_wrong_and_login_success_are_recorded(app, client, person):
    submit_password(client)
    submit_sms_code(client, wrong_code(app))
    submit_sms_code(client, last_sms_code(app))
    [sent] = audit_rows(app, "sms.sent")
    assert (sent.outcome, sent.subject) == ("success", person["sub"])
    assert sent.detail == {"phone": "138****5678", "purpose": "login"}
    wrong, right = audit_rows(app, "login.sms")
    assert (wrong.outcome, wrong.detail) == ("failure", {"reason": "wrong_credential", "phone": "138****5678"})
    assert (right.outcome, right.detail) == ("success", {"phone": "138****5678"})
    [succeeded] = audit_rows(app, "login.succeeded")
    assert succeeded.subject == person["sub"]
    assert succeeded.detail["acr"] == "urn:qdtax:loa:2"
    assert succeeded.detail["amr"] == ["pwd", "sms", "mfa"]


def test_every_login_step_is_in_order(app, client, person):
    submit_password(client, identifier="nobody-here")
    submit_password(client, password="Wrong#2026")
    submit_password(client)
    submit_sms_code(client, wrong_code(app))
    submit_sms_code(client, last_sms_code(app))
    events = [(row.event, row.outcome) for row in audit_rows(app) if row.event != "account.created"]
    assert events == [
        ("login.password", "failure"),
        ("login.password", "failure"),
        ("login.password", "success"),
        ("sms.sent", "success"),
        ("login.sms", "failure"),
        ("login.sms", "success"),
        ("login.succeeded", "success"),
    ]


def test_audit_rows_hold_no_secret(app, client, person):
    submit_password(client, password="Wrong#2026")
    submit_password(client)
    code = last_sms_code(app)
    submit_sms_code(client, code)
    cookie = client.get_cookie("idp_session").value
    secrets = (PASSWORD, "Wrong#2026", code, PHONE, DOC_NUMBER, DOC_NUMBER.lower(), cookie)
    for row in audit_rows(app):
        text = repr((row.event, row.outcome, row.subject, row.client_id, row.ip, row.detail))
        assert not [secret for secret in secrets if secret in text], row.event


@pytest.mark.parametrize("key", ["password", "code", "sms_code", "token", "refresh_token", "client_secret"])
def test_record_event_refuses_secret_detail_keys(app, key):
    with app.test_request_context():
        with pytest.raises(ValueError, match="secrets"):
            record_event("login.password", **{key: "x"})
        assert not pending_records(db.session())
