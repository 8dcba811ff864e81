"""Adding and changing a username in the account centre (docs/domain.md §1.13; docs/account-centre.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from idp.core.clock import local_day, utcnow
from idp.core.database import db
from idp.models import Person

from account_steps import (
    OTHER_DOC,
    OTHER_PHONE,
    audit_events,
    create_other_person,
    log_in,
    person_row,
    post_form,
    post_with_token,
)
from conftest import PASSWORD


def set_username(app, person_id: int, username: str | None, changed_days_ago: int | None) -> None:
    changed_at = None if changed_days_ago is None else utcnow() - timedelta(days=changed_days_ago)
    with app.app_context():
        db.session.execute(update(Person).where(Person.id == person_id)
                           .values(username=username, username_changed_at=changed_at))
        db.session.commit()


def local_day_in(app, moment):
    with app.app_context():
        return local_day(moment)


def choose(client, username: str):
    return post_form(client, "/account/username", {"username": username})


def zh_date(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def test_a_person_without_a_username_adds_one_and_logs_in_with_it(app, client, person):
    """docs/domain.md §1.13: a registered person without a username adds one in the account centre."""
    set_username(app, person["id"], None, None)
    log_in(app, client, identifier=person["phone"])
    assert "添加用户名" in client.get("/account").get_data(as_text=True)
    assert choose(client, "Zhang_San88").headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert "用户名已保存" in page and "Zhang_San88" in page
    log_in(app, app.test_client(), identifier="Zhang_San88")
    [event] = audit_events(app, "username.changed")
    assert event.detail == {"first": True, "username": "Zhang_San88"}


def test_adding_the_first_username_counts_as_the_yearly_change(app, client, person):
    """docs/domain.md §1.13 ("changed once a year"): our rule counts the first setting as a change too."""
    set_username(app, person["id"], None, None)
    log_in(app, client, identifier=person["phone"])
    assert choose(client, "zhang_san").headers["Location"] == "/account"
    next_day = local_day_in(app, person_row(app, person["id"]).username_changed_at) + timedelta(days=365)
    page = client.get("/account/username").get_data(as_text=True)
    assert f"用户名一年只能修改一次，{zh_date(next_day)}起可再次修改" in page
    assert 'name="username"' not in page


def test_a_username_set_at_registration_without_a_date_can_be_changed_once_right_away(app, client, person):
    log_in(app, client)
    assert choose(client, "zhangsan_2").headers["Location"] == "/account"
    assert 'name="username"' not in client.get("/account/username").get_data(as_text=True)
    response = post_with_token(client, "/account/username", {"username": "zhangsan_3"})
    assert response.status_code == 400 and "用户名一年只能修改一次" in response.get_data(as_text=True)
    assert person_row(app, person["id"]).username == "zhangsan_2"


def test_a_second_change_within_365_days_is_refused_with_the_date_it_opens(app, client, person):
    """docs/domain.md §1.13: the refusal names the first day a change is possible again."""
    set_username(app, person["id"], "zhangsan", 364)
    log_in(app, client)
    opens = local_day_in(app, person_row(app, person["id"]).username_changed_at) + timedelta(days=365)
    response = post_with_token(client, "/account/username", {"username": "zhang_new"})
    assert response.status_code == 400
    assert f"用户名一年只能修改一次，{zh_date(opens)}起可再次修改" in response.get_data(as_text=True)
    assert person_row(app, person["id"]).username == "zhangsan"
    assert audit_events(app, "username.change")[-1].detail["reason"] == "too_soon"


def test_the_change_is_possible_again_365_days_later(app, client, person):
    set_username(app, person["id"], "zhangsan", 365)
    log_in(app, client)
    assert choose(client, "zhang_new").headers["Location"] == "/account"
    assert person_row(app, person["id"]).username == "zhang_new"


def test_the_date_is_written_the_english_way_on_english_pages(app, client, person):
    set_username(app, person["id"], "zhangsan", 10)
    log_in(app, client)
    client.get("/lang/en?next=/account")
    opens = local_day_in(app, person_row(app, person["id"]).username_changed_at) + timedelta(days=365)
    page = client.get("/account/username").get_data(as_text=True)
    assert f"you can change it again from {opens.isoformat()}" in page


@pytest.mark.parametrize("username,message", [
    ("abc", "用户名长度应为4-20位"),
    ("a" * 21, "用户名长度应为4-20位"),
    ("zhang-san", "用户名只能包含英文字母、数字和下划线"),
    ("张三丰abc", "用户名只能包含英文字母、数字和下划线"),
    ("12345678", "用户名不能全部为数字"),
    ("1234_5678", "用户名不能全部为数字"),
    ("13912345678", "用户名不能是手机号码格式"),
    ("139_1234_5678", "用户名不能是手机号码格式"),
    ("8613912345678", "用户名不能是手机号码格式"),
    ("11010519491231002X", "用户名不能是证件号码格式"),
    ("11010519900307451x", "用户名不能是证件号码格式"),
    ("H12345678", "用户名不能是证件号码格式"),
    ("E12345678", "用户名不能是证件号码格式"),
    ("zhangsan", "新用户名与当前用户名相同"),
], ids=lambda value: value if len(value) < 22 else None)
def test_a_username_outside_the_rules_is_refused_with_its_reason(app, client, person, username, message):
    """docs/domain.md §1.13 with §8's rules: letters/digits/underscore, 4-20, not digits only, not a phone
    number; and (ours) not a document number, since the login field takes all three (docs/domain.md §1.11)."""
    log_in(app, client)
    response = choose(client, username)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert person_row(app, person["id"]).username == "zhangsan"
    assert person_row(app, person["id"]).username_changed_at is None


def test_a_username_taken_by_another_account_in_any_letter_case_is_refused(app, client, person):
    create_other_person(app, username="WangWu")
    log_in(app, client)
    for taken in ("WangWu", "wangwu"):
        response = choose(client, taken)
        assert response.status_code == 400
        assert "该用户名已被使用" in response.get_data(as_text=True)
    assert person_row(app, person["id"]).username == "zhangsan"


def test_the_database_refuses_a_username_taken_in_another_letter_case(app, person):
    """The application's check runs before the write; two changes at the same moment both pass
    it, and then the database's index refuses the second (it is shown as "taken")."""
    other_id = create_other_person(app, username="WangWu")
    with pytest.raises(IntegrityError):
        set_username(app, other_id, "ZHANGSAN", None)


