"""The demo e-tax app (``examples/etax_demo``) against the running provider, over HTTP.

A person's browser (``requests``) logs in to demo app A through the provider's pages, picks a
taxpayer, sees it on the app's page, switches taxpayer by token exchange (RFC 8693), signs in
to demo app B without a second login, logs out of A (RP-initiated logout), and B shows the
logout: the provider's back-channel logout token reaches B's receiver, which ends B's session.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

import pytest
import requests
from flask import Flask

from examples.etax_demo import DemoConfig, create_demo_app
from idp.protocol.backchannel_logout import deliver_due_logouts

from conftest import PASSWORD, csrf_from, hidden_value, register_client
from e2e.live_provider import LiveProvider, LiveServer, serve_on_free_port
from entity_fixtures import BUILDER, CLIENT, TRADER, give_role, load_entities

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@dataclass
class DemoApp:
    url: str
    app: Flask

    def local_sessions(self) -> int:
        return len(self.app.extensions["etax_demo.sessions"])


def start_demo_app(provider: LiveProvider, name: str) -> LiveServer:
    """A demo app on a free port, registered at the provider the way ``idp serve --demo`` does."""

    def build(url: str) -> Flask:
        registered = register_client(
            provider.app, name=name, redirect_uris=[f"{url}/callback"], post_logout_redirect_uris=[f"{url}/"],
            grant_types=["authorization_code", "refresh_token", TOKEN_EXCHANGE],
            backchannel_logout_uri=f"{url}/backchannel-logout", backchannel_logout_session_required=True)
        return create_demo_app(DemoConfig(issuer=provider.url, client_id=registered.client_id,
                                          client_secret=registered.client_secret, base_url=url, name=name))

    return serve_on_free_port(build)


@pytest.fixture
def demo_apps(live_provider: LiveProvider, person: dict) -> Iterator[tuple[DemoApp, DemoApp]]:
    load_entities(live_provider.app)
    give_role(live_provider.app, TRADER, "tax_officer")
    give_role(live_provider.app, BUILDER, "financial_officer")
    servers = [start_demo_app(live_provider, "演示电子税务局 A"), start_demo_app(live_provider, "演示电子税务局 B")]
    yield tuple(DemoApp(server.url, server.app) for server in servers)
    for server in servers:
        server.stop()


def field(page: requests.Response, element_id: str) -> str:
    """The text of the element with ``id`` on the demo app's page."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page.text, re.S)
    assert match, f"no #{element_id} on the page:\n{page.text}"
    return html.unescape(match.group(1)).strip()


def log_in(provider: LiveProvider, browser: requests.Session, start: str) -> requests.Response:
    """Follow the app's login link to the provider, do password + SMS, pick the tax officer
    role when asked; returns the app's page the browser lands on."""
    page = browser.get(start, timeout=10)
    assert page.url.startswith(f"{provider.url}/login?"), page.url
    sent = browser.post(f"{provider.url}/login", timeout=10, allow_redirects=False, data={
        "csrf_token": csrf_from(page.text), "interaction": hidden_value(page.text, "interaction"),
        "identifier": "zhangsan", "password": PASSWORD})
    sms_page = browser.get(urljoin(sent.url, sent.headers["Location"]), timeout=10)
    page = browser.post(f"{provider.url}/login/sms", timeout=10,
                        data={"csrf_token": csrf_from(sms_page.text), "code": provider.last_sms_code()})
    if page.url.startswith(f"{provider.url}/select"):
        keys = [chunk.split('"')[0] for chunk in page.text.split('name="choice" value="')[1:]]
        page = browser.post(f"{provider.url}/select", timeout=10, data={
            "csrf_token": csrf_from(page.text), "interaction": hidden_value(page.text, "interaction"),
            "business": hidden_value(page.text, "business"), "choice": next(k for k in keys if "tax_officer" in k)})
    return page


def post_form(browser: requests.Session, demo: DemoApp, page: requests.Response, path: str, **data):
    return browser.post(f"{demo.url}{path}", data={"csrf_token": hidden_value(page.text, "csrf_token"), **data},
                        timeout=10)


