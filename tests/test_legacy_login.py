"""The old enterprise login of the dual-track transition, through HTTP (docs/legacy-login.md; docs/domain.md §1.2
"Dual-track: the old login stays usable for a transition period", docs/domain.md §1.8 "the enterprise password
is gone" after it; docs/domain.md §13: loa:1, only until the sunset date)."""

from __future__ import annotations

import dataclasses
import hashlib
import html as html_lib
import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.app import create_app
from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors.password import HASH_PROFILES, Argon2idHasher
from idp.models import AuditEvent, LegacyAccountLockout, LegacyEnterpriseAccount, LoginSession
from idp.taxpayers.legacy_import import import_legacy_accounts, read_rows

from conftest import (
    authorization_request,
    csrf_from,
    make_settings,
    query_of,
    redeem,
    register_client,
    tokens_for,
)

LOA1, LOA2 = "urn:qdtax:loa:1", "urn:qdtax:loa:2"
TRADER = "91110000600037341L"
SALT = bytes.fromhex("0011223344556677")
OLD_PASSWORD = "Qiye#Old1"
TRADER_CLAIM = {"id": TRADER, "name": "青岛远洋贸易有限公司", "role": "legacy_enterprise_account",
                "tax_authority": {"code": "13702030000", "name": "国家税务总局青岛市市南区税务局"}}


def shanghai_today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def set_sunset(app, monkeypatch, day: date | None) -> None:
    monkeypatch.setitem(app.config, "IDP", dataclasses.replace(
        current_settings(app), LEGACY_LOGIN_SUNSET=day.isoformat() if day else ""))


@pytest.fixture
def legacy_account(app, monkeypatch) -> dict:
    """An imported old login (salted SHA-256 hash of the old system) during the transition."""
    set_sunset(app, monkeypatch, shanghai_today() + timedelta(days=30))
    digest = hashlib.sha256(SALT + OLD_PASSWORD.encode()).hexdigest()
    csv = ("taxpayer_number,name,tax_authority_code,tax_authority_name,legacy_password_hash\n"
           f"{TRADER},青岛远洋贸易有限公司,13702030000,国家税务总局青岛市市南区税务局,sha256${SALT.hex()}${digest}\n")
    with app.app_context():
        assert import_legacy_accounts(read_rows(io.StringIO(csv))).count("imported") == 1
        account = db.session.execute(select(LegacyEnterpriseAccount)).scalar_one()
        return {"sub": account.sub, "id": account.id}


def legacy_login(client, interaction: str | None = None, number: str = TRADER, password: str = OLD_PASSWORD):
    """POST the old login's form as a browser would (a refused request's page has no form: the
    session's CSRF token is then taken from the personal login page)."""
    page = client.get("/login/legacy", query_string={"interaction": interaction} if interaction else {})
    html = page.get_data(as_text=True)
    if 'name="csrf_token"' not in html:
        html = client.get("/login").get_data(as_text=True)
    return client.post("/login/legacy", data={
        "csrf_token": csrf_from(html), "interaction": interaction or "",
        "taxpayer_number": number, "password": password})


def start(client, rp, **extra):
    """The relying party's request, up to the login page; returns (request, interaction id)."""
    request = authorization_request(rp, **extra)
    response = client.get("/authorize", query_string=request.params)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?"), response.headers
    return request, query_of(response.headers["Location"])["interaction"]


def continue_url(notice_html: str) -> str:
    marker = 'id="legacy-continue" class="button"'
    anchor = notice_html[:notice_html.index(marker)]
    return html_lib.unescape(anchor[anchor.rindex('href="') + 6:].split('"')[0])


def code_through_legacy_login(client, rp, **extra):
    request, interaction = start(client, rp, **extra)
    response = legacy_login(client, interaction)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/login/legacy/notice")
    notice = client.get(response.headers["Location"])
    assert notice.status_code == 200
    response = client.get(continue_url(notice.get_data(as_text=True)))
    assert response.status_code == 302, response.get_data(as_text=True)
    return query_of(response.headers["Location"])["code"], request


def claims_of(client, token: str) -> dict:
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json())).claims


def events(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.event == name)
                                  .order_by(AuditEvent.id)).scalars().all()
        db.session.expunge_all()
        return rows


# --- the login and what the relying party receives -------------------------------------------------

def test_the_login_page_links_the_old_login_during_the_transition_only(app, client, legacy_account, monkeypatch):
    """docs/domain.md §1.2: the old login is offered next to the personal one while the transition lasts."""
    page = client.get("/login").get_data(as_text=True)
    assert 'id="legacy-login-link"' in page and "/login/legacy" in page
    set_sunset(app, monkeypatch, shanghai_today())
    assert 'id="legacy-login-link"' not in client.get("/login").get_data(as_text=True)


