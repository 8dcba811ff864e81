"""The database down (docs/outages.md): OAuth endpoints answer RFC 6749 JSON 503s, pages a localized
503 page, discovery and the JWKS keep answering from memory, and everything works again once
the database is back, without a restart. No error handler may itself fail.

The database is made unreachable the way a stopped server looks to the provider: pooled
connections are closed and every new connection is refused. A real PostgreSQL stopped and
started under live nodes is in tests/faults/test_postgres_outage.py.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import event

from idp.app import create_app
from idp.core import dependency_outages
from idp.core.database import db
from idp.core.settings import load_settings

from conftest import DOC_NUMBER, make_settings, register_client, tokens_for


@contextmanager
def database_down(app) -> Iterator[None]:
    """Every connection of ``app``'s engines refused until the block ends."""
    with app.app_context():
        engines = list(db.engines.values())

    def refuse(dialect, record, cargs, cparams):
        raise dialect.loaded_dbapi.OperationalError("connection refused (the test stopped the database)")

    for engine in engines:
        engine.pool.dispose()
        event.listen(engine, "do_connect", refuse)
    try:
        yield
    finally:
        for engine in engines:
            event.remove(engine, "do_connect", refuse)


@pytest.fixture
def make_provider(database_url, instance_dir, app, monkeypatch) -> Iterator[Callable[..., Flask]]:
    """``make_provider(**settings)``: apps of this test's own, whose database the test may take
    away (their pools are closed at the end); no outage on record in this process."""
    monkeypatch.setattr(dependency_outages, "_outages", {})
    made: list[Flask] = []

    def make(**settings) -> Flask:
        made.append(create_app(make_settings(settings.pop("DATABASE_URL", database_url), instance_dir, **settings)))
        return made[-1]

    yield make
    for provider in made:
        with provider.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def provider(make_provider) -> Flask:
    return make_provider()


