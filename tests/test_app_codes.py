"""App codes (RFC 6238): a time-based code generator enrolled in the account
centre is an alternative second factor to SMS (``amr`` ``otp``, loa:2); a code is accepted one
step either side of now and never twice."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from sqlalchemy import select

from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors import app_code
from idp.factors.app_code import check_app_code
from idp.models import AppCode, AuditEvent, LoginSession

from account_steps import age_logins, audit_events, log_in, post_form
from conftest import csrf_from, last_sms_code, let_sms_cooldown_pass, read_outbox, submit_password

#: RFC 6238 appendix B: the SHA-1 seed "12345678901234567890" and its 8-digit codes.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
               (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")]
NOW = 1_800_000_015.0  # 15 s into a step: a step either side is unambiguous
SECRET = re.compile(r'<code id="app-code-secret">([A-Z2-7]+)</code>')


@pytest.mark.parametrize(("at", "expected"), RFC_VECTORS)
def test_rfc6238_appendix_b_sha1_vectors(at, expected):
    """RFC 6238 appendix B (SHA-1): pyotp yields the table's codes; the verifier accepts their
    6-digit form (RFC 4226 section 5.3 truncation) at that time and names the time step."""
    assert pyotp.TOTP(RFC_SECRET, digits=8).at(at) == expected
    assert check_app_code(RFC_SECRET, expected[-6:], at=at, last_timecode=None) == at // 30


def test_verifier_accepts_one_step_either_side_and_never_a_used_or_older_step():
    """RFC 6238 section 5.2: one step of drift is allowed; a step at or before the last accepted
    one is refused (replay)."""
    totp = pyotp.TOTP(RFC_SECRET)
    step = int(NOW) // 30
    for offset in (-1, 0, 1):
        assert check_app_code(RFC_SECRET, totp.at(NOW + 30 * offset), at=NOW, last_timecode=None) == step + offset
    for offset in (-2, 2):
        assert check_app_code(RFC_SECRET, totp.at(NOW + 30 * offset), at=NOW, last_timecode=None) is None
    assert check_app_code(RFC_SECRET, totp.at(NOW), at=NOW, last_timecode=step) is None
    assert check_app_code(RFC_SECRET, totp.at(NOW + 30), at=NOW, last_timecode=step) == step + 1
    assert check_app_code(RFC_SECRET, "12345", at=NOW, last_timecode=None) is None


@pytest.fixture
def clock(monkeypatch):
    """The provider's TOTP clock, standing at :data:`NOW` and moved by the test."""
    now = [NOW]
    monkeypatch.setattr(app_code, "now_seconds", lambda: now[0])
    return now


def enrol(app, client) -> str:
    """Log in, open the enrolment page, confirm with the current code; returns the secret."""
    log_in(app, client)
    page = client.get("/account/app-code/new")
    assert page.status_code == 200, page.headers.get("Location")
    html = page.get_data(as_text=True)
    secret = SECRET.search(html).group(1)
    response = client.post("/account/app-code/new", data={
        "csrf_token": csrf_from(html), "code": pyotp.TOTP(secret).at(app_code.now_seconds())})
    assert response.headers["Location"] == "/account/app-code"
    return secret


def code_page_after_password(app, client) -> str:
    """Password on the login page, then the app-code choice on the second-factor page (no SMS is
    sent to a person with an app code, so no resend cooldown stands in the way)."""
    assert submit_password(client).headers["Location"] == "/login/sms"
    choice_page = client.get("/login/sms").get_data(as_text=True)
    assert 'href="/login/app-code"' in choice_page and "使用动态口令" in choice_page
    return client.get("/login/app-code").get_data(as_text=True)


def submit_code(app, client, code: str):
    return client.post("/login/app-code", data={"csrf_token": csrf_from(code_page_after_password(app, client)),
                                                "code": code})


def live_logins(app) -> list[LoginSession]:
    with app.app_context():
        # auth_time has whole seconds: two logins in one second are ordered by created_at.
        newest_last = select(LoginSession).order_by(LoginSession.auth_time, LoginSession.created_at)
        rows = list(db.session.execute(newest_last).scalars())
        for row in rows:
            db.session.expunge(row)
        return rows


def test_enrolment_shows_a_160_bit_secret_once_as_qr_and_text(app, client, person, clock):
    log_in(app, client)
    html = client.get("/account/app-code/new").get_data(as_text=True)
    secret = SECRET.search(html).group(1)
    assert len(base64.b32decode(secret)) * 8 >= 160
    assert '<svg' in html  # segno's inline QR of the provisioning URI
    uri = pyotp.TOTP(secret).provisioning_uri(name="zhangsan", issuer_name="青岛税务")
    assert urlsplit(uri).scheme == "otpauth" and parse_qs(urlsplit(uri).query)["secret"] == [secret]
    again = client.get("/account/app-code/new").get_data(as_text=True)
    assert secret not in again, "a reload issues a new secret; the first is not shown again"


