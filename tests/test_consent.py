"""Consent (docs/architecture.md §5.5): first-party clients skip it; third-party clients ask once per scope
set, the decision is persisted and revocable, and prompt=consent always asks."""

from __future__ import annotations

from conftest import (
    authorization_request,
    csrf_from,
    hidden_value,
    login_through_pages,
    query_of,
    redeem,
    register_client,
)


def third_party(app):
    return register_client(app, name="第三方记账软件", first_party=False)


def authorize(app, client, rp, **params):
    request = authorization_request(rp, **params)
    response = client.get("/authorize", query_string=request.params)
    if response.headers["Location"].startswith("/login"):
        response = client.get(login_through_pages(app, client, response.headers["Location"]).headers["Location"])
    return request, response


def decide(client, response, decision: str):
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    answer = client.post("/consent", data={"csrf_token": csrf_from(html),
                                           "interaction": hidden_value(html, "interaction"),
                                           "decision": decision})
    return html, client.get(answer.headers["Location"])


def test_first_party_clients_get_a_code_without_a_consent_page(app, client, person, rp):
    _, response = authorize(app, client, rp)
    assert response.headers["Location"].startswith(rp.redirect_uri)


def test_third_party_client_asks_once_and_remembers(app, client, person):
    rp = third_party(app)
    request, response = authorize(app, client, rp)
    assert response.headers["Location"].startswith("/consent")
    html, back = decide(client, response, "allow")
    assert "第三方记账软件" in html and "手机号码" in html and "姓名和用户名" in html
    code = query_of(back.headers["Location"])["code"]
    assert redeem(client, rp, code, request.verifier).status_code == 200
    _, again = authorize(app, client, rp)
    assert again.headers["Location"].startswith(rp.redirect_uri)


def test_denying_consent_returns_access_denied(app, client, person):
    rp = third_party(app)
    request, response = authorize(app, client, rp)
    _, back = decide(client, response, "deny")
    params = query_of(back.headers["Location"])
    assert params["error"] == "access_denied" and params["state"] == request.params["state"]


def test_prompt_consent_always_asks(app, client, person):
    rp = third_party(app)
    _, response = authorize(app, client, rp)
    decide(client, response, "allow")
    _, response = authorize(app, client, rp, prompt="consent")
    assert response.headers["Location"].startswith("/consent")


def test_prompt_none_without_consent_is_consent_required(app, client, person):
    rp = third_party(app)
    authorize(app, client, rp)  # logs in, leaves the consent page unanswered
    _, response = authorize(app, client, rp, prompt="none")
    assert query_of(response.headers["Location"])["error"] == "consent_required"


def test_a_wider_scope_set_asks_again(app, client, person):
    rp = third_party(app)
    _, response = authorize(app, client, rp, scope="openid")
    decide(client, response, "allow")
    _, response = authorize(app, client, rp, scope="openid phone")
    assert response.headers["Location"].startswith("/consent")


def test_revoking_consent_ends_the_clients_tokens(app, client, person):
    rp = third_party(app)
    request, response = authorize(app, client, rp)
    _, back = decide(client, response, "allow")
    tokens = redeem(client, rp, query_of(back.headers["Location"])["code"], request.verifier).get_json()
    page = client.get("/consents").get_data(as_text=True)
    assert "第三方记账软件" in page
    # What the consent releases, in words: never the scope names (issue 18, finding 10).
    assert "可获取：您的账户标识和实名等级、手机号码、姓名和用户名" in page and "openid" not in page
    client.post("/consents/revoke", data={"csrf_token": csrf_from(page), "client_id": rp.client_id})
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401
    _, response = authorize(app, client, rp)
    assert response.headers["Location"].startswith("/consent")


def test_the_account_centre_links_to_the_consents_and_the_taxpayer_choice(app, client, person, rp):
    authorize(app, client, rp)
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/consents"' in page and 'href="/select"' in page


def withdraw(client, rp) -> None:
    page = client.get("/consents").get_data(as_text=True)
    client.post("/consents/revoke", data={"csrf_token": csrf_from(page), "client_id": rp.client_id})


def listed_consents(client) -> int:
    return client.get("/consents").get_data(as_text=True).count('class="consent-record"')


def test_allowing_again_after_withdrawing_logs_in_and_lists_the_consent(app, client, person):
    rp = third_party(app)
    _, response = authorize(app, client, rp)
    decide(client, response, "allow")
    withdraw(client, rp)
    assert listed_consents(client) == 0
    request, response = authorize(app, client, rp)
    _, back = decide(client, response, "allow")
    assert back.headers["Location"].startswith(rp.redirect_uri)
    code = query_of(back.headers["Location"])["code"]
    assert redeem(client, rp, code, request.verifier).status_code == 200
    page = client.get("/consents").get_data(as_text=True)
    assert "第三方记账软件" in page and listed_consents(client) == 1
    _, again = authorize(app, client, rp)
    assert again.headers["Location"].startswith(rp.redirect_uri)


def test_withdrawing_a_client_id_no_client_could_have_changes_nothing(app, client, person):
    rp = third_party(app)
    _, response = authorize(app, client, rp)
    decide(client, response, "allow")
    page = client.get("/consents").get_data(as_text=True)
    for client_id in ("Z" * 65, "a\x00b"):
        answer = client.post("/consents/revoke", data={"csrf_token": csrf_from(page), "client_id": client_id})
        assert answer.status_code == 302
    assert listed_consents(client) == 1
