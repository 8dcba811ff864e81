"""The ``claims`` request parameter (OIDC Core 5.5): discovery says it is supported, and it is."""

from __future__ import annotations

import json

from joserfc import jwt
from joserfc.jwk import KeySet
from test_consent import authorize, decide, third_party

from conftest import authorization_request, query_of, register_client, tokens_for


def claims(**members) -> str:
    return json.dumps(members)


def id_token_claims(client, tokens) -> dict:
    return jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/jwks.json").get_json())).claims


def userinfo(client, tokens) -> dict:
    return client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()


def test_discovery_says_the_claims_parameter_is_supported(client):
    assert client.get("/.well-known/openid-configuration").get_json()["claims_parameter_supported"] is True


def test_a_userinfo_claim_asked_for_by_name_is_released_without_its_scope(app, client, person, rp):
    tokens = tokens_for(app, client, rp, scope="openid", claims=claims(userinfo={"name": {"essential": True}}))
    info = userinfo(client, tokens)
    assert info["name"] == "张三" and info["sub"] == person["sub"]
    assert "phone_number" not in info


def test_an_id_token_claim_asked_for_by_name_is_in_the_id_token(app, client, person, rp):
    tokens = tokens_for(app, client, rp, scope="openid", claims=claims(id_token={"phone_number": None}))
    assert id_token_claims(client, tokens)["phone_number"] == person["phone"]


def test_a_claim_of_a_scope_the_client_is_not_registered_for_is_not_released(app, client, person):
    rp = register_client(app, scope="openid profile")
    tokens = tokens_for(app, client, rp, scope="openid", claims=claims(userinfo={"phone_number": None}))
    assert "phone_number" not in userinfo(client, tokens)
    assert "phone" not in tokens["scope"].split()


def test_unknown_claims_are_ignored(app, client, person, rp):
    tokens = tokens_for(app, client, rp, scope="openid", claims=claims(userinfo={"email": None, "sub": None}))
    assert userinfo(client, tokens)["sub"] == person["sub"]


def test_a_third_party_client_gets_the_claims_scope_on_its_consent_page(app, client, person):
    rp = third_party(app)
    _, response = authorize(app, client, rp, scope="openid", claims=claims(userinfo={"phone_number": None}))
    assert response.headers["Location"].startswith("/consent")
    html, back = decide(client, response, "allow")
    assert "手机号码" in html
    assert "code" in query_of(back.headers["Location"])
    # Consent to "openid" alone does not cover a claim of the phone scope.
    _, response = authorize(app, client, rp, scope="openid")
    assert response.headers["Location"].startswith(rp.redirect_uri)
    _, response = authorize(app, client, rp, scope="openid", claims=claims(id_token={"name": None}), prompt="none")
    assert query_of(response.headers["Location"])["error"] == "consent_required"


def test_a_malformed_claims_parameter_is_invalid_request(app, client, person, rp):
    for bad in ("not json", "[]", claims(userinfo=["name"]), claims(id_token={"name": {"essential": "yes"}})):
        request = authorization_request(rp, scope="openid", claims=bad)
        response = client.get("/authorize", query_string=request.params)
        assert response.status_code == 302, bad
        assert query_of(response.headers["Location"])["error"] == "invalid_request", bad


def test_a_sub_asked_for_with_a_value_must_be_the_person_logged_in(app, client, person, rp):
    """OIDC Core 5.5.1: only that person's session answers; another's gets login_required."""
    tokens_for(app, client, rp)  # logs zhangsan in
    mine = authorization_request(rp, prompt="none", claims=claims(id_token={"sub": {"value": person["sub"]}}))
    assert "code" in query_of(client.get("/authorize", query_string=mine.params).headers["Location"])
    other = authorization_request(rp, prompt="none", claims=claims(id_token={"sub": {"value": "someone-else"}}))
    response = client.get("/authorize", query_string=other.params)
    assert query_of(response.headers["Location"])["error"] == "login_required"
