"""The authorization code flow with password + SMS, end to end through HTTP."""

from __future__ import annotations

import time

from joserfc import jwt
from joserfc.jwk import KeySet

from conftest import authorization_request, obtain_code, query_of, redeem, tokens_for


def verify_id_token(client, token: str, rp) -> dict:
    jwks = KeySet.import_key_set(client.get("/jwks.json").get_json())
    decoded = jwt.decode(token, jwks, algorithms=["RS256"])
    assert decoded.header["kid"] in {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    registry = jwt.JWTClaimsRegistry(iss={"essential": True, "value": "http://idp.test"},
                                     aud={"essential": True, "value": rp.client_id})
    registry.validate(decoded.claims)
    return decoded.claims


def test_login_with_password_and_sms_yields_an_id_token_with_login_context(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    claims = verify_id_token(client, tokens["id_token"], rp)
    assert claims["sub"] == person["sub"]
    assert claims["nonce"] == tokens["_nonce"]
    assert claims["acr"] == "urn:qdtax:loa:2"
    assert claims["amr"] == ["pwd", "sms", "mfa"]
    assert abs(claims["auth_time"] - time.time()) < 30
    assert claims["realname_level"] == 4
    assert "at_hash" in claims and "sid" in claims
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["expires_in"] == 600
    assert "refresh_token" in tokens


def test_access_token_is_an_rfc9068_jwt(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    jwks = KeySet.import_key_set(client.get("/jwks.json").get_json())
    decoded = jwt.decode(tokens["access_token"], jwks, algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.header["kid"]
    for claim in ("iss", "exp", "aud", "sub", "client_id", "iat", "jti"):
        assert claim in decoded.claims
    assert decoded.claims["acr"] == "urn:qdtax:loa:2"


def test_userinfo_answers_get_and_post(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    got = client.get("/userinfo", headers=auth)
    posted = client.post("/userinfo", headers=auth)
    assert got.status_code == posted.status_code == 200
    assert got.get_json()["sub"] == person["sub"]
    assert got.get_json()["name"] == "张三"
    assert posted.get_json() == got.get_json()


def test_userinfo_accepts_the_token_in_a_post_body(app, client, person, rp):
    """RFC 6750 section 2.2, which OIDC Core 5.3.1 allows for the userinfo request."""
    tokens = tokens_for(app, client, rp)
    posted = client.post("/userinfo", data={"access_token": tokens["access_token"]})
    assert posted.status_code == 200, posted.get_data(as_text=True)
    assert posted.get_json()["sub"] == person["sub"]


def test_userinfo_without_credentials_is_a_bare_challenge(client):
    """RFC 6750 section 3.1: no error code when the request carried no credentials."""
    response = client.get("/userinfo")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "error" not in response.get_json()


def test_code_cannot_be_redeemed_twice_and_reuse_revokes_the_first_tokens(app, client, person, rp):
    code, request = obtain_code(app, client, rp)
    first = redeem(client, rp, code, request.verifier)
    assert first.status_code == 200
    second = redeem(client, rp, code, request.verifier)
    assert second.status_code == 400
    assert second.get_json()["error"] == "invalid_grant"
    access = first.get_json()["access_token"]
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {access}"}).status_code == 401
    refreshed = client.post("/token", headers=rp.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": first.get_json()["refresh_token"]})
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_a_nonce_already_used_for_a_code_is_refused(app, client, person, rp):
    """OIDC Core 3.1.2.1 (nonce replay): the same client cannot get a second code for one nonce,
    while its first request, signed in once, got exactly one."""
    first, request = obtain_code(app, client, rp, nonce="once-only")
    assert redeem(client, rp, first, request.verifier).status_code == 200
    again = authorization_request(rp, nonce="once-only")
    response = client.get("/authorize", query_string=again.params)
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["error"] == "invalid_request"
    assert "code" not in query_of(response.headers["Location"])
