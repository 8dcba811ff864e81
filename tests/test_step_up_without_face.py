"""A person who withdrew face consent (PIPL article 15) and a relying party asking for loa:3.

Face is the only way to loa:3 (docs/domain.md §13), so after the withdrawal an essential request for
it ends at the relying party with ``unmet_authentication_requirements`` (OIDC Core 3.1.2.6), and a
voluntary one gets the strongest login the person can still make (loa:2), instead of a face page
the person can no longer use.  Played over HTTP, as a browser and a relying party would.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.core.database import db
from idp.models import DevFaceSession, FaceConsent

from conftest import DOC_NUMBER, authorization_request, csrf_from, hidden_value, query_of, register_client
from e2e.live_provider import LiveProvider
from http_browser import follow_until, log_in_over_http

LOA2, LOA3 = "urn:qdtax:loa:2", "urn:qdtax:loa:3"
ESSENTIAL_LOA3 = json.dumps({"id_token": {"acr": {"essential": True, "values": [LOA3]}}})
#: ``acr_values`` names the level; the ``claims`` parameter makes the acr claim essential.
ESSENTIAL_ACR = json.dumps({"id_token": {"acr": {"essential": True}}})


def give_face_consent(live: LiveProvider) -> None:
    with live.app.app_context():
        db.session.add(FaceConsent(doc_type="ID_CARD", doc_number=DOC_NUMBER, notice_version="2026-11"))
        db.session.commit()


def withdraw_face_consent(live: LiveProvider, browser: requests.Session) -> None:
    """In the account centre, "撤回人脸识别授权"."""
    token = csrf_from(browser.get(f"{live.url}/account", timeout=10).text)
    withdrawn = browser.post(f"{live.url}/account/privacy/face/withdraw", data={"csrf_token": token},
                             headers={"Referer": f"{live.url}/account"}, allow_redirects=False, timeout=10)
    assert withdrawn.status_code == 302, withdrawn.text


def logged_in_then_withdrawn(live: LiveProvider, rp) -> requests.Session:
    browser = requests.Session()
    first = authorization_request(rp)
    log_in_over_http(live.url, f"{live.url}/authorize?{urlencode(first.params)}", rp.redirect_uri,
                     live.last_sms_code, browser=browser)
    give_face_consent(live)
    withdraw_face_consent(live, browser)
    return browser


def id_token_claims(live: LiveProvider, rp, callback: str, verifier: str) -> dict:
    answer = requests.post(f"{live.url}/token", headers=rp.basic_auth, timeout=10, data={
        "grant_type": "authorization_code", "code": query_of(callback)["code"],
        "redirect_uri": rp.redirect_uri, "code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    keys = KeySet.import_key_set(requests.get(f"{live.url}/jwks.json", timeout=10).json())
    return jwt.decode(answer.json()["id_token"], keys).claims


def assert_unmet(live: LiveProvider, callback, request) -> None:
    assert isinstance(callback, str), f"a page instead of the relying party: {callback.status_code}"
    params = query_of(callback)
    assert params["error"] == "unmet_authentication_requirements", params
    assert (params["state"], params["iss"]) == (request.params["state"], live.url)
    assert "code" not in params


def test_an_essential_loa3_after_the_withdrawal_ends_at_the_relying_party_with_unmet_requirements(
        live_provider: LiveProvider, person):
    rp = register_client(live_provider.app)
    browser = logged_in_then_withdrawn(live_provider, rp)
    for extra in ({"claims": ESSENTIAL_LOA3}, {"acr_values": LOA3, "claims": ESSENTIAL_ACR}):
        request = authorization_request(rp, **extra)
        callback = follow_until(browser, f"{live_provider.url}/authorize?{urlencode(request.params)}",
                                rp.redirect_uri)
        assert_unmet(live_provider, callback, request)
    # prompt=none gets the same answer: no interaction could meet it either.
    request = authorization_request(rp, claims=ESSENTIAL_LOA3, prompt="none")
    assert_unmet(live_provider, follow_until(
        browser, f"{live_provider.url}/authorize?{urlencode(request.params)}", rp.redirect_uri), request)


def test_an_essential_loa3_before_login_is_unmet_once_the_person_who_withdrew_logged_in(
        live_provider: LiveProvider, person):
    """Who the person is, and so the withdrawal, is known only after the password and SMS code."""
    rp = register_client(live_provider.app)
    logged_in_then_withdrawn(live_provider, rp)
    request = authorization_request(rp, claims=ESSENTIAL_LOA3)
    callback = log_in_over_http(live_provider.url, f"{live_provider.url}/authorize?{urlencode(request.params)}",
                                rp.redirect_uri, live_provider.last_sms_code)
    assert_unmet(live_provider, callback, request)


def test_a_voluntary_loa3_after_the_withdrawal_gets_loa2(live_provider: LiveProvider, person):
    rp = register_client(live_provider.app)
    browser = logged_in_then_withdrawn(live_provider, rp)
    request = authorization_request(rp, acr_values=LOA3)
    callback = follow_until(browser, f"{live_provider.url}/authorize?{urlencode(request.params)}", rp.redirect_uri)
    assert isinstance(callback, str), f"a page instead of the relying party: {callback.status_code}"
    claims = id_token_claims(live_provider, rp, callback, request.verifier)
    assert (claims["acr"], claims["amr"]) == (LOA2, ["pwd", "sms", "mfa"])


def test_without_a_withdrawal_an_essential_loa3_still_steps_up_to_face(live_provider: LiveProvider, person):
    rp = register_client(live_provider.app)
    browser = requests.Session()
    log_in_over_http(live_provider.url, f"{live_provider.url}/authorize?{urlencode(authorization_request(rp).params)}",
                     rp.redirect_uri, live_provider.last_sms_code, browser=browser)
    request = authorization_request(rp, claims=ESSENTIAL_LOA3)
    page = follow_until(browser, f"{live_provider.url}/authorize?{urlencode(request.params)}", rp.redirect_uri)
    assert isinstance(page, requests.Response) and page.url.startswith(f"{live_provider.url}/step-up")


def test_a_withdrawal_made_during_the_face_step_up_ends_at_the_relying_party(live_provider: LiveProvider, person):
    """The face check started before the withdrawal returns; its result is not used, and the
    request goes back to the relying party rather than to a refusal page."""
    rp = register_client(live_provider.app)
    browser = requests.Session()
    log_in_over_http(live_provider.url, f"{live_provider.url}/authorize?{urlencode(authorization_request(rp).params)}",
                     rp.redirect_uri, live_provider.last_sms_code, browser=browser)
    give_face_consent(live_provider)
    request = authorization_request(rp, claims=ESSENTIAL_LOA3)
    step_up = follow_until(browser, f"{live_provider.url}/authorize?{urlencode(request.params)}", rp.redirect_uri)
    assert isinstance(step_up, requests.Response) and step_up.url.startswith(f"{live_provider.url}/step-up")
    started = browser.post(f"{live_provider.url}/step-up", allow_redirects=False, timeout=10, data={
        "csrf_token": csrf_from(step_up.text), "interaction": hidden_value(step_up.text, "interaction")})
    assert "/dev/face/" in started.headers["Location"]
    session_id = started.headers["Location"].rsplit("/", 1)[1]
    withdraw_face_consent(live_provider, browser)
    browser.post(f"{live_provider.url}/dev/face/{session_id}/decision", json={"outcome": "pass"}, timeout=10)
    with live_provider.app.app_context():
        return_url = db.session.get(DevFaceSession, session_id).return_url
    assert_unmet(live_provider, follow_until(browser, return_url, rp.redirect_uri), request)
