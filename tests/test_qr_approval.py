"""The bureau app's approval API (docs/architecture.md §6, docs/domain.md §1.11): who may scan and approve, what the
app is shown, and what login the web inherits from the app session."""

from __future__ import annotations

import io
import secrets
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from test_code_flow import verify_id_token

from idp.consent.choices import available_choices
from idp.core.assurance import LOA_1
from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import AuditEvent, Grant, LoginSession, Person
from idp.protocol.client_registry import client_registry
from idp.protocol.clients import ClientRegistrationError, create_client
from idp.protocol.tokens import AccessTokenGenerator, TokenSubject
from idp.taxpayers.entities import import_entities, remove_role

from entity_fixtures import BUILDER, TRADER, give_role, load_entities
from metric_samples import MetricGrowth
from qr_steps import (
    app_call,
    app_login,
    bearer,
    device_authorization,
    poll,
    register_bureau_app,
    register_kiosk,
    scan_and_approve,
)


@pytest.fixture
def bureau_app(app):
    return register_bureau_app(app)


@pytest.fixture
def kiosk(app):
    return register_kiosk(app)


@pytest.fixture
def app_client(app):
    """The phone: its own cookie jar, apart from any browser."""
    return app.test_client()


@pytest.fixture
def app_token(app, person, bureau_app, app_client) -> str:
    return app_login(app, app_client, bureau_app)["access_token"]


def new_code(client, kiosk) -> dict:
    response = device_authorization(client, kiosk)
    assert response.status_code == 200
    return response.get_json()


def id_token_after_approval(client, kiosk, access_token: str) -> dict:
    codes = new_code(client, kiosk)
    scan_and_approve(client, access_token, codes["verification_uri_complete"])
    tokens = poll(client, kiosk, codes["device_code"])
    assert tokens.status_code == 200, tokens.get_json()
    return verify_id_token(client, tokens.get_json()["id_token"], kiosk)


def refusal(response, status: int, error: str) -> str:
    assert (response.status_code, response.get_json()["error"]) == (status, error), response.get_json()
    return response.get_json()["message"]


def test_scan_shows_who_asks_from_where_and_when(client, kiosk, app_token):
    """The person can spot a relayed code: client name, scopes, requester IP and time."""
    codes = new_code(client, kiosk)
    answer = app_call(client, "scan", app_token, payload=codes["verification_uri_complete"])
    assert answer.status_code == 200
    shown = answer.get_json()
    assert shown["status"] == "scanned"
    assert shown["client"] == {"client_id": kiosk.client_id, "name": "办税服务厅自助终端"}
    assert shown["scopes"] == ["openid", "profile"]
    assert shown["requester"]["ip"] == "127.0.0.1"
    assert abs(time.time() - _epoch(shown["requester"]["requested_at"])) < 30
    assert 0 < shown["expires_in"] <= 120
    assert shown["login"] == {"business": "natural_person", "entity": None}


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def test_the_typed_user_code_finds_the_same_request(client, kiosk, app_token):
    codes = new_code(client, kiosk)
    answer = app_call(client, "scan", app_token, user_code=codes["user_code"].lower())
    assert answer.status_code == 200 and answer.get_json()["client"]["client_id"] == kiosk.client_id


def test_approval_needs_a_scan_first(client, kiosk, app_token):
    codes = new_code(client, kiosk)
    refusal(app_call(client, "approve", app_token, payload=codes["verification_uri_complete"]), 409, "not_scanned")


def test_a_code_scanned_by_one_app_session_cannot_be_taken_over_by_another(app, client, kiosk, app_token, bureau_app):
    """A relayed code: whoever scanned first owns it; a second session can neither scan nor decide."""
    codes = new_code(client, kiosk)
    payload = codes["verification_uri_complete"]
    assert app_call(client, "scan", app_token, payload=payload).status_code == 200
    other = app_login(app, app.test_client(), bureau_app)["access_token"]
    refusal(app_call(client, "scan", other, payload=payload), 409, "already_scanned")
    refusal(app_call(client, "approve", other, payload=payload), 409, "already_scanned")
    refusal(app_call(client, "deny", other, payload=payload), 409, "already_scanned")
    # The scanning session repeating its scan (a network retry) is fine.
    assert app_call(client, "scan", app_token, payload=payload).status_code == 200


