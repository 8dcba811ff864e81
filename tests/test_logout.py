"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)."""

from __future__ import annotations

import time

from idp.keyring import current_keyring

from conftest import authorization_request, csrf_from, query_of, register_client, tokens_for

BYE = "https://rp.test/bye"


def prompt_none(client, rp) -> dict:
    auth = authorization_request(rp, prompt="none")
    response = client.get("/authorize", query_string=auth.params)
    assert response.status_code == 302
    return query_of(response.headers["Location"])


def refresh_error(client, rp, refresh_token: str) -> str | None:
    response = client.post("/token", headers=rp.basic_auth,
                           data={"grant_type": "refresh_token", "refresh_token": refresh_token})
    return response.get_json().get("error")


def assert_logged_out(client, rp, tokens: dict) -> None:
    assert prompt_none(client, rp)["error"] == "login_required"
    assert refresh_error(client, rp, tokens["refresh_token"]) == "invalid_grant"
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401


def assert_still_logged_in(client, rp) -> None:
    assert "code" in prompt_none(client, rp)


def test_logout_with_id_token_hint_redirects_with_state_and_ends_the_session(app, client, person, rp):
    """Sections 2 and 3: a valid hint needs no confirmation; ``state`` comes back unchanged."""
    tokens = tokens_for(app, client, rp)
    response = client.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": BYE, "state": "s-42"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{BYE}?state=s-42"
    assert_logged_out(client, rp, tokens)


def test_logout_with_id_token_hint_and_matching_client_id_redirects(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    response = client.post("/logout", data={
        "id_token_hint": tokens["id_token"], "client_id": rp.client_id, "post_logout_redirect_uri": BYE})
    assert response.status_code == 302
    assert response.headers["Location"] == BYE
    assert_logged_out(client, rp, tokens)


def test_logout_with_a_client_id_other_than_the_hints_audience_is_refused(app, client, person, rp):
    """Section 2: client_id must be the audience of the ID token."""
    tokens = tokens_for(app, client, rp)
    other = register_client(app, name="另一个应用", post_logout_redirect_uris=["https://other.test/bye"])
    response = client.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "client_id": other.client_id,
        "post_logout_redirect_uri": "https://other.test/bye"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert_still_logged_in(client, rp)


def test_unregistered_post_logout_redirect_uri_is_not_followed(app, client, person, rp):
    """Section 3: no redirection unless the URI exactly matches a registered one."""
    tokens = tokens_for(app, client, rp)
    for uri in ("https://evil.test/bye", BYE + "/", BYE + "?x=1", rp.redirect_uri):
        response = client.get("/logout", query_string={
            "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": uri, "state": "s"})
        assert response.status_code == 200, uri
        assert "Location" not in response.headers


def test_post_logout_redirect_uri_of_another_client_is_not_followed(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    register_client(app, name="另一个应用", post_logout_redirect_uris=["https://other.test/bye"])
    response = client.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://other.test/bye"})
    assert "Location" not in response.headers


def test_garbage_id_token_hint_is_an_error_page_without_redirect(app, client, person, rp):
    """Section 4: on an error the OP must not redirect."""
    tokens = tokens_for(app, client, rp)
    response = client.get("/logout", query_string={
        "id_token_hint": "not.a.token", "post_logout_redirect_uri": BYE})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert_still_logged_in(client, rp)
    assert refresh_error(client, rp, tokens["refresh_token"]) is None


def test_an_access_token_is_no_id_token_hint(app, client, person, rp):
    """Signed with the same keys, but whoever holds it (a resource server) must not be able to
    log the person out unasked: an error page, no redirect, still logged in."""
    tokens = tokens_for(app, client, rp)
    response = client.get("/logout", query_string={
        "id_token_hint": tokens["access_token"], "post_logout_redirect_uri": BYE, "state": "s"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert_still_logged_in(client, rp)


def test_logout_without_id_token_hint_asks_for_confirmation(app, client, person, rp):
    """Section 6: without a hint the person confirms, so a link cannot log anyone out."""
    tokens = tokens_for(app, client, rp)
    page = client.get("/logout", query_string={"client_id": rp.client_id, "post_logout_redirect_uri": BYE})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="csrf_token"' in html and 'id="logout-confirm"' in html
    assert_still_logged_in(client, rp)

    forged = client.post("/logout", data={"client_id": rp.client_id})
    assert forged.status_code == 400
    assert_still_logged_in(client, rp)

    confirmed = client.post("/logout", data={"csrf_token": csrf_from(html), "client_id": rp.client_id})
    assert confirmed.status_code == 200
    assert_logged_out(client, rp, tokens)


def test_confirmed_logout_without_hint_does_not_redirect(app, client, person, rp):
    """Without an ID token nothing proves the RP asked; the provider shows its own page."""
    tokens_for(app, client, rp)
    html = client.get("/logout").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_from(html), "client_id": rp.client_id,
                                            "post_logout_redirect_uri": BYE})
    assert response.status_code == 200
    assert "Location" not in response.headers


def test_logout_without_a_session_still_answers(client, rp):
    html = client.get("/logout").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 200


def test_an_id_token_signed_before_a_key_rotation_still_logs_out(app, client, person, rp, monkeypatch):
    """Relying parties keep the ID token for the whole login session: a key rotated out an hour
    ago (its access tokens long expired) still verifies it as an id_token_hint."""
    tokens = tokens_for(app, client, rp)
    keyring = current_keyring(app)
    keyring.rotate(force=True)
    an_hour_later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: an_hour_later)
    keyring.prune()
    response = client.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": BYE, "state": "s"})
    assert response.status_code == 302 and response.headers["Location"] == f"{BYE}?state=s"
    assert prompt_none(client, rp)["error"] == "login_required"
