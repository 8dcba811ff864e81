"""SMS codes: 6 digits, 5 minutes, single use, 5 tries, 60 s resend cooldown, a daily cap per
phone counted in the bureau's local day, stored only as a keyed hash (docs/architecture.md §10)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from idp.app import create_app
from idp.core.clock import local_day, utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors.base import DailyCapReached, ResendTooSoon
from idp.factors.sms_code import send_sms_code
from idp.models import SmsCode

from conftest import (
    PHONE,
    RACE_THREADS,
    all_at_once,
    csrf_from,
    last_sms_code,
    make_settings,
    read_outbox,
    submit_password,
    submit_sms_code,
)


def sms_rows(app) -> list[SmsCode]:
    with app.app_context():
        return list(db.session.execute(select(SmsCode).order_by(SmsCode.id)).scalars())


def shift_sms_rows(app, **changes) -> None:
    """Move every stored code's timestamps by the given timedeltas (time passing, as the DB sees it)."""
    with app.app_context():
        for row in db.session.execute(select(SmsCode)).scalars():
            for name, delta in changes.items():
                setattr(row, name, getattr(row, name) + delta)
        db.session.commit()


def resend(client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login/sms/resend", data={"csrf_token": token})


def another_wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_code_is_six_random_digits_named_in_the_message(app, client, person):
    assert submit_password(client).status_code == 302
    code = last_sms_code(app)
    assert re.fullmatch(r"[0-9]{6}", code)
    [message] = read_outbox(app)
    assert f"验证码为{code}" in message["text"]
    assert "5分钟内有效" in message["text"]


def test_outbox_line_is_one_json_object_with_phone_text_code_and_sent_at(app, client, person):
    """The development adapter's contract: one JSON line per message in ``IDP_SMS_OUTBOX``."""
    before = int(time.time())
    submit_password(client)
    lines = open(current_settings(app).sms_outbox_path, encoding="utf-8").read().splitlines()
    assert len(lines) == 1
    [message] = read_outbox(app)
    assert set(message) == {"phone", "text", "code", "sent_at"}
    assert message["phone"] == PHONE
    assert isinstance(message["sent_at"], int) and before <= message["sent_at"] <= time.time() + 1
    assert "【青岛税务】" in lines[0]  # UTF-8 text, not \\u escapes


def test_code_expires_after_300_seconds(app, client, person):
    submit_password(client)
    [row] = sms_rows(app)
    assert abs((row.expires_at - row.sent_at).total_seconds() - 300) < 2
    shift_sms_rows(app, sent_at=timedelta(seconds=-301), expires_at=timedelta(seconds=-301))
    response = submit_sms_code(client, last_sms_code(app))
    assert response.status_code == 400
    assert "验证码已失效，请重新获取" in response.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/login"


def test_code_just_before_expiry_still_works(app, client, person):
    submit_password(client)
    shift_sms_rows(app, sent_at=timedelta(seconds=-290), expires_at=timedelta(seconds=-290))
    assert submit_sms_code(client, last_sms_code(app)).headers["Location"] == "/"


def test_code_is_single_use(app, person):
    """A code that completed one login does not complete another, even within its 5 minutes."""
    first, second = app.test_client(), app.test_client()
    submit_password(first)
    code = last_sms_code(app)
    assert submit_sms_code(first, code).headers["Location"] == "/"
    # A used code starts no cooldown: the second browser gets a fresh code, and the spent one fails.
    assert submit_password(second).status_code == 302
    assert last_sms_code(app) != code
    response = submit_sms_code(second, code)
    assert "短信验证码错误" in response.get_data(as_text=True)
    assert second.get("/").headers["Location"] == "/login"


def test_an_outstanding_code_starts_the_resend_cooldown(app, person):
    """A password step during the cooldown sends nothing: the page asks for the code already sent
    (to the masked phone), counts down to the resend, and that code logs in."""
    first, second = app.test_client(), app.test_client()
    submit_password(first)
    code = last_sms_code(app)
    assert submit_password(second).headers["Location"] == "/login/sms"
    page = second.get("/login/sms").get_data(as_text=True)
    assert "验证码已发送至 138****5678" in page
    assert re.search(r'data-wait="(59|60)"', page)
    assert "秒后可重新发送" in page
    assert len(read_outbox(app)) == 1
    assert "秒后再试" in resend(second).get_data(as_text=True)  # the server's cooldown still rules
    assert submit_sms_code(second, code).headers["Location"] == "/"


def test_five_wrong_tries_void_the_code_even_for_the_right_answer(database_url, instance_dir, person):
    """At most 5 tries per code.  The lockout threshold is raised here so that only the
    per-code limit is at work (with the default of 5 the SMS method locks at the same time)."""
    lenient = create_app(make_settings(database_url, instance_dir, LOCKOUT_THRESHOLD=100))
    client = lenient.test_client()
    submit_password(client)
    code = last_sms_code(lenient)
    for _ in range(5):
        assert "短信验证码错误，请重新输入" in submit_sms_code(client, another_wrong(code)).get_data(as_text=True)
    response = submit_sms_code(client, code)
    assert "验证码已失效，请重新获取" in response.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/login"
    [row] = sms_rows(lenient)
    assert row.tries == 5 and row.consumed_at is None


def test_four_wrong_tries_leave_the_right_answer_usable(app, client, person):
    submit_password(client)
    code = last_sms_code(app)
    for _ in range(4):
        submit_sms_code(client, another_wrong(code))
    assert submit_sms_code(client, code).headers["Location"] == "/"


def test_resend_waits_60_seconds_and_says_how_long(app, client, person):
    submit_password(client)
    response = resend(client)
    assert response.status_code == 429
    seconds = int(re.search(r"请 (\d+) 秒后再试", response.get_data(as_text=True)).group(1))
    assert 58 <= seconds <= 60
    assert len(read_outbox(app)) == 1
    shift_sms_rows(app, sent_at=timedelta(seconds=-45))
    seconds = int(re.search(r"请 (\d+) 秒后再试", resend(client).get_data(as_text=True)).group(1))
    assert 13 <= seconds <= 15
    shift_sms_rows(app, sent_at=timedelta(seconds=-16))
    assert resend(client).status_code == 302
    assert len(read_outbox(app)) == 2


def test_resent_code_replaces_the_previous_one(app, client, person):
    submit_password(client)
    shift_sms_rows(app, sent_at=timedelta(seconds=-61))
    resend(client)
    first, second = (m["code"] for m in read_outbox(app))
    if first != second:
        assert "短信验证码错误" in submit_sms_code(client, first).get_data(as_text=True)
    assert submit_sms_code(client, second).headers["Location"] == "/"


@pytest.fixture
def capped_app(database_url, instance_dir):
    return create_app(make_settings(database_url, instance_dir, SMS_DAILY_CAP=2))


def test_daily_cap_per_phone_stops_further_codes(capped_app, person):
    client = capped_app.test_client()
    for _ in range(2):
        assert submit_password(client).status_code == 302
        shift_sms_rows(capped_app, sent_at=timedelta(seconds=-61))
    response = submit_password(client)
    assert response.status_code == 429
    assert "今日验证码发送次数已达上限，请明天再试" in response.get_data(as_text=True)
    assert 'id="sms-sent"' not in response.get_data(as_text=True)  # no "code sent to 138****5678"
    assert len(read_outbox(capped_app)) == 2
    # The cap is per phone, not per browser.
    other = capped_app.test_client()
    assert "今日验证码发送次数已达上限" in submit_password(other).get_data(as_text=True)


def test_reset_codes_asked_by_anyone_do_not_use_up_the_login_codes(capped_app, person):
    """Whoever knows the phone number can ask for reset codes until that cap; the person's own
    login still gets its code."""
    from test_forgot_password import identify, send_code

    stranger = capped_app.test_client()
    for _ in range(3):
        identify(stranger, PHONE)
        send_code(stranger)
        shift_sms_rows(capped_app, sent_at=timedelta(seconds=-61))
    assert len(read_outbox(capped_app)) == 2  # the third reset code was refused: the cap of 2
    assert submit_password(capped_app.test_client()).status_code == 302
    assert len(read_outbox(capped_app)) == 3


def test_daily_cap_counts_the_local_day_in_asia_shanghai(capped_app, person):
    client = capped_app.test_client()
    for _ in range(2):
        submit_password(client)
        shift_sms_rows(capped_app, sent_at=timedelta(seconds=-61))
    shanghai_today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert {row.local_day for row in sms_rows(capped_app)} == {shanghai_today}
    with capped_app.app_context():
        db.session.execute(update(SmsCode).values(local_day=shanghai_today - timedelta(days=1)))
        db.session.commit()
    assert submit_password(client).status_code == 302


@pytest.mark.parametrize(
    ("utc", "shanghai_day"),
    [
        (datetime(2026, 3, 1, 15, 59, tzinfo=UTC), date(2026, 3, 1)),
        (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), date(2026, 3, 2)),
    ],
)
def test_local_day_turns_at_midnight_shanghai_time(app, utc, shanghai_day):
    """16:00 UTC is midnight in Asia/Shanghai (UTC+8, no daylight saving)."""
    with app.app_context():
        assert local_day(utc) == shanghai_day


