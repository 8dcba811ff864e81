"""Tax digital certificate (UKey) login (docs/domain.md §12.2, §13;
docs/certificate-login.md), with real X.509 from the development CA of ``idp certs dev-ca``."""

from __future__ import annotations

import base64
import dataclasses
import re
import time
import types
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from test_app_codes import enrol
from test_face_factor import check_id_for, consent, decide, start_scan

from idp.core.database import db
from idp.core.settings import SETTINGS_KEY, current_settings
from idp.dev.certificate_ca import create_dev_ca
from idp.dev.certificate_commands import agent_response
from idp.models import AuditEvent, MethodLockout, SmsCode
from idp.people.accounts import create_person

from conftest import (
    authorization_request,
    csrf_from,
    last_sms_code,
    let_sms_cooldown_pass,
    query_of,
    redeem,
    submit_sms_code,
)
from entity_fixtures import BUILDER, TRADER, give_role, load_entities

OTHER_PHONE = "13900001111"


@pytest.fixture(scope="module")
def dev_ca(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dev-ca")
    create_dev_ca(out, uscc=BUILDER)
    return out


@pytest.fixture
def cert_app(app, dev_ca):
    """The provider trusting the development root and reading its CRL."""
    original = current_settings(app)
    app.config[SETTINGS_KEY] = dataclasses.replace(original, CERT_TRUST_ANCHORS=str(dev_ca / "trust-anchors.pem"),
                                            CERT_CRL_PATHS=str(dev_ca / "crl.pem"))
    load_entities(app)
    yield app
    app.config[SETTINGS_KEY] = original


@pytest.fixture
def officer(cert_app, person):
    """张三, confirmed financial officer of the certificate's enterprise."""
    give_role(cert_app, BUILDER, "financial_officer")
    return person


def _page_csrf(client, interaction: str = "") -> str:
    html = client.get("/login/certificate", query_string={"interaction": interaction} if interaction else {})
    return re.search(r'data-csrf="([^"]+)"', html.get_data(as_text=True)).group(1)


def new_challenge(client, csrf: str) -> str:
    response = client.post("/login/certificate/challenge", headers={"X-CSRFToken": csrf})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["expires_in"] == 120 and len(base64.urlsafe_b64decode(body["challenge"] + "==")) >= 16
    return body["challenge"]


def signed_answer(dev_ca: Path, name: str, challenge: str) -> dict:
    """What the local signing agent answers (docs/certificate-login.md)."""
    return agent_response((dev_ca / f"{name}.key.pem").read_bytes(), (dev_ca / f"{name}.chain.pem").read_bytes(),
                          challenge)


def post_answer(client, csrf: str, answer: dict, interaction: str = ""):
    return client.post("/login/certificate", json=answer, headers={"X-CSRFToken": csrf},
                       query_string={"interaction": interaction} if interaction else {})


def certificate_step(client, dev_ca: Path, name: str = "valid", interaction: str = ""):
    csrf = _page_csrf(client, interaction)
    return post_answer(client, csrf, signed_answer(dev_ca, name, new_challenge(client, csrf)), interaction)


def person_form(client) -> tuple[str, list[str]]:
    html = client.get("/login/certificate/person").get_data(as_text=True)
    return csrf_from(html), re.findall(r'name="person" value="([^"]+)"', html)


def choose_person(client, key: str, method: str, password: str = ""):
    csrf, _ = person_form(client)
    return client.post("/login/certificate/person",
                       data={"csrf_token": csrf, "person": key, "method": method, "password": password})


def claims_of(client, token: str) -> dict:
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json())).claims


def follow_to_client(client, rp, response):
    while not response.headers["Location"].startswith(rp.redirect_uri):
        response = client.get(response.headers["Location"])
        assert response.status_code == 302, response.get_data(as_text=True)
    return query_of(response.headers["Location"])


def audit_reasons(app, event: str) -> list[tuple[str, dict]]:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id))
        return [(row.outcome, row.detail) for row in rows.scalars()]


