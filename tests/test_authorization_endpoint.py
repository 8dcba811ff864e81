"""The authorization endpoint (RFC 6749 section 4.1.1, OIDC Core 3.1.2, RFC 9207, RFC 9700)."""

from __future__ import annotations

import dataclasses
import time

import pytest
from sqlalchemy import update
from test_code_flow import verify_id_token

from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import LoginSession

from conftest import RelyingParty, authorization_request, login_through_pages, obtain_code, query_of, redeem, tokens_for

ISSUER = "http://idp.test"
OTHER_PHONE = "13912345678"


@pytest.fixture
def relogin(app, monkeypatch) -> None:
    """Lift the SMS resend cooldown so one test can log the same person in twice."""
    monkeypatch.setitem(app.config, "IDP", dataclasses.replace(current_settings(app), SMS_RESEND_COOLDOWN=0))


def age_login_sessions(app, seconds: int) -> None:
    """Pretend every login happened ``seconds`` earlier than it did."""
    with app.app_context():
        db.session.execute(update(LoginSession).values(auth_time=LoginSession.auth_time - seconds))
        db.session.commit()


def authorize(client, rp, **extra):
    auth = authorization_request(rp, **extra)
    return auth, client.get("/authorize", query_string=auth.params)


def assert_login_page_redirect(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/login?interaction="), response.headers["Location"]
    return response.headers["Location"]


def assert_redirect_to_client(response, rp, auth) -> dict:
    """Back at the client's registered URI with ``state`` and ``iss`` (RFC 9207 section 2)."""
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith(rp.redirect_uri + "?")
    params = query_of(response.headers["Location"])
    assert params["state"] == auth.params["state"]
    assert params["iss"] == ISSUER
    return params


def assert_own_error_page(response) -> None:
    """RFC 6749 4.1.2.1: no redirect to a URI the client did not register; our page instead."""
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"


# --- client and redirect URI -------------------------------------------------------------

def test_unknown_client_is_shown_the_providers_error_page(client):
    _, response = authorize(client, RelyingParty("nobody", None, "https://evil.test/cb"))
    assert_own_error_page(response)
    assert 'href="https://evil.test' not in response.get_data(as_text=True)


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.test/callback",
    "https://rp.test/callback/",
    "https://rp.test/callback?extra=1",
    "https://RP.test/callback",
    "http://rp.test/callback",
    "https://rp.test/callback#frag",
])
def test_redirect_uri_must_match_a_registered_one_exactly(client, rp, redirect_uri):
    """RFC 9700 4.1.3: exact string comparison, no normalisation, no prefix matching."""
    _, response = authorize(client, rp, redirect_uri=redirect_uri)
    assert_own_error_page(response)


def test_missing_redirect_uri_is_shown_the_providers_error_page(client, rp):
    """OIDC Core 3.1.2.1: ``redirect_uri`` is required, even for one registered URI."""
    _, response = authorize(client, rp, redirect_uri=None)
    assert_own_error_page(response)


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token", "none"])
def test_response_types_other_than_code_are_unsupported(client, rp, response_type):
    auth, response = authorize(client, rp, response_type=response_type)
    params = assert_redirect_to_client(response, rp, auth)
    assert params["error"] == "unsupported_response_type"


def test_missing_response_type_is_an_error_redirect(client, rp):
    auth, response = authorize(client, rp, response_type=None)
    params = assert_redirect_to_client(response, rp, auth)
    assert params["error"] in {"invalid_request", "unsupported_response_type"}


def test_successful_response_carries_iss(app, client, person, rp):
    """RFC 9207 section 2: ``iss`` in every authorization response."""
    obtain_code(app, client, rp)
    auth, response = authorize(client, rp)
    params = assert_redirect_to_client(response, rp, auth)
    assert params["code"]


