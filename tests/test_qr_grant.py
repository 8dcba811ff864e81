"""The QR scan grant through HTTP: RFC 8628 device authorization (section 3.1-3.2) and the token
endpoint's answers while polling (section 3.5), with codes redeemed once."""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_code_flow import verify_id_token

from idp.core.database import db
from idp.models import AuditEvent

from qr_steps import (
    DEVICE_GRANT,
    QR_GRANT,
    age_qr_requests,
    app_call,
    app_login,
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
def app_token(app, person, bureau_app) -> str:
    """The bureau app, logged in with password + SMS (loa:2), in its own cookie jar."""
    return app_login(app, app.test_client(), bureau_app)["access_token"]


@pytest.fixture
def kiosk(app):
    return register_kiosk(app)


def authorize_device(client, kiosk) -> dict:
    response = device_authorization(client, kiosk)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def error_of(response) -> str:
    assert response.status_code == 400, (response.status_code, response.get_json())
    return response.get_json()["error"]


def test_discovery_advertises_the_device_endpoint_and_both_grant_types(client):
    """RFC 8628 section 4: ``device_authorization_endpoint`` in the server metadata."""
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["device_authorization_endpoint"] == "http://idp.test/device_authorization"
    assert {QR_GRANT, DEVICE_GRANT} <= set(metadata["grant_types_supported"])
    assert "qr:approve" in metadata["scopes_supported"]


def test_device_authorization_returns_rfc8628_codes_and_a_random_qr_payload(client, kiosk):
    """RFC 8628 section 3.2; the QR payload carries >= 128 random bits, the user code 8 letters."""
    response = device_authorization(client, kiosk)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"device_code", "user_code", "verification_uri", "verification_uri_complete",
                         "expires_in", "interval"}
    assert body["expires_in"] == 120 and body["interval"] == 5
    assert body["verification_uri"] == "http://idp.test/qr"
    token = body["verification_uri_complete"].removeprefix("http://idp.test/qr/")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)  # 24 random bytes = 192 bits
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", body["user_code"])
    other = device_authorization(client, kiosk).get_json()
    assert other["verification_uri_complete"] != body["verification_uri_complete"]
    assert other["device_code"] != body["device_code"]


def test_public_client_asks_by_client_id_alone(app, client):
    """RFC 8628 section 3.1: ``client_id`` identifies a client that does not authenticate."""
    public = register_kiosk(app, public=True)
    assert device_authorization(client, public).status_code == 200


def test_confidential_client_with_a_wrong_secret_is_refused(app, client, kiosk):
    response = client.post("/device_authorization", data={"scope": "openid"},
                           headers={"Authorization": "Basic " + "d3Jvbmc6d3Jvbmc="})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_client_not_registered_for_the_qr_grant_gets_unauthorized_client(app, client, rp):
    """RFC 6749 section 5.2, at both endpoints."""
    response = client.post("/device_authorization", data={"scope": "openid"}, headers=rp.basic_auth)
    assert response.status_code == 400 and response.get_json()["error"] == "unauthorized_client"
    polled = client.post("/token", data={"grant_type": QR_GRANT, "device_code": "x"}, headers=rp.basic_auth)
    assert error_of(polled) == "unauthorized_client"


def test_polling_before_approval_is_authorization_pending(client, kiosk):
    codes = authorize_device(client, kiosk)
    assert error_of(poll(client, kiosk, codes["device_code"])) == "authorization_pending"


def test_polling_faster_than_the_interval_is_slow_down_and_the_interval_grows_by_five_seconds(app, client, kiosk):
    """RFC 8628 section 3.5: after ``slow_down`` the interval is 5 s longer for every later poll."""
    codes = authorize_device(client, kiosk)
    assert error_of(poll(client, kiosk, codes["device_code"])) == "authorization_pending"
    assert error_of(poll(client, kiosk, codes["device_code"])) == "slow_down"  # at once: interval now 10 s
    age_qr_requests(app, 6)  # 6 s later: enough for the old 5 s, not for the new 10 s
    assert error_of(poll(client, kiosk, codes["device_code"])) == "slow_down"  # interval now 15 s
    age_qr_requests(app, 16)
    assert error_of(poll(client, kiosk, codes["device_code"])) == "authorization_pending"


def test_scanned_but_undecided_is_still_authorization_pending(app, client, kiosk, app_token):
    codes = authorize_device(client, kiosk)
    assert app_call(client, "scan", app_token, payload=codes["verification_uri_complete"]).status_code == 200
    assert error_of(poll(client, kiosk, codes["device_code"])) == "authorization_pending"


def test_denied_request_answers_access_denied(app, client, kiosk, app_token):
    codes = authorize_device(client, kiosk)
    payload = codes["verification_uri_complete"]
    assert app_call(client, "scan", app_token, payload=payload).status_code == 200
    assert app_call(client, "deny", app_token, payload=payload).status_code == 200
    assert error_of(poll(client, kiosk, codes["device_code"])) == "access_denied"
    age_qr_requests(app, 6)
    assert error_of(poll(client, kiosk, codes["device_code"])) == "access_denied"
    # A denied request stays denied: approving it afterwards is refused.
    assert app_call(client, "approve", app_token, payload=payload).get_json()["error"] == "already_decided"


