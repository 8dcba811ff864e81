"""DPoP (RFC 9449): sender-constrained access and refresh tokens, code binding with
``dpop_jkt``, server nonces, proof checks and replay refusal, at the token endpoint, userinfo
and introspection."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from conftest import authorization_request, obtain_code, query_of, register_client, tokens_for
from dpop_keys import DpopKey, symmetric_proof


@pytest.fixture
def dpop_rp(app):
    return register_client(app, name="DPoP 应用", dpop_bound_access_tokens=True)


def redeem_with(key: DpopKey, client, rp, code: str, verifier: str):
    return key.post(client, "/token", {"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": rp.redirect_uri, "code_verifier": verifier},
                    headers=rp.basic_auth)


def dpop_tokens(app, client, rp, key: DpopKey, **authorize) -> dict:
    code, request = obtain_code(app, client, rp, **authorize)
    response = redeem_with(key, client, rp, code, request.verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def claims_of(client, token: str) -> dict:
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json())).claims


def refresh_with(client, rp, refresh_token: str, key: DpopKey | None):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if key is None:
        return client.post("/token", data=data, headers=rp.basic_auth)
    return key.post(client, "/token", data, headers=rp.basic_auth)


@pytest.mark.parametrize("nonce", ["².abc", "1.abc", "x" * 65])
def test_a_nonce_not_of_ours_is_told_to_use_ours(app, client, person, dpop_rp, nonce):
    response = client.post("/token", data={"grant_type": "client_credentials"}, headers={
        **dpop_rp.basic_auth, "DPoP": DpopKey().proof("POST", "/token", nonce=nonce)})
    assert response.status_code == 400 and response.get_json()["error"] == "use_dpop_nonce"


def test_token_request_without_the_nonce_is_told_to_use_it_and_keeps_its_code(app, client, person, dpop_rp):
    """Section 8: ``use_dpop_nonce`` with a ``DPoP-Nonce`` header; the code is not spent by it."""
    key = DpopKey()
    code, request = obtain_code(app, client, dpop_rp)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": dpop_rp.redirect_uri,
            "code_verifier": request.verifier}
    first = client.post("/token", data=data, headers={**dpop_rp.basic_auth, "DPoP": key.proof("POST", "/token")})
    assert first.status_code == 400 and first.get_json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    second = client.post("/token", data=data, headers={
        **dpop_rp.basic_auth, "DPoP": key.proof("POST", "/token", nonce=nonce)})
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["token_type"] == "DPoP"


def test_tokens_are_bound_to_the_proof_key(app, client, person, dpop_rp):
    """Sections 5 and 6.1: ``token_type`` DPoP and ``cnf.jkt`` = the key's RFC 7638 thumbprint."""
    key = DpopKey()
    tokens = dpop_tokens(app, client, dpop_rp, key)
    assert tokens["token_type"] == "DPoP"
    assert claims_of(client, tokens["access_token"])["cnf"] == {"jkt": key.jkt}


def test_a_dpop_client_without_a_proof_is_refused(app, client, person, dpop_rp):
    """Section 5.2: a client registered with ``dpop_bound_access_tokens`` gets no Bearer tokens."""
    code, request = obtain_code(app, client, dpop_rp)
    response = client.post("/token", headers=dpop_rp.basic_auth, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": dpop_rp.redirect_uri,
        "code_verifier": request.verifier})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_dpop_proof"
    # The refused request did not spend the code: the proof-carrying retry succeeds.
    assert redeem_with(DpopKey(), client, dpop_rp, code, request.verifier).status_code == 200


