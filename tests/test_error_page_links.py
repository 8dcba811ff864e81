"""Error pages are not dead ends (docs/architecture.md §12.1): the problem in plain words, 返回应用
with an OAuth error response only to a client's registered redirect URI, else 重新登录, the 12366
hotline, and the protocol code last, under 错误代码."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from idp.core.database import db
from idp.models import Client
from idp.protocol.client_registry import client_registry

from conftest import authorization_request, query_of


def link(html: str, element_id: str) -> str | None:
    found = re.search(rf'<a [^>]*id="{element_id}" href="([^"]*)"', html)
    return unescape(found[1]) if found else None


def start_login(client, rp, **extra) -> tuple[str, dict]:
    """The relying party sends the browser to /authorize; returns the interaction id and the request."""
    request = authorization_request(rp, **extra)
    response = client.get("/authorize", query_string=request.params)
    assert response.status_code == 302
    return query_of(response.headers["Location"])["interaction"], request.params


def refused_form(client, interaction: str):
    """The login form posted without its CSRF token, as a page left open past its session would."""
    return client.post("/login", data={"interaction": interaction, "identifier": "zhangsan", "password": "x"})


def test_an_invalid_request_shows_the_problem_first_and_its_code_last_with_no_way_back(client):
    response = client.get("/authorize", query_string={"client_id": "nobody", "response_type": "code",
                                                      "redirect_uri": "https://evil.test/cb", "state": "s1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "应用发来的登录请求无效" in html and "（invalid_client）" not in html
    assert html.index('id="message"') < html.index('错误代码：<code translate="no">invalid_client</code>')
    assert link(html, "return-to-app") is None and "返回应用" not in html
    assert 'href="https://evil.test' not in html
    assert link(html, "restart") == "/login" and "重新登录" in html
    assert "12366" in html


def test_a_known_client_and_its_registered_redirect_get_an_access_denied_answer(app, client, rp):
    interaction, params = start_login(client, rp)
    response = client.get("/no-such-page", query_string={"interaction": interaction})
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    back = link(html, "return-to-app")
    assert back is not None and "返回应用" in html
    parts = urlsplit(back)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == rp.redirect_uri
    assert parse_qs(parts.query) == {"error": ["access_denied"], "state": [params["state"]], "iss": ["http://idp.test"]}
    assert link(html, "restart") is None


def test_no_way_back_once_the_redirect_uri_is_no_longer_registered(app, client, rp):
    interaction, params = start_login(client, rp)
    with app.app_context():
        row = db.session.execute(select(Client).where(Client.client_id == rp.client_id)).scalar_one()
        row.redirect_uris = ["https://rp.test/elsewhere"]
        db.session.commit()
    client_registry(app).forget()
    html = client.get("/no-such-page", query_string={"interaction": interaction}).get_data(as_text=True)
    assert link(html, "return-to-app") is None and rp.redirect_uri not in html
    restart = link(html, "restart")
    assert restart is not None and restart.startswith("/authorize?")
    assert query_of(restart)["interaction"] == interaction and query_of(restart)["state"] == params["state"]


def test_no_way_back_for_a_client_that_is_gone(app, client, rp):
    interaction, _ = start_login(client, rp)
    with app.app_context():
        db.session.delete(db.session.execute(select(Client).where(Client.client_id == rp.client_id)).scalar_one())
        db.session.commit()
    client_registry(app).forget()
    html = client.get("/no-such-page", query_string={"interaction": interaction}).get_data(as_text=True)
    assert link(html, "return-to-app") is None and "重新登录" in html


def test_an_unknown_interaction_offers_the_login_page(client):
    html = client.get("/no-such-page", query_string={"interaction": "forged"}).get_data(as_text=True)
    assert link(html, "return-to-app") is None and link(html, "restart") == "/login"


def test_an_expired_form_offers_to_start_the_step_again_and_never_to_refresh(app, client, rp):
    interaction, params = start_login(client, rp)
    response = refused_form(client, interaction)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "页面已过期" in html and "刷新" not in html
    restart = link(html, "restart")
    assert restart is not None and "重新开始这一步" in html
    # The step again: the application's request resumed, which leads back to the login form (a GET).
    assert query_of(restart)["interaction"] == interaction
    assert client.get(restart).headers["Location"].startswith("/login?interaction=")
    back = link(html, "return-to-app")
    assert back is not None and query_of(back) == {"error": "access_denied", "state": params["state"],
                                                   "iss": "http://idp.test"}


def test_an_expired_form_without_an_application_offers_its_own_page_again(client):
    client.get("/login")
    html = client.post("/login", data={"identifier": "zhangsan", "password": "x"}).get_data(as_text=True)
    assert link(html, "restart") == "/login" and link(html, "return-to-app") is None


def test_an_expired_form_of_another_page_offers_that_page_again(client):
    client.get("/login")
    html = client.post("/password/forgot", data={"identifier": "zhangsan"}).get_data(as_text=True)
    assert "页面已过期" in html and link(html, "restart") == "/password/forgot"


def test_the_english_page_says_the_same_without_refresh(client):
    client.get("/lang/en?next=/login")
    html = client.post("/login", data={"identifier": "zhangsan", "password": "x"}).get_data(as_text=True)
    assert "This page has expired" in html and "reload" not in html and "refresh" not in html.lower()
    assert "Start this step again" in html and "12366" in html