def test_demo_app_shows_the_login_switches_by_token_exchange_and_logs_out_everywhere(
        live_provider: LiveProvider, demo_apps):
    """OIDC Core 3.1 through authlib's Flask client, RFC 8693 switching, RP-Initiated Logout 1.0
    and Back-Channel Logout 1.0 as two relying parties of one provider session see them."""
    app_a, app_b = demo_apps
    browser = requests.Session()

    page = log_in(live_provider, browser, f"{app_a.url}/login?business_entry=enterprise")
    assert page.url == f"{app_a.url}/"
    assert field(page, "status") == "已登录 (logged in)"
    assert field(page, "name") == "张三"
    assert field(page, "acr") == "urn:qdtax:loa:2" and field(page, "amr") == "pwd sms mfa"
    assert field(page, "realname_level") == "4"
    assert field(page, "entity_id") == TRADER and field(page, "entity_name") == "青岛远洋贸易有限公司"
    assert field(page, "entity_role") == "办税员"  # as the provider's chooser says it, not tax_officer
    assert field(page, "tax_authority") == "国家税务总局青岛市市南区税务局 (13702030000)"
    assert "…" in field(page, "sub")  # masked, never the whole sub

    page = post_form(browser, app_a, page, "/switch/exchange", business="enterprise", entity=BUILDER)
    assert field(page, "notice") == "已切换纳税人 (switched by token exchange)"
    assert field(page, "entity_id") == BUILDER and field(page, "entity_role") == "财务负责人"
    assert field(page, "acr") == "urn:qdtax:loa:2", "switching is not a new login"

    refused = post_form(browser, app_a, page, "/switch/exchange", business="enterprise", entity=CLIENT)
    assert field(refused, "notice") == "切换失败 (invalid_target)"
    assert field(refused, "entity_id") == BUILDER

    # Single sign-on: app B gets the same provider session without any login page.
    page_b = browser.get(f"{app_b.url}/login", timeout=10)
    assert page_b.url == f"{app_b.url}/" and field(page_b, "name") == "张三"
    assert app_b.local_sessions() == 1

    logged_out = post_form(browser, app_a, refused, "/logout")
    assert logged_out.url.startswith(f"{app_a.url}/?state=")
    assert field(logged_out, "status") == "未登录 (not logged in)"
    assert field(logged_out, "notice") == "已退出登录 (logged out)"

    with live_provider.app.app_context():
        report = deliver_due_logouts()
    assert report.delivered == 2 and report.failed == 0  # one logout token to each app
    assert app_b.local_sessions() == 0, "B's receiver ended the session of the logged-out sid"
    assert field(browser.get(f"{app_b.url}/", timeout=10), "status") == "未登录 (not logged in)"


def test_app_without_back_channel_notices_the_logout_on_its_next_page_load(live_provider: LiveProvider, demo_apps):
    """The fallback check of every page load: after a logout elsewhere the provider refuses the
    app's access and refresh tokens, so the app ends its session even if no logout token came."""
    app_a, app_b = demo_apps
    browser = requests.Session()
    page = log_in(live_provider, browser, f"{app_a.url}/login?business_entry=enterprise")
    browser.get(f"{app_b.url}/login", timeout=10)
    post_form(browser, app_a, page, "/logout")  # no back-channel delivery in this test
    assert app_b.local_sessions() == 1
    page_b = browser.get(f"{app_b.url}/", timeout=10)
    assert field(page_b, "status") == "未登录 (not logged in)"
    assert "logged out at the provider" in field(page_b, "notice")


