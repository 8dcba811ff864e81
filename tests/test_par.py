"""Pushed authorization requests (RFC 9126) and ``iss`` in every authorization response
(RFC 9207)."""

from __future__ import annotations

import base64
import secrets
import time
from urllib.parse import urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import update

from idp.core.database import db
from idp.models import PushedAuthorizationRequest

from conftest import (
    authorization_request,
    csrf_from,
    hidden_value,
    login_through_pages,
    query_of,
    redeem,
    register_client,
)
from dpop_keys import DpopKey

ISSUER = "http://idp.test"
PREFIX = "urn:ietf:params:oauth:request_uri:"


def push(client, rp, headers: dict | None = None, **params):
    request = authorization_request(rp, **params)
    response = client.post("/par", data=request.params, headers=rp.basic_auth if headers is None else headers)
    return response, request


def pushed(client, rp, **params):
    response, request = push(client, rp, **params)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["request_uri"], request


def authorize_pushed(app, client, rp, request_uri: str, **query):
    """/authorize with only client_id and request_uri (section 4), logging in when asked."""
    response = client.get("/authorize", query_string={"client_id": rp.client_id, "request_uri": request_uri, **query})
    if response.status_code == 302 and response.headers["Location"].startswith("/login"):
        response = client.get(login_through_pages(app, client, response.headers["Location"]).headers["Location"])
    return response


def assert_refused_on_our_page(response, error: str) -> None:
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert error in response.get_data(as_text=True)


def test_push_answers_with_a_single_use_urn_that_expires_within_a_minute(client, rp):
    """Section 2.2: 201 with ``request_uri`` and ``expires_in`` (well under 600 s)."""
    response, _ = push(client, rp)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["request_uri"].startswith(PREFIX) and len(body["request_uri"]) > len(PREFIX) + 32
    assert body["expires_in"] == 60


def test_a_pushed_request_leads_to_a_code_through_the_login_pages(app, client, person, rp):
    """Section 4: the pushed parameters, not the query's, are what /authorize acts on."""
    request_uri, request = pushed(client, rp)
    response = authorize_pushed(app, client, rp, request_uri)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(rp.redirect_uri)
    params = query_of(location)
    assert params["state"] == request.params["state"] and params["iss"] == ISSUER
    assert redeem(client, rp, params["code"], request.verifier).status_code == 200


def test_a_request_uri_is_single_use(app, client, person, rp):
    """Section 4: once the authorization endpoint took it, it is spent."""
    request_uri, _ = pushed(client, rp)
    assert "code" in query_of(authorize_pushed(app, client, rp, request_uri).headers["Location"])
    assert_refused_on_our_page(authorize_pushed(app, client, rp, request_uri), "invalid_request_uri")


def test_a_request_uri_works_only_for_the_client_that_pushed_it(app, client, person, rp):
    """Section 4 (and 7.4): another client_id with the URI is refused, and does not spend it."""
    request_uri, _ = pushed(client, rp)
    other = register_client(app, name="另一个应用", redirect_uris=["https://other.test/cb"])
    assert_refused_on_our_page(authorize_pushed(app, client, other, request_uri), "invalid_request_uri")
    assert "code" in query_of(authorize_pushed(app, client, rp, request_uri).headers["Location"])


def test_an_expired_request_uri_is_refused(app, client, person, rp):
    request_uri, _ = pushed(client, rp)
    with app.app_context():
        db.session.execute(update(PushedAuthorizationRequest).values(expires_at=PushedAuthorizationRequest.created_at))
        db.session.commit()
    assert_refused_on_our_page(authorize_pushed(app, client, rp, request_uri), "invalid_request_uri")


def test_query_parameters_beside_the_request_uri_are_ignored(app, client, person, rp):
    """Section 4: a redirect URI or state slipped into the query does not replace the pushed ones."""
    request_uri, request = pushed(client, rp)
    response = authorize_pushed(app, client, rp, request_uri, redirect_uri="https://evil.test/cb", state="forged")
    assert response.headers["Location"].startswith(rp.redirect_uri)
    assert query_of(response.headers["Location"])["state"] == request.params["state"]


def test_pushing_needs_client_authentication(client, rp):
    """Section 2: the same client authentication as the token endpoint."""
    wrong = {"Authorization": "Basic " + base64.b64encode(f"{rp.client_id}:nope".encode()).decode()}
    response, _ = push(client, rp, headers=wrong)
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    response, _ = push(client, rp, headers={})
    assert response.status_code == 401


def test_a_public_client_pushes_with_its_client_id_alone(app, client, person, public_rp):
    request_uri, request = pushed(client, public_rp)
    response = authorize_pushed(app, client, public_rp, request_uri)
    code = query_of(response.headers["Location"])["code"]
    assert redeem(client, public_rp, code, request.verifier).status_code == 200