def test_the_provisioning_uri_names_the_username_not_a_document_or_phone_number(app, client, person):
    from idp.models import Person
    from idp.people.app_codes import start_app_code_enrolment

    with app.test_request_context():
        enrolment = start_app_code_enrolment(db.session.get(Person, person["id"]))
        db.session.rollback()
    label = unquote(urlsplit(enrolment.provisioning_uri).path)
    assert label == "/青岛税务:zhangsan"
    assert person["doc_number"] not in enrolment.provisioning_uri and person["phone"] not in enrolment.provisioning_uri


def test_a_generator_is_enrolled_only_after_a_current_code_confirms_it(app, client, person, clock):
    log_in(app, client)
    html = client.get("/account/app-code/new").get_data(as_text=True)
    secret = SECRET.search(html).group(1)
    wrong = client.post("/account/app-code/new", data={
        "csrf_token": csrf_from(html), "code": pyotp.TOTP(secret).at(NOW - 300)})
    assert wrong.status_code == 400 and "动态口令不正确" in wrong.get_data(as_text=True)
    assert secret not in wrong.get_data(as_text=True)
    assert [e.detail["reason"] for e in audit_events(app, "app_code.enrol")] == ["wrong_code"]
    submit_password(app.test_client())
    assert "use-app-code" not in app.test_client().get("/login/sms").get_data(as_text=True)
    right = client.post("/account/app-code/new", data={"csrf_token": csrf_from(html),
                                                       "code": pyotp.TOTP(secret).at(NOW)})
    assert right.headers["Location"] == "/account/app-code"
    assert "身份验证器已绑定。" in client.get("/account/app-code").get_data(as_text=True)
    assert [e.outcome for e in audit_events(app, "app_code.enrolled")] == ["success"]


def test_enrolment_needs_a_fresh_login(app, client, person):
    """A new second factor is added only after a fresh password + SMS (or face) check."""
    log_in(app, client)
    age_logins(app, current_settings(app).ACCOUNT_REAUTH_MAX_AGE + 1)
    assert client.get("/account/app-code/new").headers["Location"] == "/account/reauth"


def test_the_secret_is_stored_encrypted_and_never_audited(app, client, person, clock):
    secret = enrol(app, client)
    with app.app_context():
        row = db.session.execute(select(AppCode)).scalar_one()
        assert secret not in row.secret_encrypted and row.secret_encrypted.startswith("v1.")
        assert row.confirmed_at is not None
        details = [str(e.detail) for e in db.session.execute(select(AuditEvent)).scalars()]
    assert not any(secret in d for d in details)


def test_password_and_app_code_log_in_at_loa2_with_otp(app, client, person, clock):
    """RFC 8176 ``otp``; docs/domain.md §13: password + a possession factor is loa:2."""
    secret = enrol(app, client)
    clock[0] += 30
    browser = app.test_client()
    response = submit_code(app, browser, pyotp.TOTP(secret).at(clock[0]))
    assert response.headers["Location"] == "/"
    login = live_logins(app)[-1]
    assert login.acr == "urn:qdtax:loa:2" and login.amr == ["pwd", "otp", "mfa"]
    assert "密码 + 动态口令（二级）" in browser.get("/account").get_data(as_text=True)


def test_with_an_app_code_the_password_step_sends_no_sms_and_offers_the_app_code_first(app, client, person, clock):
    """Every SMS costs the bureau and counts against the phone's cap: a person with an app code
    chooses first, and logging in with the app code sends none (outbox and audit log unchanged)."""
    secret = enrol(app, client)
    sent = len(read_outbox(app))
    clock[0] += 30
    browser = app.test_client()
    assert submit_password(browser).headers["Location"] == "/login/sms"
    page = browser.get("/login/sms").get_data(as_text=True)
    assert "选择验证方式" in page and 'name="code"' not in page and 'id="sms-sent"' not in page
    assert page.index('id="use-app-code"') < page.index('id="sms-send"') < page.index('id="use-face"')
    assert "发送短信验证码" in page and "验证码将发送至 138****5678" in page
    assert submit_code(app, browser, pyotp.TOTP(secret).at(clock[0])).headers["Location"] == "/"
    assert len(read_outbox(app)) == sent
    assert len(audit_events(app, "sms.sent")) == sent
    assert live_logins(app)[-1].amr == ["pwd", "otp", "mfa"]


def test_the_send_sms_button_sends_one_code_and_that_code_logs_in(app, client, person, clock):
    enrol(app, client)
    sent = len(read_outbox(app))
    browser = app.test_client()
    submit_password(browser)
    token = csrf_from(browser.get("/login/sms").get_data(as_text=True))
    assert browser.post("/login/sms/resend").status_code == 400  # CSRF token required
    assert browser.post("/login/sms/resend", data={"csrf_token": token}).headers["Location"] == "/login/sms"
    assert len(read_outbox(app)) == sent + 1
    page = browser.get("/login/sms").get_data(as_text=True)
    assert "验证码已发送至 138****5678" in page and 'name="code"' in page
    assert 'id="use-app-code"' in page and 'id="sms-resend"' in page and 'id="sms-send"' not in page
    response = browser.post("/login/sms", data={"csrf_token": token, "code": last_sms_code(app)})
    assert response.headers["Location"] == "/"
    assert live_logins(app)[-1].amr == ["pwd", "sms", "mfa"]


