"""No error handler fails itself (docs/architecture.md §3): whatever breaks while an error page is built, the
person gets a page in both languages with the error's own status, never a crash."""

from __future__ import annotations

import re

import pytest
from test_database_outage import database_down

from idp.app import create_app
from idp.web.browser_session import DatabaseSessionInterface

from conftest import make_settings


@pytest.fixture
def provider(database_url, instance_dir, app):
    return create_app(make_settings(database_url, instance_dir))


def csrf_of(client) -> str:
    """The token the certificate login page hands its script."""
    html = client.get("/login/certificate").get_data(as_text=True)
    return re.search(r'data-csrf="([^"]+)"', html).group(1)


def broken_catalogue(key: str, **params: object) -> str:
    raise RuntimeError("the message catalogue is broken")


def test_a_page_that_cannot_be_rendered_falls_back_to_plain_text_in_both_languages(provider):
    provider.jinja_env.globals["t"] = broken_catalogue
    answer = provider.test_client().get("/no-such-page")
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "页面不存在" in answer.get_data(as_text=True) and "Page not found" in answer.get_data(as_text=True)
    with database_down(provider):
        answer = provider.test_client().get("/authorize?client_id=x")
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert "系统暂时无法使用" in answer.get_data(as_text=True)
    assert "temporarily unavailable" in answer.get_data(as_text=True)


def test_a_session_that_could_not_be_opened_still_gets_an_error_page(provider, monkeypatch):
    """Flask has no session at all when opening it raised: the page, which asks the session for
    its language, cannot be rendered; the plain one answers."""

    def fails(self, app, request):
        raise RuntimeError("the session store is broken")

    monkeypatch.setattr(DatabaseSessionInterface, "open_session", fails)
    answer = provider.test_client().get("/login")
    assert answer.status_code == 500
    assert "系统繁忙" in answer.get_data(as_text=True) and "Something went wrong" in answer.get_data(as_text=True)


def test_a_page_script_is_answered_in_json_whatever_fails(provider, monkeypatch):
    """Issue 18: a caller that posts JSON (the certificate login's script) reads JSON back, so every
    error reaches it in the app API shape (docs/architecture.md §12.1) with its status: an address
    that does not exist, a method the address does not take, and a crash."""
    client = provider.test_client()
    missing = client.post("/login/certificate/nowhere", json={})
    assert missing.status_code == 404 and missing.is_json
    body = missing.get_json()
    assert body == {"error": "not_found", "error_description": "页面不存在", "message": "页面不存在"}

    wrong_method = client.put("/login/certificate/challenge", json={})
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"] == "invalid_request"
    assert wrong_method.get_json()["message"] == "请求无效"
    assert "POST" in wrong_method.headers["Allow"]

    def crashes():
        raise RuntimeError("a bug")

    monkeypatch.setitem(provider.view_functions, "certificate_login.challenge", crashes)
    crashed = client.post("/login/certificate/challenge", json={}, headers={"X-CSRFToken": csrf_of(client)},
                          query_string={"ui_locales": "en"})
    assert crashed.status_code == 500 and crashed.is_json
    assert crashed.get_json() == {"error": "server_error", "error_description": "Something went wrong; please "
                                  "try again later.", "message": "Something went wrong; please try again later."}


def test_back_channel_callers_get_rfc_6749_json_not_a_page(provider):
    """The protocol's JSON endpoints answer their own errors; what the pipeline refuses before them
    (a method they do not take) is JSON too, in RFC 6749 section 5.2's shape (an ASCII description)."""
    answer = provider.test_client().put("/token", data={"grant_type": "x"})
    assert answer.status_code == 405 and answer.is_json
    assert answer.get_json() == {"error": "invalid_request", "error_description": "Invalid request"}
    assert "POST" in answer.headers["Allow"]


def test_people_still_get_pages_for_the_same_errors(provider):
    client = provider.test_client()
    for answer, status in ((client.get("/nowhere"), 404), (client.put("/login/certificate/challenge"), 405)):
        assert answer.status_code == status and answer.mimetype == "text/html"
