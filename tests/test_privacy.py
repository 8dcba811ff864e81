"""Privacy (docs/architecture.md §10): a whole login, with its mistakes, leaves no document number,
phone number, password, SMS code or token in the logs or in the audit table; masked forms such
as ``1101**********002X`` and ``138****5678`` are what may appear.

Every logger runs at DEBUG, libraries included, as an operator chasing a fault would set them.
The SMS outbox is not a log: it is the development stand-in for the text message itself.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from idp.core.database import db
from idp.models import AuditEvent
from idp.web.browser_session import COOKIE_NAME

from conftest import (
    DOC_NUMBER,
    PASSWORD,
    PHONE,
    authorization_request,
    csrf_from,
    hidden_value,
    last_sms_code,
    query_of,
    redeem,
)

WRONG_PASSWORD = "Wrong#Guess-2026"
UNKNOWN_DOC_NUMBER = "110105194912310037"
UNKNOWN_PHONE = "13900001111"


@pytest.fixture
def every_logger_at_debug(caplog):
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def walk_a_login_with_mistakes(app, client, rp) -> dict[str, str]:
    """Every step a person and a relying party take, plus the usual slips; returns what must stay secret."""
    request = authorization_request(rp)
    location = client.get("/authorize", query_string=request.params).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "interaction": hidden_value(page, "interaction")}
    for identifier, password in ((UNKNOWN_DOC_NUMBER, PASSWORD), (UNKNOWN_PHONE, PASSWORD),
                                 (DOC_NUMBER.lower(), WRONG_PASSWORD), (DOC_NUMBER.lower(), PASSWORD)):
        response = client.post("/login", data=form | {"identifier": identifier, "password": password})
    assert response.status_code == 302
    code = last_sms_code(app)
    wrong_code = f"{(int(code) + 1) % 10**6:06d}"
    client.post("/login/sms", data={"csrf_token": form["csrf_token"], "code": wrong_code})
    response = client.post("/login/sms", data={"csrf_token": form["csrf_token"], "code": code})
    response = client.get(response.headers["Location"])
    authorization_code = query_of(response.headers["Location"])["code"]
    tokens = redeem(client, rp, authorization_code, request.verifier).get_json()
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 200
    refreshed = client.post("/token", headers=rp.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).get_json()
    client.post("/introspect", headers=rp.basic_auth, data={"token": refreshed["access_token"]})
    client.post("/revoke", headers=rp.basic_auth, data={"token": refreshed["refresh_token"]})
    redeem(client, rp, authorization_code, request.verifier)  # a replayed code, refused
    return {
        "document number": DOC_NUMBER, "document number as typed": DOC_NUMBER.lower(),
        "unknown document number": UNKNOWN_DOC_NUMBER, "phone": PHONE, "unknown phone": UNKNOWN_PHONE,
        "password": PASSWORD, "wrong password": WRONG_PASSWORD, "sms code": code, "wrong sms code": wrong_code,
        "authorization code": authorization_code, "client secret": rp.client_secret,
        "session cookie": client.get_cookie(COOKIE_NAME).value,
        "access token signature": tokens["access_token"].rsplit(".", 1)[1],
        "id token signature": tokens["id_token"].rsplit(".", 1)[1],
        "refresh token": tokens["refresh_token"], "rotated refresh token": refreshed["refresh_token"],
        "rotated access token signature": refreshed["access_token"].rsplit(".", 1)[1],
    }


def leaks(secrets: dict[str, str], text: str) -> list[str]:
    return [name for name, value in secrets.items() if value in text]


def test_logs_at_debug_hold_no_identifier_password_code_or_token(app, client, person, rp, every_logger_at_debug,
                                                                 capfd):
    secrets = walk_a_login_with_mistakes(app, client, rp)
    records = every_logger_at_debug.records
    assert any(r.name == "idp.audit" for r in records), "the audit logger should have spoken"
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    out, err = capfd.readouterr()
    assert leaks(secrets, logged) == []
    assert leaks(secrets, out + err) == []
    assert "1101**********002x" in logged or "1101**********002X" in logged


def test_audit_table_holds_only_masked_identifiers_and_no_secret(app, client, person, rp):
    secrets = walk_a_login_with_mistakes(app, client, rp)
    with app.app_context():
        rows = list(db.session.execute(select(AuditEvent)).scalars())
    text = "\n".join(repr((r.event, r.outcome, r.subject, r.client_id, r.ip, r.detail)) for r in rows)
    assert leaks(secrets, text) == []
    assert "138****5678" in text
    assert "1101**********0037" in text and "139****1111" in text