def test_a_client_not_registered_for_dpop_still_gets_bearer_tokens(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    assert tokens["token_type"] == "Bearer"
    assert "cnf" not in claims_of(client, tokens["access_token"])


def test_a_replayed_proof_is_refused(app, client, person, dpop_rp):
    """Section 11.1: a proof's ``jti`` is accepted once."""
    key = DpopKey()
    tokens = dpop_tokens(app, client, dpop_rp, key)
    proof = key.proof("GET", "/userinfo", access_token=tokens["access_token"])
    headers = {"Authorization": f"DPoP {tokens['access_token']}", "DPoP": proof}
    assert client.get("/userinfo", headers=headers).status_code == 200
    again = client.get("/userinfo", headers=headers)
    assert again.status_code == 401
    assert again.headers["WWW-Authenticate"].startswith('DPoP error="invalid_dpop_proof"')


@pytest.mark.parametrize("mistake", ["method", "url", "stale", "future", "typ", "private_jwk", "no_nonce",
                                     "forged_nonce", "two_headers"])
def test_proofs_that_fail_a_check_are_refused(app, client, person, dpop_rp, mistake):
    """Section 4.3: htm, htu, iat window, typ, public jwk, nonce, exactly one header."""
    key = DpopKey()
    code, request = obtain_code(app, client, dpop_rp)
    key.nonce = client.post("/token", data={}).headers["DPoP-Nonce"]  # every /token answer carries one
    now = int(time.time())
    proof = {
        "method": lambda: key.proof("GET", "/token"),
        "url": lambda: key.proof("POST", "/token", url="http://idp.test/other"),
        "stale": lambda: key.proof("POST", "/token", iat=now - 600),
        "future": lambda: key.proof("POST", "/token", iat=now + 600),
        "typ": lambda: key.proof("POST", "/token", typ="JWT"),
        "private_jwk": lambda: key.proof("POST", "/token", jwk=key.key.as_dict(private=True)),
        "no_nonce": lambda: key.proof("POST", "/token", nonce=None),
        "forged_nonce": lambda: key.proof("POST", "/token", nonce=f"{now // 300}.AAAAAAAAAAAAAAAAAAAAAAAA"),
        "two_headers": lambda: key.proof("POST", "/token"),
    }[mistake]()
    headers = [("DPoP", proof)] + ([("DPoP", key.proof("POST", "/token"))] if mistake == "two_headers" else [])
    response = client.post("/token", headers=[*dpop_rp.basic_auth.items(), *headers], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": dpop_rp.redirect_uri,
        "code_verifier": request.verifier})
    expected = "use_dpop_nonce" if mistake in ("no_nonce", "forged_nonce") else "invalid_dpop_proof"
    assert response.status_code == 400 and response.get_json()["error"] == expected


def test_a_symmetric_proof_is_refused(app, client, person, dpop_rp):
    """Section 4.3 point 5: only asymmetric algorithms (a MAC proves nothing about a key pair)."""
    nonce = client.post("/token", data={}).headers["DPoP-Nonce"]
    code, request = obtain_code(app, client, dpop_rp)
    response = client.post("/token", headers={**dpop_rp.basic_auth, "DPoP": symmetric_proof("/token", nonce)}, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": dpop_rp.redirect_uri,
        "code_verifier": request.verifier})
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_a_code_bound_with_dpop_jkt_is_redeemed_only_with_that_key(app, client, person, rp):
    """Section 10: ``dpop_jkt`` at /authorize binds the code to the key; others are refused
    without spending it."""
    key, other = DpopKey(), DpopKey()
    code, request = obtain_code(app, client, rp, dpop_jkt=key.jkt)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
            "code_verifier": request.verifier}
    assert client.post("/token", data=data, headers=rp.basic_auth).get_json()["error"] == "invalid_dpop_proof"
    assert other.post(client, "/token", data, headers=rp.basic_auth).get_json()["error"] == "invalid_dpop_proof"
    response = key.post(client, "/token", data, headers=rp.basic_auth)
    assert response.status_code == 200 and response.get_json()["token_type"] == "DPoP"


def test_a_malformed_dpop_jkt_is_an_authorization_error(app, client, person, rp):
    response = client.get("/authorize", query_string=authorization_request(rp, dpop_jkt="not-a-thumbprint").params)
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["error"] == "invalid_request"


