"""Login reaches the person, tokens are scoped to the chosen taxpayer (docs/domain.md §2.1-§2.5)."""

from __future__ import annotations

from joserfc import jwt
from joserfc.jwk import KeySet

from idp.core.database import db
from idp.taxpayers.entities import remove_role

from conftest import authorization_request, csrf_from, hidden_value, login_through_pages, query_of, redeem
from entity_fixtures import AGENCY, BUILDER, CLIENT, TRADER, give_role, load_entities


def claims_of(client, token: str) -> dict:
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json())).claims


def start(app, client, rp, **params):
    request = authorization_request(rp, **params)
    response = client.get("/authorize", query_string=request.params)
    if response.headers["Location"].startswith("/login"):
        response = client.get(login_through_pages(app, client, response.headers["Location"]).headers["Location"])
    return request, response


def choose(client, response, key_part: str):
    """On the choice page, pick the option whose key contains ``key_part``."""
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    keys = [chunk.split('"')[0] for chunk in html.split('name="choice" value="')[1:]]
    key = next(k for k in keys if key_part in k)
    return client.post("/select", data={"csrf_token": csrf_from(html), "interaction": hidden_value(html, "interaction"),
                                        "business": hidden_value(html, "business"), "choice": key})


def finish(app, client, rp, request, response) -> dict:
    while not response.headers["Location"].startswith(rp.redirect_uri):
        response = client.get(response.headers["Location"])
    code = query_of(response.headers["Location"])["code"]
    tokens = redeem(client, rp, code, request.verifier).get_json()
    return tokens


def log_in_for_the_builder(app, client, rp) -> dict:
    """zhangsan, financial officer of BUILDER and tax officer of TRADER, logs in for BUILDER."""
    load_entities(app)
    give_role(app, BUILDER, "financial_officer")
    give_role(app, TRADER, "tax_officer")
    request, response = start(app, client, rp, business_entry="enterprise")
    return finish(app, client, rp, request, choose(client, response, "financial_officer"))


def test_enterprise_entry_with_two_roles_asks_and_scopes_every_token(app, client, person, rp):
    """docs/domain.md §1.1, §1.8: enterprise login reaches through to the person, who picks the taxpayer."""
    load_entities(app)
    give_role(app, BUILDER, "financial_officer")
    give_role(app, TRADER, "tax_officer")
    request, response = start(app, client, rp, business_entry="enterprise")
    assert response.headers["Location"].startswith("/select")
    tokens = finish(app, client, rp, request, choose(client, response, "tax_officer"))
    expected = {"id": TRADER, "name": "青岛远洋贸易有限公司", "role": "tax_officer",
                "tax_authority": {"code": "13702030000", "name": "国家税务总局青岛市市南区税务局"}}
    id_claims, access_claims = claims_of(client, tokens["id_token"]), claims_of(client, tokens["access_token"])
    assert id_claims["business"] == access_claims["business"] == "enterprise"
    assert id_claims["entity"] == access_claims["entity"] == expected
    userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert userinfo["entity"] == expected and userinfo["business"] == "enterprise"


def test_a_single_choice_is_made_automatically(app, client, person, rp):
    load_entities(app)
    give_role(app, BUILDER, "legal_representative")
    request, response = start(app, client, rp, business_entry="enterprise")
    tokens = finish(app, client, rp, request, client.get(response.headers["Location"]))
    assert claims_of(client, tokens["id_token"])["entity"]["id"] == BUILDER


def test_no_role_gets_the_faqs_message_and_no_code(app, client, person, rp):
    load_entities(app)
    request, response = start(app, client, rp, business_entry="enterprise")
    page = client.get(response.headers["Location"])
    assert page.status_code == 403
    assert "未查询到您与该企业的关联关系信息" in page.get_data(as_text=True)


