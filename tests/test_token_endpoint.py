"""The token endpoint (RFC 6749 sections 3.2, 4.1.3, 4.4, 5, 6; RFC 7523; OIDC Core 12.2)."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select
from test_code_flow import verify_id_token

from idp.core.clock import utcnow
from idp.core.database import db
from idp.models import AuthorizationCode, Grant, UsedAssertion

from conftest import obtain_code, redeem, register_client, tokens_for

TOKEN_ENDPOINT = "http://idp.test/token"


def decode(client, token: str) -> dict:
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json())).claims


def userinfo_status(client, access_token: str) -> int:
    return client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code


def refresh(client, rp, refresh_token: str, **extra):
    return client.post("/token", headers=rp.basic_auth,
                       data={"grant_type": "refresh_token", "refresh_token": refresh_token, **extra})


def assert_error(response, status: int, error: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


# --- authorization codes (RFC 6749 4.1.3) ------------------------------------------------

def test_code_is_bound_to_the_client_it_was_issued_to(app, client, person, rp):
    code, auth = obtain_code(app, client, rp)
    other = register_client(app, name="另一个应用")
    assert_error(redeem(client, other, code, auth.verifier), 400, "invalid_grant")


def test_code_is_bound_to_the_redirect_uri_of_the_request(app, client, person):
    rp = register_client(app, redirect_uris=["https://rp.test/callback", "https://rp.test/other"])
    code, auth = obtain_code(app, client, rp)
    response = redeem(client, rp, code, auth.verifier, redirect_uri="https://rp.test/other")
    assert_error(response, 400, "invalid_grant")


def test_code_lives_exactly_60_seconds(app, client, person, rp, monkeypatch):
    code, auth = obtain_code(app, client, rp)
    with app.app_context():
        row = db.session.execute(select(AuthorizationCode)).scalar_one()
        assert row.expires_at - row.issued_at == timedelta(seconds=60)
    # The redemption sees a clock 61 s after issue: the code is dead.
    issued = row.issued_at
    monkeypatch.setattr("idp.grants.single_use.utcnow", lambda: issued + timedelta(seconds=61))
    assert_error(redeem(client, rp, code, auth.verifier), 400, "invalid_grant")


def test_code_still_works_59_seconds_after_issue(app, client, person, rp, monkeypatch):
    code, auth = obtain_code(app, client, rp)
    with app.app_context():
        issued = db.session.execute(select(AuthorizationCode.issued_at)).scalar_one()
    monkeypatch.setattr("idp.grants.single_use.utcnow", lambda: issued + timedelta(seconds=59))
    assert redeem(client, rp, code, auth.verifier).status_code == 200


# --- client authentication (RFC 6749 2.3, OIDC Core 9) -----------------------------------

def test_client_secret_basic_authenticates(app, client, person, rp):
    assert tokens_for(app, client, rp)["access_token"]


def test_client_secret_post_authenticates(app, client, person):
    rp = register_client(app, auth_method="client_secret_post")
    code, auth = obtain_code(app, client, rp)
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
        "code_verifier": auth.verifier, "client_id": rp.client_id, "client_secret": rp.client_secret})
    assert response.status_code == 200, response.get_json()


def test_wrong_secret_in_basic_header_is_401_invalid_client(app, client, person, rp):
    code, auth = obtain_code(app, client, rp)
    rp.client_secret = "wrong"
    response = redeem(client, rp, code, auth.verifier)
    assert_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_secret_in_post_body_is_invalid_client(app, client, person):
    rp = register_client(app, auth_method="client_secret_post")
    code, auth = obtain_code(app, client, rp)
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
        "code_verifier": auth.verifier, "client_id": rp.client_id, "client_secret": "wrong"})
    assert_error(response, 401, "invalid_client")


def test_a_client_using_another_method_than_registered_is_told_which_it_is_registered_for(app, client, person, rp):
    """The error names this client's method, not the server's whole list (which includes the one used)."""
    code, auth = obtain_code(app, client, rp)
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
        "code_verifier": auth.verifier, "client_id": rp.client_id, "client_secret": rp.client_secret})
    assert_error(response, 401, "invalid_client")
    description = response.get_json()["error_description"]
    assert description == ("This client is registered for client_secret_basic; the request used "
                           "client_secret_post.")


def test_a_confidential_client_sending_no_credentials_is_told_its_method(app, client, person, rp):
    code, auth = obtain_code(app, client, rp)
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
        "code_verifier": auth.verifier, "client_id": rp.client_id})
    assert_error(response, 401, "invalid_client")
    assert response.get_json()["error_description"] == (
        "This client is registered for client_secret_basic; the request used no client credentials.")


def test_a_wrong_secret_is_called_a_wrong_secret(app, client, person, rp):
    code, auth = obtain_code(app, client, rp)
    rp.client_secret = "wrong"
    response = redeem(client, rp, code, auth.verifier)
    assert response.get_json()["error_description"] == "The client secret is wrong."


def test_an_unknown_client_is_called_unknown(app, client, person):
    response = client.post("/token", data={"grant_type": "authorization_code", "code": "x",
                                           "client_id": "nobody", "client_secret": "x"})
    assert_error(response, 400, "invalid_client")
    assert "does not exist" in response.get_json()["error_description"]


@pytest.fixture
def jwt_client(app):
    key = ECKey.generate_key("P-256")
    key.ensure_kid()
    rp = register_client(app, auth_method="private_key_jwt", jwks={"keys": [key.as_dict(private=False)]})
    return rp, key


def client_assertion(client_id: str, key: ECKey, jti: str | None = None, lifetime: int = 60) -> dict:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": TOKEN_ENDPOINT, "iat": now, "exp": now + lifetime,
              "jti": jti or secrets.token_urlsafe(16)}
    return {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)}


def redeem_with_assertion(client, rp, code: str, verifier: str, assertion: dict):
    return client.post("/token", data={"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": rp.redirect_uri, "code_verifier": verifier, **assertion})


def test_private_key_jwt_authenticates(app, client, person, jwt_client):
    rp, key = jwt_client
    code, auth = obtain_code(app, client, rp)
    response = redeem_with_assertion(client, rp, code, auth.verifier, client_assertion(rp.client_id, key))
    assert response.status_code == 200, response.get_json()


def test_private_key_jwt_assertion_cannot_be_replayed(app, client, person, jwt_client):
    """RFC 7523 section 3, item 7: a ``jti`` is accepted once."""
    rp, key = jwt_client
    code, auth = obtain_code(app, client, rp)
    assertion = client_assertion(rp.client_id, key, jti="once")
    assert redeem_with_assertion(client, rp, code, auth.verifier, assertion).status_code == 200
    code, auth = obtain_code(app, client, rp)
    replayed = redeem_with_assertion(client, rp, code, auth.verifier, client_assertion(rp.client_id, key, "once"))
    assert_error(replayed, 400, "invalid_client")


def test_private_key_jwt_assertion_may_live_an_hour_as_authlib_clients_sign_it(app, client, person, jwt_client):
    rp, key = jwt_client
    code, auth = obtain_code(app, client, rp)
    assertion = client_assertion(rp.client_id, key, lifetime=3600)
    response = redeem_with_assertion(client, rp, code, auth.verifier, assertion)
    assert response.status_code == 200, response.get_json()


def test_private_key_jwt_assertion_expiring_a_year_ahead_is_refused(app, client, person, jwt_client):
    """RFC 7523 section 3 item 4 lets the server reject an ``exp`` too far ahead: otherwise its
    ``jti`` would have to be remembered for a year."""
    rp, key = jwt_client
    code, auth = obtain_code(app, client, rp)
    response = redeem_with_assertion(client, rp, code, auth.verifier,
                                     client_assertion(rp.client_id, key, lifetime=365 * 86400))
    assert_error(response, 400, "invalid_client")
    assert "at most 3600 seconds" in response.get_json()["error_description"]
    with app.app_context():
        assert db.session.execute(select(UsedAssertion)).first() is None


def test_private_key_jwt_client_sending_a_secret_is_told_it_uses_private_key_jwt(app, client, person, jwt_client):
    rp, _ = jwt_client
    code, auth = obtain_code(app, client, rp)
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
        "code_verifier": auth.verifier, "client_id": rp.client_id, "client_secret": "guess"})
    assert response.get_json()["error_description"] == (
        "This client is registered for private_key_jwt; the request used client_secret_post.")


def test_private_key_jwt_signed_with_another_key_is_invalid_client(app, client, person, jwt_client):
    rp, _ = jwt_client
    code, auth = obtain_code(app, client, rp)
    stranger = ECKey.generate_key("P-256")
    stranger.ensure_kid()
    response = redeem_with_assertion(client, rp, code, auth.verifier, client_assertion(rp.client_id, stranger))
    assert_error(response, 400, "invalid_client")


def test_public_client_authenticates_with_none(app, client, person, public_rp):
    assert tokens_for(app, client, public_rp)["access_token"]


def test_public_client_that_sends_a_secret_is_refused(app, client, person, public_rp):
    code, auth = obtain_code(app, client, public_rp)
    response = redeem(client, public_rp, code, auth.verifier, client_secret="made-up")
    assert_error(response, 401, "invalid_client")


# --- refresh tokens (RFC 6749 6, RFC 9700 4.14.2) ----------------------------------------

def test_reused_refresh_token_revokes_the_whole_family(app, client, person, rp):
    first = tokens_for(app, client, rp)
    second = refresh(client, rp, first["refresh_token"]).get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert userinfo_status(client, second["access_token"]) == 200
    assert_error(refresh(client, rp, first["refresh_token"]), 400, "invalid_grant")
    assert_error(refresh(client, rp, second["refresh_token"]), 400, "invalid_grant")
    assert userinfo_status(client, first["access_token"]) == 401
    assert userinfo_status(client, second["access_token"]) == 401


def test_refreshed_id_token_keeps_the_login_context_with_a_new_iat(app, client, person, rp, monkeypatch):
    """OIDC Core 12.2: auth_time and the rest describe the original login, iat the new token."""
    first = tokens_for(app, client, rp)
    original = verify_id_token(client, first["id_token"], rp)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 120)  # the refresh happens two minutes later
    refreshed = verify_id_token(client, refresh(client, rp, first["refresh_token"]).get_json()["id_token"], rp)
    for claim in ("auth_time", "acr", "amr", "sid", "sub"):
        assert refreshed[claim] == original[claim]
    assert refreshed["iat"] >= original["iat"] + 120
    assert refreshed["exp"] - refreshed["iat"] == 600


def test_refresh_cannot_widen_the_scope(app, client, person, rp):
    tokens = tokens_for(app, client, rp, scope="openid profile")
    assert_error(refresh(client, rp, tokens["refresh_token"], scope="openid profile phone"), 400, "invalid_scope")


def test_refused_scope_widening_leaves_the_refresh_token_usable(app, client, person, rp):
    """An ``invalid_scope`` answer must not spend the token, or the retry looks like reuse."""
    tokens = tokens_for(app, client, rp, scope="openid profile")
    refresh(client, rp, tokens["refresh_token"], scope="openid phone")
    assert refresh(client, rp, tokens["refresh_token"]).status_code == 200


def test_refresh_may_narrow_the_scope(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    narrowed = refresh(client, rp, tokens["refresh_token"], scope="openid")
    assert narrowed.status_code == 200
    assert decode(client, narrowed.get_json()["access_token"])["scope"] == "openid"


def test_a_narrowed_refresh_keeps_the_whole_scope_for_the_next_one(app, client, person, rp):
    """RFC 6749 section 6: the new refresh token's scope is the old one's, not the narrowed
    access token's; a client that asked once for less may ask for everything again."""
    tokens = tokens_for(app, client, rp, scope="openid profile phone")
    narrowed = refresh(client, rp, tokens["refresh_token"], scope="openid").get_json()
    widened_again = refresh(client, rp, narrowed["refresh_token"], scope="openid profile phone")
    assert widened_again.status_code == 200, widened_again.get_json()
    assert decode(client, widened_again.get_json()["access_token"])["scope"] == "openid profile phone"
    unasked = refresh(client, rp, widened_again.get_json()["refresh_token"]).get_json()
    assert decode(client, unasked["access_token"])["scope"] == "openid profile phone"