def test_expired_code_answers_expired_token_and_can_no_longer_be_approved(app, client, kiosk, app_token):
    codes = authorize_device(client, kiosk)
    payload = codes["verification_uri_complete"]
    assert app_call(client, "scan", app_token, payload=payload).status_code == 200
    age_qr_requests(app, 121)
    assert error_of(poll(client, kiosk, codes["device_code"])) == "expired_token"
    late = app_call(client, "approve", app_token, payload=payload)
    assert late.status_code == 410 and late.get_json()["error"] == "expired"


@pytest.mark.parametrize("grant_type", [QR_GRANT, DEVICE_GRANT])
def test_approved_code_yields_tokens_with_the_app_sessions_login(app, client, kiosk, app_token, person, grant_type):
    """Under either URN; the ID token says how: the app session's factors plus ``mca``."""
    codes = authorize_device(client, kiosk)
    scan_and_approve(client, app_token, codes["verification_uri_complete"])
    response = poll(client, kiosk, codes["device_code"], grant_type)
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    claims = verify_id_token(client, tokens["id_token"], kiosk)
    assert claims["sub"] == person["sub"]
    assert claims["acr"] == "urn:qdtax:loa:2"
    assert claims["amr"] == ["pwd", "sms", "mca", "mfa"]
    assert claims["business"] == "natural_person"
    assert tokens["scope"] == "openid profile"
    assert "refresh_token" in tokens


def test_tokens_from_a_qr_login_refresh_introspect_and_revoke_like_any_other(app, client, kiosk, app_token, rp):
    codes = authorize_device(client, kiosk)
    scan_and_approve(client, app_token, codes["verification_uri_complete"])
    tokens = poll(client, kiosk, codes["device_code"]).get_json()
    refreshed = client.post("/token", headers=kiosk.basic_auth,
                            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.get_json()
    assert "mca" in verify_id_token(client, refreshed.get_json()["id_token"], kiosk)["amr"]
    introspected = client.post("/introspect", headers=rp.basic_auth,
                               data={"token": refreshed.get_json()["access_token"]}).get_json()
    assert introspected["active"] is True and introspected["acr"] == "urn:qdtax:loa:2"
    client.post("/revoke", headers=kiosk.basic_auth, data={"token": refreshed.get_json()["refresh_token"]})
    after = client.post("/introspect", headers=rp.basic_auth, data={"token": refreshed.get_json()["access_token"]})
    assert after.get_json() == {"active": False}


def test_code_cannot_be_redeemed_twice(client, kiosk, app_token):
    """A device code redeems once; authlib's stock device grant would issue tokens again."""
    codes = authorize_device(client, kiosk)
    scan_and_approve(client, app_token, codes["verification_uri_complete"])
    assert poll(client, kiosk, codes["device_code"]).status_code == 200
    assert error_of(poll(client, kiosk, codes["device_code"])) == "invalid_grant"
    assert error_of(poll(client, kiosk, codes["device_code"], DEVICE_GRANT)) == "invalid_grant"


def test_parallel_redemptions_of_one_approved_code_yield_one_token_response(app, client, kiosk, app_token):
    """One guarded UPDATE consumes the code: of 16 simultaneous polls exactly one gets tokens."""
    codes = authorize_device(client, kiosk)
    scan_and_approve(client, app_token, codes["verification_uri_complete"])
    barrier = threading.Barrier(16)

    def one(_):
        own = app.test_client()
        barrier.wait(timeout=30)
        return poll(own, kiosk, codes["device_code"])

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(one, range(16)))
    assert Counter(r.status_code for r in responses) == {200: 1, 400: 15}
    assert {r.get_json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}


def test_another_clients_device_code_is_invalid_grant(app, client, kiosk):
    codes = authorize_device(client, kiosk)
    other = register_kiosk(app, name="另一个终端")
    assert error_of(poll(client, other, codes["device_code"])) == "invalid_grant"
    assert error_of(poll(client, kiosk, "not-a-device-code")) == "invalid_grant"


def test_missing_device_code_is_invalid_request(client, kiosk):
    response = client.post("/token", data={"grant_type": QR_GRANT}, headers=kiosk.basic_auth)
    assert error_of(response) == "invalid_request"


def test_codes_are_stored_only_as_digests(app, client, kiosk):
    codes = authorize_device(client, kiosk)
    with app.app_context():
        from idp.models import QrLoginRequest

        row = db.session.execute(db.select(QrLoginRequest)).scalar_one()
        stored = " ".join(str(v) for v in row.__dict__.values())
        audit = " ".join(str(e.detail) for e in db.session.execute(db.select(AuditEvent)).scalars())
    token = codes["verification_uri_complete"].rsplit("/", 1)[1]
    for secret in (codes["device_code"], token, codes["user_code"], codes["user_code"].replace("-", "")):
        assert secret not in stored and secret not in audit
