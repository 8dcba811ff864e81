"""Security keys (docs/domain.md §13, W3C WebAuthn Level 2): registered in the account centre on a
fresh login, named and removed; password + security key with user verification is a loa:2 login
with ``amr`` ``hwk`` (RFC 8176).  A software authenticator (tests/soft_authenticator.py) answers
the provider's real pages as a browser with a FIDO2 key would."""

from __future__ import annotations

import json
import re

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from webauthn.helpers import bytes_to_base64url

from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import LoginSession, MethodLockout, SecurityKey

from account_steps import age_logins, audit_events, create_other_person, log_in, post_form, post_with_token
from conftest import authorization_request, csrf_from, last_sms_code, query_of, read_outbox, redeem, submit_password
from soft_authenticator import SoftAuthenticator

ORIGIN = "http://idp.test"  # conftest's ISSUER: rp id "idp.test"
OPTIONS = re.compile(r'<script type="application/json" id="webauthn-options">(.*?)</script>', re.S)


def webauthn_options(html: str) -> dict:
    return json.loads(OPTIONS.search(html).group(1))


def register_key(app, client, key: SoftAuthenticator, name: str = "办公室密钥", **create):
    """Open the registration page, let the key answer its options, post the form."""
    page = client.get("/account/security-keys/new")
    assert page.status_code == 200, page.headers.get("Location")
    html = page.get_data(as_text=True)
    return client.post("/account/security-keys/new", data={
        "csrf_token": csrf_from(html), "name": name, "credential": key.create(webauthn_options(html), **create)})


def stored_keys(app) -> list[SecurityKey]:
    with app.app_context():
        rows = list(db.session.execute(select(SecurityKey).order_by(SecurityKey.id)).scalars())
        for row in rows:
            db.session.expunge(row)
        return rows


def enrolled_key(app, person) -> SoftAuthenticator:
    """A person with one registered key, logged out again (a fresh browser)."""
    client = app.test_client()
    log_in(app, client)
    key = SoftAuthenticator(ORIGIN)
    assert register_key(app, client, key).status_code == 302
    return key


def key_page_after_password(app, client) -> str:
    """Password on the login page, then the security-key choice on the second-factor page (no SMS
    is sent to a person with a key, so no resend cooldown stands in the way)."""
    assert submit_password(client).headers["Location"] == "/login/sms"
    choice_page = client.get("/login/sms").get_data(as_text=True)
    assert 'href="/login/security-key"' in choice_page and "使用安全密钥" in choice_page
    return client.get("/login/security-key").get_data(as_text=True)


def answer_with_key(client, html: str, key: SoftAuthenticator, **get):
    return client.post("/login/security-key", data={
        "csrf_token": csrf_from(html), "credential": key.get(webauthn_options(html), **get)})


def test_a_key_registered_on_a_fresh_login_is_listed_under_its_name(app, client, person):
    log_in(app, client)
    response = register_key(app, client, SoftAuthenticator(ORIGIN), name="  我的  密钥 ")
    assert response.headers["Location"] == "/account/security-keys"
    page = client.get("/account/security-keys").get_data(as_text=True)
    assert "安全密钥已注册。" in page and 'value="我的 密钥"' in page
    [row] = stored_keys(app)
    assert row.person_id == person["id"] and row.sign_count == 0 and row.last_used_at is None
    assert [e.outcome for e in audit_events(app, "security_key.registered")] == ["success"]


def test_registration_options_require_user_verification_and_name_no_identifier(app, client, person):
    """WebAuthn 5.4: UV required, resident key optional, rp id from the issuer, already-registered
    keys excluded; the user handle is the opaque subject, not the document or phone number."""
    log_in(app, client)
    register_key(app, client, SoftAuthenticator(ORIGIN))
    options = webauthn_options(client.get("/account/security-keys/new").get_data(as_text=True))
    assert options["rp"]["id"] == "idp.test"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert len(options["excludeCredentials"]) == 1
    assert person["doc_number"] not in json.dumps(options) and person["phone"] not in json.dumps(options)


def test_a_person_registers_several_keys(app, client, person):
    log_in(app, client)
    register_key(app, client, SoftAuthenticator(ORIGIN), name="钥匙一")
    register_key(app, client, SoftAuthenticator(ORIGIN), name="钥匙二")
    assert [k.name for k in stored_keys(app)] == ["钥匙一", "钥匙二"]