def test_refresh_token_of_another_client_is_invalid_grant(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    other = register_client(app, name="另一个应用")
    assert_error(refresh(client, other, tokens["refresh_token"]), 400, "invalid_grant")
    assert refresh(client, rp, tokens["refresh_token"]).status_code == 200


# --- client credentials (RFC 6749 4.4) ---------------------------------------------------

def client_credentials(client, headers=None, **data):
    return client.post("/token", headers=headers or {}, data={"grant_type": "client_credentials", **data})


def test_client_credentials_gives_a_service_access_token_only(app, client):
    service = register_client(app, name="征管接口", grant_types=["client_credentials"], scope="openid")
    response = client_credentials(client, service.basic_auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert "refresh_token" not in body and "id_token" not in body
    claims = decode(client, body["access_token"])
    assert claims["sub"] == claims["client_id"] == service.client_id
    assert claims["exp"] - claims["iat"] == 600


@pytest.mark.parametrize("scope", ["openid", "openid profile phone", "phone"])
def test_client_credentials_refuses_the_scopes_of_a_person(app, client, scope):
    """A service token speaks for no person: with ``openid`` it got into userinfo (and a 500)."""
    service = register_client(app, name="征管接口", grant_types=["client_credentials"], scope="openid profile phone")
    assert_error(client_credentials(client, service.basic_auth, scope=scope), 400, "invalid_scope")
    token = client_credentials(client, service.basic_auth).get_json()["access_token"]
    assert userinfo_status(client, token) == 403


def test_client_credentials_needs_the_grant_type_registered(app, client, rp):
    assert_error(client_credentials(client, rp.basic_auth), 400, "unauthorized_client")


def test_client_credentials_is_refused_to_public_clients(app, client, public_rp):
    """RFC 6749 4.4: confidential clients only; a public one cannot authenticate (5.2)."""
    assert_error(client_credentials(client, client_id=public_rp.client_id), 401, "invalid_client")


# --- response shape ----------------------------------------------------------------------

def test_token_responses_are_not_cached(app, client, person, rp):
    """RFC 6749 5.1: ``Cache-Control: no-store`` on every response with tokens."""
    code, auth = obtain_code(app, client, rp)
    assert redeem(client, rp, code, auth.verifier).headers["Cache-Control"] == "no-store"


def test_access_and_id_tokens_live_600_seconds(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    access = decode(client, tokens["access_token"])
    id_token = verify_id_token(client, tokens["id_token"], rp)
    assert tokens["expires_in"] == 600
    assert access["exp"] - access["iat"] == 600
    assert id_token["exp"] - id_token["iat"] == 600
    assert abs(id_token["iat"] - time.time()) < 30
    with app.app_context():
        assert db.session.execute(select(Grant.expires_at)).scalar_one() > utcnow()