def test_certificate_then_sms_code_logs_in_for_the_certificates_enterprise_at_loa2(cert_app, client, officer, dev_ca,
                                                                                   rp):
    """docs/domain.md §12.2, §13: certificate names the enterprise, the person is chosen and
    verified by SMS; the ID token carries business enterprise, that entity, loa:2 and hwk."""
    request = authorization_request(rp)
    response = client.get("/authorize", query_string=request.params)
    interaction = query_of(response.headers["Location"])["interaction"]
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="certificate-login-link"' in login_page

    response = certificate_step(client, dev_ca, interaction=interaction)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["next"] == "/login/certificate/person"
    _, keys = person_form(client)
    assert keys == [f"{officer['id']}:financial_officer"]

    response = choose_person(client, keys[0], "sms")
    assert response.headers["Location"] == "/login/sms"
    response = submit_sms_code(client, last_sms_code(cert_app))
    params = follow_to_client(client, rp, response)

    tokens = redeem(client, rp, params["code"], request.verifier).get_json()
    claims = claims_of(client, tokens["id_token"])
    assert claims["sub"] == officer["sub"]
    assert claims["business"] == "enterprise"
    assert claims["entity"]["id"] == BUILDER and claims["entity"]["role"] == "financial_officer"
    assert claims["acr"] == "urn:qdtax:loa:2"
    assert {"hwk", "sms"} <= set(claims["amr"])
    assert "pwd" not in claims["amr"]


def test_sms_chosen_after_the_certificate_is_sent_and_asked_for_even_with_an_app_code(cert_app, officer, dev_ca):
    """The person page's choice of SMS stands: the code is sent at once and the second-factor page
    asks for it, though the person also has an app code."""
    enrol(cert_app, cert_app.test_client())
    browser = cert_app.test_client()
    assert certificate_step(browser, dev_ca).status_code == 200
    _, keys = person_form(browser)
    assert choose_person(browser, keys[0], "sms").headers["Location"] == "/login/sms"
    page = browser.get("/login/sms").get_data(as_text=True)
    assert 'name="code"' in page and 'id="use-app-code"' in page and 'id="sms-send"' not in page
    assert submit_sms_code(browser, last_sms_code(cert_app)).headers["Location"] == "/"


def test_certificate_then_password_is_loa2_with_hwk_and_pwd(cert_app, client, officer, dev_ca, rp):
    """docs/domain.md §13: certificate + the person's password is loa:2 (RSA PKCS#1 v1.5 certificate)."""
    request = authorization_request(rp)
    interaction = query_of(client.get("/authorize", query_string=request.params).headers["Location"])["interaction"]
    assert certificate_step(client, dev_ca, "valid-rsa", interaction).status_code == 200
    _, keys = person_form(client)
    response = choose_person(client, keys[0], "password", officer["password"])
    params = follow_to_client(client, rp, response)
    claims = claims_of(client, redeem(client, rp, params["code"], request.verifier).get_json()["id_token"])
    assert claims["acr"] == "urn:qdtax:loa:2" and {"hwk", "pwd"} <= set(claims["amr"])
    assert claims["entity"]["id"] == BUILDER


def test_certificate_then_face_check_is_loa3(cert_app, client, officer, dev_ca):
    """docs/domain.md §13: certificate + a live face check in this login is loa:3."""
    assert certificate_step(client, dev_ca).status_code == 200
    _, keys = person_form(client)
    assert choose_person(client, keys[0], "face").headers["Location"] == "/login/face"
    consent(client)
    session_id = start_scan(client)
    decide(client, session_id, "pass")
    assert client.get(f"/login/face/return?check={check_id_for(cert_app, session_id)}").status_code == 302
    with cert_app.app_context():
        from idp.models import LoginSession

        login = db.session.execute(select(LoginSession)).scalar_one()
        assert login.acr == "urn:qdtax:loa:3" and {"hwk", "face"} <= set(login.amr)
        assert login.business == "enterprise" and login.entity["id"] == BUILDER


@pytest.mark.parametrize(("certificate", "error"), [
    ("expired", "certificate_expired"),
    ("wrong-ca", "certificate_untrusted"),
    ("wrong-key-usage", "certificate_key_usage"),
    ("revoked", "certificate_revoked"),
    ("no-enterprise", "certificate_no_enterprise"),
])
def test_unacceptable_certificates_are_refused_and_audited(cert_app, client, officer, dev_ca, certificate, error):
    """docs/domain.md §12.2: dates, chain to a configured anchor, digitalSignature key usage, the
    issuer's CRL, and a USCC in the subject are all required; each refusal is audited."""
    response = certificate_step(client, dev_ca, certificate)
    assert response.status_code == 400
    assert response.get_json()["error"] == error
    assert client.get("/login/certificate/person").headers["Location"] == "/login/certificate"
    assert ("failure", error) in [(outcome, detail["reason"]) for outcome, detail in
                                  audit_reasons(cert_app, "login.certificate")]


