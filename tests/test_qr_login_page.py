"""The QR tab of the provider's own login page (docs/architecture.md §5 and §6), through HTTP: the
code as an SVG, the status long poll, and the finished login resuming the authorization request
like any other login."""

from __future__ import annotations

import re
import threading
import time

import pytest
from test_code_flow import verify_id_token

from idp.core.database import db
from idp.core.settings import current_settings

from conftest import authorization_request, csrf_from, hidden_value, query_of, redeem
from entity_fixtures import TRADER, give_role, load_entities
from qr_steps import app_call, app_login, register_bureau_app


@pytest.fixture
def bureau_app(app):
    return register_bureau_app(app)


@pytest.fixture
def app_token(app, person, bureau_app) -> str:
    return app_login(app, app.test_client(), bureau_app)["access_token"]


def open_qr_tab(client, rp) -> tuple[str, dict, object]:
    """The browser: the relying party's request lands on the login page; the person picks the QR tab."""
    request = authorization_request(rp)
    login_page = client.get(client.get("/authorize", query_string=request.params).headers["Location"])
    link = re.search(r'href="([^"]*)" id="qr-login-link"', login_page.get_data(as_text=True)).group(1)
    page = client.get(link.replace("&amp;", "&"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    qr = {"request": hidden_value(html, "request"), "interaction": hidden_value(html, "interaction"),
          "user_code": re.search(r'id="qr-user-code">([A-Z-]+)<', html).group(1), "csrf": csrf_from(html)}
    return html, qr, request


def status(client, qr: dict, since: str) -> dict:
    response = client.get("/login/qr/status", query_string={"request": qr["request"], "since": since})
    assert response.status_code == 200
    return response.get_json()


def complete(client, qr: dict):
    return client.post("/login/qr/complete", data={"csrf_token": qr["csrf"], "request": qr["request"],
                                                   "interaction": qr["interaction"]})


def test_login_page_offers_the_qr_tab_for_the_same_request(client, rp):
    html, qr, _ = open_qr_tab(client, rp)
    assert qr["interaction"]
    assert "<svg" in html and "<title>登录二维码</title>" in html
    assert "扫码登录" in html and 'id="qr-countdown"' in html
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", qr["user_code"])


def test_qr_page_is_never_cached(client, rp):
    response = client.get("/login/qr")
    assert response.headers["Cache-Control"] == "no-store"


def test_scanning_shows_on_the_page_and_approval_logs_the_browser_in(app, client, rp, app_token, person):
    """The page learns "scanned", then "approved"; completing resumes /authorize, and the code's
    ID token carries the app session's strength plus ``mca``."""
    _, qr, request = open_qr_tab(client, rp)
    assert status(client, qr, "")["status"] == "pending"
    assert app_call(client, "scan", app_token, user_code=qr["user_code"]).status_code == 200
    assert status(client, qr, "pending")["status"] == "scanned"
    assert app_call(client, "approve", app_token, user_code=qr["user_code"]).status_code == 200
    assert status(client, qr, "scanned")["status"] == "approved"
    resumed = complete(client, qr)
    assert resumed.headers["Location"].startswith("/authorize?")
    callback = client.get(resumed.headers["Location"])
    code = query_of(callback.headers["Location"])["code"]
    claims = verify_id_token(client, redeem(client, rp, code, request.verifier).get_json()["id_token"], rp)
    assert claims["sub"] == person["sub"]
    assert (claims["acr"], claims["amr"]) == ("urn:qdtax:loa:2", ["pwd", "sms", "mca", "mfa"])


def test_browser_login_inherits_the_app_sessions_enterprise(app, client, rp, person, bureau_app):
    load_entities(app)
    give_role(app, TRADER, "tax_officer")
    enterprise_token = app_login(app, app.test_client(), bureau_app, business_entry="enterprise")["access_token"]
    _, qr, request = open_qr_tab(client, rp)
    app_call(client, "scan", enterprise_token, user_code=qr["user_code"])
    app_call(client, "approve", enterprise_token, user_code=qr["user_code"])
    callback = client.get(complete(client, qr).headers["Location"])
    code = query_of(callback.headers["Location"])["code"]
    claims = verify_id_token(client, redeem(client, rp, code, request.verifier).get_json()["id_token"], rp)
    assert claims["business"] == "enterprise" and claims["entity"]["id"] == TRADER


def test_an_unapproved_or_spent_code_does_not_log_in(client, rp, app_token):
    _, qr, _ = open_qr_tab(client, rp)
    refused = complete(client, qr)
    assert "/login/qr?" in refused.headers["Location"] and "failed=1" in refused.headers["Location"]
    app_call(client, "scan", app_token, user_code=qr["user_code"])
    app_call(client, "approve", app_token, user_code=qr["user_code"])
    assert complete(client, qr).headers["Location"].startswith("/authorize?")
    assert "failed=1" in complete(client, qr).headers["Location"]


def test_another_browser_cannot_watch_or_complete_the_code(app, client, rp, app_token):
    _, qr, _ = open_qr_tab(client, rp)
    app_call(client, "scan", app_token, user_code=qr["user_code"])
    app_call(client, "approve", app_token, user_code=qr["user_code"])
    stranger = app.test_client()
    assert stranger.get("/login/qr/status", query_string={"request": qr["request"]}).status_code == 404
    page = stranger.get("/login/qr").get_data(as_text=True)
    stolen = stranger.post("/login/qr/complete", data={"csrf_token": csrf_from(page), "request": qr["request"]})
    assert "failed=1" in stolen.headers["Location"]
    assert stranger.get("/account").status_code != 200


def test_every_open_tab_keeps_its_code(client, rp):
    """One code per tab: a browser with a dozen tabs on the QR page watches all of them."""
    tabs = [open_qr_tab(client, rp)[1] for _ in range(12)]
    assert {status(client, qr, "")["status"] for qr in tabs} == {"pending"}


def test_a_denial_shows_on_the_page(client, rp, app_token):
    _, qr, _ = open_qr_tab(client, rp)
    app_call(client, "scan", app_token, user_code=qr["user_code"])
    app_call(client, "deny", app_token, user_code=qr["user_code"])
    assert status(client, qr, "scanned")["status"] == "denied"


def test_the_long_poll_answers_within_a_second_of_the_approval(app, client, rp, app_token):
    """The waiting request checks every 0.1 s, so the page hears of an approval at once; between
    checks it holds no database connection, which a few hundred open QR pages would use up."""
    _, qr, _ = open_qr_tab(client, rp)
    app_call(client, "scan", app_token, user_code=qr["user_code"])
    answered: dict = {}

    def wait() -> None:
        answered["status"] = status(client, qr, "scanned")["status"]
        answered["at"] = time.monotonic()

    waiter = threading.Thread(target=wait)
    waiter.start()
    with app.app_context():
        connections_in_use = []
        for _ in range(20):
            time.sleep(0.05)
            connections_in_use.append(db.engine.pool.checkedout())
    assert "status" not in answered  # it is still waiting
    assert 0 in connections_in_use
    approver = app.test_client()
    assert app_call(approver, "approve", app_token, user_code=qr["user_code"]).status_code == 200
    approved_at = time.monotonic()
    waiter.join(timeout=10)
    assert answered["status"] == "approved"
    assert answered["at"] - approved_at < 1.0


def test_open_qr_pages_never_take_every_serving_thread(app, client, rp, app_token):
    """Each waiting status check holds a thread, so a worker lets QR_WAITING_POLLS_PER_WORKER wait at
    once; one more answers at once and tells the page to ask again in a second."""
    _, qr, _ = open_qr_tab(client, rp)
    limit = current_settings(app).QR_WAITING_POLLS_PER_WORKER
    answers: list[dict] = []
    waiters = [threading.Thread(target=lambda: answers.append(status(client, qr, "pending"))) for _ in range(limit)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.5)
    assert answers == []  # all still waiting
    assert status(client, qr, "pending") == {"status": "pending", "expires_in": pytest.approx(115, abs=5),
                                             "ask_again_in": 1}
    app_call(client, "scan", app_token, user_code=qr["user_code"])
    for waiter in waiters:
        waiter.join(timeout=10)
    assert [(a["status"], a["ask_again_in"]) for a in answers] == [("scanned", 0)] * limit
    # The waiting places are free again.
    assert status(client, qr, "pending")["ask_again_in"] == 0


def test_verification_uri_explains_how_to_scan_and_reveals_nothing(client):
    page = client.get("/qr/anything-at-all").get_data(as_text=True)
    assert "青岛税务APP" in page
    assert client.get("/qr").status_code == 200


def test_switching_language_shows_the_same_code_and_only_the_refresh_link_issues_a_new_one(client, rp):
    """The page drawn again (the language link, a reload) keeps the code the person may be
    scanning; "刷新二维码" replaces it, and the new one is then kept in turn."""
    html, qr, _ = open_qr_tab(client, rp)
    switch = re.search(r'id="lang-switch" href="([^"]*)"', html).group(1).replace("&amp;", "&")
    english = client.get(client.get(switch).headers["Location"]).get_data(as_text=True)
    assert 'lang="en"' in english and "Sign in with a QR code" in english
    assert hidden_value(english, "request") == qr["request"] and f">{qr['user_code']}<" in english
    assert 'aria-label="Login QR code"' in english
    refresh = re.search(r'href="([^"]*)" id="qr-refresh"', english).group(1).replace("&amp;", "&")
    landing = client.get(refresh)
    assert landing.status_code == 302 and "fresh" not in landing.headers["Location"]
    renewed = client.get(landing.headers["Location"]).get_data(as_text=True)
    assert hidden_value(renewed, "request") != qr["request"]
    assert hidden_value(client.get(landing.headers["Location"]).get_data(as_text=True), "request") == \
        hidden_value(renewed, "request")


def test_the_page_links_the_app_with_the_payload_the_code_holds(client, rp):
    """"打开青岛税务APP" (shown on phones) opens the app through the payload's universal link."""
    html, qr, _ = open_qr_tab(client, rp)
    link = re.search(r'href="([^"]*)" id="open-app">打开青岛税务APP<', html).group(1)
    assert re.fullmatch(r"http://idp\.test/qr/[\w-]+", link)
    assert 'role="img" aria-label="登录二维码"' in html
