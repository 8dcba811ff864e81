"""PKCE with S256, required of every client (RFC 7636; RFC 9700 section 2.1.1).

The authorization endpoint refuses a request without an S256 ``code_challenge`` before
anyone logs in; the token endpoint refuses a code without its matching ``code_verifier``.
"""

from __future__ import annotations

import pytest

from conftest import authorization_request, obtain_code, pkce_pair, query_of, redeem

ISSUER = "http://idp.test"


def assert_error_redirect(response, rp, state: str, error: str) -> dict:
    """An authorization error sent back to the client's own redirect URI (RFC 6749 4.1.2.1)."""
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(rp.redirect_uri + "?")
    params = query_of(location)
    assert params["error"] == error
    assert params["state"] == state
    assert params["iss"] == ISSUER
    assert "code" not in params
    return params


@pytest.mark.parametrize("which", ["rp", "public_rp"])
def test_code_challenge_is_required_of_confidential_and_public_clients(request, client, which):
    """RFC 9700 2.1.1: PKCE for every client, confidential ones included."""
    rp = request.getfixturevalue(which)
    auth = authorization_request(rp, code_challenge=None, code_challenge_method=None)
    response = client.get("/authorize", query_string=auth.params)
    assert_error_redirect(response, rp, auth.params["state"], "invalid_request")


@pytest.mark.parametrize("which", ["rp", "public_rp"])
def test_plain_code_challenge_method_is_refused(request, client, which):
    """RFC 7636 4.2 / RFC 9700 2.1.1: only S256; ``plain`` leaks the verifier."""
    rp = request.getfixturevalue(which)
    verifier, _ = pkce_pair()
    auth = authorization_request(rp, code_challenge=verifier, code_challenge_method="plain")
    response = client.get("/authorize", query_string=auth.params)
    assert_error_redirect(response, rp, auth.params["state"], "invalid_request")


def test_code_challenge_without_method_is_refused_because_the_default_is_plain(client, rp):
    """RFC 7636 4.3: a missing method means ``plain``, which is refused."""
    auth = authorization_request(rp, code_challenge_method=None)
    response = client.get("/authorize", query_string=auth.params)
    assert_error_redirect(response, rp, auth.params["state"], "invalid_request")


@pytest.mark.parametrize("method", ["S512", "s256", "RS256", ""])
def test_unknown_code_challenge_method_is_refused(client, rp, method):
    auth = authorization_request(rp, code_challenge_method=method)
    response = client.get("/authorize", query_string=auth.params)
    assert_error_redirect(response, rp, auth.params["state"], "invalid_request")


@pytest.mark.parametrize("challenge", ["short", "a" * 129, "has spaces in it" + "x" * 40, "bad+chars/" * 5])
def test_malformed_code_challenge_is_refused(client, rp, challenge):
    """RFC 7636 4.2: 43 to 128 characters of the unreserved set."""
    auth = authorization_request(rp, code_challenge=challenge)
    response = client.get("/authorize", query_string=auth.params)
    assert_error_redirect(response, rp, auth.params["state"], "invalid_request")


@pytest.mark.parametrize("which", ["rp", "public_rp"])
def test_token_request_without_code_verifier_is_invalid_request(app, client, person, request, which):
    """RFC 7636 4.5: a code issued with a challenge needs its verifier."""
    rp = request.getfixturevalue(which)
    code, _ = obtain_code(app, client, rp)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri}
    headers = rp.basic_auth if rp.client_secret else {}
    if not rp.client_secret:
        data["client_id"] = rp.client_id
    response = client.post("/token", data=data, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("which", ["rp", "public_rp"])
def test_wrong_code_verifier_is_invalid_grant(app, client, person, request, which):
    """RFC 7636 4.6: the verifier must hash to the stored challenge."""
    rp = request.getfixturevalue(which)
    code, _ = obtain_code(app, client, rp)
    other_verifier, _ = pkce_pair()
    response = redeem(client, rp, code, other_verifier)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_a_failed_verifier_spends_the_code(app, client, person, rp):
    """A guessed verifier gets one try: the code is consumed by the first redemption attempt."""
    code, auth = obtain_code(app, client, rp)
    wrong, _ = pkce_pair()
    assert redeem(client, rp, code, wrong).get_json()["error"] == "invalid_grant"
    retry = redeem(client, rp, code, auth.verifier)
    assert retry.status_code == 400
    assert retry.get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("which", ["rp", "public_rp"])
def test_right_code_verifier_yields_tokens(app, client, person, request, which):
    rp = request.getfixturevalue(which)
    code, auth = obtain_code(app, client, rp)
    response = redeem(client, rp, code, auth.verifier)
    assert response.status_code == 200, response.get_json()
    assert {"access_token", "id_token", "refresh_token"} <= response.get_json().keys()
