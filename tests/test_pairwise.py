"""Pairwise subject identifiers (OpenID Connect Core 8): third-party clients see a ``sub`` per
sector, salted; the bureau's own apps see the public ``sub``; hints with a pairwise ``sub``
still name the person."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.app import create_app
from idp.protocol.backchannel_logout import deliver_due_logouts
from idp.protocol.clients import ClientRegistrationError, create_client

from account_steps import OTHER_PHONE, create_other_person
from conftest import (
    authorization_request,
    csrf_from,
    hidden_value,
    login_through_pages,
    make_settings,
    query_of,
    redeem,
    register_client,
    tokens_for,
)
from loopback_servers import serve_json, start_logout_receiver


def third_party(app, name: str = "第三方记账软件", redirect_uri: str = "https://books.test/cb", **kwargs):
    return register_client(app, name=name, first_party=False, redirect_uris=[redirect_uri], **kwargs)


def authorize(app, client, rp, phone: str | None = None, identifier: str = "zhangsan", **params):
    """Authorization with login and consent pages as needed; returns the request and the final response."""
    request = authorization_request(rp, **params)
    response = client.get("/authorize", query_string=request.params)
    if response.headers["Location"].startswith("/login"):
        login = login_through_pages(app, client, response.headers["Location"], identifier=identifier,
                                    **({"phone": phone} if phone else {}))
        response = client.get(login.headers["Location"])
    if response.headers["Location"].startswith("/consent"):
        html = client.get(response.headers["Location"]).get_data(as_text=True)
        answer = client.post("/consent", data={"csrf_token": csrf_from(html), "decision": "allow",
                                               "interaction": hidden_value(html, "interaction")})
        response = client.get(answer.headers["Location"])
    return request, response


def consented_tokens(app, client, rp, **login) -> dict:
    request, response = authorize(app, client, rp, **login)
    tokens = redeem(client, rp, query_of(response.headers["Location"])["code"], request.verifier)
    assert tokens.status_code == 200, tokens.get_json()
    return tokens.get_json()


def claims_of(client, token: str) -> dict:
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json())).claims


def test_a_third_party_client_sees_one_pairwise_sub_in_every_token_and_response(app, client, person, rp):
    """Section 8: the same ``sub`` in the ID token, userinfo, the access token and introspection,
    and it is not the public one."""
    books = third_party(app)
    tokens = consented_tokens(app, client, books)
    sub = claims_of(client, tokens["id_token"])["sub"]
    assert sub != person["sub"] and len(sub) == 43
    assert claims_of(client, tokens["access_token"])["sub"] == sub
    userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.get_json()["sub"] == sub
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert client.post("/introspect", headers=rp.basic_auth, data={"token": token}).get_json()["sub"] == sub
    refreshed = client.post("/token", headers=books.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).get_json()
    assert claims_of(client, refreshed["id_token"])["sub"] == sub


def test_a_first_party_client_sees_the_public_sub(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    assert claims_of(client, tokens["id_token"])["sub"] == person["sub"]
    assert claims_of(client, tokens["access_token"])["sub"] == person["sub"]


def test_clients_of_different_sectors_cannot_match_a_person_by_sub(app, client, person):
    """Section 8.1: the sector is the redirect URIs' host; one host is one sector."""
    books = third_party(app, "记账软件", "https://books.test/cb")
    books_mobile = third_party(app, "记账软件移动版", "https://books.test/mobile/cb")
    payroll = third_party(app, "薪资软件", "https://payroll.test/cb")
    subs = {rp.client_id: claims_of(client, consented_tokens(app, client, rp)["id_token"])["sub"]
            for rp in (books, books_mobile, payroll)}
    assert subs[books.client_id] == subs[books_mobile.client_id]
    assert subs[books.client_id] != subs[payroll.client_id]


def test_a_sector_identifier_uri_puts_several_hosts_in_one_sector(app, client, person):
    """Section 8.1: the redirect URIs listed at ``sector_identifier_uri`` share its host's sector."""
    uris = ["https://books.test/cb", "https://books-cdn.test/cb"]
    document = serve_json("/sector.json", uris)
    try:
        sector_uri = f"{document.url}/sector.json"
        web = register_client(app, name="记账网页版", first_party=False, redirect_uris=uris,
                              sector_identifier_uri=sector_uri)
        mobile = register_client(app, name="记账移动版", first_party=False, redirect_uris=["https://books.test/cb"],
                                 sector_identifier_uri=sector_uri)
        alone = third_party(app, "同域名的其他应用", "https://books.test/cb")
        subs = [claims_of(client, consented_tokens(app, client, rp)["id_token"])["sub"] for rp in (web, mobile, alone)]
        assert subs[0] == subs[1] != subs[2]
    finally:
        document.stop()