def test_database_never_holds_the_code_in_clear(app, client, person):
    """The stored value is a keyed hash: neither the code nor its plain SHA-256 is in the row."""
    submit_password(client)
    code = last_sms_code(app)
    [row] = sms_rows(app)
    columns = {c.name: getattr(row, c.name) for c in SmsCode.__table__.columns}
    assert not any(code in str(value) for value in columns.values())
    assert re.fullmatch(r"[0-9a-f]{64}", row.code_hmac)
    assert row.code_hmac != hashlib.sha256(code.encode()).hexdigest()
    assert row.code_hmac != hashlib.sha256(f"login:{PHONE}:{code}".encode()).hexdigest()
    assert row.sent_at <= utcnow()


def send_and_commit(app, purpose: str = "register") -> str:
    """One send in its own transaction, as a view makes it; returns how it ended."""
    with app.app_context():
        try:
            send_sms_code(PHONE, purpose)
        except (ResendTooSoon, DailyCapReached) as refused:
            db.session.commit()
            return refused.code
        db.session.commit()
        return "sent"


def test_parallel_resends_after_the_cooldown_send_one_code(app, person):
    """The auditor's case: many pending logins of one person, past the cooldown, ask for a new
    code at the same moment; the phone gets one."""
    browsers = [app.test_client() for _ in range(RACE_THREADS)]
    for browser in browsers:
        assert submit_password(browser).status_code in (302, 429)  # only the first got a code
    assert len(read_outbox(app)) == 1
    tokens = [csrf_from(browser.get("/login").get_data(as_text=True)) for browser in browsers]
    shift_sms_rows(app, sent_at=timedelta(seconds=-61))
    responses = all_at_once(lambda i: browsers[i].post("/login/sms/resend", data={"csrf_token": tokens[i]}))
    assert Counter(r.status_code for r in responses) == {302: 1, 429: RACE_THREADS - 1}
    assert all("秒后再试" in r.get_data(as_text=True) for r in responses if r.status_code == 429)
    assert len(read_outbox(app)) == 2
    assert len(sms_rows(app)) == 2


def test_parallel_first_sends_to_a_phone_send_one_code(app):
    """No code was ever sent to the phone, so there is no row yet that a send could lock."""
    assert Counter(all_at_once(lambda i: send_and_commit(app))) == {"sent": 1, "resend_too_soon": RACE_THREADS - 1}
    assert len(read_outbox(app)) == 1


def test_parallel_sends_stop_at_the_daily_cap(app, monkeypatch):
    """With no cooldown to space them out, a burst still gets no more codes than the cap."""
    settings = dataclasses.replace(current_settings(app), SMS_DAILY_CAP=3, SMS_RESEND_COOLDOWN=0)
    monkeypatch.setitem(app.config, "IDP", settings)
    outcomes = Counter(all_at_once(lambda i: send_and_commit(app)))
    assert outcomes == {"sent": 3, "daily_cap_reached": RACE_THREADS - 3}
    assert len(read_outbox(app)) == 3
    assert len(sms_rows(app)) == 3