def test_a_certificate_login_for_an_app_left_too_long_starts_again_for_that_app(cert_app, client, officer, dev_ca,
                                                                                 rp, monkeypatch):
    """Issue 18: past the step's time the person page sends the person back to the certificate
    page for the app's request, not to a certificate login that would end at the account centre."""
    response = client.get("/authorize", query_string=authorization_request(rp).params)
    interaction = query_of(response.headers["Location"])["interaction"]
    assert certificate_step(client, dev_ca, interaction=interaction).status_code == 200
    csrf, [key] = person_form(client)
    later = time.time() + current_settings(cert_app).LOGIN_STEP_TTL + 1
    monkeypatch.setattr("idp.protocol.pending_steps.time", types.SimpleNamespace(time=lambda: later))
    again = f"/login/certificate?interaction={interaction}"
    assert client.get("/login/certificate/person").headers["Location"] == again
    chosen = client.post("/login/certificate/person", data={"csrf_token": csrf, "person": key, "method": "sms"})
    assert chosen.headers["Location"] == again


def test_signature_by_another_key_is_refused(cert_app, client, officer, dev_ca):
    """The answer must prove possession of the leaf certificate's private key."""
    csrf = _page_csrf(client)
    challenge = new_challenge(client, csrf)
    answer = signed_answer(dev_ca, "valid", challenge)
    answer["signature"] = signed_answer(dev_ca, "revoked", challenge)["signature"]
    response = post_answer(client, csrf, answer)
    assert response.status_code == 400 and response.get_json()["error"] == "certificate_signature_invalid"


def test_challenge_answers_only_once(cert_app, client, officer, dev_ca):
    """A replayed answer (same challenge, valid signature) is refused: challenges are single use."""
    csrf = _page_csrf(client)
    answer = signed_answer(dev_ca, "valid", new_challenge(client, csrf))
    assert post_answer(client, csrf, answer).status_code == 200
    replay = post_answer(client, csrf, answer)
    assert replay.status_code == 400 and replay.get_json()["error"] == "certificate_challenge_invalid"


def test_challenge_not_issued_by_the_provider_is_refused(cert_app, client, officer, dev_ca):
    """A challenge the agent made up (or an expired one swept away) cannot be answered."""
    csrf = _page_csrf(client)
    invented = base64.urlsafe_b64encode(b"\x01" * 32).rstrip(b"=").decode()
    response = post_answer(client, csrf, signed_answer(dev_ca, "valid", invented))
    assert response.status_code == 400 and response.get_json()["error"] == "certificate_challenge_invalid"


def test_certificate_of_an_unregistered_enterprise_is_refused(app, client, person, tmp_path):
    """The USCC must name a taxpayer the bureau knows."""
    out = tmp_path / "ca"
    create_dev_ca(out, uscc=TRADER)
    original = current_settings(app)
    app.config[SETTINGS_KEY] = dataclasses.replace(original, CERT_TRUST_ANCHORS=str(out / "trust-anchors.pem"))
    try:
        response = certificate_step(client, out)
    finally:
        app.config[SETTINGS_KEY] = original
    assert response.status_code == 400 and response.get_json()["error"] == "certificate_unknown_enterprise"


def test_person_without_confirmed_role_is_refused(cert_app, client, officer, dev_ca):
    """docs/domain.md §12.2: only people with a confirmed role at the enterprise may act with its certificate."""
    with cert_app.app_context():
        create_person(doc_type="ID_CARD", doc_number="440524188001010014", name="李四", phone=OTHER_PHONE,
                      password=officer["password"], username="lisi")
        db.session.commit()
    give_role(cert_app, BUILDER, "tax_officer", confirmed=False, person="lisi")
    assert certificate_step(client, dev_ca).status_code == 200
    _, keys = person_form(client)
    assert keys == [f"{officer['id']}:financial_officer"]  # 李四's pending role is not offered
    with cert_app.app_context():
        from idp.people.accounts import find_person_by_identifier

        lisi = find_person_by_identifier("lisi").id
    for forged in (f"{lisi}:tax_officer", "²:tax_officer", "9" * 23 + ":tax_officer"):
        response = choose_person(client, forged, "password", officer["password"])
        assert response.status_code == 403
        assert "未查询到您与该企业的关联关系信息" in response.get_data(as_text=True)
    with cert_app.app_context():
        assert db.session.execute(select(MethodLockout)).first() is None


def test_failed_person_checks_lock_certificate_login_for_that_person(cert_app, client, officer, dev_ca):
    """docs/domain.md §7: five failures of a certificate login in a day lock the ``certificate``
    method for the chosen person, even though SMS itself is not locked."""
    assert certificate_step(client, dev_ca).status_code == 200
    _, keys = person_form(client)
    for _ in range(5):
        response = choose_person(client, keys[0], "password", "Wrong#2026x")
        assert response.status_code == 400
    assert "连续认证错误次数过多" in response.get_data(as_text=True)
    response = choose_person(client, keys[0], "sms")
    assert response.status_code == 400 and "连续认证错误次数过多" in response.get_data(as_text=True)
    with cert_app.app_context():
        locks = dict(db.session.execute(select(MethodLockout.method, MethodLockout.failures)).all())
    assert locks["certificate"] == 5 and "sms" not in locks