def test_the_send_sms_button_keeps_the_resend_cooldown(app, client, person, clock):
    """docs/architecture.md §10: one code a minute per phone, whichever button asks for it."""
    enrol(app, client)
    sent = len(read_outbox(app))
    browser = app.test_client()
    submit_password(browser)
    token = csrf_from(browser.get("/login/sms").get_data(as_text=True))
    assert browser.post("/login/sms/resend", data={"csrf_token": token}).status_code == 302
    again = browser.post("/login/sms/resend", data={"csrf_token": token})
    assert again.status_code == 429 and "验证码发送过于频繁" in again.get_data(as_text=True)
    assert len(read_outbox(app)) == sent + 1
    # another browser's password step does not get round it either
    other = app.test_client()
    submit_password(other)
    other_token = csrf_from(other.get("/login/sms").get_data(as_text=True))
    refused = other.post("/login/sms/resend", data={"csrf_token": other_token})
    assert refused.status_code == 429 and 'name="code"' not in refused.get_data(as_text=True)
    assert len(read_outbox(app)) == sent + 1


def test_a_code_is_refused_the_second_time_within_its_window(app, client, person, clock):
    """RFC 6238 section 5.2: the verifier must not accept the same OTP twice."""
    secret = enrol(app, client)
    clock[0] += 30
    code = pyotp.TOTP(secret).at(clock[0])
    assert submit_code(app, app.test_client(), code).status_code == 302
    replay = submit_code(app, app.test_client(), code)
    assert replay.status_code == 400 and "动态口令错误或已使用" in replay.get_data(as_text=True)
    # the code of the step before is older than the one used: refused too
    assert submit_code(app, app.test_client(), pyotp.TOTP(secret).at(clock[0] - 30)).status_code == 400


def test_a_code_one_step_old_or_ahead_is_accepted_two_steps_is_not(app, client, person, clock):
    """RFC 6238 section 5.2: one time step of clock drift either way."""
    secret = enrol(app, client)
    totp = pyotp.TOTP(secret)
    clock[0] += 300
    assert submit_code(app, app.test_client(), totp.at(clock[0] - 60)).status_code == 400
    assert submit_code(app, app.test_client(), totp.at(clock[0] + 60)).status_code == 400
    assert submit_code(app, app.test_client(), totp.at(clock[0] - 30)).status_code == 302
    assert submit_code(app, app.test_client(), totp.at(clock[0] + 30)).status_code == 302


def test_five_wrong_codes_lock_the_app_code_method_for_the_day(app, client, person, clock):
    """docs/domain.md §7: 5 consecutive failures a day lock the method; the right code then
    fails too, and SMS stays usable."""
    secret = enrol(app, client)
    clock[0] += 30
    browser = app.test_client()
    token = csrf_from(code_page_after_password(app, browser))
    for _ in range(5):
        html = browser.post("/login/app-code", data={"csrf_token": token, "code": "000000"}).get_data(as_text=True)
    assert "连续认证错误次数过多" in html and 'name="code"' not in html
    right = browser.post("/login/app-code", data={"csrf_token": token, "code": pyotp.TOTP(secret).at(clock[0])})
    assert right.status_code == 400 and "连续认证错误次数过多" in right.get_data(as_text=True)
    assert [e.detail["method"] for e in audit_events(app, "factor.locked")] == ["otp"]
    assert len(live_logins(app)) == 1  # only the enrolment's own
    assert browser.post("/login/sms/resend", data={"csrf_token": token}).headers["Location"] == "/login/sms"
    sms = browser.post("/login/sms", data={"csrf_token": token, "code": last_sms_code(app)})
    assert sms.headers["Location"] == "/" and len(live_logins(app)) == 2


def test_a_removed_generator_no_longer_logs_in(app, client, person, clock):
    secret = enrol(app, client)
    response = post_form(client, "/account/app-code", {}, action="/account/app-code/remove")
    assert response.headers["Location"] == "/account/app-code"
    assert "未绑定" in client.get("/account/app-code").get_data(as_text=True)
    clock[0] += 30
    browser = app.test_client()
    let_sms_cooldown_pass(app)
    submit_password(browser)
    assert "use-app-code" not in browser.get("/login/sms").get_data(as_text=True)
    token = csrf_from(browser.get("/login/app-code").get_data(as_text=True))
    response = browser.post("/login/app-code", data={"csrf_token": token, "code": pyotp.TOTP(secret).at(clock[0])})
    assert response.status_code == 400
    assert len(audit_events(app, "app_code.removed")) == 1