def test_old_login_gives_loa1_pwd_and_the_enterprise_to_the_relying_party(app, client, rp, legacy_account):
    """docs/domain.md §1.2 (dual-track) and §13: the old login is loa:1 with one factor, acts
    for its enterprise (business enterprise, the entity claim), and names no person."""
    code, request = code_through_legacy_login(client, rp)
    tokens = redeem(client, rp, code, request.verifier).get_json()
    claims = claims_of(client, tokens["id_token"])
    assert claims["sub"] == legacy_account["sub"]
    assert (claims["acr"], claims["amr"]) == (LOA1, ["pwd"])
    assert claims["business"] == "enterprise" and claims["entity"] == TRADER_CLAIM
    assert claims["nonce"] == request.params["nonce"]
    assert not {"realname_level", "name", "phone_number", "preferred_username"} & claims.keys()
    access = claims_of(client, tokens["access_token"])
    assert (access["acr"], access["entity"], access["sub"]) == (LOA1, TRADER_CLAIM, legacy_account["sub"])
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    assert info.get_json() == {"sub": legacy_account["sub"], "business": "enterprise", "entity": TRADER_CLAIM}


def test_a_banner_asks_the_person_to_register_before_returning_to_the_relying_party(app, client, rp,
                                                                                  legacy_account):
    """docs/domain.md §1.2 and §1.8: the old login is transitional; the banner names its end and links registration."""
    request, interaction = start(client, rp)
    response = legacy_login(client, interaction)
    notice = client.get(response.headers["Location"]).get_data(as_text=True)
    sunset = current_settings(app).legacy_login_sunset
    assert 'id="legacy-banner"' in notice and f"{sunset.year}年{sunset.month}月{sunset.day}日" in notice
    assert "请尽快以自然人身份注册个人账号" in notice and 'href="/register"' in notice
    assert "青岛远洋贸易有限公司" in notice and "9111**********341L" in notice and TRADER not in notice
    english = client.get(response.headers["Location"], headers={"Accept-Language": "en"})
    assert "register a personal account" in english.get_data(as_text=True)
    assert "/authorize?" in continue_url(notice)


def test_a_first_login_replaces_the_old_systems_hash_by_argon2id(app, client, legacy_account):
    """docs/domain.md §9: an imported legacy hash is accepted once, then upgraded."""
    assert legacy_login(client).status_code == 302
    with app.app_context():
        account = db.session.get(LegacyEnterpriseAccount, legacy_account["id"])
        assert account.password_hash.startswith("$argon2id$") and account.last_login_at is not None
    upgraded = events(app, "password.hash_upgraded")
    assert [(e.subject, e.detail["previous"]) for e in upgraded] == [(legacy_account["sub"], "sha256")]
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/login").get_data(as_text=True))})
    assert legacy_login(client).status_code == 302, "the upgraded hash verifies the same password"


def test_unknown_taxpayer_and_wrong_password_get_one_generic_message(app, client, legacy_account):
    """docs/domain.md §1.2 (old login): one generic message, whether the number or the password was wrong."""
    wrong = legacy_login(client, password="nope")
    unknown = legacy_login(client, number="91350100M000100Y43")
    malformed = legacy_login(client, number="not-a-number")
    for response in (wrong, unknown, malformed):
        assert response.status_code == 400
        assert "纳税人识别号或企业密码错误" in response.get_data(as_text=True)


@pytest.fixture
def argon2_verifications(monkeypatch) -> list[tuple[Argon2idHasher, str]]:
    """Every argon2 verification made while the test runs, as (hasher, hash verified against)."""
    calls: list[tuple[Argon2idHasher, str]] = []
    verify = Argon2idHasher.verify

    def counting_verify(self: Argon2idHasher, hash: str, password: str | bytes) -> bool:
        calls.append((self, hash))
        return verify(self, hash, password)

    monkeypatch.setattr(Argon2idHasher, "verify", counting_verify)
    return calls


def stored_hash(app, account_id: int) -> str:
    with app.app_context():
        return db.session.get(LegacyEnterpriseAccount, account_id).password_hash