def test_a_private_key_jwt_client_may_address_its_assertion_to_the_par_endpoint(app, client):
    """Section 2: the PAR endpoint URL is an acceptable audience of a client assertion."""
    key = ECKey.generate_key("P-256")
    key.ensure_kid()
    rp = register_client(app, auth_method="private_key_jwt", jwks={"keys": [key.as_dict(private=False)]})
    now = int(time.time())
    claims = {"iss": rp.client_id, "sub": rp.client_id, "aud": f"{ISSUER}/par", "iat": now, "exp": now + 60,
              "jti": secrets.token_urlsafe(16)}
    assertion = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                 "client_assertion": jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)}
    response, _ = push(client, rp, headers={}, **assertion)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(("params", "error"), [
    ({"redirect_uri": "https://evil.test/cb"}, "invalid_request"),
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"request_uri": PREFIX + "abc"}, "invalid_request"),
])
def test_a_pushed_request_is_checked_like_an_authorization_request_and_errors_come_back_directly(
        client, rp, params, error):
    """Section 2.1 and 2.3: validated as /authorize would, errors in the response, never a redirect."""
    response, _ = push(client, rp, **params)
    assert response.status_code == 400
    assert response.get_json()["error"] == error
    assert "Location" not in response.headers


def test_pushing_for_another_client_is_refused(app, client, rp):
    other = register_client(app, name="另一个应用", redirect_uris=["https://other.test/cb"])
    request = authorization_request(other)
    response = client.post("/par", data=request.params, headers=rp.basic_auth)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_a_client_that_requires_par_has_plain_requests_refused(app, client, person):
    """Section 6: ``require_pushed_authorization_requests`` makes plain requests an error,
    returned to the (registered) redirect URI with ``iss``."""
    rp = register_client(app, name="只用 PAR 的应用", require_pushed_authorization_requests=True)
    plain = authorization_request(rp)
    response = client.get("/authorize", query_string=plain.params)
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert params["error"] == "invalid_request" and params["iss"] == ISSUER and params["state"] == plain.params["state"]
    request_uri, _ = pushed(client, rp)
    assert "code" in query_of(authorize_pushed(app, client, rp, request_uri).headers["Location"])


def test_a_dpop_proof_at_par_binds_the_code_to_its_key(app, client, person, rp):
    """RFC 9449 section 10.1: the proof's key thumbprint works like ``dpop_jkt``."""
    key = DpopKey()
    request = authorization_request(rp)
    response = key.post(client, "/par", request.params, headers=rp.basic_auth)
    assert response.status_code == 201, response.get_json()
    location = authorize_pushed(app, client, rp, response.get_json()["request_uri"]).headers["Location"]
    code = query_of(location)["code"]
    assert redeem(client, rp, code, request.verifier).get_json()["error"] == "invalid_dpop_proof"
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
            "code_verifier": request.verifier}
    assert key.post(client, "/token", data, headers=rp.basic_auth).status_code == 200


def test_discovery_advertises_the_par_endpoint(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["pushed_authorization_request_endpoint"] == f"{ISSUER}/par"
    assert metadata["require_pushed_authorization_requests"] is False


# --- RFC 9207: iss in every authorization response ---------------------------------------------

def third_party(app):
    return register_client(app, name="第三方应用", first_party=False)


@pytest.mark.parametrize("case", ["code", "login_required", "consent_required", "unsupported_response_type",
                                  "invalid_request", "access_denied", "unmet_authentication_requirements"])
def test_every_authorization_response_names_the_issuer(app, client, person, rp, case):
    """RFC 9207 section 2: ``iss`` in successful and error responses alike."""
    if case in ("consent_required", "access_denied"):
        rp = third_party(app)
    if case != "login_required":
        login_through_pages(app, client, client.get("/authorize", query_string=authorization_request(rp).params)
                            .headers["Location"])
    extra = {
        "code": {}, "login_required": {"prompt": "none"}, "consent_required": {"prompt": "none"},
        "unsupported_response_type": {"response_type": "token"}, "invalid_request": {"max_age": "soon"},
        "access_denied": {}, "unmet_authentication_requirements": {
            "claims": '{"id_token": {"acr": {"essential": true, "values": ["urn:unknown"]}}}'},
    }[case]
    response = client.get("/authorize", query_string=authorization_request(rp, **extra).params)
    if case == "access_denied":
        html = client.get(response.headers["Location"]).get_data(as_text=True)
        denied = client.post("/consent", data={"csrf_token": csrf_from(html),
                                               "interaction": hidden_value(html, "interaction"), "decision": "deny"})
        response = client.get(denied.headers["Location"])
    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location)._replace(query="").geturl() == rp.redirect_uri
    params = query_of(location)
    assert params["iss"] == ISSUER
    assert ("code" in params) if case == "code" else (params["error"] == case)