def test_wrong_sms_codes_after_a_certificate_count_against_certificate_login(cert_app, client, officer, dev_ca):
    """Second-factor failures of a certificate login count toward its ``certificate`` lockout."""
    assert certificate_step(client, dev_ca).status_code == 200
    _, keys = person_form(client)
    assert choose_person(client, keys[0], "sms").status_code == 302
    assert submit_sms_code(client, "000000" if last_sms_code(cert_app) != "000000" else "111111").status_code == 400
    with cert_app.app_context():
        locks = dict(db.session.execute(select(MethodLockout.method, MethodLockout.failures)).all())
    assert locks["certificate"] == 1
    let_sms_cooldown_pass(cert_app)


def test_sms_gateway_down_after_the_certificate_says_so_and_keeps_no_code(cert_app, client, officer, dev_ca,
                                                                           sms_gateway):
    """The page says the code could not be sent; nothing of the send is kept, so choosing SMS again
    once the gateway is back sends the code at once (no cooldown of a code nobody got)."""
    assert certificate_step(client, dev_ca).status_code == 200
    _, keys = person_form(client)
    sms_gateway.down()
    response = choose_person(client, keys[0], "sms")
    assert response.status_code == 503
    assert "短信发送失败，请稍后再试" in response.get_data(as_text=True)
    with cert_app.app_context():
        assert db.session.execute(select(SmsCode)).first() is None
    sms_gateway.up()
    assert choose_person(client, keys[0], "sms").headers["Location"] == "/login/sms"
    assert submit_sms_code(client, last_sms_code(cert_app)).headers["Location"] == "/"


def test_certificate_login_without_trust_anchors_is_unavailable(app, client, person, dev_ca):
    """No CERT_TRUST_ANCHORS configured: no certificate is accepted."""
    load_entities(app)
    response = certificate_step(client, dev_ca)
    assert response.status_code == 400 and response.get_json()["error"] == "certificate_unavailable"


def test_audit_names_serial_and_uscc_never_key_material(cert_app, client, officer, dev_ca):
    """Every attempt is audited with the certificate serial and USCC; no signature or key."""
    assert certificate_step(client, dev_ca).status_code == 200
    [(outcome, detail)] = audit_reasons(cert_app, "login.certificate")
    assert outcome == "success" and detail["taxpayer_number"] == BUILDER
    assert re.fullmatch(r"[0-9a-f]+", detail["serial"])
    assert set(detail) == {"serial", "taxpayer_number"}


def test_signing_agent_refuses_a_key_that_is_neither_ec_nor_rsa(tmp_path):
    """``idp certs sign-challenge`` with an Ed25519 key (no tax certificate carries one) says so, not a traceback."""
    from click.testing import CliRunner
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from idp.cli.main import main

    key_path = tmp_path / "ed25519.key.pem"
    key_path.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    result = CliRunner().invoke(main, ["certs", "sign-challenge", "--key", str(key_path), "--challenge", "abc"])
    assert result.exit_code == 2 and "EC or RSA" in result.output, result.output


@pytest.mark.parametrize("path", ["/login/certificate/challenge", "/login/certificate"])
def test_an_expired_certificate_page_is_told_in_json_its_script_shows(client, path):
    """Issue 18: the page's script posts JSON and reads JSON back; a stale token (the browser session
    ended meanwhile) answers in the app API shape (docs/architecture.md §12.1), not with the HTML page."""
    _page_csrf(client)
    response = client.post(path, json={}, headers={"X-CSRFToken": "stale"})
    assert response.status_code == 400 and response.is_json
    body = response.get_json()
    assert body == {"error": "page_expired", "error_description": body["message"],
                    "message": "页面已过期，刚才的操作未被处理。请重新开始这一步。"}
    english = client.post(path, json={}, headers={"X-CSRFToken": "stale"}, query_string={"ui_locales": "en"})
    assert english.get_json()["message"].startswith("This page has expired")


def test_an_expired_form_still_gets_the_error_page(client):
    """Forms are read by people: a stale form's answer stays the page with 重新开始这一步."""
    response = client.post("/login/certificate/person", data={"csrf_token": "stale", "person": "x"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "页面已过期" in response.get_data(as_text=True)