def assert_json_503(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert response.get_json()["error_description"]
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Cache-Control"] == "no-store"


def assert_page_503(response, text: str) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    assert text in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


def test_back_channel_endpoints_answer_json_503_with_retry_after(provider, app):
    rp = register_client(app)
    auth = rp.basic_auth
    client = provider.test_client()
    with database_down(provider):
        assert_json_503(client.post("/token", headers=auth, data={
            "grant_type": "authorization_code", "code": "x", "redirect_uri": rp.redirect_uri}))
        assert_json_503(client.post("/introspect", headers=auth, data={"token": "x"}))
        assert_json_503(client.post("/revoke", headers=auth, data={"token": "x"}))
        assert_json_503(client.post("/par", headers=auth, data={"response_type": "code"}))
        assert_json_503(client.post("/device_authorization", data={"client_id": rp.client_id}))
        answer = client.post("/api/registration/start", json={"doc_type": "ID_CARD", "doc_number": DOC_NUMBER,
                                                              "name": "张三"})
        assert_json_503(answer)
        assert "系统" in answer.get_json()["message"]  # the app shows this to the person


def test_userinfo_answers_json_503(provider, app, person):
    rp = register_client(app)
    access_token = tokens_for(app, app.test_client(), rp)["access_token"]
    with database_down(provider):
        assert_json_503(provider.test_client().get("/userinfo", headers={"Authorization": f"Bearer {access_token}"}))


def test_the_authorization_endpoint_shows_a_localized_503_page(provider, app):
    rp = register_client(app)
    query = {"client_id": rp.client_id, "response_type": "code", "redirect_uri": rp.redirect_uri, "scope": "openid"}
    client = provider.test_client()
    with database_down(provider):
        assert_page_503(client.get("/authorize", query_string=query), "系统暂时无法使用")
        assert_page_503(client.get("/authorize", query_string=query, headers={"Accept-Language": "en"}),
                        "temporarily unavailable")


def test_a_browser_whose_session_cannot_be_read_gets_the_503_page_in_its_language(provider, app):
    """The browser session (which also keeps the page language) is read from the database at the
    start of every request: the page falls back to the language cookie, and the session row and
    cookie stay as they were for when the database is back."""
    browser = provider.test_client()
    assert browser.get("/login").status_code == 200  # a session row and its cookie
    cookie = browser.get_cookie("idp_session").value
    browser.set_cookie("idp_lang", "en")
    with database_down(provider):
        page = browser.get("/authorize?client_id=x")
        assert_page_503(page, "temporarily unavailable")
        assert "set-cookie" not in {k.lower() for k in page.headers.keys()}
        assert_page_503(browser.post("/login", data={"identifier": "zhangsan", "password": "x"}),
                        "temporarily unavailable")
        assert browser.get("/static/idp.css").status_code == 200  # the page's style sheet
    assert browser.get_cookie("idp_session").value == cookie
    assert browser.get("/login").status_code == 200


def test_the_login_page_without_a_session_answers_503(provider, caplog):
    """The page itself needs no database, but it stores a new browser session (for its CSRF
    token) when the response is saved: that fails too, after the view, and is still a 503,
    logged once as the outage, not as a traceback per request."""
    with caplog.at_level(logging.INFO), database_down(provider):
        for _ in range(3):
            assert_page_503(provider.test_client().get("/login"), "系统暂时无法使用")
    assert [r.getMessage()[:40] for r in caplog.records if r.levelno >= logging.WARNING] == [
        "dependency outage: database is unreachab"]


def test_discovery_and_a_database_keyring_answer_from_memory(make_provider):
    """The keys are loaded at start: a worker publishes them even if the database goes away
    before anyone asked for them, and whatever the browser sends."""
    provider = make_provider(KEYRING_STORE="database", KEYRING_REFRESH_SECONDS=0)
    client = provider.test_client()
    with database_down(provider):
        # The first from the view, then from the published copy, then a conditional one (the view).
        during = [client.get("/jwks.json"), client.get("/jwks.json"),
                  client.get("/jwks.json", headers={"If-None-Match": "x"})]
        browser = provider.test_client()
        browser.set_cookie("idp_session", "a-session-that-cannot-be-read")
        during += [browser.get("/jwks.json"), browser.get("/.well-known/openid-configuration"),
                   client.get("/.well-known/openid-configuration")]
    assert [answer.status_code for answer in during] == [200] * 6
    keys = client.get("/jwks.json").get_json()
    assert keys["keys"] and all(answer.get_json() == keys for answer in during[:4])


def test_everything_works_again_once_the_database_is_back(provider, app, caplog):
    rp = register_client(app)
    client = provider.test_client()
    with caplog.at_level(logging.WARNING):
        with database_down(provider):
            for _ in range(3):
                assert client.post("/introspect", headers=rp.basic_auth, data={"token": "x"}).status_code == 503
        answer = client.post("/introspect", headers=rp.basic_auth, data={"token": "x"})
    assert answer.status_code == 200 and answer.get_json() == {"active": False}
    messages = [r.getMessage() for r in caplog.records]
    assert sum("dependency outage: database" in m for m in messages) == 1, messages
    assert sum("dependency recovered: database" in m for m in messages) == 1, messages


def test_a_database_that_never_answers_gets_a_503_within_the_connect_timeout(make_provider):
    """A server that accepts connections but never speaks (hung, or packets dropped on the way)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes the handshakes; nobody ever answers
        host, port = silent.getsockname()
        provider = make_provider(DATABASE_URL=f"postgresql://postgres@{host}:{port}/idp", DATABASE_CONNECT_TIMEOUT=2)
        answers: list = []
        asking = threading.Thread(target=lambda: answers.append(
            provider.test_client().post("/introspect", data={"token": "x"}, headers={"Authorization": "Basic eDp5"})),
            daemon=True)
        asking.start()
        asking.join(15)
    assert answers, "the request still waits for the database"
    assert_json_503(answers[0])


def test_a_connect_timeout_of_zero_which_would_wait_for_ever_is_refused():
    with pytest.raises(SystemExit, match="IDP_DATABASE_CONNECT_TIMEOUT"):
        load_settings({"DATABASE_CONNECT_TIMEOUT": 0, "SECRET_KEY": "x"})
