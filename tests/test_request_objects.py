"""Signed request objects (RFC 9101; OpenID Connect Core 6.1) at /authorize and /par."""

from __future__ import annotations

import time
import warnings

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, KeySet
from joserfc.jws import JWSRegistry

from conftest import authorization_request, login_through_pages, query_of, redeem, register_client

ISSUER = "http://idp.test"


@pytest.fixture
def signing_rp(app):
    """A relying party that registered the public key it signs request objects with."""
    key = ECKey.generate_key("P-256")
    key.ensure_kid()
    rp = register_client(app, name="签名请求应用", jwks={"keys": [key.as_dict(private=False)]})
    return rp, key


def request_object(rp, key, *, alg: str = "ES256", **overrides) -> tuple[str, dict]:
    """The whole authorization request as a signed JWT (section 4), with ``iss`` and ``aud``."""
    auth = authorization_request(rp)
    now = int(time.time())
    claims = {**auth.params, "iss": rp.client_id, "aud": ISSUER, "iat": now, "exp": now + 300, **overrides}
    claims = {k: v for k, v in claims.items() if v is not None}
    if alg == "none":
        with warnings.catch_warnings():  # joserfc rightly warns about making one
            warnings.simplefilter("ignore", SecurityWarning)
            token = jwt.encode({"alg": "none"}, claims, None, algorithms=["none"],
                               registry=JWSRegistry(algorithms=["none"]))
    else:
        token = jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])
    return token, {"params": claims, "verifier": auth.verifier}


def authorize_with(app, client, rp, token: str, **query):
    """Section 5.1: only client_id and request travel in the query (and response_type, scope for OIDC)."""
    response = client.get("/authorize", query_string={"client_id": rp.client_id, "request": token,
                                                      "response_type": "code", "scope": "openid", **query})
    if response.status_code == 302 and response.headers["Location"].startswith("/login"):
        response = client.get(login_through_pages(app, client, response.headers["Location"]).headers["Location"])
    return response


def assert_refused_on_our_page(response, error: str) -> None:
    assert response.status_code == 400, response.status_code
    assert "Location" not in response.headers
    assert error in response.get_data(as_text=True)


def test_a_signed_request_object_is_accepted_and_its_parameters_used(app, client, person, signing_rp):
    """Section 5: the request object's parameters are the request; the query's ``state`` is not."""
    rp, key = signing_rp
    token, request = request_object(rp, key)
    response = authorize_with(app, client, rp, token, state="outer")
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert params["state"] == request["params"]["state"] and params["iss"] == ISSUER
    tokens = redeem(client, rp, params["code"], request["verifier"])
    assert tokens.status_code == 200
    id_token = jwt.decode(tokens.get_json()["id_token"], KeySet.import_key_set(client.get("/jwks.json").get_json()))
    assert id_token.claims["nonce"] == request["params"]["nonce"]


def test_numbers_and_json_in_a_request_object_work_like_query_strings(app, client, person, signing_rp):
    """OIDC Core 6.1: ``max_age`` is a JSON number and ``claims`` a JSON object inside the JWT."""
    rp, key = signing_rp
    token, _ = request_object(rp, key, max_age=3600,
                              claims={"id_token": {"acr": {"essential": True, "values": ["urn:qdtax:loa:2"]}}})
    response = authorize_with(app, client, rp, token)
    assert "code" in query_of(response.headers["Location"])


def test_an_unsigned_request_object_is_refused_with_a_clear_error(app, client, person, signing_rp):
    """The provider advertises no "none": an ``alg: none`` object is ``invalid_request_object``."""
    rp, key = signing_rp
    token, _ = request_object(rp, key, alg="none")
    response = authorize_with(app, client, rp, token)
    assert_refused_on_our_page(response, '错误代码：<code translate="no">invalid_request_object</code>')


@pytest.mark.parametrize("mistake", ["other_key", "other_audience", "expired", "other_client", "other_issuer",
                                     "nested_request_uri"])
def test_a_request_object_that_fails_a_check_is_refused(app, client, person, signing_rp, mistake):
    """Sections 6.2 and 10: signature by the client's registered key, ``aud`` this issuer,
    unexpired, ``client_id``/``iss`` the client, no nested request."""
    rp, key = signing_rp
    now = int(time.time())
    if mistake == "other_key":
        stranger = ECKey.generate_key("P-256")
        stranger.ensure_kid()
        token, _ = request_object(rp, stranger)
    else:
        token, _ = request_object(rp, key, **{
            "other_audience": {"aud": "https://another-op.test"},
            "expired": {"iat": now - 900, "exp": now - 600},
            "other_client": {"client_id": "someone-else"},
            "other_issuer": {"iss": "someone-else"},
            "nested_request_uri": {"request_uri": "https://rp.test/req.jwt"},
        }[mistake])
    error = "invalid_request" if mistake in ("other_client", "nested_request_uri") else "invalid_request_object"
    assert_refused_on_our_page(authorize_with(app, client, rp, token), f'错误代码：<code translate="no">{error}</code>')


def test_a_client_without_a_registered_key_cannot_use_request_objects(app, client, person, rp):
    key = ECKey.generate_key("P-256")
    key.ensure_kid()
    token, _ = request_object(rp, key)
    assert_refused_on_our_page(authorize_with(app, client, rp, token),
                               '错误代码：<code translate="no">invalid_request_object</code>')


def test_a_signed_request_object_can_be_pushed(app, client, person, signing_rp):
    """RFC 9126 section 3: a request object pushed to /par; its parameters are the request."""
    rp, key = signing_rp
    token, request = request_object(rp, key)
    response = client.post("/par", data={"request": token}, headers=rp.basic_auth)
    assert response.status_code == 201, response.get_json()
    location = client.get("/authorize", query_string={"client_id": rp.client_id,
                                                      "request_uri": response.get_json()["request_uri"]})
    location = client.get(login_through_pages(app, client, location.headers["Location"]).headers["Location"])
    params = query_of(location.headers["Location"])
    assert params["state"] == request["params"]["state"]
    assert redeem(client, rp, params["code"], request["verifier"]).status_code == 200


def test_an_unsigned_request_object_is_refused_at_par(client, signing_rp):
    rp, key = signing_rp
    token, _ = request_object(rp, key, alg="none")
    response = client.post("/par", data={"request": token}, headers=rp.basic_auth)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request_object"
    assert "alg 'none'" in response.get_json()["error_description"]


def test_discovery_lists_only_signing_algorithms_for_request_objects(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["request_parameter_supported"] is True
    assert "ES256" in metadata["request_object_signing_alg_values_supported"]
    assert "none" not in metadata["request_object_signing_alg_values_supported"]
