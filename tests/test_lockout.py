"""Lockout (docs/domain.md §1.14, docs/architecture.md §10): 5 consecutive failures of one method within one day
(Asia/Shanghai) lock that method for that person until the next day; a success resets the run."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from idp.core.database import db
from idp.models import MethodLockout

from conftest import last_sms_code, submit_password, submit_sms_code

#: Which method is locked, until when, and what still works (issue 18: not "your account is locked").
LOCKED = ("连续认证错误次数过多，个人用户密码登录已锁定至次日0时（北京时间），其他登录方式不受影响。"
          "您可以使用扫码登录，或通过“忘记密码”重置密码立即解锁；如需帮助，请拨打12366纳税服务热线。")
SMS_LOCKED = "连续认证错误次数过多，短信验证码登录已锁定至次日0时（北京时间）。"
WRONG_PASSWORD = "个人账号或密码错误"
WRONG_CODE = "短信验证码错误，请重新输入"


def page_text(response) -> str:
    return response.get_data(as_text=True)


def counters(app) -> dict[str, int]:
    """Today's failures per method that has any (a success leaves its counter at 0)."""
    with app.app_context():
        rows = db.session.execute(select(MethodLockout)).scalars()
        return {row.method: row.failures for row in rows if row.failures}


def move_counters_to_yesterday(app) -> None:
    with app.app_context():
        for row in db.session.execute(select(MethodLockout)).scalars():
            row.local_day -= timedelta(days=1)
        db.session.commit()


def wrong_code(app) -> str:
    return f"{(int(last_sms_code(app)) + 1) % 10**6:06d}"


def test_fifth_wrong_password_locks_with_the_faq_message(app, client, person):
    for failures in range(1, 5):
        text = page_text(submit_password(client, password="Wrong#2026"))
        assert WRONG_PASSWORD in text
        assert f"今日已连续错误{failures}次，连续5次将锁定密码登录至次日。" in text
    fifth = submit_password(client, password="Wrong#2026")
    assert fifth.status_code == 400
    assert LOCKED in page_text(fifth)
    assert counters(app) == {"password": 5}


def test_right_password_is_refused_once_locked(app, client, person):
    for _ in range(5):
        submit_password(client, password="Wrong#2026")
    sixth = submit_password(client)
    assert LOCKED in page_text(sixth)
    assert client.get("/login/sms").headers["Location"] == "/login"
    assert app.test_client().get("/login/sms").headers["Location"] == "/login"
    # Another browser is refused as well: the lock belongs to the person, not the browser.
    assert LOCKED in page_text(submit_password(app.test_client()))


def test_fifth_wrong_sms_code_locks_the_sms_method(app, client, person):
    submit_password(client)
    for failures in range(1, 5):
        text = page_text(submit_sms_code(client, wrong_code(app)))
        assert WRONG_CODE in text
        assert f"今日已连续错误{failures}次，连续5次将锁定短信验证码登录至次日。" in text
    assert SMS_LOCKED in page_text(submit_sms_code(client, wrong_code(app)))
    assert SMS_LOCKED in page_text(submit_sms_code(client, last_sms_code(app)))
    assert client.get("/").headers["Location"] == "/login"
    assert counters(app) == {"sms": 5}


def test_password_and_sms_failures_are_counted_separately(app, client, person):
    """4 wrong codes and 4 wrong passwords are 8 failures, but no method reached 5."""
    submit_password(client)
    for _ in range(4):
        submit_sms_code(client, wrong_code(app))
    other = app.test_client()
    for _ in range(4):
        assert WRONG_PASSWORD in page_text(submit_password(other, password="Wrong#2026"))
    assert counters(app) == {"sms": 4, "password": 4}
    assert submit_sms_code(client, last_sms_code(app)).headers["Location"] == "/"


def test_locked_password_leaves_the_sms_method_usable(app, person):
    """With the password method locked, the SMS code already sent still completes that login."""
    client = app.test_client()
    submit_password(client)
    attacker = app.test_client()
    for _ in range(5):
        submit_password(attacker, password="Wrong#2026")
    assert LOCKED in page_text(submit_password(attacker))
    assert submit_sms_code(client, last_sms_code(app)).headers["Location"] == "/"


def test_locked_sms_leaves_the_password_method_unlocked(app, client, person):
    submit_password(client)
    for _ in range(5):
        submit_sms_code(client, wrong_code(app))
    assert WRONG_PASSWORD in page_text(submit_password(client, password="Wrong#2026"))
    assert counters(app) == {"sms": 5, "password": 1}


def test_next_local_day_unlocks(app, client, person):
    for _ in range(5):
        submit_password(client, password="Wrong#2026")
    assert LOCKED in page_text(submit_password(client))
    move_counters_to_yesterday(app)
    assert submit_password(client).status_code == 302
    # Today's count starts from nothing: four failures warn, the fifth locks again.
    for _ in range(4):
        assert WRONG_PASSWORD in page_text(submit_password(client, password="Wrong#2026"))
    assert LOCKED in page_text(submit_password(client, password="Wrong#2026"))


def test_failures_of_an_earlier_day_do_not_add_to_todays(app, client, person):
    for _ in range(4):
        submit_password(client, password="Wrong#2026")
    move_counters_to_yesterday(app)
    for _ in range(4):
        assert WRONG_PASSWORD in page_text(submit_password(client, password="Wrong#2026"))
    assert counters(app) == {"password": 4}


def test_success_before_the_fifth_failure_resets_the_count(app, client, person):
    for _ in range(4):
        submit_password(client, password="Wrong#2026")
    assert submit_password(client).status_code == 302
    assert counters(app) == {}
    for _ in range(4):
        assert WRONG_PASSWORD in page_text(submit_password(client, password="Wrong#2026"))
    assert LOCKED in page_text(submit_password(client, password="Wrong#2026"))


def test_lockout_message_is_translated_for_english_pages(app, client, person):
    client.get("/lang/en?next=/login")
    for _ in range(5):
        response = submit_password(client, password="Wrong#2026")
    assert "password sign-in is locked until midnight (Beijing time)" in page_text(response)
