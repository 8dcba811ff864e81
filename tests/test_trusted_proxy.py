"""Behind reverse proxies (``TRUSTED_PROXY_HOPS``): the client's address and scheme come from the
headers the trusted proxies wrote, and from nothing a client can send itself."""

from __future__ import annotations

from sqlalchemy import select

from idp.app import create_app
from idp.core.database import db
from idp.models import AuditEvent

from conftest import PASSWORD, csrf_from, make_settings

PROXY = "10.0.0.2"
CITIZEN_A, CITIZEN_B = "203.0.113.7", "203.0.113.8"
#: What the proxy forwards to: plain http, with the public Host (nginx's ``proxy_set_header Host $host``).
BEHIND_TLS_PROXY = "http://idp.example"


def provider(database_url, instance_dir, hops: int):
    return create_app(make_settings(database_url, instance_dir, TRUSTED_PROXY_HOPS=hops,
                                    LOGIN_RATE_LIMIT="2 per minute"))


def via_proxy(app, forwarded_for: str, **headers: str):
    """A test client whose every request arrives from PROXY carrying these forwarded headers."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for,
                               **{"HTTP_" + name.upper(): value for name, value in headers.items()})
    return client


def audited_addresses(app) -> list[str]:
    """The ``ip`` of every failed-password audit row, oldest first."""
    with app.app_context():
        query = select(AuditEvent.ip).where(AuditEvent.event == "login.password").order_by(AuditEvent.id)
        return list(db.session.execute(query).scalars())


def wrong_password(client, identifier: str = "nobody"):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"csrf_token": csrf_from(page), "identifier": identifier, "password": "x"})


def test_citizens_behind_one_proxy_have_separate_rate_limit_budgets(database_url, instance_dir, app):
    proxied = provider(database_url, instance_dir, hops=1)
    first, second = via_proxy(proxied, CITIZEN_A), via_proxy(proxied, CITIZEN_B)
    assert [wrong_password(first).status_code for _ in range(3)] == [400, 400, 429]
    assert wrong_password(second).status_code == 400


def test_the_audit_row_records_the_forwarded_client_address(database_url, instance_dir, app):
    proxied = provider(database_url, instance_dir, hops=1)
    wrong_password(via_proxy(proxied, CITIZEN_A))
    assert audited_addresses(app) == [CITIZEN_A]


def test_without_trusted_hops_a_forwarded_for_header_is_ignored(database_url, instance_dir, app):
    direct = provider(database_url, instance_dir, hops=0)
    statuses = [wrong_password(via_proxy(direct, f"203.0.113.{n}")).status_code for n in range(3)]
    assert statuses == [400, 400, 429]
    assert audited_addresses(app) == [PROXY, PROXY]


def test_only_the_address_the_trusted_proxy_appended_is_taken(database_url, instance_dir, app):
    proxied = provider(database_url, instance_dir, hops=1)
    statuses = [wrong_password(via_proxy(proxied, f"198.51.100.{n}, {CITIZEN_A}")).status_code for n in range(3)]
    assert statuses == [400, 400, 429]
    assert audited_addresses(app) == [CITIZEN_A, CITIZEN_A]


def test_a_tls_terminating_proxy_makes_protocol_requests_https(database_url, instance_dir, app, rp):
    """authlib refuses OAuth requests whose URL is plain http on a public host."""
    proxied = provider(database_url, instance_dir, hops=1)
    client = via_proxy(proxied, CITIZEN_A, x_forwarded_proto="https")
    form = {"grant_type": "authorization_code", "code": "unknown", "redirect_uri": rp.redirect_uri}
    response = client.post("/token", base_url=BEHIND_TLS_PROXY, headers=rp.basic_auth, data=form)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_forms_posted_over_https_must_come_from_our_own_pages(database_url, instance_dir, app, person):
    """Over https flask-wtf also checks the Referer of a form post: our pages send it to their own
    origin (Referrer-Policy: same-origin), a post from elsewhere or without one is refused."""
    proxied = provider(database_url, instance_dir, hops=1)
    client = via_proxy(proxied, CITIZEN_A, x_forwarded_proto="https")
    page = client.get("/login", base_url=BEHIND_TLS_PROXY)
    assert page.headers["Referrer-Policy"] == "same-origin"
    form = {"csrf_token": csrf_from(page.get_data(as_text=True)), "identifier": person["username"],
            "password": PASSWORD}
    for referer in ({}, {"Referer": "https://elsewhere.example/login"}):
        refused = client.post("/login", base_url=BEHIND_TLS_PROXY, data=form, headers=referer)
        assert refused.status_code == 400
    response = client.post("/login", base_url=BEHIND_TLS_PROXY, data=form,
                           headers={"Referer": "https://idp.example/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login/sms"