def test_pairwise_registration_refuses_what_would_make_the_sector_ambiguous(app):
    document = serve_json("/sector.json", ["https://books.test/cb"])
    try:
        with app.app_context():
            with pytest.raises(ClientRegistrationError, match="several hosts"):
                create_client(name="x", redirect_uris=["https://a.test/cb", "https://b.test/cb"])
            with pytest.raises(ClientRegistrationError, match="not listed"):
                create_client(name="x", redirect_uris=["https://evil.test/cb"],
                              sector_identifier_uri=f"{document.url}/sector.json")
            with pytest.raises(ClientRegistrationError, match="https"):
                create_client(name="x", redirect_uris=["https://books.test/cb"],
                              sector_identifier_uri="http://books.test/sector.json")
    finally:
        document.stop()


def test_the_pairwise_sub_is_salted_with_the_providers_secret(app, client, person, database_url, instance_dir):
    """Without PAIRWISE_SALT nobody, the bureau's own database included, can recompute it."""
    books = third_party(app)
    sub = claims_of(client, consented_tokens(app, client, books)["id_token"])["sub"]
    resalted = create_app(make_settings(database_url, instance_dir, PAIRWISE_SALT="another salt"))
    other_browser = resalted.test_client()
    assert claims_of(client, consented_tokens(resalted, other_browser, books)["id_token"])["sub"] != sub


def test_an_id_token_hint_with_a_pairwise_sub_still_names_the_logged_in_person(app, client, person):
    """OIDC Core 3.1.2.1: the hint names this person, so prompt=none gets a code (no login loop)."""
    books = third_party(app)
    tokens = consented_tokens(app, client, books)
    _, response = authorize(app, client, books, prompt="none", id_token_hint=tokens["id_token"])
    assert "code" in query_of(response.headers["Location"])


def test_an_id_token_hint_of_another_person_is_not_taken_for_this_one(app, client, person):
    books = third_party(app)
    create_other_person(app)
    stranger = app.test_client()
    theirs = consented_tokens(app, stranger, books, identifier="lisi", phone=OTHER_PHONE)
    consented_tokens(app, client, books)
    _, response = authorize(app, client, books, prompt="none", id_token_hint=theirs["id_token"])
    assert query_of(response.headers["Location"])["error"] == "login_required"


def test_logout_with_a_pairwise_hint_ends_the_session_without_asking(app, client, person):
    books = third_party(app, post_logout_redirect_uris=["https://books.test/bye"])
    tokens = consented_tokens(app, client, books)
    response = client.get("/logout", query_string={"id_token_hint": tokens["id_token"],
                                                   "post_logout_redirect_uri": "https://books.test/bye"})
    assert response.status_code == 302 and response.headers["Location"] == "https://books.test/bye"
    _, after = authorize(app, client, books, prompt="none")
    assert query_of(after.headers["Location"])["error"] == "login_required"


def test_logout_with_a_hint_of_another_person_asks_this_one_first(app, client, person):
    """RP-Initiated Logout 1.0 section 6: a hint that names someone else is no proof this
    person wants to leave."""
    books = third_party(app)
    create_other_person(app)
    theirs = consented_tokens(app, app.test_client(), books, identifier="lisi", phone=OTHER_PHONE)
    consented_tokens(app, client, books)
    page = client.get("/logout", query_string={"id_token_hint": theirs["id_token"]})
    assert page.status_code == 200 and 'id="logout-confirm"' in page.get_data(as_text=True)
    _, still = authorize(app, client, books, prompt="none")
    assert "code" in query_of(still.headers["Location"])


def test_the_logout_token_carries_the_clients_pairwise_sub(app, client, person):
    receiver = start_logout_receiver()
    try:
        books = third_party(app, backchannel_logout_uri=receiver.uri_for("books"))
        tokens = consented_tokens(app, client, books)
        client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
        with app.app_context():
            deliver_due_logouts()
        [logout_token] = receiver.tokens_for("books")
        assert claims_of(client, logout_token)["sub"] == claims_of(client, tokens["id_token"])["sub"] != person["sub"]
    finally:
        receiver.live.stop()


def test_discovery_advertises_both_subject_types(client):
    assert client.get("/.well-known/openid-configuration").get_json()["subject_types_supported"] == [
        "public", "pairwise"]