def test_unknown_numbers_cost_the_argon2id_verification_of_a_wrong_password(app, client, legacy_account,
                                                                          argon2_verifications):
    """docs/domain.md §1.2 (old login): the response time must not tell which taxpayer numbers have an old login.
    An unknown, malformed or disabled number verifies the password against one dummy hash of the
    configured profile, made once per process; a wrong password against a not yet upgraded legacy
    hash spends the same verification on top of its cheap SHA-256."""
    profile = HASH_PROFILES[current_settings(app).PASSWORD_HASH_PROFILE]
    refusals = [legacy_login(client, password="wrong"), legacy_login(client, number="91350100M000100Y43"),
                legacy_login(client, number="not-a-number")]
    with app.app_context():
        db.session.get(LegacyEnterpriseAccount, legacy_account["id"]).status = "disabled"
        db.session.commit()
    refusals.append(legacy_login(client))
    assert [r.status_code for r in refusals] == [400] * 4
    assert all("纳税人识别号或企业密码错误" in r.get_data(as_text=True) for r in refusals)
    assert len(argon2_verifications) == 4, "one argon2id verification per refusal"
    assert {hasher for hasher, _ in argon2_verifications} == {profile}
    assert len({dummy for _, dummy in argon2_verifications}) == 1, "one dummy hash for the process"
    dummy = argon2_verifications[0][1]
    assert not profile.check_needs_rehash(dummy), "the dummy hash has the profile's parameters"

    with app.app_context():
        db.session.get(LegacyEnterpriseAccount, legacy_account["id"]).status = "active"
        db.session.commit()
    assert legacy_login(client).status_code == 302, "the first login upgrades the hash to argon2id"
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/login").get_data(as_text=True))})
    argon2_verifications.clear()
    assert legacy_login(client, password="wrong").status_code == 400
    assert argon2_verifications == [(profile, stored_hash(app, legacy_account["id"]))], \
        "a wrong password after the upgrade is the same one verification, of the stored hash"


def test_logins_are_audited_with_masked_taxpayer_numbers(app, client, legacy_account):
    """docs/architecture.md §10: every login attempt is audited; identifiers masked, no secret."""
    legacy_login(client, password="wrong-password")
    legacy_login(client, number="91350100M000100Y43")
    legacy_login(client)
    attempts = events(app, "login.legacy")
    assert [(e.outcome, e.detail.get("reason")) for e in attempts] == [
        ("failure", "wrong_credential"), ("failure", "unknown_account"), ("success", None)]
    assert [e.detail["taxpayer_number"] for e in attempts] == [
        "9111**********341L", "9135**********0Y43", "9111**********341L"]
    assert attempts[0].subject == attempts[2].subject == legacy_account["sub"]
    succeeded = events(app, "login.succeeded")[-1]
    assert succeeded.subject == legacy_account["sub"] and succeeded.detail["acr"] == LOA1
    assert succeeded.detail["via"] == "legacy_enterprise"
    logged = json.dumps([e.detail for e in events(app, "login.legacy")])
    assert TRADER not in logged and OLD_PASSWORD not in logged and "wrong-password" not in logged


def test_five_failures_in_a_day_lock_the_old_login(app, client, legacy_account):
    """docs/domain.md §1.14: 5 consecutive failures of one method in a day lock it, the old login too."""
    for _ in range(4):
        assert "纳税人识别号或企业密码错误" in legacy_login(client, password="wrong").get_data(as_text=True)
    fifth = legacy_login(client, password="wrong")
    assert "今日已被锁定" in fifth.get_data(as_text=True)
    right = legacy_login(client)
    assert right.status_code == 400 and "今日已被锁定" in right.get_data(as_text=True)
    with app.app_context():
        row = db.session.execute(select(LegacyAccountLockout)).scalar_one()
        assert row.failures == 5
        row.local_day -= timedelta(days=1)  # the next Shanghai day
        db.session.commit()
    assert legacy_login(client).status_code == 302
    assert [e.subject for e in events(app, "factor.locked")] == [legacy_account["sub"]]


