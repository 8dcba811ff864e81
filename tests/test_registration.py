"""Natural-person self-registration through the web pages (docs/domain.md §1.3-§1.7, §1.13; §5).

document + name → phone (SMS) → optional username → password → face consent → face scan →
an account at real-name level 4, created only at the very end.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from idp.cli.main import main
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors.password import password_hasher
from idp.models import AuditEvent, FaceCheck, FaceConsent, LoginSession, Person, Registration
from idp.web.browser_session import COOKIE_NAME

from conftest import (
    DOC_NUMBER,
    PHONE,
    csrf_from,
    last_sms_code,
    let_sms_cooldown_pass,
    make_settings,
    read_outbox,
    sms_gateway_down,
    stored_sms_codes,
    submit_password,
    submit_sms_code,
)

NEW_DOC = "440524188001010014"
NEW_NAME = "李四"
NEW_PHONE = "13912345678"
NEW_PASSWORD = "Register#2026"
HALL_INSTRUCTION = "请先前往办税服务场所采集实名信息，再通过电子税务局完成用户注册"


def post(client, path: str, **data):
    """POST a registration form as the browser does, with the session's CSRF token."""
    token = csrf_from(client.get("/register").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def start(client, doc_type: str = "ID_CARD", doc_number: str = NEW_DOC, name: str = NEW_NAME, country: str = ""):
    return post(client, "/register", doc_type=doc_type, doc_number=doc_number, name=name, country=country)


def verify_phone(app, client, phone: str = NEW_PHONE):
    sent = post(client, "/register/phone", phone=phone)
    assert sent.status_code == 302, sent.get_data(as_text=True)
    return post(client, "/register/phone/verify", code=last_sms_code(app, phone))


def through_password(app, client, username: str | None = None):
    """Start, verify the phone, set or skip the username, set the password; returns the last response."""
    assert start(client).headers["Location"] == "/register/phone"
    assert verify_phone(app, client).headers["Location"] == "/register/username"
    chosen = post(client, "/register/username", username=username) if username else \
        post(client, "/register/username", skip="1")
    assert chosen.headers["Location"] == "/register/password"
    return post(client, "/register/password", password=NEW_PASSWORD, confirm_password=NEW_PASSWORD)


def scan(app, client, outcome: str, start: str = "/register/face/start"):
    """Start a face scan (``start``: the consent button starts one too), decide it on the development
    provider's page, follow its return link."""
    started = post(client, start)
    assert started.status_code == 302, started.get_data(as_text=True)
    provider_page = started.headers["Location"]
    assert provider_page.startswith("/dev/face/")
    page = client.get(provider_page)
    back = client.post(provider_page, data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                            "outcome": outcome})
    assert back.headers["Location"].startswith("http://idp.test/register/face/return?check=")
    return client.get(back.headers["Location"].removeprefix("http://idp.test"))


def people(app) -> list[Person]:
    with app.app_context():
        return list(db.session.execute(select(Person)).scalars())


def registration_row(app) -> Registration:
    with app.app_context():
        return db.session.execute(select(Registration)).scalar_one()


def test_register_link_on_the_login_page_opens_the_registration_form(client):
    """docs/domain.md §1.3/4: registration starts from the natural-person login page's 【用户注册】 link."""
    assert 'href="/register"' in client.get("/login").get_data(as_text=True)
    page = client.get("/register")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "自然人用户注册" in html and 'lang="zh-CN"' in html
    assert html.count("<option") == 11 and "外国人永久居留身份证" in html


def test_full_registration_creates_a_level_4_account_that_logs_in_with_password_and_sms(app, client):
    """docs/domain.md §1.3 and §1.5: identity check, basic information, face verification; the new account is
    real-name level 4 and logs in through the natural-person entry with password + SMS (docs/domain.md §1.9)."""
    assert through_password(app, client, username="lisi_2026").headers["Location"] == "/register/face"
    consent_page = client.get("/register/face").get_data(as_text=True)
    assert "不保存人脸图像" in consent_page
    assert people(app) == []  # nothing exists before the scan passes

    # One click consents and starts the scan (issue 18: it used to ask twice).
    done = scan(app, client, "pass", start="/register/face/consent")
    assert done.headers["Location"] == "/register/complete"
    page = client.get("/register/complete").get_data(as_text=True)
    assert "注册成功" in page and "自然人业务入口" in page and 'href="/login"' in page

    [created] = people(app)
    assert (created.doc_type, created.doc_number, created.name, created.phone, created.username) == \
        ("ID_CARD", NEW_DOC, NEW_NAME, NEW_PHONE, "lisi_2026")
    assert created.realname_level == 4 and not created.password_is_initial
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Registration)).scalar_one() == 0

    let_sms_cooldown_pass(app)  # the registration's code went to the same phone moments ago
    assert submit_password(client, identifier="lisi_2026", password=NEW_PASSWORD).status_code == 302
    assert submit_sms_code(client, last_sms_code(app, NEW_PHONE)).status_code == 302
    with app.app_context():
        assert db.session.execute(select(LoginSession).where(LoginSession.person_id == created.id)).first()


