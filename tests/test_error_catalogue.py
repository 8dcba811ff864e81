"""docs/integration.md section 8 lists every error of the authorization, token, userinfo,
introspection, revocation, PAR and device endpoints; this walks the list.

Each row gets a request that must be answered exactly so; a row without a request, or a
request of tests/test_protocol_errors.py answered with an error the list lacks, fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_consent import third_party
from test_protocol_errors import CASES, CHALLENGE, KB, PAGE, Ctx, b64url, basic, form

from conftest import authorization_request, csrf_from, hidden_value, query_of, register_client, tokens_for
from dpop_keys import DpopKey
from qr_steps import (
    DEVICE_GRANT,
    age_qr_requests,
    app_call,
    app_login,
    device_authorization,
    poll,
    register_bureau_app,
    register_kiosk,
)

CATALOGUE = Path(__file__).parent.parent / "docs" / "integration.md"
ROW = re.compile(r"^\| `(/[a-z_]+)` \| ([^|]+?) \| ([^|]+?) \| .+ \|$")
REDIRECT, ERROR_PAGE, NO_CODE = "302", "400 page", "(none)"


def documented_errors() -> set[tuple[str, str, str]]:
    """(endpoint, status, error) of every row of the table in section 8."""
    text = CATALOGUE.read_text(encoding="utf-8")
    section = text[text.index("### Every error, endpoint by endpoint"):text.index("## 9.")]
    return {(m[1], m[2], m[3].strip("`")) for m in map(ROW.match, section.splitlines()) if m}


@dataclass(frozen=True)
class Walk:
    endpoint: str
    status: str
    error: str
    build: Callable[[Ctx], dict]
    method: str = "POST"

    @property
    def key(self) -> tuple[str, str, str]:
        return self.endpoint, self.status, self.error


def case(case_id: str) -> Callable[[Ctx], dict]:
    """The request of one of tests/test_protocol_errors.py's cases."""
    return next(c for c in CASES if c.id == case_id).build


# --- requests that need a session, a third party, the app or a DPoP key ------------------

def logged_in(ctx: Ctx, **extra) -> dict:
    """Log the person in through the first-party client, then ask again with ``extra``."""
    tokens_for(ctx.app, ctx.client, ctx.rp)
    return ctx.authorize(**extra)


def consent_declined(ctx: Ctx) -> dict:
    rp = third_party(ctx.app)
    tokens_for(ctx.app, ctx.client, ctx.rp)
    response = ctx.client.get("/authorize", query_string=authorization_request(rp).params)
    html = ctx.client.get(response.headers["Location"]).get_data(as_text=True)
    answer = ctx.client.post("/consent", data={"csrf_token": csrf_from(html), "decision": "deny",
                                               "interaction": hidden_value(html, "interaction")})
    return {"query_string": query_of(answer.headers["Location"])}


def consent_missing(ctx: Ctx) -> dict:
    rp = third_party(ctx.app)
    tokens_for(ctx.app, ctx.client, ctx.rp)
    return {"query_string": authorization_request(rp, prompt="none").params}


def not_for_this_grant(ctx: Ctx) -> dict:
    rp = register_client(ctx.app, name="仅客户端凭据", grant_types=["client_credentials"],
                         redirect_uris=["https://cc.test/cb"])
    return {"query_string": authorization_request(rp).params}


def unsigned_request_object(ctx: Ctx) -> dict:
    """An ``alg: none`` request object (header, payload, no signature)."""
    header, payload = (b64url(json.dumps(part).encode()) for part in ({"alg": "none"}, {"client_id": ctx.rp.client_id}))
    return {"client_id": ctx.rp.client_id, "request": f"{header}.{payload}."}


def kiosk_codes(ctx: Ctx):
    kiosk = register_kiosk(ctx.app, name="自助终端", grant_types=[DEVICE_GRANT])
    codes = device_authorization(ctx.client, kiosk).get_json()
    return kiosk, codes


def poll_kwargs(kiosk, device_code: str) -> dict:
    return {"headers": kiosk.basic_auth, **form(("grant_type", DEVICE_GRANT), ("device_code", device_code))}


def device_pending(ctx: Ctx) -> dict:
    kiosk, codes = kiosk_codes(ctx)
    return poll_kwargs(kiosk, codes["device_code"])


def device_polled_too_fast(ctx: Ctx) -> dict:
    kiosk, codes = kiosk_codes(ctx)
    poll(ctx.client, kiosk, codes["device_code"], DEVICE_GRANT)
    return poll_kwargs(kiosk, codes["device_code"])


def device_declined(ctx: Ctx) -> dict:
    kiosk, codes = kiosk_codes(ctx)
    app_token = app_login(ctx.app, ctx.app.test_client(), register_bureau_app(ctx.app))["access_token"]
    payload = codes["verification_uri_complete"]
    assert app_call(ctx.client, "scan", app_token, payload=payload).status_code == 200
    assert app_call(ctx.client, "deny", app_token, payload=payload).status_code == 200
    return poll_kwargs(kiosk, codes["device_code"])