def test_a_request_is_approved_only_once(client, kiosk, app_token):
    codes = new_code(client, kiosk)
    growth = MetricGrowth()
    scan_and_approve(client, app_token, codes["verification_uri_complete"])
    again = app_call(client, "approve", app_token, payload=codes["verification_uri_complete"])
    refusal(again, 409, "already_decided")
    refusal(app_call(client, "deny", app_token, payload=codes["verification_uri_complete"]), 409, "already_decided")
    assert growth("idp_qr_decisions_total", decision="approved") == 1
    assert growth("idp_qr_decisions_total", decision="refused") == 2


def test_calls_without_a_valid_app_token_are_refused(app, client, kiosk, app_token, rp):
    """RFC 6750 section 3.1: 401 ``invalid_token``; 403 ``insufficient_scope`` without qr:approve."""
    payload = new_code(client, kiosk)["verification_uri_complete"]
    refusal(client.post("/api/qr/scan", json={"payload": payload}), 401, "invalid_token")
    answer = app_call(client, "scan", "not-a-token", payload=payload)
    refusal(answer, 401, "invalid_token")
    assert answer.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    # A relying party's token (no qr:approve) cannot approve, even for the same person.
    from conftest import let_sms_cooldown_pass, tokens_for

    let_sms_cooldown_pass(app)
    rp_token = tokens_for(app, app.test_client(), rp)["access_token"]
    refusal(app_call(client, "scan", rp_token, payload=payload), 403, "insufficient_scope")


def test_a_revoked_app_token_can_no_longer_scan(client, kiosk, app_token, bureau_app):
    client.post("/revoke", data={"token": app_token, "client_id": bureau_app.client_id})
    payload = new_code(client, kiosk)["verification_uri_complete"]
    refusal(app_call(client, "scan", payload=payload, access_token=app_token), 401, "invalid_token")


def test_only_the_bureau_app_may_be_registered_with_qr_approve(app):
    with app.app_context(), pytest.raises(ClientRegistrationError, match="qr:approve"):
        create_client(name="第三方应用", redirect_uris=["https://rp.test/cb"], scope="openid qr:approve")


def _mint_app_token(app, bureau_app, acr: str, amr: list[str]) -> str:
    """An app session whose login did only one factor: no login page produces one (loa:1 exists
    only for the legacy login), so its grant is written directly."""
    with app.test_request_context():
        person = db.session.execute(select(Person)).scalar_one()
        login = LoginSession(id=secrets.token_urlsafe(32), person_id=person.id, auth_time=int(time.time()),
                             amr=amr, acr=acr, expires_at=_in(3600))
        grant = Grant(id=secrets.token_urlsafe(32), person_id=person.id, client_id=bureau_app.client_id,
                      login_session_id=login.id, scope="openid qr:approve", auth_time=login.auth_time, acr=acr,
                      amr=amr, expires_at=_in(3600))
        db.session.add_all([login, grant])
        db.session.commit()
        client = client_registry(app).query_client(bureau_app.client_id)
        generate = AccessTokenGenerator(current_settings(app).ISSUER, 600)
        return generate(grant_type="authorization_code", client=client, user=TokenSubject(person, grant),
                        scope="openid qr:approve", include_refresh_token=False)["access_token"]


def _in(seconds: int):
    from idp.core.clock import utcnow

    return utcnow() + timedelta(seconds=seconds)


def test_approval_needs_an_app_session_at_loa2_or_better(app, client, kiosk, person, bureau_app):
    weak = _mint_app_token(app, bureau_app, LOA_1, ["pwd"])
    payload = new_code(client, kiosk)["verification_uri_complete"]
    assert app_call(client, "scan", weak, payload=payload).status_code == 200
    refusal(app_call(client, "approve", weak, payload=payload), 403, "app_session_too_weak")


def test_web_login_from_an_sms_app_session_is_loa2_with_mca(client, kiosk, app_token):
    """amr keeps the app session's factors, adds ``mca`` (RFC 8176), then ``mfa``."""
    claims = id_token_after_approval(client, kiosk, app_token)
    assert claims["acr"] == "urn:qdtax:loa:2"
    assert claims["amr"] == ["pwd", "sms", "mca", "mfa"]


