"""Authentication strength: acr/amr end to end and step-up to face (docs/domain.md §13, §1.5)."""

from __future__ import annotations

import json
import time

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update

from idp.core.database import db
from idp.models import DevFaceSession, Person

from conftest import authorization_request, csrf_from, hidden_value, query_of, redeem, tokens_for

LOA2, LOA3 = "urn:qdtax:loa:2", "urn:qdtax:loa:3"


def claims_of(client, token: str) -> dict:
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json())).claims


def scan_and_pass(app, client, step_up_location: str, outcome: str = "pass"):
    """The step-up page (why, and the consent notice the first time), its one button, the
    development provider's page, then the return trigger."""
    html = client.get(step_up_location).get_data(as_text=True)
    assert "该业务需要人脸识别验证" in html
    response = client.post("/step-up", data={"csrf_token": csrf_from(html), "consent": "yes",
                                             "interaction": hidden_value(html, "interaction")})
    session_id = response.headers["Location"].rsplit("/", 1)[1]
    client.post(f"/dev/face/{session_id}/decision", json={"outcome": outcome})
    with app.app_context():
        return_url = db.session.get(DevFaceSession, session_id).return_url
    return client.get(return_url.replace("http://idp.test", ""))


def test_the_step_up_page_says_why_and_its_cancel_returns_access_denied_to_the_app(app, client, person, rp):
    """The person may decline the face scan: the app gets ``access_denied`` with its state, and
    the login it has stays at loa:2."""
    tokens_for(app, client, rp)
    request = authorization_request(rp, acr_values=LOA3)
    location = client.get("/authorize", query_string=request.params).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert html.count("<h1") == 1 and "该业务需要人脸识别验证" in html and "同意并开始刷脸" in html
    assert "个人用户密码" not in html
    back = client.post("/step-up/cancel", data={"csrf_token": csrf_from(html),
                                               "interaction": hidden_value(html, "interaction")})
    answer = query_of(client.get(back.headers["Location"]).headers["Location"])
    assert answer["error"] == "access_denied" and answer["state"] == request.params["state"]
    with app.app_context():
        assert db.session.execute(select(DevFaceSession)).first() is None  # no scan was started
    again = tokens_for(app, client, rp)
    assert claims_of(client, again["id_token"])["acr"] == LOA2


def test_a_logged_in_person_asked_for_loa3_does_only_a_face_check(app, client, person, rp):
    with app.app_context():
        db.session.execute(update(Person).values(realname_level=3))
        db.session.commit()
    first = tokens_for(app, client, rp)
    assert claims_of(client, first["id_token"])["acr"] == LOA2
    time.sleep(1)
    request = authorization_request(rp, acr_values=LOA3)
    response = client.get("/authorize", query_string=request.params)
    assert response.headers["Location"].startswith("/step-up"), "no password asked again"
    back = scan_and_pass(app, client, response.headers["Location"])
    code = query_of(client.get(back.headers["Location"]).headers["Location"])["code"]
    tokens = redeem(client, rp, code, request.verifier).get_json()
    claims = claims_of(client, tokens["id_token"])
    assert claims["acr"] == LOA3
    assert claims["amr"] == ["pwd", "sms", "face", "mfa"]
    assert claims["auth_time"] > claims_of(client, first["id_token"])["auth_time"]
    assert claims["realname_level"] == 4
    assert claims["sid"] == claims_of(client, first["id_token"])["sid"]
    refreshed = client.post("/token", headers=rp.basic_auth, data={"grant_type": "refresh_token",
                                                                   "refresh_token": tokens["refresh_token"]})
    assert claims_of(client, refreshed.get_json()["id_token"])["acr"] == LOA3


def test_a_session_strong_enough_is_not_asked_again(app, client, person, rp):
    tokens_for(app, client, rp)
    request = authorization_request(rp, acr_values=LOA2)
    assert client.get("/authorize", query_string=request.params).headers["Location"].startswith(rp.redirect_uri)