def test_a_registration_keeps_only_the_argon2id_hash_of_the_password(app, client):
    """The registration record holds the password hash, never the password."""
    assert through_password(app, client).status_code == 302
    row = registration_row(app)
    assert row.password_hash.startswith("$argon2id$")
    with app.app_context():
        assert password_hasher().verify(row.password_hash, NEW_PASSWORD)
    assert NEW_PASSWORD not in json.dumps({c.name: str(getattr(row, c.name)) for c in Registration.__table__.c})


@pytest.mark.parametrize("number,message", [
    ("110101199003074515", "校验位不符"),
    ("110105194902300021", "出生日期无效"),
    ("4405241880", "位数不正确"),
])
def test_document_numbers_are_checked_by_the_document_validator(app, client, number, message):
    """docs/domain.md §1.3 (identity check) / §3: a wrong number is refused with the validator's reason."""
    response = start(client, doc_number=number)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Registration)).scalar_one() == 0


def test_a_document_with_an_account_is_pointed_to_login_and_forgot_password(app, client, person):
    """One person per document: an existing account is told to log in or reset the password (docs/domain.md §1.8)."""
    response = start(client, doc_number=DOC_NUMBER.lower(), name="张三")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "该证件已注册" in html and 'href="/login"' in html and 'href="/password/forgot"' in html
    with app.app_context():
        refused = db.session.execute(select(AuditEvent).where(AuditEvent.event == "registration.refused")).scalar_one()
        assert refused.detail["reason"] == "already_registered" and refused.detail["doc_number"] == "1101**********002X"


@pytest.mark.parametrize("doc_type,number", [("FOREIGN_PASSPORT", "L898902C3"), ("WORK_PERMIT_A", "A12345678"),
                                             ("WORK_PERMIT_B", "B12345678"), ("WORK_PERMIT_C", "C12345678")])
def test_hall_first_documents_get_the_faq_6_instruction(app, client, doc_type, number):
    """docs/domain.md §1.6: foreign passports and work permits A/B/C register only after a service hall
    collected their real-name information."""
    response = start(client, doc_type=doc_type, doc_number=number, name="JOHN SMITH", country="USA")
    assert response.status_code == 403
    assert HALL_INSTRUCTION in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Registration)).scalar_one() == 0


def test_a_phone_of_another_account_is_refused_before_any_code_is_sent(app, client, person):
    """docs/domain.md §5: the phone must not belong to another account (one phone, one person)."""
    start(client)
    response = post(client, "/register/phone", phone=PHONE)
    assert response.status_code == 409
    assert "已被其他账户使用" in response.get_data(as_text=True)
    assert read_outbox(app) == []
    with app.app_context():
        refused = db.session.execute(select(AuditEvent).where(AuditEvent.event == "registration.phone")).scalar_one()
        assert (refused.outcome, refused.detail["reason"]) == ("failure", "phone_taken")


def test_a_wrong_sms_code_leaves_the_phone_unverified(app, client):
    """docs/domain.md §1.9 practice: the phone is proven by the code sent to it, nothing else."""
    start(client)
    post(client, "/register/phone", phone=NEW_PHONE)
    wrong = f"{(int(last_sms_code(app, NEW_PHONE)) + 1) % 10**6:06d}"
    response = post(client, "/register/phone/verify", code=wrong)
    assert response.status_code == 400
    assert "短信验证码错误" in response.get_data(as_text=True)
    row = registration_row(app)
    assert (row.step, row.phone_verified) == ("phone", False)


def test_after_the_code_is_sent_the_page_shows_the_masked_number_not_an_empty_field(app, client):
    """Issue 18: the number just typed is not asked for again; it is shown masked, with 更换号码
    for a person who typed the wrong one and 重新发送验证码 counting down the resend cooldown."""
    start(client)
    post(client, "/register/phone", phone=NEW_PHONE)
    page = client.get("/register/phone").get_data(as_text=True)
    assert "验证码已发送至 139****5678" in page
    assert 'name="phone"' not in page
    assert re.search(r'<a href="/register/phone\?change=1" id="change-phone">更换号码</a>', page)
    resend = re.search(r'<form method="post" action="/register/phone/resend"[^>]*data-wait="(\d+)"', page)
    assert resend and int(resend[1]) in (59, 60)
    assert "sms_countdown.js" in page

    changing = client.get("/register/phone?change=1").get_data(as_text=True)
    assert re.search(r'<input id="phone" name="phone"[^>]*>', changing) and 'value="' not in \
        re.search(r'<input id="phone"[^>]*>', changing)[0]
    assert "/register/phone/verify" not in changing  # a new number first, then its code