def test_registration_on_a_stale_login_asks_for_a_new_login_first(app, client, person):
    """A key is added only after a fresh password + SMS (or face) check."""
    log_in(app, client)
    age_logins(app, current_settings(app).ACCOUNT_REAUTH_MAX_AGE + 1)
    assert client.get("/account/security-keys/new").headers["Location"] == "/account/reauth"
    token = csrf_from(client.get("/account").get_data(as_text=True))
    response = client.post("/account/security-keys/new", data={"csrf_token": token, "name": "x", "credential": "{}"})
    assert response.headers["Location"] == "/account/reauth"
    assert stored_keys(app) == []


def test_a_key_without_user_verification_is_not_registered(app, client, person):
    log_in(app, client)
    response = register_key(app, client, SoftAuthenticator(ORIGIN, user_verified=False))
    assert response.status_code == 400
    assert "安全密钥注册未成功" in response.get_data(as_text=True)
    assert stored_keys(app) == []
    assert [e.detail.get("reason") for e in audit_events(app, "security_key.register")] == ["registration_failed"]


def test_registration_made_for_another_origin_is_refused(app, client, person):
    log_in(app, client)
    response = register_key(app, client, SoftAuthenticator(ORIGIN), origin="https://phish.example")
    assert response.status_code == 400 and stored_keys(app) == []


def test_a_registration_answer_is_good_for_one_challenge_only(app, client, person):
    log_in(app, client)
    html = client.get("/account/security-keys/new").get_data(as_text=True)
    key = SoftAuthenticator(ORIGIN)
    answer = key.create(webauthn_options(html))
    form = {"csrf_token": csrf_from(html), "name": "一号", "credential": answer}
    assert client.post("/account/security-keys/new", data=form).status_code == 302
    replayed = client.post("/account/security-keys/new", data=form | {"name": "二号"})
    assert replayed.status_code == 400
    assert [k.name for k in stored_keys(app)] == ["一号"]


def test_password_and_security_key_log_in_at_loa2_with_hwk_in_the_id_token(app, client, person, rp):
    """RFC 8176: ``amr`` has ``pwd`` and ``hwk``; docs/domain.md §13: two kinds of factor = loa:2."""
    key = enrolled_key(app, person)
    sent = len(read_outbox(app))
    request = authorization_request(rp)
    location = client.get("/authorize", query_string=request.params).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": csrf_from(html), "identifier": "zhangsan",
                                           "password": person["password"],
                                           "interaction": query_of(location)["interaction"]})
    assert response.headers["Location"] == "/login/sms"
    page = client.get("/login/security-key").get_data(as_text=True)
    response = answer_with_key(client, page, key)
    assert response.headers["Location"].startswith("/authorize?")
    code = query_of(client.get(response.headers["Location"]).headers["Location"])["code"]
    tokens = redeem(client, rp, code, request.verifier).get_json()
    claims = jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/jwks.json").get_json())).claims
    assert claims["acr"] == "urn:qdtax:loa:2"
    assert claims["amr"] == ["pwd", "hwk", "mfa"]
    [row] = stored_keys(app)
    assert row.sign_count == 1 and row.last_used_at is not None
    assert len(read_outbox(app)) == sent, "a person with a key chose it: no SMS was sent"


def test_login_options_allow_only_the_persons_keys_and_require_user_verification(app, client, person):
    key = enrolled_key(app, person)
    options = webauthn_options(key_page_after_password(app, client))
    assert options["rpId"] == "idp.test" and options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [bytes_to_base64url(key.credential_id)]


def test_the_sms_page_offers_a_security_key_only_to_people_who_have_one(app, client, person):
    submit_password(client)
    assert "use-security-key" not in client.get("/login/sms").get_data(as_text=True)
    assert client.get("/login/security-key").status_code == 200  # nothing to offer, nothing allowed


def test_an_assertion_without_user_verification_is_refused(app, client, person):
    """docs/domain.md §13: login with a security key needs user verification (the key's PIN or fingerprint)."""
    key = enrolled_key(app, person)
    key.user_verified = False
    response = answer_with_key(client, key_page_after_password(app, client), key)
    assert response.status_code == 400
    assert "安全密钥验证未通过" in response.get_data(as_text=True)
    assert _live_logins(app) == 1  # only the enrolment's own login


def test_an_assertion_made_for_another_origin_is_refused(app, client, person):
    """WebAuthn 7.2 step 13: a phishing site's origin in clientDataJSON fails."""
    key = enrolled_key(app, person)
    response = answer_with_key(client, key_page_after_password(app, client), key, origin="https://idp.test.phish.example")
    assert response.status_code == 400 and _live_logins(app) == 1


