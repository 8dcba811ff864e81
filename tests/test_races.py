"""Races: one-time secrets stay one-time under parallel use (STYLE.md point 9, LIBRARY-NOTES.md
Authlib pitfall 12).

Each thread has its own test client, so each request runs in its own application context with
its own database connection; a barrier releases them together.  On PostgreSQL the requests truly
overlap.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from idp.browser_session import COOKIE_NAME
from idp.database import db
from idp.models import LoginSession, MethodLockout, SmsCode

from conftest import csrf_from, last_sms_code, obtain_code, redeem, submit_password, tokens_for

THREADS = 16
WRONG_CODE = "短信验证码错误，请重新输入"
LOCKED = "连续认证错误次数过多"
SPENT = "验证码已失效，请重新获取"
STALE_SESSION = "页面已过期，请刷新后重试"


@pytest.fixture
def race(app):
    """``race(action)`` runs ``action(client, index)`` in THREADS threads released at once."""

    def run(action: Callable, prepare: Callable | None = None) -> list:
        clients = [app.test_client() for _ in range(THREADS)]
        for client in clients:
            if prepare:
                prepare(client)
        barrier = threading.Barrier(THREADS)

        def one(index: int):
            barrier.wait(timeout=30)
            return action(clients[index], index)

        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(one, range(THREADS)))

    return run


def error_code(response) -> str | None:
    return (response.get_json(silent=True) or {}).get("error")


def test_parallel_redemptions_of_one_code_yield_one_token_response(app, client, person, rp, race):
    """RFC 6749 section 4.1.2: a code is used once; the rest get ``invalid_grant``."""
    code, request = obtain_code(app, client, rp)
    responses = race(lambda c, i: redeem(c, rp, code, request.verifier))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 400: THREADS - 1}, statuses
    assert {error_code(r) for r in responses if r.status_code == 400} == {"invalid_grant"}


def test_parallel_refreshes_of_one_token_yield_one_new_token_and_revoke_the_family(app, client, person, rp, race):
    """RFC 9700 section 4.14.2: a refresh token used twice is a replay; the whole family ends."""
    refresh_token = tokens_for(app, client, rp)["refresh_token"]
    responses = race(lambda c, i: c.post("/token", headers=rp.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token}))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 400: THREADS - 1}, statuses
    assert {error_code(r) for r in responses if r.status_code == 400} == {"invalid_grant"}
    [winner] = [r.get_json() for r in responses if r.status_code == 200]
    again = client.post("/token", headers=rp.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": winner["refresh_token"]})
    assert error_code(again) == "invalid_grant"
    userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {winner['access_token']}"})
    assert userinfo.status_code == 401


def share_pending_login(app, client) -> tuple[Callable, str]:
    """One browser passes the password step; returns a way to clone its cookie, and its CSRF token."""
    assert submit_password(client).status_code == 302
    cookie = client.get_cookie(COOKIE_NAME).value
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return (lambda other: other.set_cookie(COOKIE_NAME, cookie)), token


def sms_state(app) -> tuple[int, object, int]:
    with app.app_context():
        row = db.session.execute(select(SmsCode)).scalar_one()
        failures = db.session.execute(
            select(MethodLockout.failures).where(MethodLockout.method == "sms")).scalar_one_or_none()
        return row.tries, row.consumed_at, failures or 0


def count_logins(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(LoginSession)).scalar_one()


def test_parallel_wrong_sms_guesses_cannot_exceed_five_tries(app, client, person, race):
    clone, token = share_pending_login(app, client)
    code = last_sms_code(app)
    guesses = [f"{(int(code) + 1 + i) % 10**6:06d}" for i in range(THREADS)]
    responses = race(lambda c, i: c.post("/login/sms", data={"csrf_token": token, "code": guesses[i]}), clone)
    assert all(r.status_code == 400 for r in responses), Counter(r.status_code for r in responses)
    pages = [r.get_data(as_text=True) for r in responses]
    compared = sum(WRONG_CODE in p for p in pages)
    assert compared == 4  # the 5th comparison locks and says so
    assert sum(LOCKED in p for p in pages) >= 1
    assert all(WRONG_CODE in p or LOCKED in p or SPENT in p for p in pages)
    tries, consumed_at, failures = sms_state(app)
    assert (tries, consumed_at, failures) == (5, None, 5)
    right = client.post("/login/sms", data={"csrf_token": token, "code": code})
    assert right.status_code == 400
    assert LOCKED in right.get_data(as_text=True)  # the code is void and the SMS method locked
    assert count_logins(app) == 0


def test_parallel_right_answers_consume_the_code_once(app, client, person, race):
    clone, token = share_pending_login(app, client)
    code = last_sms_code(app)
    responses = race(lambda c, i: c.post("/login/sms", data={"csrf_token": token, "code": code}), clone)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {302: 1, 400: THREADS - 1}, statuses
    # Losers find the code spent, or, once the winner's login replaced the shared session id
    # (session fixation defence), no session at all: the CSRF check then refuses them.
    losers = [r.get_data(as_text=True) for r in responses if r.status_code == 400]
    assert all(SPENT in page or STALE_SESSION in page for page in losers)
    assert count_logins(app) == 1
    tries, consumed_at, failures = sms_state(app)
    assert consumed_at is not None
    assert failures == 0  # a right answer that lost the race is not a wrong answer