def test_resend_sends_a_new_code_to_the_stored_number_without_asking_for_it(app, client):
    start(client)
    post(client, "/register/phone", phone=NEW_PHONE)
    too_soon = post(client, "/register/phone/resend")
    assert too_soon.status_code == 429
    assert "139****5678" in too_soon.get_data(as_text=True) and 'name="phone"' not in too_soon.get_data(as_text=True)
    assert len(read_outbox(app)) == 1

    let_sms_cooldown_pass(app)
    resent = post(client, "/register/phone/resend")
    assert resent.status_code == 302 and resent.headers["Location"] == "/register/phone"
    assert [m["phone"] for m in read_outbox(app)] == [NEW_PHONE, NEW_PHONE]
    verified = post(client, "/register/phone/verify", code=last_sms_code(app, NEW_PHONE))
    assert verified.headers["Location"] == "/register/username"


def test_resend_before_any_number_asks_for_the_number(app, client):
    start(client)
    response = post(client, "/register/phone/resend")
    assert response.status_code == 400
    assert 'name="phone"' in response.get_data(as_text=True)
    assert read_outbox(app) == []


def test_a_refused_new_number_is_shown_again_in_the_field_with_the_refusal(app, client, person):
    """Changing the number: a refused one stays in the field to correct, not the masked old one."""
    start(client)
    post(client, "/register/phone", phone=NEW_PHONE)
    refused = post(client, "/register/phone", phone=PHONE)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "已被其他账户使用" in page
    assert re.search(rf'<input id="phone" name="phone"[^>]*value="{PHONE}"', page)


def test_a_code_the_gateway_could_not_send_is_not_kept_and_the_phone_is_asked_again(app, client):
    """The SMS gateway down: the page asks for the phone again (no code went out), the registration
    stays at the phone step, and sending again works at once."""
    start(client)
    with sms_gateway_down(app):
        refused = post(client, "/register/phone", phone=NEW_PHONE)
    assert refused.status_code == 503 and "短信发送失败，请稍后再试" in refused.get_data(as_text=True)
    assert stored_sms_codes(app, NEW_PHONE) == 0
    row = registration_row(app)
    assert (row.step, row.phone) == ("phone", None)
    assert verify_phone(app, client).headers["Location"] == "/register/username"


def test_the_registration_code_says_it_is_for_registration(app, client):
    start(client)
    post(client, "/register/phone", phone=NEW_PHONE)
    [message] = read_outbox(app)
    assert "注册验证码" in message["text"]


def test_steps_cannot_be_skipped_or_reordered(app, client):
    """docs/domain.md §5: a later step with an earlier one unfinished is refused; the person is sent back."""
    start(client)
    for path, data in [("/register/username", {"username": "lisi_2026"}),
                       ("/register/password", {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}),
                       ("/register/face/consent", {}), ("/register/face/start", {})]:
        response = post(client, path, **data)
        assert response.status_code == 302 and response.headers["Location"] == "/register/phone", path
    assert client.get("/register/password").headers["Location"] == "/register/phone"
    row = registration_row(app)
    assert (row.step, row.username, row.password_hash) == ("phone", None, None)
    with app.app_context():
        assert db.session.execute(select(FaceCheck)).first() is None
        assert db.session.execute(select(FaceConsent)).first() is None
    verify_phone(app, client)
    # A finished step is not taken again either: the phone stays the verified one.
    assert post(client, "/register/phone", phone="13700000000").headers["Location"] == "/register/username"
    assert registration_row(app).phone == NEW_PHONE


@pytest.mark.parametrize("username,message", [
    ("abc", "4-20位"),
    ("li-si", "字母、数字和下划线"),
    ("12345678", "不能全部为数字"),
    ("13812345678", "手机号码"),
    ("ZhangSan", "已被使用"),
])
def test_usernames_follow_the_faq_13_rules(app, client, person, username, message):
    """docs/domain.md §1.13 / §8: unique (whatever the case), 4-20 letters/digits/underscore, not all digits,
    not a phone number."""
    start(client)
    verify_phone(app, client)
    response = post(client, "/register/username", username=username)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert registration_row(app).step == "username"


