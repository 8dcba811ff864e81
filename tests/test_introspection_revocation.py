"""Token introspection (RFC 7662) and revocation (RFC 7009)."""

from __future__ import annotations

import time

import pytest

from conftest import register_client, tokens_for


def introspect(client, caller, token: str, **extra):
    return client.post("/introspect", headers=caller.basic_auth, data={"token": token, **extra})


def revoke(client, caller, token: str, **extra):
    if caller.client_secret:
        return client.post("/revoke", headers=caller.basic_auth, data={"token": token, **extra})
    return client.post("/revoke", data={"token": token, "client_id": caller.client_id, **extra})


def userinfo_status(client, access_token: str) -> int:
    return client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code


@pytest.fixture
def resource_server(app):
    """A confidential client of the e-tax APIs, which introspects tokens it receives."""
    return register_client(app, name="征管接口", grant_types=["client_credentials"])


# --- introspection -----------------------------------------------------------------------

def test_active_access_token_is_described(app, client, person, rp, resource_server):
    """RFC 7662 section 2.2: ``active`` plus the token's claims."""
    tokens = tokens_for(app, client, rp)
    response = introspect(client, resource_server, tokens["access_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["active"] is True
    assert body["client_id"] == rp.client_id
    assert body["sub"] == person["sub"]
    assert set(body["scope"].split()) == {"openid", "profile", "phone"}
    assert body["exp"] - body["iat"] == 600 and abs(body["iat"] - time.time()) < 30
    assert body["jti"]
    assert body["acr"] == "urn:qdtax:loa:2"
    assert body["amr"] == ["pwd", "sms", "mfa"]


def test_refresh_token_is_active(app, client, person, rp, resource_server):
    tokens = tokens_for(app, client, rp)
    body = introspect(client, resource_server, tokens["refresh_token"]).get_json()
    assert body["active"] is True
    assert body["client_id"] == rp.client_id and body["sub"] == person["sub"]


def test_rotated_refresh_token_is_inactive(app, client, person, rp, resource_server):
    tokens = tokens_for(app, client, rp)
    client.post("/token", headers=rp.basic_auth,
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert introspect(client, resource_server, tokens["refresh_token"]).get_json() == {"active": False}


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "x" * 9000])
def test_unknown_token_is_inactive(client, resource_server, token):
    """RFC 7662 section 2.2: nothing else is said about a token the server does not know."""
    response = introspect(client, resource_server, token)
    assert response.status_code == 200
    assert response.get_json() == {"active": False}


def test_public_clients_cannot_introspect(app, client, person, rp, public_rp):
    """RFC 7662 section 2.1 requires authorization, against token scanning; a public client
    has no credentials, so it is refused as an unauthenticated client (section 2.3)."""
    tokens = tokens_for(app, client, public_rp)
    response = client.post("/introspect", data={"token": tokens["access_token"], "client_id": public_rp.client_id})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_introspection_without_client_authentication_is_refused(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    response = client.post("/introspect", data={"token": tokens["access_token"]})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("hint", ["access_token", "refresh_token"])
def test_token_type_hint_is_only_a_hint(app, client, person, rp, resource_server, hint):
    """RFC 7662 2.1 / RFC 7009 2.1: a wrong hint must not hide the token."""
    tokens = tokens_for(app, client, rp)
    for kind in ("access_token", "refresh_token"):
        assert introspect(client, resource_server, tokens[kind], token_type_hint=hint).get_json()["active"] is True


def test_unknown_token_type_hint_is_ignored_at_introspection(app, client, person, rp, resource_server):
    """RFC 7662 section 2.1 defines no error for it: the search covers every token type."""
    tokens = tokens_for(app, client, rp)
    body = introspect(client, resource_server, tokens["access_token"], token_type_hint="id_token").get_json()
    assert body["active"] is True


def test_unknown_token_type_hint_is_refused_at_revocation(app, client, person, rp):
    """RFC 7009 section 2.2.1: ``unsupported_token_type``."""
    tokens = tokens_for(app, client, rp)
    response = revoke(client, rp, tokens["access_token"], token_type_hint="id_token")
    assert response.status_code == 400
    assert response.get_json()["error"] == "unsupported_token_type"
    assert userinfo_status(client, tokens["access_token"]) == 200


# --- revocation --------------------------------------------------------------------------

@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoked_access_token_is_inactive_and_refused_by_userinfo(app, client, person, rp, resource_server, hint):
    tokens = tokens_for(app, client, rp)
    extra = {"token_type_hint": hint} if hint else {}
    response = revoke(client, rp, tokens["access_token"], **extra)
    assert response.status_code == 200
    assert introspect(client, resource_server, tokens["access_token"]).get_json() == {"active": False}
    assert userinfo_status(client, tokens["access_token"]) == 401
    # RFC 7009 2.1: revoking an access token alone leaves the refresh token valid.
    assert introspect(client, resource_server, tokens["refresh_token"]).get_json()["active"] is True


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoking_a_refresh_token_ends_its_family(app, client, person, rp, resource_server, hint):
    """RFC 7009 2.1: revoking a refresh token revokes the access tokens of that grant."""
    tokens = tokens_for(app, client, rp)
    extra = {"token_type_hint": hint} if hint else {}
    assert revoke(client, rp, tokens["refresh_token"], **extra).status_code == 200
    assert introspect(client, resource_server, tokens["refresh_token"]).get_json() == {"active": False}
    assert introspect(client, resource_server, tokens["access_token"]).get_json() == {"active": False}
    assert userinfo_status(client, tokens["access_token"]) == 401
    refreshed = client.post("/token", headers=rp.basic_auth,
                            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_public_client_revokes_its_own_tokens_with_its_client_id(app, client, person, public_rp):
    tokens = tokens_for(app, client, public_rp)
    assert revoke(client, public_rp, tokens["refresh_token"]).status_code == 200
    assert userinfo_status(client, tokens["access_token"]) == 401


@pytest.mark.parametrize("token", ["unknown", "a.b.c", ""])
def test_revoking_an_unknown_token_answers_200(client, rp, token):
    """RFC 7009 section 2.2: invalid tokens do not cause an error response."""
    response = revoke(client, rp, token)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_a_client_cannot_revoke_another_clients_token(app, client, person, rp, resource_server):
    """RFC 7009 section 2.1: the token must have been issued to the revoking client."""
    tokens = tokens_for(app, client, rp)
    for kind in ("access_token", "refresh_token"):
        response = revoke(client, resource_server, tokens[kind])
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_grant"
    assert introspect(client, resource_server, tokens["access_token"]).get_json()["active"] is True
    assert introspect(client, resource_server, tokens["refresh_token"]).get_json()["active"] is True


def test_revocation_needs_client_authentication(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    response = client.post("/revoke", data={"token": tokens["access_token"]})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert userinfo_status(client, tokens["access_token"]) == 200
