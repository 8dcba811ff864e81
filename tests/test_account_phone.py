"""Changing the phone in the account centre: an SMS code to the NEW phone plus the current
password (docs/account-centre.md)."""

from __future__ import annotations

from account_steps import (
    NEW_PHONE,
    OTHER_PHONE,
    audit_events,
    create_other_person,
    log_in,
    person_row,
    post_form,
    post_with_token,
)
from conftest import PASSWORD, last_sms_code, read_outbox, sms_gateway_down, stored_sms_codes


def ask_code(client, new_phone: str = NEW_PHONE):
    return post_form(client, "/account/phone", {"new_phone": new_phone}, action="/account/phone/code")


def confirm(client, code: str, password: str = PASSWORD):
    return post_form(client, "/account/phone", {"code": code, "password": password})


def test_the_code_goes_to_the_new_phone_and_with_the_password_changes_the_phone(app, client, person):
    log_in(app, client)
    sent_before = len(read_outbox(app))
    assert ask_code(client).headers["Location"] == "/account/phone"
    [sms] = read_outbox(app)[sent_before:]
    assert sms["phone"] == NEW_PHONE and "更换手机号验证码" in sms["text"]
    page = client.get("/account/phone").get_data(as_text=True)
    assert "验证码已发送至新手机号码 139****1111" in page
    assert confirm(client, last_sms_code(app, NEW_PHONE)).headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert "手机号码已更换" in page and "139****1111" in page and NEW_PHONE not in page
    assert person_row(app, person["id"]).phone == NEW_PHONE
    log_in(app, app.test_client(), identifier=NEW_PHONE, phone=NEW_PHONE)


def test_the_change_is_audited_with_masked_phones_only(app, client, person):
    log_in(app, client)
    ask_code(client)
    confirm(client, last_sms_code(app, NEW_PHONE))
    [event] = audit_events(app, "phone.changed")
    assert event.subject == person["sub"]
    assert event.detail == {"old_phone": "138****5678", "new_phone": "139****1111"}
    for row in audit_events(app, "sms.sent") + audit_events(app, "phone.changed"):
        assert NEW_PHONE not in str(row.detail) and person["phone"] not in str(row.detail)


def test_a_wrong_code_is_refused_and_the_phone_stays(app, client, person):
    log_in(app, client)
    ask_code(client)
    right = last_sms_code(app, NEW_PHONE)
    response = confirm(client, "000000" if right != "000000" else "111111")
    assert response.status_code == 400
    assert "短信验证码错误" in response.get_data(as_text=True)
    assert person_row(app, person["id"]).phone == person["phone"]
    assert audit_events(app, "phone.change")[-1].detail["reason"] == "wrong_credential"


def test_the_code_of_the_login_sms_on_the_old_phone_does_not_change_the_phone(app, client, person):
    log_in(app, client)
    ask_code(client)
    response = confirm(client, last_sms_code(app, person["phone"]))
    assert response.status_code == 400
    assert person_row(app, person["id"]).phone == person["phone"]


def test_a_wrong_password_is_refused_and_leaves_the_code_usable(app, client, person):
    log_in(app, client)
    ask_code(client)
    code = last_sms_code(app, NEW_PHONE)
    response = confirm(client, code, password="Wrong#2026")
    assert response.status_code == 400
    assert "当前密码错误" in response.get_data(as_text=True)
    assert person_row(app, person["id"]).phone == person["phone"]
    assert confirm(client, code).headers["Location"] == "/account"


def test_a_phone_of_another_account_is_refused_before_any_code_is_sent(app, client, person):
    create_other_person(app)
    log_in(app, client)
    sent_before = len(read_outbox(app))
    response = ask_code(client, OTHER_PHONE)
    assert response.status_code == 400
    assert "该手机号码已被其他账户绑定" in response.get_data(as_text=True)
    assert len(read_outbox(app)) == sent_before
    assert audit_events(app, "phone.change")[-1].detail["reason"] == "taken"


def test_a_phone_taken_by_another_account_after_the_code_was_sent_is_refused(app, client, person):
    log_in(app, client)
    ask_code(client)
    create_other_person(app, phone=NEW_PHONE)
    response = confirm(client, last_sms_code(app, NEW_PHONE))
    assert response.status_code == 400
    assert "该手机号码已被其他账户绑定" in response.get_data(as_text=True)
    assert person_row(app, person["id"]).phone == person["phone"]


def test_the_current_phone_or_a_malformed_number_is_refused(app, client, person):
    log_in(app, client)
    response = ask_code(client, person["phone"])
    assert response.status_code == 400 and "新手机号码与当前绑定的手机号码相同" in response.get_data(as_text=True)
    response = ask_code(client, "1234567")
    assert response.status_code == 400 and "请输入11位中国大陆手机号码" in response.get_data(as_text=True)


def test_confirming_without_asking_for_a_code_first_is_refused(app, client, person):
    log_in(app, client)
    response = post_with_token(client, "/account/phone", {"code": "123456", "password": PASSWORD})
    assert response.status_code == 400
    assert "请先获取发送到新手机号码的验证码" in response.get_data(as_text=True)


def test_a_second_code_within_the_resend_cooldown_is_refused(app, client, person):
    log_in(app, client)
    ask_code(client)
    response = ask_code(client)
    assert response.status_code == 429
    assert "验证码发送过于频繁" in response.get_data(as_text=True)


def test_a_code_the_gateway_could_not_send_is_not_kept_and_the_next_send_needs_no_wait(app, client, person):
    """The SMS gateway down: no code waits for the new phone, and asking again works at once."""
    log_in(app, client)
    with sms_gateway_down(app):
        refused = ask_code(client)
    assert refused.status_code == 503 and "短信发送失败，请稍后再试" in refused.get_data(as_text=True)
    assert stored_sms_codes(app, NEW_PHONE) == 0
    assert "验证码已发送至新手机号码" not in client.get("/account/phone").get_data(as_text=True)
    assert ask_code(client).headers["Location"] == "/account/phone"
    assert confirm(client, last_sms_code(app, NEW_PHONE)).headers["Location"] == "/account"
