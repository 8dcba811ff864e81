"""Races: one-time secrets stay one-time under parallel use (docs/architecture.md §10; authlib's stock code
grant reads the code, then deletes it).

Each thread has its own test client, so each request runs in its own application context with
its own database connection; a barrier releases them together.  On PostgreSQL the requests truly
overlap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from idp.core.database import db
from idp.models import LoginSession, MethodLockout, SmsCode
from idp.web.browser_session import COOKIE_NAME

from conftest import (
    RACE_THREADS,
    authorization_request,
    csrf_from,
    hidden_value,
    last_sms_code,
    obtain_code,
    query_of,
    redeem,
    submit_password,
    tokens_for,
)

WRONG_CODE = "短信验证码错误，请重新输入"
WRONG_PASSWORD = "个人账号或密码错误"
LOCKED = "连续认证错误次数过多"
SPENT = "验证码已失效，请重新获取"
STALE_SESSION = "为保护您的账号安全，刚才提交的内容未被处理"


def error_code(response) -> str | None:
    return (response.get_json(silent=True) or {}).get("error")


def test_parallel_redemptions_of_one_code_yield_one_token_response(app, client, person, rp, race):
    """RFC 6749 section 4.1.2: a code is used once; the rest get ``invalid_grant``."""
    code, request = obtain_code(app, client, rp)
    responses = race(lambda c, i: redeem(c, rp, code, request.verifier))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 400: RACE_THREADS - 1}, statuses
    assert {error_code(r) for r in responses if r.status_code == 400} == {"invalid_grant"}


def test_parallel_refreshes_of_one_token_yield_one_new_token_and_revoke_the_family(app, client, person, rp, race):
    """RFC 9700 section 4.14.2: a refresh token used twice is a replay; the whole family ends."""
    refresh_token = tokens_for(app, client, rp)["refresh_token"]
    responses = race(lambda c, i: c.post("/token", headers=rp.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token}))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 400: RACE_THREADS - 1}, statuses
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
    guesses = [f"{(int(code) + 1 + i) % 10**6:06d}" for i in range(RACE_THREADS)]
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
    assert statuses == {302: 1, 400: RACE_THREADS - 1}, statuses
    # Losers find the code spent, or, once the winner's login replaced the shared session id
    # (session fixation defence), no session at all: the CSRF check then refuses them.
    losers = [r.get_data(as_text=True) for r in responses if r.status_code == 400]
    assert all(SPENT in page or STALE_SESSION in page for page in losers)
    assert count_logins(app) == 1
    tries, consumed_at, failures = sms_state(app)
    assert consumed_at is not None
    assert failures == 0  # a right answer that lost the race is not a wrong answer


def test_parallel_wrong_passwords_get_five_checked_and_the_right_one_after_them_refused(app, client, person, race):
    """docs/domain.md §1.14: five wrong passwords a day, however many arrive at once.  Each guess is counted
    before its password is checked, so the sixth is refused unchecked whatever the timing."""
    responses = race(lambda c, i: submit_password(c, password=f"Wrong#{i}-2026"))
    pages = [r.get_data(as_text=True) for r in responses]
    assert sum(WRONG_PASSWORD in page for page in pages) == 4
    assert sum(LOCKED in page for page in pages) == RACE_THREADS - 4
    assert LOCKED in submit_password(client).get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(MethodLockout.failures).where(
            MethodLockout.method == "password")).scalar_one() == 5


def test_parallel_revocations_of_one_access_token_all_succeed(app, client, person, rp, race):
    """RFC 7009 section 2.2: revoking an already revoked token is a 200 too."""
    access_token = tokens_for(app, client, rp)["access_token"]
    responses = race(lambda c, i: c.post("/revoke", headers=rp.basic_auth, data={"token": access_token}))
    assert Counter(r.status_code for r in responses) == {200: RACE_THREADS}
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code == 401


def test_parallel_exchanges_of_one_access_token_switch_once(app, client, person, race):
    """RFC 8693 here spends the subject token's grant: one switch per token, not one per request."""
    from test_entity_login import exchange, exchanging_rp, log_in_for_the_builder

    from entity_fixtures import TRADER

    rp = exchanging_rp(app)
    tokens = log_in_for_the_builder(app, client, rp)
    responses = race(lambda c, i: exchange(c, rp, tokens["access_token"], entity=TRADER))
    assert Counter(r.status_code for r in responses) == {200: 1, 400: RACE_THREADS - 1}
    assert {error_code(r) for r in responses if r.status_code == 400} == {"invalid_grant"}


def test_no_grant_outlives_a_logout_that_races_it(app, client, person, rp, race):
    """Single sign-on requests racing the logout of their browser: each either made its grant
    before the logout (which then ended it) or is refused; no token of them works afterwards."""
    tokens = tokens_for(app, client, rp)
    cookie = client.get_cookie(COOKIE_NAME).value
    requests = [authorization_request(rp, prompt="none") for _ in range(RACE_THREADS)]

    def act(c, i):
        if i == 0:
            return c.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
        return c.get("/authorize", query_string=requests[i].params)

    responses = race(act, lambda c: c.set_cookie(COOKIE_NAME, cookie))
    assert responses[0].status_code in (200, 302)
    for request, response in zip(requests[1:], responses[1:], strict=True):
        params = query_of(response.headers["Location"])
        assert params["state"] == request.params["state"]
        if "code" not in params:
            assert params["error"] == "login_required"
            continue
        redeemed = redeem(client, rp, params["code"], request.verifier)
        if redeemed.status_code != 200:
            continue
        issued = redeemed.get_json()
        assert client.get("/userinfo", headers={"Authorization": f"Bearer {issued['access_token']}"}).status_code == 401
        assert client.post("/token", headers=rp.basic_auth, data={
            "grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}).status_code == 400


def test_parallel_allows_all_succeed_and_leave_one_consent(app, client, person, race):
    """Several clicks of "allow" at once (a double click, several tabs) are one consent."""
    from test_consent import authorize, listed_consents, third_party

    rp = third_party(app)
    _, response = authorize(app, client, rp)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    form = {"csrf_token": csrf_from(html), "interaction": hidden_value(html, "interaction"), "decision": "allow"}
    cookie = client.get_cookie(COOKIE_NAME).value
    responses = race(lambda c, i: c.post("/consent", data=form), lambda c: c.set_cookie(COOKIE_NAME, cookie))
    assert Counter(r.status_code for r in responses) == {302: RACE_THREADS}
    assert listed_consents(client) == 1
    _, again = authorize(app, client, rp)
    assert again.headers["Location"].startswith(rp.redirect_uri)