def test_backchannel_receiver_refuses_a_token_it_cannot_verify(demo_apps):
    """Back-Channel Logout 1.0 section 2.8: an invalid logout token gets 400, no session ends."""
    app_a, _ = demo_apps
    answer = requests.post(f"{app_a.url}/backchannel-logout", data={"logout_token": "not.a.jwt"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    assert answer.headers["Cache-Control"] == "no-store"


def test_serve_demo_seeds_two_apps_and_prints_commands_that_work(app):
    """``idp serve --demo``: both demo clients registered for their ports (token exchange,
    back-channel logout), printed secrets that authenticate, and taxpayers to choose between
    in every business entry; seeding again changes nothing but the secrets."""
    from idp.consent.choices import available_choices
    from idp.core.database import db
    from idp.dev.demo import seed_demo
    from idp.models import Client, Person

    with app.app_context():
        seed_demo(app)
        printed = seed_demo(app)
        commands = re.findall(r"python -m examples\.etax_demo --port (\d+) .*--client-id (\S+) --client-secret (\S+)",
                              printed)
        assert [port for port, _, _ in commands] == ["5001", "5002"]
        for port, client_id, secret in commands:
            client = db.session.execute(db.select(Client).filter_by(client_id=client_id)).scalar_one()
            assert client.check_client_secret(secret)
            assert client.redirect_uris == [f"http://127.0.0.1:{port}/callback"]
            assert client.post_logout_redirect_uris == [f"http://127.0.0.1:{port}/"]
            assert client.backchannel_logout_uri == f"http://127.0.0.1:{port}/backchannel-logout"
            assert TOKEN_EXCHANGE in client.grant_types and client.first_party
        assert db.session.execute(db.select(db.func.count()).select_from(Client)).scalar() == 2
        zhangsan = db.session.execute(db.select(Person).filter_by(username="zhangsan")).scalar_one()
        enterprise = available_choices(zhangsan, "enterprise")
        assert {(c.entity["id"], c.entity["role"]) for c in enterprise} == {
            (TRADER, "legal_representative"), (TRADER, "financial_officer"), (BUILDER, "tax_officer")}
        assert [c.entity["id"] for c in available_choices(zhangsan, "agent")] == [CLIENT]
        assert [c.entity["tax_authority"]["code"] for c in available_choices(zhangsan, "special_subject")] == [
            "13702140000"]


def test_serve_demo_registers_the_demo_apps_on_the_ports_it_is_given(app):
    """``idp serve --demo --demo-app-port 6101 --demo-app-port 6102`` (or the ports after another
    ``--port``): the clients and the printed commands follow, so the apps' logins are not refused."""
    from idp.core.database import db
    from idp.dev.demo import default_demo_app_ports, seed_demo
    from idp.models import Client

    assert default_demo_app_ports(8000) == (8001, 8002)
    with app.app_context():
        seed_demo(app)
        printed = seed_demo(app, (6101, 6102))
        commands = re.findall(r"python -m examples\.etax_demo --port (\d+) .*--client-id (\S+) ", printed)
        assert [port for port, _ in commands] == ["6101", "6102"]
        for port, client_id in commands:
            client = db.session.execute(db.select(Client).filter_by(client_id=client_id)).scalar_one()
            assert client.redirect_uris == [f"http://127.0.0.1:{port}/callback"]
        assert db.session.execute(db.select(db.func.count()).select_from(Client)).scalar() == 2
        assert "http://127.0.0.1:6101/" in printed and "选择办税身份" in printed and "企业业务" in printed


@pytest.mark.parametrize("options,message", [
    (["--demo-app-port", "6101"], "--demo-app-port needs --demo"),
    (["--demo", "--demo-app-port", "6101"], "give it twice"),
    (["--demo", "--port", "6101", "--demo-app-port", "6101", "--demo-app-port", "6102"],
     "apart from the provider's 6101"),
    (["--demo", "--port", "65535"], "use --demo-app-port twice"),
])
def test_serve_refuses_demo_app_ports_that_cannot_work(tmp_path, options, message):
    from click.testing import CliRunner

    from idp.cli.main import main

    result = CliRunner().invoke(main, ["serve", *options], env={"IDP_INSTANCE_DIR": str(tmp_path / "instance")})
    assert result.exit_code == 2 and message in result.output
    assert not list((tmp_path / "instance").glob("*.sqlite3"))  # refused before anything started