def test_a_pending_role_is_confirmed_at_the_next_login(app, client, person, rp):
    """docs/domain.md §2.3: a person added to an enterprise confirms the link on their next login."""
    load_entities(app)
    give_role(app, BUILDER, "tax_officer", confirmed=False)
    request, response = start(app, client, rp, business_entry="enterprise")
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "确认企业关联关系" in html
    role_field = html.split('name="role-')[1].split('"')[0]
    confirmed = client.post("/select/roles", data={"csrf_token": csrf_from(html), f"role-{role_field}": "confirm",
                                                    "interaction": hidden_value(html, "interaction")})
    tokens = finish(app, client, rp, request, client.get(confirmed.headers["Location"]))
    assert claims_of(client, tokens["id_token"])["entity"]["role"] == "tax_officer"


def test_agent_login_names_the_client_and_carries_an_act_claim(app, client, person, rp):
    load_entities(app)
    give_role(app, AGENCY, "agent_staff")
    request, response = start(app, client, rp, business_entry="agent")
    tokens = finish(app, client, rp, request, client.get(response.headers["Location"]))
    claims = claims_of(client, tokens["access_token"])
    assert claims["business"] == "agent"
    assert claims["entity"]["id"] == CLIENT and claims["entity"]["role"] == "agent"
    assert claims["act"] == {"sub": AGENCY, "name": "青岛信达税务师事务所"}


def test_special_subject_carries_the_cross_region_tax_authority(app, client, person, rp):
    """docs/domain.md §1.12: cross-region taxpayers log in through the special-subject entry."""
    load_entities(app)
    give_role(app, BUILDER, "tax_officer")
    request, response = start(app, client, rp, business_entry="special_subject")
    tokens = finish(app, client, rp, request, choose(client, response, ":"))
    entity = claims_of(client, tokens["id_token"])["entity"]
    assert entity["id"] == BUILDER
    assert entity["tax_authority"]["code"] in {"13702140000", "13702150000"}
    assert entity["registration"]["kind"] in {"report_inspection", "cross_region_tax_source"}


def test_prompt_select_account_switches_without_logging_in_again(app, client, person, rp):
    log_in_for_the_builder(app, client, rp)
    second, response = start(app, client, rp, business_entry="enterprise", prompt="select_account")
    assert response.headers["Location"].startswith("/select")
    tokens = finish(app, client, rp, second, choose(client, response, "tax_officer"))
    assert claims_of(client, tokens["id_token"])["entity"]["id"] == TRADER


def test_each_choice_names_the_taxpayer_its_masked_number_the_role_and_the_tax_authority(app, client, person, rp):
    """Issue 18, finding 12: one entry per taxpayer with its facts apart, not one joined line; the
    number masked as document numbers are (docs/domain.md §3.4)."""
    log_in_for_the_builder(app, client, rp)
    _, response = start(app, client, rp, business_entry="enterprise", prompt="select_account")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    trader = html[html.index("青岛远洋贸易有限公司"):]
    trader = trader[:trader.index("</label>")]
    assert "纳税人识别号：9111**********341L" in trader and TRADER not in html
    assert "身份：办税员" in trader and "主管税务机关：国家税务总局青岛市市南区税务局" in trader
    assert html.count('<span class="badge">当前身份</span>') == 1  # the builder, chosen at login


def test_turning_back_from_the_switch_tells_the_app_access_denied_and_keeps_the_taxpayer(app, client, person, rp):
    """Issue 18, finding 12: the chooser opened by prompt=select_account has a way back; the app
    hears access_denied (RFC 6749 section 4.1.2.1) and the session still acts for the earlier taxpayer."""
    log_in_for_the_builder(app, client, rp)
    second, response = start(app, client, rp, business_entry="enterprise", prompt="select_account")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "取消，返回“测试应用”" in html
    back = client.post("/select/cancel", data={"csrf_token": csrf_from(html),
                                               "interaction": hidden_value(html, "interaction")})
    back = client.get(back.headers["Location"])
    assert back.headers["Location"].startswith(rp.redirect_uri)
    answer = query_of(back.headers["Location"])
    assert answer["error"] == "access_denied" and answer["state"] == second.params["state"]
    again, response = start(app, client, rp)
    tokens = finish(app, client, rp, again, response)
    assert claims_of(client, tokens["id_token"])["entity"]["id"] == BUILDER


