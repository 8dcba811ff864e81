"""Discovery (OpenID Connect Discovery 1.0 section 3, RFC 8414 section 2) and the JWKS (RFC 7517)."""

from __future__ import annotations

import pytest
from joserfc import jws
from joserfc.jwk import JWKRegistry

from idp.keyring import current_keyring

from conftest import tokens_for

ISSUER = "http://idp.test"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture
def metadata(client) -> dict:
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_issuer_is_the_configured_issuer_exactly(metadata):
    """Discovery 4.3 / RFC 8414 3.3: the issuer must be identical to the one tokens carry."""
    assert metadata["issuer"] == ISSUER


def test_rfc8414_metadata_path_serves_the_same_document(client, metadata):
    """RFC 8414 section 3: OAuth-only clients look under ``oauth-authorization-server``."""
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.get_json() == metadata


@pytest.mark.parametrize("field", [
    "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported",
    "subject_types_supported", "id_token_signing_alg_values_supported",
])
def test_required_fields_are_present(metadata, field):
    """Discovery 1.0 section 3 REQUIRED fields (a superset of RFC 8414's)."""
    assert metadata[field]


@pytest.mark.parametrize(("field", "path"), [
    ("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"), ("userinfo_endpoint", "/userinfo"),
    ("jwks_uri", "/jwks.json"), ("introspection_endpoint", "/introspect"), ("revocation_endpoint", "/revoke"),
    ("end_session_endpoint", "/logout"),
])
def test_endpoints_live_under_the_issuer_and_answer(client, metadata, field, path):
    assert metadata[field] == ISSUER + path
    # Reachable: whatever the method, not a 404.
    assert client.get(path).status_code != 404


def test_only_the_code_flow_with_s256_is_offered(metadata):
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_modes_supported"] == ["query"]
    assert {"authorization_code", "refresh_token", "client_credentials"} <= set(metadata["grant_types_supported"])
    assert "implicit" not in metadata["grant_types_supported"]
    assert "password" not in metadata["grant_types_supported"]


def test_client_authentication_methods_include_private_key_jwt(metadata):
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    assert "ES256" in metadata["token_endpoint_auth_signing_alg_values_supported"]
    assert "none" not in metadata["introspection_endpoint_auth_methods_supported"]
    assert "none" not in metadata["token_endpoint_auth_signing_alg_values_supported"]


def test_signing_algorithms_and_subjects(metadata):
    assert "ES256" in metadata["id_token_signing_alg_values_supported"]
    assert "none" not in metadata["id_token_signing_alg_values_supported"]
    assert metadata["subject_types_supported"] == ["public", "pairwise"]


def test_acr_scopes_and_claims_are_advertised(metadata):
    assert metadata["acr_values_supported"] == ["urn:qdtax:loa:1", "urn:qdtax:loa:2", "urn:qdtax:loa:3"]
    assert "openid" in metadata["scopes_supported"]
    for claim in ("sub", "acr", "amr", "auth_time", "name", "phone_number", "realname_level"):
        assert claim in metadata["claims_supported"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert set(metadata["ui_locales_supported"]) == {"zh-CN", "en"}


# --- JWKS --------------------------------------------------------------------------------

def test_jwks_is_served_as_a_cacheable_jwk_set(client):
    response = client.get("/jwks.json")
    assert response.status_code == 200
    assert response.mimetype == "application/jwk-set+json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["ETag"]


def test_jwks_answers_304_to_a_matching_if_none_match(client):
    """RFC 9110 13.1.2: a cache revalidates without downloading the set again."""
    etag = client.get("/jwks.json").headers["ETag"]
    response = client.get("/jwks.json", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag
    assert client.get("/jwks.json", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_jwks_keys_are_public_and_named_by_their_rfc7638_thumbprint(client):
    keys = client.get("/jwks.json").get_json()["keys"]
    assert keys
    for jwk in keys:
        assert not PRIVATE_MEMBERS & jwk.keys(), jwk["kid"]
        assert jwk["kid"] == JWKRegistry.import_key(jwk).thumbprint()
        assert jwk["use"] == "sig" and jwk["alg"]
    assert len({k["kid"] for k in keys}) == len(keys)


def test_tokens_are_signed_by_a_published_key(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    kids = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    for kind in ("access_token", "id_token"):
        assert jws.extract_compact(tokens[kind].encode()).protected["kid"] in kids


# --- answered from memory (idp/web/published_documents.py) -----------------------------------

@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks.json"])
def test_repeated_fetches_get_the_views_answer_byte_for_byte(client, path):
    """Relying parties fetch these on every start; the replayed answer keeps every header
    (ETag, Cache-Control, the security headers) of the first one; only the request id is its own."""
    first = client.get(path)
    again = client.get(path)
    assert again.status_code == 200
    assert again.get_data() == first.get_data()

    def kept(response) -> list:
        return sorted((k, v) for k, v in response.headers.items() if k != "X-Request-Id")

    assert kept(again) == kept(first)
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert again.headers["X-Content-Type-Options"] == "nosniff"


def test_jwks_shows_a_rotation_and_a_revocation_at_the_next_fetch(app, client):
    """A key revoked by an administrator is gone from the set at once, however often the set
    was fetched before (docs/architecture.md §8)."""
    keyring = current_keyring(app)
    first = client.get("/jwks.json")
    before = {k["kid"] for k in first.get_json()["keys"]}
    with app.app_context():
        keyring.rotate(force=True)
        new_next = next(r.kid for r in keyring.records() if r.state == "next" and r.kid not in before)
    after_rotation = client.get("/jwks.json")
    assert new_next in {k["kid"] for k in after_rotation.get_json()["keys"]}
    assert after_rotation.headers["ETag"] != first.headers["ETag"]
    with app.app_context():
        keyring.revoke(new_next)
    assert new_next not in {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}


def test_other_methods_still_get_the_views_answer(client):
    assert client.post("/jwks.json").status_code == 405
    head = client.head("/.well-known/openid-configuration")
    assert head.status_code == 200 and head.get_data() == b""