def device_expired(ctx: Ctx) -> dict:
    kiosk, codes = kiosk_codes(ctx)
    age_qr_requests(ctx.app, 121)
    return poll_kwargs(kiosk, codes["device_code"])


def exchange_to_a_stranger(ctx: Ctx) -> dict:
    rp = register_client(ctx.app, name="切换应用", grant_types=[
        "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"])
    tokens = tokens_for(ctx.app, ctx.client, rp)
    return {"headers": rp.basic_auth, **form(
        ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
        ("subject_token", tokens["access_token"]),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
        ("business", "enterprise"), ("entity", "91370200MA3C5XXX0X"))}


def userinfo_without_openid(ctx: Ctx) -> dict:
    tokens = tokens_for(ctx.app, ctx.client, ctx.rp, scope="profile")
    return {"headers": {"Authorization": f"Bearer {tokens['access_token']}"}}


def par(ctx: Ctx, **overrides) -> dict:
    params = {**authorization_request(ctx.rp).params, **overrides}
    return {"headers": ctx.rp.basic_auth, **form(*((k, v) for k, v in params.items() if v is not None))}


WALKS = [
    Walk("/authorize", ERROR_PAGE, "invalid_client", lambda c: c.authorize(client_id="nobody"), "GET"),
    Walk("/authorize", ERROR_PAGE, "invalid_request", lambda c: c.authorize(redirect_uri="https://rp.test/other"),
         "GET"),
    Walk("/authorize", ERROR_PAGE, "invalid_request_uri", lambda c: {"query_string": {
        "client_id": c.rp.client_id, "request_uri": "urn:ietf:params:oauth:request_uri:nope"}}, "GET"),
    Walk("/authorize", ERROR_PAGE, "invalid_request_object",
         lambda c: {"query_string": unsigned_request_object(c)}, "GET"),
    Walk("/authorize", REDIRECT, "invalid_request", lambda c: c.authorize(code_challenge_method="plain"), "GET"),
    Walk("/authorize", REDIRECT, "unsupported_response_type", lambda c: c.authorize(response_type="token"), "GET"),
    Walk("/authorize", REDIRECT, "unauthorized_client", not_for_this_grant, "GET"),
    Walk("/authorize", REDIRECT, "unmet_authentication_requirements", lambda c: c.authorize(claims=json.dumps(
        {"id_token": {"acr": {"essential": True, "values": ["urn:elsewhere:loa:9"]}}})), "GET"),
    Walk("/authorize", REDIRECT, "access_denied", consent_declined, "GET"),
    Walk("/authorize", REDIRECT, "login_required", lambda c: c.authorize(prompt="none"), "GET"),
    Walk("/authorize", REDIRECT, "interaction_required",
         lambda c: logged_in(c, prompt="none", acr_values="urn:qdtax:loa:3"), "GET"),
    Walk("/authorize", REDIRECT, "account_selection_required",
         lambda c: logged_in(c, prompt="none", business_entry="enterprise"), "GET"),
    Walk("/authorize", REDIRECT, "consent_required", consent_missing, "GET"),
    Walk("/token", "400", "invalid_request", case("token-no-code")),
    Walk("/token", "413", "invalid_request", case("token-70kb-body")),
    Walk("/token", "405", "invalid_request", case("token-get"), method="GET"),
    Walk("/token", "401", "invalid_client", case("token-wrong-secret")),
    Walk("/token", "400", "invalid_client", case("token-garbage-assertion")),
    Walk("/token", "400", "invalid_grant", case("token-unknown-code")),
    Walk("/token", "400", "unauthorized_client",
         lambda c: {"headers": c.rp.basic_auth, **form(("grant_type", "client_credentials"))}),
    Walk("/token", "400", "unsupported_grant_type", lambda c: {"headers": c.rp.basic_auth, **form(
        ("grant_type", "password"), ("username", "zhangsan"), ("password", "x"))}),
    Walk("/token", "400", "invalid_scope", lambda c: {"headers": register_client(
        c.app, name="API", grant_types=["client_credentials"], redirect_uris=[]).basic_auth, **form(
        ("grant_type", "client_credentials"), ("scope", "openid"))}),
    Walk("/token", "400", "invalid_target", exchange_to_a_stranger),
    Walk("/token", "400", "invalid_dpop_proof", lambda c: {"headers": {**c.rp.basic_auth, "DPoP": "x.y.z"}, **form(
        ("grant_type", "refresh_token"), ("refresh_token", "r"))}),
    Walk("/token", "400", "use_dpop_nonce", lambda c: {"headers": {
        **c.rp.basic_auth, "DPoP": DpopKey().proof("POST", "/token", nonce=None)}, **form(
        ("grant_type", "refresh_token"), ("refresh_token", "r"))}),
    Walk("/token", "400", "authorization_pending", device_pending),
    Walk("/token", "400", "slow_down", device_polled_too_fast),
    Walk("/token", "400", "access_denied", device_declined),
    Walk("/token", "400", "expired_token", device_expired),
    Walk("/par", "400", "invalid_request", lambda c: par(c, code_challenge=None)),
    Walk("/par", "413", "invalid_request", lambda c: par(c, state="s" * 70 * KB)),
    Walk("/par", "401", "invalid_client", lambda c: {**par(c), "headers": basic(f"{c.rp.client_id}:no".encode())}),
    Walk("/par", "400", "unsupported_response_type", lambda c: par(c, response_type="token")),
    Walk("/par", "400", "invalid_request_object", lambda c: {"headers": c.rp.basic_auth, **form(
        *unsigned_request_object(c).items())}),
    Walk("/device_authorization", "401", "invalid_client", lambda c: {
        "headers": basic(f"{c.rp.client_id}:no".encode()), **form(("scope", "openid"))}),
    Walk("/device_authorization", "400", "unauthorized_client",
         lambda c: {"headers": c.rp.basic_auth, **form(("scope", "openid"))}),
    Walk("/userinfo", "401", NO_CODE, case("userinfo-no-token"), "GET"),
    Walk("/userinfo", "400", "invalid_request", case("userinfo-bearer-alone"), "GET"),
    Walk("/userinfo", "401", "invalid_token", case("userinfo-bearer-garbage"), "GET"),
    Walk("/userinfo", "401", "invalid_dpop_proof", lambda c: {"headers": {"Authorization": "DPoP x.y.z"}}, "GET"),
    Walk("/userinfo", "403", "insufficient_scope", userinfo_without_openid, "GET"),
    Walk("/userinfo", "413", "invalid_request", case("userinfo-70kb-body")),
    Walk("/introspect", "400", "invalid_request", case("introspect-no-token")),
    Walk("/introspect", "413", "invalid_request", case("introspect-70kb-body")),
    Walk("/introspect", "405", "invalid_request", case("introspect-get"), method="GET"),
    Walk("/introspect", "401", "invalid_client", case("introspect-no-client")),
    Walk("/revoke", "400", "invalid_request", case("revoke-no-token")),
    Walk("/revoke", "413", "invalid_request", case("revoke-70kb-body")),
    Walk("/revoke", "401", "invalid_client", case("revoke-no-client")),
    Walk("/revoke", "400", "unsupported_token_type", case("revoke-unknown-hint")),
]