def test_the_switch_opened_from_the_account_centre_leads_back_there(app, client, person, rp):
    log_in_for_the_builder(app, client, rp)
    html = client.get("/select").get_data(as_text=True)
    assert '<a href="/account" id="select-back">返回账户中心</a>' in html and "select-cancel" not in html


def test_a_removed_role_ends_the_grant_at_refresh(app, client, person, rp):
    """Refresh re-checks the role: never a token for a taxpayer the person no longer acts for."""
    load_entities(app)
    give_role(app, BUILDER, "legal_representative")
    request, response = start(app, client, rp, business_entry="enterprise")
    tokens = finish(app, client, rp, request, client.get(response.headers["Location"]))
    with app.app_context():
        from idp.models import EntityRole

        db.session.query(EntityRole).update({"status": "removed"})
        db.session.commit()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    refreshed = client.post("/token", headers=rp.basic_auth, data={"grant_type": "refresh_token",
                                                                    "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    # The grant ended with the refusal, and stays ended: its access token stops working too.
    assert client.get("/userinfo", headers=bearer).status_code == 401


def test_removing_a_role_by_command_revokes_the_grant_at_once(app, client, person, rp):
    load_entities(app)
    give_role(app, BUILDER, "legal_representative")
    request, response = start(app, client, rp, business_entry="enterprise")
    tokens = finish(app, client, rp, request, client.get(response.headers["Location"]))
    with app.app_context():
        remove_role("zhangsan", BUILDER, "legal_representative")
        db.session.commit()
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401


def test_single_sign_on_does_not_carry_a_removed_role_to_another_app(app, client, person, rp):
    """The browser's choice of taxpayer outlives the role: the next app asks again instead."""
    from conftest import register_client

    log_in_for_the_builder(app, client, rp)
    with app.app_context():
        remove_role("zhangsan", BUILDER, "financial_officer")
        db.session.commit()
    other = register_client(app, name="另一个应用")
    silent = client.get("/authorize", query_string=authorization_request(other, prompt="none").params)
    assert query_of(silent.headers["Location"])["error"] == "account_selection_required"
    request, response = start(app, client, other)
    assert response.headers["Location"].startswith("/select")
    # The one taxpayer left is taken without asking, as at a first login with one role.
    tokens = finish(app, client, other, request, response)
    assert claims_of(client, tokens["access_token"])["entity"]["id"] == TRADER


def test_relying_party_can_restrict_the_entries(app, client, person, rp):
    load_entities(app)
    give_role(app, BUILDER, "legal_representative")
    request, response = start(app, client, rp, business_entries="enterprise")
    page = client.get(response.headers["Location"], follow_redirects=False)
    assert page.status_code in (200, 302)
    html = client.get("/select?business=natural_person&interaction=" +
                      query_of(response.headers["Location"])["interaction"]).get_data(as_text=True)
    assert 'id="entry-natural_person"' not in html


def test_forged_choice_for_an_entity_without_role_is_refused(app, client, person, rp):
    load_entities(app)
    give_role(app, BUILDER, "financial_officer")
    give_role(app, TRADER, "tax_officer")
    request, response = start(app, client, rp, business_entry="enterprise")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    forged = client.post("/select", data={"csrf_token": csrf_from(html),
                                          "interaction": hidden_value(html, "interaction"),
                                          "business": "enterprise", "choice": "e:99999:legal_representative"})
    assert forged.status_code == 403


EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"


def exchanging_rp(app):
    from conftest import register_client

    return register_client(app, grant_types=["authorization_code", "refresh_token", EXCHANGE])


def exchange(client, rp, access_token: str, **target):
    return client.post("/token", headers=rp.basic_auth, data={
        "grant_type": EXCHANGE, "subject_token": access_token, "subject_token_type": ACCESS, **target})


def test_token_exchange_switches_taxpayer_keeping_the_login_context(app, client, person):
    """RFC 8693: the current access token buys tokens for another taxpayer, no new login."""
    rp = exchanging_rp(app)
    tokens = log_in_for_the_builder(app, client, rp)
    switched = exchange(client, rp, tokens["access_token"], entity=TRADER)
    assert switched.status_code == 200, switched.get_json()
    body = switched.get_json()
    assert body["issued_token_type"] == ACCESS
    before, after = claims_of(client, tokens["id_token"]), claims_of(client, body["access_token"])
    assert after["entity"]["id"] == TRADER and after["entity"]["role"] == "tax_officer"
    assert (after["auth_time"], after["acr"], after["amr"]) == (before["auth_time"], before["acr"], before["amr"])
    assert claims_of(client, body["id_token"])["entity"]["id"] == TRADER
    # The previous grant has ended.
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401


def test_token_exchange_switches_the_competent_tax_authority_of_a_special_subject(app, client, person):
    """docs/domain.md §1.12: a special subject switches its competent tax authority from the account menu."""
    rp = exchanging_rp(app)
    load_entities(app)
    give_role(app, BUILDER, "tax_officer")
    request, response = start(app, client, rp, business_entry="special_subject")
    tokens = finish(app, client, rp, request, choose(client, response, ":"))
    current = claims_of(client, tokens["access_token"])["entity"]["tax_authority"]["code"]
    other = ({"13702140000", "13702150000"} - {current}).pop()
    switched = exchange(client, rp, tokens["access_token"], business="special_subject", entity=BUILDER,
                        tax_authority=other).get_json()
    assert claims_of(client, switched["access_token"])["entity"]["tax_authority"]["code"] == other


def test_token_exchange_is_refused_for_a_taxpayer_without_confirmed_role(app, client, person):
    rp = exchanging_rp(app)
    load_entities(app)
    give_role(app, BUILDER, "financial_officer")
    give_role(app, TRADER, "tax_officer", confirmed=False)
    request, response = start(app, client, rp, business_entry="enterprise")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    role_id = html.split('name="role-')[1].split('"')[0]
    confirmed = client.post("/select/roles", data={"csrf_token": csrf_from(html), f"role-{role_id}": "decline",
                                                    "interaction": hidden_value(html, "interaction")})
    tokens = finish(app, client, rp, request, client.get(confirmed.headers["Location"]))
    for target in ({"entity": TRADER}, {"entity": CLIENT}, {"business": "agent", "entity": CLIENT}):
        refused = exchange(client, rp, tokens["access_token"], **target)
        assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_target", target


def test_token_exchange_needs_an_active_access_token_of_the_same_client(app, client, person, rp):
    other = exchanging_rp(app)
    load_entities(app)
    give_role(app, BUILDER, "financial_officer")
    request, response = start(app, client, rp, business_entry="enterprise")
    tokens = finish(app, client, rp, request, client.get(response.headers["Location"]))
    assert exchange(client, other, tokens["access_token"], entity=BUILDER).get_json()["error"] == "invalid_grant"
    assert exchange(client, other, "garbage", entity=BUILDER).get_json()["error"] == "invalid_grant"
    assert exchange(client, rp, tokens["access_token"], entity=BUILDER).get_json()["error"] == "unauthorized_client"


def test_the_login_page_offers_the_four_business_entries_and_honours_the_choice(app, client, person, rp):
    """docs/domain.md §1.8: the personal password serves the enterprise, natural-person and agent entries."""
    from conftest import PASSWORD, last_sms_code

    load_entities(app)
    give_role(app, BUILDER, "legal_representative")
    request = authorization_request(rp)
    login_page = client.get(client.get("/authorize", query_string=request.params).headers["Location"])
    html = login_page.get_data(as_text=True)
    for entry in ("natural_person", "enterprise", "agent", "special_subject"):
        assert f'id="business-{entry}"' in html
    assert 'value="natural_person" id="business-natural_person" checked' in html
    client.post("/login", data={"csrf_token": csrf_from(html), "interaction": hidden_value(html, "interaction"),
                                "identifier": "zhangsan", "password": PASSWORD, "business": "enterprise"})
    sms = client.get("/login/sms").get_data(as_text=True)
    back = client.post("/login/sms", data={"csrf_token": csrf_from(sms), "code": last_sms_code(app)})
    tokens = finish(app, client, rp, request, client.get(back.headers["Location"]))
    claims = claims_of(client, tokens["id_token"])
    assert claims["business"] == "enterprise" and claims["entity"]["id"] == BUILDER