def test_the_username_is_optional(app, client):
    """docs/domain.md §1.13: a username can be set at registration, or later in the account centre."""
    through_password(app, client)
    scan(app, client, "pass", start="/register/face/consent")
    [created] = people(app)
    assert created.username is None


@pytest.mark.parametrize("password,confirmation,message", [
    ("Ab1.", "Ab1.", "8-16位"),
    ("abcdefghij", "abcdefghij", "至少包含数字、字母、符号中的两种"),
    (NEW_DOC[-6:], NEW_DOC[-6:], "8-16位"),  # the initial password never passes
    ("Register#2026!", "Register#2026!", "只能包含字母、数字和符号"),
    ("Register#2026", "Register#2027", "两次输入的密码不一致"),
])
def test_the_password_follows_the_password_policy(app, client, password, confirmation, message):
    """docs/domain.md §6.2: 8-16 characters, two kinds of characters, not the initial password, not the document."""
    start(client)
    verify_phone(app, client)
    post(client, "/register/username", skip="1")
    response = post(client, "/register/password", password=password, confirm_password=confirmation)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert registration_row(app).password_hash is None


def test_a_password_containing_the_document_number_is_refused(app, client):
    start(client, doc_type="CN_PASSPORT", doc_number="E12345678", name="王五")
    verify_phone(app, client)
    post(client, "/register/username", skip="1")
    response = post(client, "/register/password", password="E12345678a", confirm_password="E12345678a")
    assert response.status_code == 400
    assert "不能包含证件号码" in response.get_data(as_text=True)


def test_face_processing_consent_is_asked_separately_before_the_first_scan(app, client):
    """PIPL art. 29: separate consent to face processing is recorded before any scan."""
    through_password(app, client)
    page = client.get("/register/face").get_data(as_text=True)
    assert 'id="face-consent-agree"' in page and 'id="face-start"' not in page
    assert post(client, "/register/face/start").headers["Location"] == "/register/face"
    with app.app_context():
        assert db.session.execute(select(FaceCheck)).first() is None
    assert post(client, "/register/face/consent").headers["Location"].startswith("/dev/face/")
    with app.app_context():
        assert db.session.execute(select(FaceConsent)).scalar_one().doc_number == NEW_DOC
    assert 'id="face-start"' in client.get("/register/face").get_data(as_text=True)


def test_a_failed_scan_shows_the_faq_7_advice_and_a_retry(app, client):
    """docs/domain.md §1.7 (1): light, no other faces in the frame; then another scan."""
    through_password(app, client)
    failed = scan(app, client, "fail", start="/register/face/consent")
    assert failed.status_code == 400
    html = failed.get_data(as_text=True)
    assert "人脸识别未通过，您还可以再试 2 次" in html
    assert "光线" in html and "其他人脸" in html
    assert 'id="face-start"' in html
    assert people(app) == []
    assert scan(app, client, "pass").headers["Location"] == "/register/complete"
    assert len(people(app)) == 1


def test_after_three_failed_scans_the_service_hall_route_replaces_the_retry(app, client):
    """docs/domain.md §1.7 (2): when verification keeps failing, real-name collection at a service hall."""
    through_password(app, client)
    assert scan(app, client, "fail", start="/register/face/consent").status_code == 400
    assert scan(app, client, "no_liveness").status_code == 400
    third = scan(app, client, "fail")
    assert third.headers["Location"] == "/register/hall"
    hall = client.get("/register/hall").get_data(as_text=True)
    assert "请前往线下办税服务大厅进行实名信息采集" in hall and 'id="face-start"' not in hall
    assert post(client, "/register/face/start").headers["Location"] == "/register/hall"
    assert client.get("/register/face").headers["Location"] == "/register/hall"
    assert people(app) == []
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(FaceCheck)).scalar_one() == 3


def test_returning_before_the_provider_has_a_result_only_waits(app, client):
    """docs/domain.md §11: the browser's return is a trigger; the decision is the provider's own result."""
    through_password(app, client)
    started = post(client, "/register/face/consent")
    with app.app_context():
        check = db.session.execute(select(FaceCheck.id)).scalar_one()
    waiting = client.get(f"/register/face/return?check={check}")
    assert waiting.status_code == 202
    assert "尚未收到刷脸结果" in waiting.get_data(as_text=True)
    assert people(app) == []
    client.post(started.headers["Location"] + "/decision", json={"outcome": "pass"})
    assert client.get(f"/register/face/return?check={check}").headers["Location"] == "/register/complete"