def test_web_login_from_a_face_checked_app_session_is_loa3(app, client, kiosk, person, bureau_app, app_client):
    face_token = app_login(app, app_client, bureau_app, face=True)["access_token"]
    claims = id_token_after_approval(client, kiosk, face_token)
    assert claims["acr"] == "urn:qdtax:loa:3"
    assert claims["amr"] == ["pwd", "face", "mca", "mfa"]


def test_web_login_inherits_the_app_sessions_business_entry_and_taxpayer(app, client, kiosk, person, bureau_app,
                                                                        app_client):
    """docs/domain.md §1.11: an app logged in for enterprise business logs the web in for the same enterprise."""
    load_entities(app)
    give_role(app, TRADER, "tax_officer")
    app_token = app_login(app, app_client, bureau_app, business_entry="enterprise")["access_token"]
    claims = id_token_after_approval(client, kiosk, app_token)
    assert claims["business"] == "enterprise"
    assert claims["entity"]["id"] == TRADER and claims["entity"]["role"] == "tax_officer"


def test_an_app_session_whose_role_ended_cannot_approve_for_that_enterprise(app, client, kiosk, person, bureau_app,
                                                                          app_client):
    """Removing the role ends the app's grant at once; an enterprise whose registration ended
    (no grant revoked) is re-checked at approval."""
    load_entities(app)
    give_role(app, BUILDER, "financial_officer")
    give_role(app, TRADER, "tax_officer")
    removed = app_login(app, app_client, bureau_app, business_entry="enterprise", choice=_choice(app, BUILDER))
    ended = app_login(app, app.test_client(), bureau_app, business_entry="enterprise", choice=_choice(app, TRADER))
    with app.app_context():
        remove_role("zhangsan", BUILDER, "financial_officer")
        import_entities(io.StringIO(f"row_type,taxpayer_number,name,kind,tax_authority_code,tax_authority_name,"
                                    f"client_taxpayer_number,status\nentity,{TRADER},青岛远洋贸易有限公司,enterprise,"
                                    f"13702030000,国家税务总局青岛市市南区税务局,,ended\n"))
        db.session.commit()
    payload = new_code(client, kiosk)["verification_uri_complete"]
    refusal(app_call(client, "scan", removed["access_token"], payload=payload), 401, "invalid_token")
    assert app_call(client, "scan", ended["access_token"], payload=payload).status_code == 200
    message = refusal(app_call(client, "approve", ended["access_token"], payload=payload), 403, "role_ended")
    assert message == "未查询到您与该企业的关联关系信息"


def _choice(app, taxpayer_number: str) -> str:
    """The selection page's key for zhangsan's enterprise choice of ``taxpayer_number``."""
    with app.app_context():
        person = db.session.execute(select(Person)).scalar_one()
        return next(c.key for c in available_choices(person, "enterprise") if c.entity["id"] == taxpayer_number)


def test_unknown_codes_are_rate_limited_per_app_session(app, client, kiosk, app_token):
    """User codes are short: after QR_GUESS_LIMIT unknown codes even a right one is refused."""
    codes = new_code(client, kiosk)
    limit = current_settings(app).QR_GUESS_LIMIT
    for _ in range(limit):
        refusal(app_call(client, "scan", app_token, user_code="BBBB-BBBB"), 404, "unknown_code")
    message = refusal(app_call(client, "scan", app_token, user_code=codes["user_code"]), 429, "too_many_attempts")
    assert message == "无效二维码尝试次数过多，请稍后再试"


def test_refusals_are_worded_in_the_apps_language(client, kiosk, app_token):
    payload = new_code(client, kiosk)["verification_uri_complete"]
    answer = client.post("/api/qr/approve", json={"payload": payload}, headers={
        **bearer(app_token), "Accept-Language": "en"})
    assert answer.get_json()["message"] == "Scan the code first."


def test_every_step_is_audited_without_secrets(app, client, kiosk, app_token, person):
    codes = new_code(client, kiosk)
    scan_and_approve(client, app_token, codes["verification_uri_complete"])
    poll(client, kiosk, codes["device_code"])
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.event.startswith("qr."))
                                    .order_by(AuditEvent.id)).scalars().all()
        seen = [(e.event, e.outcome, e.subject) for e in events]
    assert seen == [("qr.issued", "success", None), ("qr.scanned", "success", person["sub"]),
                    ("qr.approved", "success", person["sub"]), ("qr.redeemed", "success", None)]