def test_essential_acr_through_the_claims_parameter_steps_up(app, client, person, rp):
    tokens_for(app, client, rp)
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": [LOA3]}}})
    request = authorization_request(rp, claims=claims)
    assert client.get("/authorize", query_string=request.params).headers["Location"].startswith("/step-up")


def test_an_essential_acr_that_cannot_be_met_is_unmet_authentication_requirements(app, client, person, rp):
    tokens_for(app, client, rp)
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": ["urn:other:loa:9"]}}})
    request = authorization_request(rp, claims=claims)
    params = query_of(client.get("/authorize", query_string=request.params).headers["Location"])
    assert params["error"] == "unmet_authentication_requirements" and params["state"] == request.params["state"]


def test_unknown_voluntary_acr_values_are_ignored(app, client, person, rp):
    tokens_for(app, client, rp)
    request = authorization_request(rp, acr_values="urn:other:gold")
    assert client.get("/authorize", query_string=request.params).headers["Location"].startswith(rp.redirect_uri)


def test_step_up_with_prompt_none_is_interaction_required(app, client, person, rp):
    tokens_for(app, client, rp)
    request = authorization_request(rp, acr_values=LOA3, prompt="none")
    params = query_of(client.get("/authorize", query_string=request.params).headers["Location"])
    assert params["error"] == "interaction_required"


def test_malformed_claims_parameter_is_invalid_request(app, client, person, rp):
    request = authorization_request(rp, claims="{not json")
    params = query_of(client.get("/authorize", query_string=request.params).headers["Location"])
    assert params["error"] == "invalid_request"


def test_without_a_session_loa3_means_login_then_only_the_face_step(app, client, person, rp):
    from conftest import login_through_pages

    request = authorization_request(rp, acr_values=LOA3)
    response = client.get("/authorize", query_string=request.params)
    assert response.headers["Location"].startswith("/login")
    resumed = client.get(login_through_pages(app, client, response.headers["Location"]).headers["Location"])
    assert resumed.headers["Location"].startswith("/step-up")


def test_a_failed_face_check_leaves_the_session_at_loa2(app, client, person, rp):
    tokens_for(app, client, rp)
    request = authorization_request(rp, acr_values=LOA3)
    location = client.get("/authorize", query_string=request.params).headers["Location"]
    failed = scan_and_pass(app, client, location, outcome="fail")
    assert failed.status_code == 400
    html = failed.get_data(as_text=True)
    # Another scan or back to the app: an SMS code would not give what the app asked for.
    assert 'href="/step-up?interaction=' in html and 'id="step-up-cancel"' in html and 'id="use-sms"' not in html
    with app.app_context():
        from idp.models import LoginSession

        assert db.session.execute(select(LoginSession.acr)).scalar() == LOA2


def test_consent_given_with_the_scan_stands_when_the_provider_is_down(app, client, person, rp, face_provider):
    """The step-up page's one button agrees and scans: with the provider unreachable the page says
    so, and the agreement stands, so the page does not ask for it again."""
    tokens_for(app, client, rp)
    request = authorization_request(rp, acr_values=LOA3)
    location = client.get("/authorize", query_string=request.params).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert 'id="face-notice"' in html
    face_provider.down()
    response = client.post("/step-up", data={"csrf_token": csrf_from(html), "consent": "yes",
                                             "interaction": hidden_value(html, "interaction")})
    assert response.status_code == 503 and "人脸识别服务暂不可用" in response.get_data(as_text=True)
    face_provider.up()
    assert 'id="face-notice"' not in client.get(location).get_data(as_text=True)
    back = scan_and_pass(app, client, location)
    code = query_of(client.get(back.headers["Location"]).headers["Location"])["code"]
    assert claims_of(client, redeem(client, rp, code, request.verifier).get_json()["id_token"])["acr"] == LOA3
