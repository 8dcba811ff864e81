"""Which algorithm signs a client's ID tokens (OIDC Dynamic Client Registration 1.0 section 2
``id_token_signed_response_alg``: "The default, if omitted, is RS256"; OIDC Core 3.1.3.7 step 7)."""

from __future__ import annotations

import json

import pytest
from joserfc import jws, jwt
from joserfc.jwk import KeySet

from conftest import register_client, tokens_for


def header_of(token: str) -> dict:
    return jws.extract_compact(token.encode()).headers()


def published_keys(client) -> KeySet:
    return KeySet.import_key_set(client.get("/jwks.json").get_json())


def test_a_client_that_registers_no_algorithm_gets_rs256_id_tokens(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    assert header_of(tokens["id_token"])["alg"] == "RS256"
    # A relying party that accepts RS256 only (openid-client's default) verifies it with the JWKS.
    claims = jwt.decode(tokens["id_token"], published_keys(client), algorithms=["RS256"]).claims
    assert claims["aud"] == [rp.client_id]


def test_access_tokens_stay_es256_whatever_the_id_token_algorithm(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    assert header_of(tokens["access_token"])["alg"] == "ES256"


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_a_registered_algorithm_signs_the_id_token_and_its_refreshed_successors(app, client, person, alg):
    rp = register_client(app, id_token_alg=alg)
    tokens = tokens_for(app, client, rp)
    assert header_of(tokens["id_token"])["alg"] == alg
    jwt.decode(tokens["id_token"], published_keys(client), algorithms=[alg])
    refreshed = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            headers=rp.basic_auth).get_json()
    assert header_of(refreshed["id_token"])["alg"] == alg


def test_discovery_lists_rs256_among_the_id_token_algorithms(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]


def test_clients_add_without_id_token_alg_registers_rs256(app, client, person, cli):
    registered = json.loads(cli("clients", "add", "--name", "库默认", "--redirect-uri", "https://lib.example/cb",
                                "--first-party", "--json"))
    listed = {row["client_id"]: row for row in json.loads(cli("clients", "list", "--json"))}
    assert listed[registered["client_id"]]["id_token_signed_response_alg"] == "RS256"
    explicit = json.loads(cli("clients", "add", "--name", "椭圆曲线", "--redirect-uri", "https://ec.example/cb",
                              "--first-party", "--id-token-alg", "ES256", "--json"))
    listed = {row["client_id"]: row for row in json.loads(cli("clients", "list", "--json"))}
    assert listed[explicit["client_id"]]["id_token_signed_response_alg"] == "ES256"