def test_the_old_login_form_shares_the_login_rate_limit(app, database_url, instance_dir, legacy_account):
    """docs/domain.md §9 under docs/architecture.md §10: the same per-IP login budget as every login form."""
    limited = create_app(make_settings(database_url, instance_dir, LOGIN_RATE_LIMIT="2 per minute",
                                       LEGACY_LOGIN_SUNSET=current_settings(app).LEGACY_LOGIN_SUNSET))
    browser = limited.test_client()
    statuses = [legacy_login(browser, password="wrong").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_the_old_login_without_csrf_token_is_refused(app, client, legacy_account):
    """docs/domain.md §1.2 (old login): its form has a CSRF token like every page form (docs/architecture.md §5.1)."""
    response = client.post("/login/legacy", data={"taxpayer_number": TRADER, "password": OLD_PASSWORD})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.execute(select(LoginSession)).first() is None


# --- the sunset --------------------------------------------------------------------------------

def test_from_the_sunset_day_on_the_old_login_is_refused_with_a_clear_message(app, client, legacy_account,
                                                                              monkeypatch):
    """docs/domain.md §1.8: after the transition the enterprise password is gone; the page says so."""
    sunset = shanghai_today()
    set_sunset(app, monkeypatch, sunset)
    page = client.get("/login/legacy")
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert f"原企业登录方式已于{sunset.year}年{sunset.month}月{sunset.day}日停止使用" in text
    assert 'name="password"' not in text and 'id="personal-login-link"' in text
    response = client.post("/login/legacy", data={"csrf_token": csrf_from(client.get("/login").get_data(
        as_text=True)), "taxpayer_number": TRADER, "password": OLD_PASSWORD})
    assert response.status_code == 403 and "停止使用" in response.get_data(as_text=True)
    assert events(app, "login.legacy")[-1].detail["reason"] == "refused_sunset"
    set_sunset(app, monkeypatch, None)
    assert "原企业登录方式已停止使用" in client.get("/login/legacy").get_data(as_text=True)


def test_an_old_login_session_is_not_reused_after_the_sunset(app, client, rp, legacy_account, monkeypatch):
    """docs/domain.md §1.8 (the enterprise password is gone): an earlier old login stops serving single sign-on."""
    code_through_legacy_login(client, rp)
    set_sunset(app, monkeypatch, shanghai_today())
    request = authorization_request(rp, prompt="none")
    response = client.get("/authorize", query_string=request.params)
    assert query_of(response.headers["Location"])["error"] == "login_required"


def test_refresh_tokens_of_an_old_login_are_refused_after_the_sunset(app, client, rp, legacy_account, monkeypatch):
    """Decided and documented (docs/legacy-login.md): the sunset ends the old login's grants at
    their next refresh; before it, refresh works and keeps loa:1."""
    code, request = code_through_legacy_login(client, rp)
    tokens = redeem(client, rp, code, request.verifier).get_json()
    refreshed = client.post("/token", headers=rp.basic_auth, data={"grant_type": "refresh_token",
                                                                   "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert claims_of(client, refreshed.get_json()["id_token"])["acr"] == LOA1
    set_sunset(app, monkeypatch, shanghai_today())
    refused = client.post("/token", headers=rp.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": refreshed.get_json()["refresh_token"]})
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"


# --- relying parties that need more -----------------------------------------------------------------

@pytest.mark.parametrize("extra", [
    {"acr_values": LOA2},
    {"claims": json.dumps({"id_token": {"acr": {"essential": True, "values": [LOA2]}}})},
])
def test_a_request_for_loa2_never_accepts_the_old_login(app, client, rp, legacy_account, extra):
    """docs/domain.md §13 and §9: relying parties that ask for loa:2 or more never
    accept the old login; there is no step-up (no person): the personal login page is shown."""
    code_through_legacy_login(client, rp)
    request = authorization_request(rp, **extra)
    response = client.get("/authorize", query_string=request.params)
    location = response.headers["Location"]
    assert location.startswith("/login?"), "the login page, not the step-up page"
    page = client.get(location).get_data(as_text=True)
    assert 'id="legacy-notice"' in page and "原企业登录方式只有企业密码一个因子" in page
    assert 'id="legacy-login-link"' not in page
    interaction = query_of(location)["interaction"]
    refused = legacy_login(client, interaction)
    assert refused.status_code == 403 and "请使用个人账号登录" in refused.get_data(as_text=True)
    assert events(app, "login.legacy")[-1].detail["reason"] == "refused_strength"


@pytest.mark.parametrize("extra", [
    {"acr_values": LOA2},
    {"claims": json.dumps({"id_token": {"acr": {"essential": True, "values": [LOA2]}}})},
])
def test_prompt_none_with_an_old_login_and_loa2_asked_is_login_required(app, client, rp, legacy_account, extra):
    """OIDC Core 3.1.2.6: a login (with a personal account) would meet it, so login_required."""
    code_through_legacy_login(client, rp)
    response = client.get("/authorize", query_string=authorization_request(rp, prompt="none", **extra).params)
    assert query_of(response.headers["Location"])["error"] == "login_required"


def test_prompt_none_reuses_the_old_login_for_a_relying_party_that_accepts_it(app, client, rp, legacy_account):
    """docs/domain.md §1.2 (dual-track): during the transition the old login is a normal SSO session for loa:1 apps."""
    code_through_legacy_login(client, rp)
    other = register_client(app, name="另一个税务应用", redirect_uris=["https://other.test/cb"])
    request = authorization_request(other, prompt="none")
    response = client.get("/authorize", query_string=request.params)
    tokens = redeem(client, other, query_of(response.headers["Location"])["code"], request.verifier).get_json()
    assert claims_of(client, tokens["id_token"])["acr"] == LOA1


def test_a_client_registered_with_default_acr_values_loa2_never_accepts_the_old_login(app, client, legacy_account):
    """OIDC Dynamic Client Registration ``default_acr_values``: loa:2 for every request."""
    strict = register_client(app, name="严格应用", redirect_uris=["https://strict.test/cb"],
                             default_acr_values=[LOA2])
    request, interaction = start(client, strict)
    page = client.get(f"/login?interaction={interaction}").get_data(as_text=True)
    assert 'id="legacy-login-link"' not in page
    assert legacy_login(client, interaction).status_code == 403


def test_default_acr_values_are_validated_and_ask_a_person_for_a_step_up(app, client, person):
    """docs/domain.md §13 (§1.9 spirit): default_acr_values works as acr_values for persons too."""
    from idp.protocol.clients import ClientRegistrationError

    with pytest.raises(ClientRegistrationError):
        register_client(app, default_acr_values=["urn:other:acr"])
    strict = register_client(app, name="严格应用", redirect_uris=["https://strict.test/cb"],
                             default_acr_values="urn:qdtax:loa:3")
    tokens_for(app, client, register_client(app))
    response = client.get("/authorize", query_string=authorization_request(strict).params)
    assert response.headers["Location"].startswith("/step-up")


def test_third_party_clients_never_accept_the_old_login(app, client, legacy_account):
    """Consent is a person's act (PIPL): an enterprise password cannot give it."""
    third = register_client(app, name="第三方应用", redirect_uris=["https://third.test/cb"], first_party=False)
    request, interaction = start(client, third)
    assert legacy_login(client, interaction).status_code == 403


def test_a_request_for_another_business_entry_does_not_take_the_old_login(app, client, rp, legacy_account):
    """docs/domain.md §1.2 and §1.8: the old login was the enterprise login; other entries need a personal account."""
    request, interaction = start(client, rp, business_entry="natural_person")
    refused = legacy_login(client, interaction)
    assert refused.status_code == 403 and "只适用于企业业务" in refused.get_data(as_text=True)


# --- what an old login can never do ------------------------------------------------------------

def test_the_old_login_cannot_switch_taxpayer_by_token_exchange(app, client, legacy_account):
    """docs/domain.md §1.2: the old login acts for its one enterprise; switching (§1.12) needs a person."""
    exchanging = register_client(app, name="切换应用", redirect_uris=["https://switch.test/cb"], grant_types=[
        "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"])
    code, request = code_through_legacy_login(client, exchanging)
    tokens = redeem(client, exchanging, code, request.verifier).get_json()
    response = client.post("/token", headers=exchanging.basic_auth, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": tokens["access_token"],
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token", "entity": TRADER})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("path", ["/account", "/account/sessions", "/account/password", "/select", "/consents",
                                  "/step-up", "/account/security-keys"])
def test_pages_that_need_a_person_send_an_old_login_to_the_personal_login(app, client, legacy_account, path):
    """docs/domain.md §1.8 and §1.10: account centre, step-up, choice and consent belong to a personal account."""
    assert legacy_login(client).status_code == 302
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login"), (path, response)


def test_a_personal_login_page_after_an_old_login_still_offers_both(app, client, rp, legacy_account, person):
    """The person may leave the old login for a personal one at any time (docs/domain.md §1.3, §1.8)."""
    code_through_legacy_login(client, rp)
    page = client.get("/login").get_data(as_text=True)
    assert 'id="legacy-login-link"' in page and 'id="legacy-notice"' not in page
    tokens = tokens_for(app, client, rp, prompt="login")
    assert claims_of(client, tokens["id_token"])["acr"] == LOA2


def test_logout_ends_the_old_login_and_its_grants(app, client, rp, legacy_account):
    """docs/domain.md §1.2 (old login): logging out ends it and its grants like any login."""
    code, request = code_through_legacy_login(client, rp)
    tokens = redeem(client, rp, code, request.verifier).get_json()
    response = client.get("/logout", query_string={"id_token_hint": tokens["id_token"],
                                                   "post_logout_redirect_uri": "https://rp.test/bye"})
    assert response.status_code == 302 and response.headers["Location"] == "https://rp.test/bye"
    with app.app_context():
        assert db.session.execute(select(LoginSession.ended_at)).scalar_one() is not None
    assert events(app, "logout")[-1].subject == legacy_account["sub"]
    introspected = client.post("/introspect", headers=rp.basic_auth, data={"token": tokens["refresh_token"]})
    assert introspected.get_json() == {"active": False}