@pytest.fixture
def ctx(app, client, person, rp, public_rp) -> Ctx:
    return Ctx(app, client, rp, public_rp)


def test_every_row_of_the_list_is_walked_and_every_walk_is_a_row():
    walked = [walk.key for walk in WALKS]
    assert len(walked) == len(set(walked)), "one request per row"
    assert set(walked) == documented_errors()


@pytest.mark.parametrize("walk", WALKS, ids=["{} {} {}".format(*walk.key) for walk in WALKS])
def test_each_listed_error_is_the_answer_its_request_gets(ctx, walk):
    response = ctx.client.open(walk.endpoint, method=walk.method, **walk.build(ctx))
    body = response.get_data(as_text=True)
    if walk.status == REDIRECT:
        assert response.status_code == 302, body[:500]
        params = query_of(response.headers["Location"])
        assert params.get("error") == walk.error, response.headers["Location"]
        assert params["iss"] == "http://idp.test" and "state" in params
    elif walk.status == ERROR_PAGE:
        assert response.status_code == 400 and response.mimetype == "text/html", body[:500]
        assert "Location" not in response.headers and walk.error in body
    elif walk.error == NO_CODE:
        assert response.status_code == int(walk.status)
        assert response.headers["WWW-Authenticate"] == "Bearer" and "error" not in json.loads(body)
    else:
        assert response.status_code == int(walk.status), body[:500]
        assert response.mimetype == "application/json" and json.loads(body)["error"] == walk.error
        assert response.headers["Cache-Control"] == "no-store"


def test_every_error_of_the_hostile_request_table_is_listed():
    """tests/test_protocol_errors.py's answers are in the list too (pages aside, which name none)."""
    listed = documented_errors()
    for c in CASES:
        if c.path == "/logout" or c.expect in (PAGE, None) or c.expect.startswith("login"):
            continue
        if c.expect == CHALLENGE:
            key = (c.path, str(c.status), NO_CODE)
        elif c.expect.startswith("redirect:"):
            key = (c.path, REDIRECT, c.expect.removeprefix("redirect:"))
        else:
            key = (c.path, str(c.status), c.expect)
        assert key in listed, (c.id, key)