def test_an_expired_registration_is_refused_and_leaves_no_account(app, client):
    """docs/domain.md §5: an incomplete registration expires (REGISTRATION_TTL) and leaves no account."""
    through_password(app, client)
    post(client, "/register/face/consent")
    with app.app_context():
        db.session.execute(update(Registration).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    response = post(client, "/register/face/start")
    assert response.status_code == 410
    assert "注册已超时" in response.get_data(as_text=True)
    assert people(app) == []


def test_registrations_last_registration_ttl_seconds(app, client):
    start(client)
    row = registration_row(app)
    assert abs((row.expires_at - row.created_at).total_seconds() - current_settings(app).REGISTRATION_TTL) < 5
    assert current_settings(app).REGISTRATION_TTL == 1800


def test_purge_removes_expired_registrations_only(app, client, database_url, instance_dir, monkeypatch):
    """Abandoned registrations are purged by ``idp registrations purge``."""
    through_password(app, client)
    other = app.test_client()
    start(other, doc_number="11010519491231002X", name="张三")
    with app.app_context():
        db.session.execute(update(Registration).where(Registration.doc_number == NEW_DOC)
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    for key, value in make_settings(database_url, instance_dir).items():
        monkeypatch.setenv(f"IDP_{key}", str(value))
    result = CliRunner().invoke(main, ["registrations", "purge"], catch_exceptions=False)
    assert result.exit_code == 0 and "deleted 1 expired registration" in result.output
    with app.app_context():
        assert [r.doc_number for r in db.session.execute(select(Registration)).scalars()] == ["11010519491231002X"]
    assert people(app) == []


def test_every_step_is_audited_with_masked_document_and_phone(app, client):
    """docs/architecture.md §10: every registration step is in the audit log, identifiers masked, no secrets."""
    through_password(app, client, username="lisi_2026")
    scan(app, client, "fail", start="/register/face/consent")
    scan(app, client, "pass")
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.event.like("registration.%"))
                                    .order_by(AuditEvent.id)).scalars().all()
    names = [(e.event, e.outcome) for e in events]
    assert names == [
        ("registration.started", "success"), ("registration.phone_code_sent", "success"),
        ("registration.phone_verified", "success"), ("registration.username", "success"),
        ("registration.password", "success"), ("registration.face_consent", "success"),
        ("registration.face_started", "success"), ("registration.face", "failure"),
        ("registration.face_started", "success"), ("registration.face", "success"),
        ("registration.completed", "success"),
    ]
    assert len({e.detail["registration"] for e in events}) == 1
    assert all(e.detail["doc_number"] == "4405**********0014" for e in events)
    assert events[1].detail["phone"] == "139****5678"
    assert events[-1].subject == people(app)[0].sub and events[-1].detail["level"] == 4
    dumped = json.dumps([e.detail for e in events], ensure_ascii=False)
    assert NEW_DOC not in dumped and NEW_PHONE not in dumped and NEW_PASSWORD not in dumped


def test_the_pages_switch_to_english(app, client):
    """The pages are zh-CN first, English on request (ui_locales or the language switch)."""
    page = client.get("/register?ui_locales=en").get_data(as_text=True)
    assert "Natural-person registration" in page and "Foreign passport" in page
    client.get("/lang/en?next=/register")
    refused = start(client, doc_type="FOREIGN_PASSPORT", doc_number="L898902C3", name="JOHN SMITH", country="USA")
    assert "first have your real-name information collected at a tax service hall" in refused.get_data(as_text=True)


def test_registration_forms_need_the_csrf_token(client):
    response = client.post("/register", data={"doc_type": "ID_CARD", "doc_number": NEW_DOC, "name": NEW_NAME})
    assert response.status_code == 400


def test_returning_from_the_scan_in_several_tabs_at_once_creates_one_account(app, client, race):
    """A double load of the provider's return address: one account, and no tab left with an
    error page about a registration that another tab just finished."""
    through_password(app, client)
    provider_page = post(client, "/register/face/consent").headers["Location"]
    page = client.get(provider_page)
    back = client.post(provider_page, data={"csrf_token": csrf_from(page.get_data(as_text=True)), "outcome": "pass"})
    return_path = back.headers["Location"].removeprefix("http://idp.test")
    cookie = client.get_cookie(COOKIE_NAME).value
    responses = race(lambda c, i: c.get(return_path), lambda c: c.set_cookie(COOKIE_NAME, cookie))
    # The others find it gone: the start page says the registration is over (410), no 500.
    assert {r.status_code for r in responses} <= {302, 410}
    assert sum(r.headers.get("Location") == "/register/complete" for r in responses) == 1
    assert len(people(app)) == 1