def test_authorization_request_may_be_posted_as_a_form(app, client, person, rp):
    """OIDC Core 3.1.2.1: GET and POST.  A relying party's auto-submitting form carries no CSRF
    token of ours, and needs none: it asks for nothing a GET could not."""
    assert_login_page_redirect(client.post("/authorize", data=authorization_request(rp).params))
    obtain_code(app, client, rp)
    auth = authorization_request(rp, prompt="none")
    params = assert_redirect_to_client(client.post("/authorize", data=auth.params), rp, auth)
    assert params["code"]


# --- prompt ------------------------------------------------------------------------------

def test_prompt_none_without_a_session_is_login_required(client, rp):
    """OIDC Core 3.1.2.6: ``login_required`` rather than a page."""
    auth, response = authorize(client, rp, prompt="none")
    assert assert_redirect_to_client(response, rp, auth)["error"] == "login_required"


def test_prompt_none_with_a_session_returns_a_code_without_any_page(app, client, person, rp):
    obtain_code(app, client, rp)
    auth, response = authorize(client, rp, prompt="none")
    assert "code" in assert_redirect_to_client(response, rp, auth)


def test_prompt_login_forces_a_new_login_and_the_code_has_a_fresh_auth_time(app, client, person, rp, relogin):
    obtain_code(app, client, rp)
    age_login_sessions(app, 300)
    auth, response = authorize(client, rp, prompt="login")
    done = login_through_pages(app, client, assert_login_page_redirect(response))
    params = assert_redirect_to_client(client.get(done.headers["Location"]), rp, auth)
    tokens = redeem(client, rp, params["code"], auth.verifier).get_json()
    assert verify_id_token(client, tokens["id_token"], rp)["auth_time"] >= time.time() - 30


def test_prompt_login_resume_without_logging_in_again_does_not_issue_a_code(app, client, person, rp):
    """The resumed request must not count the old login as the requested new one."""
    obtain_code(app, client, rp)
    age_login_sessions(app, 300)
    auth, response = authorize(client, rp, prompt="login")
    interaction = query_of(assert_login_page_redirect(response))["interaction"]
    resumed = client.get("/authorize", query_string={**auth.params, "interaction": interaction})
    assert_login_page_redirect(resumed)


# --- max_age -----------------------------------------------------------------------------

@pytest.mark.parametrize("max_age", ["0", "1"])
def test_small_max_age_forces_a_new_login_which_then_completes(app, client, person, rp, relogin, max_age):
    """OIDC Core 3.1.2.1: an older login must be redone; the redone login then satisfies it."""
    obtain_code(app, client, rp)
    age_login_sessions(app, 5)
    auth, response = authorize(client, rp, max_age=max_age)
    done = login_through_pages(app, client, assert_login_page_redirect(response))
    params = assert_redirect_to_client(client.get(done.headers["Location"]), rp, auth)
    tokens = redeem(client, rp, params["code"], auth.verifier).get_json()
    assert verify_id_token(client, tokens["id_token"], rp)["auth_time"] >= time.time() - 30


def test_large_max_age_reuses_the_session(app, client, person, rp):
    obtain_code(app, client, rp)
    age_login_sessions(app, 5)
    auth, response = authorize(client, rp, max_age="10000")
    assert "code" in assert_redirect_to_client(response, rp, auth)


def test_max_age_with_prompt_none_and_an_old_login_is_login_required(app, client, person, rp):
    obtain_code(app, client, rp)
    age_login_sessions(app, 5)
    auth, response = authorize(client, rp, max_age="1", prompt="none")
    assert assert_redirect_to_client(response, rp, auth)["error"] == "login_required"


@pytest.mark.parametrize("max_age", ["-1", "abc", "1.5", "1e3", "99999999999"])
def test_invalid_max_age_is_invalid_request(client, rp, max_age):
    auth, response = authorize(client, rp, max_age=max_age)
    assert assert_redirect_to_client(response, rp, auth)["error"] == "invalid_request"


# --- id_token_hint -----------------------------------------------------------------------

