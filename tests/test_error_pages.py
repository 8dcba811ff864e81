"""No error handler fails itself (docs/architecture.md §3): whatever breaks while an error page is built, the
person gets a page in both languages with the error's own status, never a crash."""

from __future__ import annotations

import pytest
from test_database_outage import database_down

from idp.app import create_app
from idp.web.browser_session import DatabaseSessionInterface

from conftest import make_settings


@pytest.fixture
def provider(database_url, instance_dir, app):
    return create_app(make_settings(database_url, instance_dir))


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
