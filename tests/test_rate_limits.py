"""Per-IP limits on credential guessing and SMS sending (docs/architecture.md §10), and on the QR
login page's fresh codes."""

from __future__ import annotations

import ipaddress
import re
import secrets

import pytest
import redis
from sqlalchemy import func, select

from idp.app import create_app
from idp.core.database import db
from idp.models import CertificateChallenge

from conftest import csrf_from, make_settings


def post_login(client, identifier: str = "nobody"):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"csrf_token": csrf_from(page), "identifier": identifier, "password": "x"})


def test_the_login_form_answers_429_past_the_limit(database_url, instance_dir, app):
    limited = create_app(make_settings(database_url, instance_dir, LOGIN_RATE_LIMIT="3 per minute"))
    client = limited.test_client()
    assert [post_login(client).status_code for _ in range(3)] == [400, 400, 400]
    refused = post_login(client)
    assert refused.status_code == 429
    assert "请求过于频繁" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"]


def test_the_limit_is_shared_by_every_guessing_endpoint(database_url, instance_dir, app):
    limited = create_app(make_settings(database_url, instance_dir, LOGIN_RATE_LIMIT="2 per minute"))
    client = limited.test_client()
    post_login(client)
    assert client.post("/api/registration/start", json={}).status_code != 429
    refused = client.post("/api/registration/start", json={})
    assert refused.status_code == 429 and refused.get_json()["error"] == "too_many_requests"


def test_workers_share_counters_through_redis(database_url, instance_dir, app):
    """With REDIS_URL two workers (two app instances here) draw on one budget."""
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (start it with .ci/services)")
    settings = make_settings(database_url, instance_dir, LOGIN_RATE_LIMIT="3 per minute", REDIS_URL=url)
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    # A client address of this run's own: its budget starts full, and runs sharing this Redis (the
    # SQLite and PostgreSQL passes of .ci/test run at once) never count each other's requests.
    address = str(ipaddress.IPv6Address("2001:db8::") + secrets.randbits(64))
    for worker in (first, second):
        worker.environ_base["REMOTE_ADDR"] = address
    statuses = [post_login(worker).status_code for worker in (first, second, first, second)]
    assert statuses == [400, 400, 400, 429]


def test_qr_login_pages_have_a_budget_of_their_own(database_url, instance_dir, app):
    """Each QR login page stores a new code: one address gets QR_PAGE_RATE_LIMIT of them, and
    spending that budget leaves the login form's alone."""
    limited = create_app(make_settings(database_url, instance_dir, QR_PAGE_RATE_LIMIT="2 per minute",
                                       LOGIN_RATE_LIMIT="2 per minute"))
    client = limited.test_client()
    assert [client.get("/login/qr").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/login/qr")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert "请求过于频繁" in refused.get_data(as_text=True)
    assert post_login(client).status_code == 400  # a wrong password, not 429


def test_a_script_posting_json_is_told_in_json_with_retry_after(database_url, instance_dir, app):
    """Issue 18: past the limit, a caller that reads JSON (a page's own script posts JSON, as the
    certificate login's does) gets the app API shape (docs/architecture.md §12.1), not the page."""
    limited = create_app(make_settings(database_url, instance_dir, LOGIN_RATE_LIMIT="1 per minute"))
    client = limited.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    post_login(client)
    refused = client.post("/login", json={}, headers={"X-CSRFToken": token}, query_string={"ui_locales": "en"})
    assert refused.status_code == 429 and refused.is_json
    assert refused.get_json() == {"error": "too_many_requests", "error_description": "Too many requests; please "
                                  "wait a moment.", "message": "Too many requests; please wait a moment."}
    assert int(refused.headers["Retry-After"]) > 0


def certificate_page_under_a_small_budget(database_url, instance_dir):
    """A provider allowing two login attempts a minute, a browser on its certificate login page,
    and the page's CSRF token."""
    limited = create_app(make_settings(database_url, instance_dir, LOGIN_RATE_LIMIT="2 per minute"))
    client = limited.test_client()
    page = client.get("/login/certificate").get_data(as_text=True)
    return limited, client, re.search(r'data-csrf="([^"]+)"', page).group(1)


def test_certificate_login_draws_on_the_login_budget(database_url, instance_dir, app):
    """Its answer is a login attempt, and its person step checks a password or sends an SMS: past
    the budget the page's script is told in JSON, the person step's form by the page."""
    limited, client, token = certificate_page_under_a_small_budget(database_url, instance_dir)
    answers = [client.post("/login/certificate", json={}, headers={"X-CSRFToken": token}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [400, 400, 429]
    assert answers[2].get_json()["message"] == "请求过于频繁，请稍后再试" and answers[2].headers["Retry-After"]
    person_step = client.post("/login/certificate/person", data={"csrf_token": token, "person": "x", "password": "x"})
    assert person_step.status_code == 429 and "请求过于频繁" in person_step.get_data(as_text=True)


def test_certificate_challenges_draw_on_the_login_budget(database_url, instance_dir, app):
    """Each challenge is stored for anyone who asks: a script asking in a loop is refused past the
    budget, in JSON, and stores no more."""
    limited, client, token = certificate_page_under_a_small_budget(database_url, instance_dir)
    answers = [client.post("/login/certificate/challenge", json={}, headers={"X-CSRFToken": token}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].get_json()["error"] == "too_many_requests"
    with limited.app_context():
        assert db.session.execute(select(func.count()).select_from(CertificateChallenge)).scalar_one() == 2