def test_an_assertion_over_another_challenge_is_refused(app, client, person):
    """WebAuthn 7.2 step 12: only the challenge this browser was just given is accepted."""
    key = enrolled_key(app, person)
    page = key_page_after_password(app, client)
    stale = webauthn_options(page)["challenge"]
    fresh_page = client.get("/login/security-key").get_data(as_text=True)  # replaces the challenge
    response = answer_with_key(client, fresh_page, key, challenge=stale)
    assert response.status_code == 400 and _live_logins(app) == 1


def test_an_assertion_cannot_be_replayed(app, client, person):
    key = enrolled_key(app, person)
    page = key_page_after_password(app, client)
    form = {"csrf_token": csrf_from(page), "credential": key.get(webauthn_options(page))}
    assert client.post("/login/security-key", data=form).status_code == 302
    other = app.test_client()
    key_page_after_password(app, other)
    form["csrf_token"] = csrf_from(other.get("/login/security-key").get_data(as_text=True))
    assert other.post("/login/security-key", data=form).status_code == 400
    assert _live_logins(app) == 2


def test_a_signature_counter_going_backwards_is_refused_and_audited(app, client, person):
    """WebAuthn 6.1.1: a counter not above the stored one means a cloned key; the genuine signature
    is refused and the event is in the audit log."""
    key = enrolled_key(app, person)
    assert answer_with_key(client, key_page_after_password(app, client), key).status_code == 302
    clone = SoftAuthenticator(ORIGIN, credential_id=key.credential_id, key=key.key, sign_count=0)
    second = app.test_client()
    response = answer_with_key(second, key_page_after_password(app, second), clone)  # presents count 1 again
    assert response.status_code == 400
    assert "该安全密钥可能已被复制" in response.get_data(as_text=True)
    [event] = audit_events(app, "security_key.counter_regression")
    assert event.outcome == "failure" and event.subject == person["sub"]
    assert event.detail["stored_count"] == 1 and event.detail["presented_count"] == 1
    assert stored_keys(app)[0].sign_count == 1
    assert _live_logins(app) == 2


def test_five_failed_security_key_attempts_lock_the_method_for_the_day(app, client, person):
    """docs/domain.md §7: 5 consecutive failures a day lock this method (and only this one)."""
    key = enrolled_key(app, person)
    key.user_verified = False
    page = key_page_after_password(app, client)
    for _ in range(5):
        response = answer_with_key(client, page, key)
        page = response.get_data(as_text=True)
    assert "连续认证错误次数过多" in page and "webauthn-options" not in page
    key.user_verified = True
    assert client.get("/login/security-key").status_code == 400
    with app.app_context():
        lock = db.session.execute(select(MethodLockout).where(MethodLockout.method == "webauthn")).scalar_one()
        assert lock.failures == 5
    assert [e.detail["method"] for e in audit_events(app, "factor.locked")] == ["webauthn"]
    # the SMS code still works: sent when asked for
    token = csrf_from(client.get("/login/sms").get_data(as_text=True))
    assert client.post("/login/sms/resend", data={"csrf_token": token}).headers["Location"] == "/login/sms"
    response = client.post("/login/sms", data={"csrf_token": token, "code": last_sms_code(app)})
    assert response.headers["Location"] == "/" and _live_logins(app) == 2


def test_a_key_is_renamed_and_a_removed_key_no_longer_logs_in(app, client, person):
    log_in(app, client)
    key = SoftAuthenticator(ORIGIN)
    register_key(app, client, key)
    [row] = stored_keys(app)
    post_form(client, "/account/security-keys", {"name": "旧钥匙"}, action=f"/account/security-keys/{row.id}/name")
    assert stored_keys(app)[0].name == "旧钥匙"
    response = post_form(client, "/account/security-keys", {}, action=f"/account/security-keys/{row.id}/remove")
    assert response.headers["Location"] == "/account/security-keys"
    assert stored_keys(app) == [] and len(audit_events(app, "security_key.removed")) == 1
    other = app.test_client()
    submit_password(other)
    assert "use-security-key" not in other.get("/login/sms").get_data(as_text=True)
    page = other.get("/login/security-key").get_data(as_text=True)
    assert webauthn_options(page)["allowCredentials"] == []
    assert answer_with_key(other, page, key).status_code == 400


def test_another_persons_key_cannot_be_removed(app, client, person):
    enrolled_key(app, person)
    create_other_person(app)
    other = app.test_client()
    log_in(app, other, identifier="lisi", phone="13987654321")
    [row] = stored_keys(app)
    response = post_with_token(other, f"/account/security-keys/{row.id}/remove", {})
    assert response.status_code == 400 and "未找到该安全密钥" in response.get_data(as_text=True)
    assert len(stored_keys(app)) == 1


def _live_logins(app) -> int:
    with app.app_context():
        return len(db.session.execute(select(LoginSession)).scalars().all())