def test_refresh_of_a_bound_token_needs_a_proof_by_the_same_key(app, client, person, dpop_rp):
    """Section 5: the refresh token is bound too; the new tokens stay bound to that key."""
    key = DpopKey()
    tokens = dpop_tokens(app, client, dpop_rp, key)
    assert refresh_with(client, dpop_rp, tokens["refresh_token"], None).get_json()["error"] == "invalid_dpop_proof"
    assert refresh_with(client, dpop_rp, tokens["refresh_token"], DpopKey()).get_json()["error"] == \
        "invalid_dpop_proof"
    refreshed = refresh_with(client, dpop_rp, tokens["refresh_token"], key)
    assert refreshed.status_code == 200, refreshed.get_json()
    body = refreshed.get_json()
    assert body["token_type"] == "DPoP"
    assert claims_of(client, body["access_token"])["cnf"] == {"jkt": key.jkt}
    assert refresh_with(client, dpop_rp, body["refresh_token"], None).get_json()["error"] == "invalid_dpop_proof"


def test_userinfo_accepts_a_bound_token_with_a_proof_carrying_its_hash(app, client, person, dpop_rp):
    """Section 7.1: ``Authorization: DPoP`` plus a proof with ``ath``."""
    key = DpopKey()
    tokens = dpop_tokens(app, client, dpop_rp, key)
    response = key.get_resource(client, "/userinfo", tokens["access_token"])
    assert response.status_code == 200
    assert response.get_json()["sub"] == claims_of(client, tokens["access_token"])["sub"]


def test_userinfo_hands_out_a_nonce_when_the_proof_has_none(app, client, person, dpop_rp):
    key = DpopKey()
    tokens = dpop_tokens(app, client, dpop_rp, key)
    response = key.get_resource(client, "/userinfo", tokens["access_token"], nonce=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('DPoP error="use_dpop_nonce"')
    assert response.headers["DPoP-Nonce"]
    assert key.get_resource(client, "/userinfo", tokens["access_token"]).status_code == 200


@pytest.mark.parametrize("mistake", ["bearer", "no_proof", "no_ath", "other_key"])
def test_userinfo_refuses_a_bound_token_without_the_right_proof(app, client, person, dpop_rp, mistake):
    """Sections 7.1 and 7.2: no downgrade to Bearer; the proof must carry ``ath`` and the key."""
    key = DpopKey()
    token = dpop_tokens(app, client, dpop_rp, key)["access_token"]
    if mistake == "bearer":
        response = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    elif mistake == "no_proof":
        response = client.get("/userinfo", headers={"Authorization": f"DPoP {token}"})
    elif mistake == "no_ath":
        response = client.get("/userinfo", headers={"Authorization": f"DPoP {token}",
                                                    "DPoP": key.proof("GET", "/userinfo")})
    else:
        other = DpopKey()
        other.nonce = key.nonce
        response = other.get_resource(client, "/userinfo", token)
    assert response.status_code == 401
    assert "error=" in response.headers["WWW-Authenticate"]


def test_introspection_shows_the_binding(app, client, person, dpop_rp, rp):
    """RFC 9449 section 6.2 with RFC 7662: ``cnf.jkt`` and token type DPoP."""
    key = DpopKey()
    tokens = dpop_tokens(app, client, dpop_rp, key)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        body = client.post("/introspect", headers=rp.basic_auth, data={"token": token}).get_json()
        assert body["active"] is True
        assert body["cnf"] == {"jkt": key.jkt}
    access = client.post("/introspect", headers=rp.basic_auth, data={"token": tokens["access_token"]}).get_json()
    assert access["token_type"] == "DPoP"


def test_discovery_advertises_the_proof_algorithms(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert "ES256" in metadata["dpop_signing_alg_values_supported"]
    assert not {"none", "HS256"} & set(metadata["dpop_signing_alg_values_supported"])