@pytest.fixture
def other_persons_id_token(app, person, rp) -> str:
    """An ID token this provider issued to someone else, from another browser."""
    from idp.people.accounts import create_person

    with app.app_context():
        create_person(doc_type="ID_CARD", doc_number="440524188001010014", name="李四", phone=OTHER_PHONE,
                      password="Other#2026", username="lisi")
        db.session.commit()
    browser = app.test_client()
    auth, response = authorize(browser, rp)
    done = login_through_pages(app, browser, assert_login_page_redirect(response), identifier="lisi",
                               password="Other#2026", phone=OTHER_PHONE)
    code = query_of(browser.get(done.headers["Location"]).headers["Location"])["code"]
    return redeem(browser, rp, code, auth.verifier).get_json()["id_token"]


def test_id_token_hint_of_the_logged_in_person_works_with_prompt_none(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    auth, response = authorize(client, rp, prompt="none", id_token_hint=tokens["id_token"])
    assert "code" in assert_redirect_to_client(response, rp, auth)


def test_id_token_hint_for_another_person_with_prompt_none_is_login_required(
        app, client, person, rp, other_persons_id_token):
    """OIDC Core 3.1.2.2: the hinted person is not the one logged in."""
    obtain_code(app, client, rp)
    auth, response = authorize(client, rp, prompt="none", id_token_hint=other_persons_id_token)
    assert assert_redirect_to_client(response, rp, auth)["error"] == "login_required"


def test_id_token_hint_for_another_person_asks_for_a_login(app, client, person, rp, other_persons_id_token):
    obtain_code(app, client, rp)
    _, response = authorize(client, rp, id_token_hint=other_persons_id_token)
    assert_login_page_redirect(response)


@pytest.mark.parametrize("hint", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_garbage_id_token_hint_is_invalid_request(client, rp, hint):
    auth, response = authorize(client, rp, prompt="none", id_token_hint=hint)
    assert assert_redirect_to_client(response, rp, auth)["error"] == "invalid_request"


def test_an_access_token_is_no_id_token_hint(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    auth, response = authorize(client, rp, prompt="none", id_token_hint=tokens["access_token"])
    assert assert_redirect_to_client(response, rp, auth)["error"] == "invalid_request"


# --- login pages: hints and language -----------------------------------------------------

def test_login_hint_prefills_the_identifier_field(client, rp):
    _, response = authorize(client, rp, login_hint="13812345678")
    page = client.get(assert_login_page_redirect(response)).get_data(as_text=True)
    assert 'name="identifier" value="13812345678"' in page


def test_ui_locales_en_renders_the_login_page_in_english(client, rp):
    _, response = authorize(client, rp, ui_locales="en")
    page = client.get(assert_login_page_redirect(response)).get_data(as_text=True)
    assert "Sign in" in page and "用户登录" not in page


@pytest.mark.parametrize("ui_locales", [None, "zh-CN", "fr zh-CN en"])
def test_login_page_is_chinese_by_default_and_for_zh_cn(client, rp, ui_locales):
    _, response = authorize(client, rp, ui_locales=ui_locales)
    page = client.get(assert_login_page_redirect(response)).get_data(as_text=True)
    assert "用户登录" in page and "Sign in" not in page


# --- leniency where the specs ask for it -------------------------------------------------

def test_unknown_parameters_are_ignored(app, client, person, rp):
    """RFC 6749 3.1: the server MUST ignore unrecognised request parameters."""
    obtain_code(app, client, rp)
    auth, response = authorize(client, rp, foo="bar", claims_locales="de", registration_x="1")
    assert "code" in assert_redirect_to_client(response, rp, auth)


def test_unsupported_scopes_are_dropped_not_refused(app, client, person, rp):
    """RFC 6749 3.3: the server may issue a narrower scope and says so in the response."""
    tokens = tokens_for(app, client, rp, scope="openid email profile address")
    assert set(tokens["scope"].split()) == {"openid", "profile"}
    claims = verify_id_token(client, tokens["id_token"], rp)
    assert "email" not in claims and "name" in claims
