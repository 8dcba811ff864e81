"""Which redirect, post-logout and back-channel logout URIs a client may register (RFC 6749
section 3.1.2, RFC 8252 sections 7.1 and 7.3, Back-Channel Logout 1.0 section 2.2), and that
/authorize holds requests to the same rules."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from idp.core.database import db
from idp.models import Client
from idp.protocol.client_registry import client_registry
from idp.protocol.clients import ClientRegistrationError, create_client

from conftest import authorization_request, query_of, register_client, tokens_for

REFUSED_EVERYWHERE = [
    "app.example/callback",              # no scheme: not absolute
    "/callback",                         # relative
    "https://app.example/cb#frag",       # fragment
    "https://app.example/cb#",           # empty fragment
    "http://app.example/cb",             # plain http off loopback
    "javascript:alert(1)",               # not a private-use scheme
    "https:///cb",                       # no host
    "https://app.example/c b",           # whitespace
    "http://127.0.0.1:99999/cb",         # port out of range
]


@pytest.mark.parametrize("uri", REFUSED_EVERYWHERE)
@pytest.mark.parametrize("public", [False, True])
def test_a_malformed_redirect_uri_cannot_be_registered(app, uri, public):
    with app.app_context(), pytest.raises(ClientRegistrationError, match="redirect URI"):
        create_client(name="x", redirect_uris=[uri], public=public)


@pytest.mark.parametrize("uri", ["https://app.example/cb", "https://app.example/cb?tenant=1",
                                 "http://127.0.0.1/cb", "http://127.0.0.1:8765/cb", "http://[::1]:9000/cb",
                                 "http://localhost:3000/cb"])
def test_https_and_loopback_http_are_registered_for_any_client(app, uri):
    register_client(app, redirect_uris=[uri], first_party=True)


def test_a_private_use_scheme_is_for_native_apps_only(app):
    register_client(app, name="APP", public=True, redirect_uris=["cn.gov.qdtax.app:/oauth2redirect"])
    with app.app_context(), pytest.raises(ClientRegistrationError, match="https"):
        create_client(name="web", redirect_uris=["cn.gov.qdtax.web:/cb"])


@pytest.mark.parametrize("uri", ["app.example/bye", "https://app.example/bye#x", "http://app.example/bye"])
def test_post_logout_redirect_uris_follow_the_same_rules(app, uri):
    with app.app_context(), pytest.raises(ClientRegistrationError, match="post_logout_redirect_uri"):
        create_client(name="x", redirect_uris=["https://app.example/cb"], post_logout_redirect_uris=[uri])


@pytest.mark.parametrize("uri", ["http://rp.test/bc", "cn.gov.qdtax.app:/bc"])
def test_the_back_channel_logout_error_names_the_loopback_exception(app, uri):
    with app.app_context(), pytest.raises(ClientRegistrationError, match="http on a loopback address"):
        create_client(name="x", redirect_uris=["https://app.example/cb"], public=True, backchannel_logout_uri=uri)


def test_clients_add_refuses_a_uri_without_scheme_and_one_with_a_fragment(app, cli, database_url, instance_dir,
                                                                          monkeypatch):
    from idp.cli.main import main

    runner = CliRunner()
    for uri in ("app.example/callback", "https://app.example/cb#frag"):
        result = runner.invoke(main, ["clients", "add", "--name", "x", "--redirect-uri", uri])
        assert result.exit_code == 2, result.output
        assert "redirect URI" in result.output and "Traceback" not in result.output
    assert json.loads(cli("clients", "list", "--json")) == []


def test_authorize_refuses_a_row_registered_before_the_rules(app, client):
    """A redirect URI with a fragment that an older version let in is not redirected to."""
    rp = register_client(app, redirect_uris=["https://app.example/cb"])
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=rp.client_id).one()
        row.redirect_uris = ["https://app.example/cb#frag"]
        db.session.commit()
    client_registry(app).forget()
    rp.redirect_uri = "https://app.example/cb#frag"
    response = client.get("/authorize", query_string=authorization_request(rp).params)
    assert response.status_code == 400 and "Location" not in response.headers


def test_logout_does_not_redirect_to_a_post_logout_uri_registered_before_the_rules(app, client, person):
    rp = register_client(app, post_logout_redirect_uris=["https://app.example/bye"])
    tokens = tokens_for(app, client, rp)
    with app.app_context():
        row = db.session.query(Client).filter_by(client_id=rp.client_id).one()
        row.post_logout_redirect_uris = ["https://app.example/bye#frag"]
        db.session.commit()
    client_registry(app).forget()
    response = client.get("/logout", query_string={"id_token_hint": tokens["id_token"],
                                                   "post_logout_redirect_uri": "https://app.example/bye#frag"})
    assert "Location" not in response.headers


def test_a_loopback_ip_redirect_uri_matches_on_any_port(app, client, person):
    """RFC 8252 section 7.3: a native app listens on whatever port was free."""
    rp = register_client(app, name="APP", public=True, redirect_uris=["http://127.0.0.1/cb"])
    rp.redirect_uri = "http://127.0.0.1:53124/cb"
    response = client.get("/authorize", query_string=authorization_request(rp).params)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?")
    rp.redirect_uri = "http://127.0.0.1:53124/other"
    assert client.get("/authorize", query_string=authorization_request(rp).params).status_code == 400


def test_a_loopback_port_is_not_a_wildcard_for_https_or_hostnames(app, client):
    rp = register_client(app, redirect_uris=["https://app.example/cb", "http://localhost:3000/cb"])
    for other in ("https://app.example:8443/cb", "http://localhost:3001/cb"):
        rp.redirect_uri = other
        response = client.get("/authorize", query_string=authorization_request(rp).params)
        assert response.status_code == 400, other
        assert not query_of(response.headers.get("Location", "?")).get("code")