def test_the_username_logs_in_whatever_the_letter_case(app, person):
    log_in(app, app.test_client(), identifier="ZhangSan")


def test_english_refusals_for_english_pages(app, client, person):
    log_in(app, client)
    client.get("/lang/en?next=/account")
    response = choose(client, "13912345678")
    assert "A username cannot look like a phone number." in response.get_data(as_text=True)


# --- `idp users add --username`: the same rules as self-registration -------------------------

def users_add(username: str):
    """``idp users add`` for a second person (the ``cli`` fixture points it at the test database)."""
    from click.testing import CliRunner

    from idp.cli.main import main

    return CliRunner().invoke(main, ["users", "add", "--doc-type", "ID_CARD", "--doc-number", OTHER_DOC,
                                     "--name", "王五", "--phone", OTHER_PHONE, "--password", PASSWORD,
                                     "--username", username])


@pytest.mark.parametrize("username", [
    "zhаngsan",          # Cyrillic а: a look-alike of zhangsan
    "ｚｈａｎｇｗｕ",       # full-width letters
    "wang\u200bwu",      # zero-width space
    "wangwu\u0661\u0662",  # Arabic-Indic digits
])
def test_users_add_applies_the_username_rules(app, cli, username):
    result = users_add(username)
    assert result.exit_code == 2, result.output
    assert "username" in result.output.lower() and "Traceback" not in result.output
    with app.app_context():
        assert db.session.query(Person).filter(Person.phone == OTHER_PHONE).first() is None


def test_users_add_trims_a_trailing_space_as_self_registration_does(app, cli):
    assert users_add("wangwu ").exit_code == 0
    with app.app_context():
        assert db.session.query(Person.username).filter(Person.phone == OTHER_PHONE).scalar() == "wangwu"


def test_users_add_refuses_a_username_taken_in_another_case_without_a_traceback(app, cli, person):
    result = users_add("ZhangSan")
    assert result.exit_code == 2, result.output
    assert "already taken" in result.output and "Traceback" not in result.output
