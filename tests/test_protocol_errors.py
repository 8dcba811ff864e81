"""Every bad request to a protocol endpoint gets the RFC's error, never a 500 or a traceback.

The table names each hostile request and the exact answer: a JSON error (RFC 6749 5.2,
RFC 6750 3.1, RFC 7009 2.2.1, RFC 7662 2.3), an error redirect to the client (RFC 6749
4.1.2.1), or the provider's own 400 page where no redirect URI can be trusted.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from conftest import RelyingParty, authorization_request, obtain_code, query_of

KB = 1024
PAGE = "page"        # the provider's own HTML error page, no Location
LOGIN = "login"      # accepted: the browser is sent to the login page
CHALLENGE = "challenge"  # RFC 6750 section 3.1: a bare Bearer challenge, no error code at all


@dataclass
class Ctx:
    app: Any
    client: Any
    rp: RelyingParty
    public_rp: RelyingParty

    def authorize(self, **extra) -> dict:
        return {"query_string": authorization_request(self.rp, **extra).params}

    def code(self) -> tuple[str, str]:
        code, auth = obtain_code(self.app, self.client, self.rp)
        return code, auth.verifier


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    build: Callable[[Ctx], dict]
    status: int
    #: JSON ``error`` code, ``redirect:<code>`` for an error sent to the client, PAGE, LOGIN,
    #: or None for a successful JSON answer.
    expect: str | None


#: Deeper than Python's JSON parser follows: a RecursionError, unless it is caught as bad JSON.
DEEP_JSON = "[" * 5000


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


#: A JWT whose payload is DEEP_JSON (read before the signature is checked, for the ``sub``).
DEEP_JWT = ".".join(b64url(part) for part in (b'{"alg":"ES256"}', DEEP_JSON.encode(), bytes(64)))


def basic(raw: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def form(*pairs) -> dict:
    return {"data": MultiDict(pairs)}


def auth_code_form(c: Ctx, *pairs) -> dict:
    return {"headers": c.rp.basic_auth, **form(("grant_type", "authorization_code"), *pairs)}


def with_code(c: Ctx, verifier: Callable[[str], str | None]) -> dict:
    code, good = c.code()
    pairs = [("code", code), ("redirect_uri", c.rp.redirect_uri)]
    if (bad := verifier(good)) is not None:
        pairs.append(("code_verifier", bad))
    return auth_code_form(c, *pairs)


CASES = [
    # /authorize: nothing trustworthy to redirect to -> our page
    Case("authorize-no-parameters", "GET", "/authorize", lambda c: {}, 400, PAGE),
    Case("authorize-unknown-client", "GET", "/authorize", lambda c: c.authorize(client_id="nobody"), 400, PAGE),
    Case("authorize-nul-client", "GET", "/authorize", lambda c: c.authorize(client_id="a\x00b"), 400, PAGE),
    Case("authorize-non-utf8-client", "GET", "/authorize?client_id=%FF%FE&response_type=code", lambda c: {}, 400, PAGE),
    Case("authorize-array-client", "GET", "/authorize", lambda c: {"query_string": {
        "client_id[]": c.rp.client_id, "redirect_uri": c.rp.redirect_uri, "response_type": "code"}}, 400, PAGE),
    Case("authorize-client-twice", "GET", "/authorize", lambda c: {"query_string": MultiDict(
        [*c.authorize()["query_string"].items(), ("client_id", c.public_rp.client_id)])}, 400, PAGE),
    Case("authorize-redirect-twice", "GET", "/authorize", lambda c: {"query_string": MultiDict(
        [*c.authorize()["query_string"].items(), ("redirect_uri", "https://evil.test/")])}, 400, PAGE),
    Case("authorize-wrong-redirect", "GET", "/authorize",
         lambda c: c.authorize(redirect_uri="https://evil.test/cb"), 400, PAGE),
    Case("authorize-non-ascii-redirect", "GET", "/authorize", lambda c: c.authorize(redirect_uri="https://rp.test/回调"),
         400, PAGE),
    Case("authorize-non-ascii-response-type", "GET", "/authorize", lambda c: c.authorize(response_type="代码"),
         400, PAGE),
    Case("authorize-json-body", "POST", "/authorize", lambda c: {"json": c.authorize()["query_string"]}, 400, PAGE),
    Case("authorize-70kb-body", "POST", "/authorize", lambda c: {"data": {"state": "x" * 70 * KB}}, 413, PAGE),
    # /authorize: a verified redirect URI -> error redirect with state and iss
    Case("authorize-token-response-type", "GET", "/authorize",
         lambda c: c.authorize(response_type="token"), 302, "redirect:unsupported_response_type"),
    Case("authorize-no-pkce", "GET", "/authorize", lambda c: c.authorize(code_challenge=None), 302,
         "redirect:invalid_request"),
    Case("authorize-plain-pkce", "GET", "/authorize", lambda c: c.authorize(code_challenge_method="plain"), 302,
         "redirect:invalid_request"),
    Case("authorize-short-challenge", "GET", "/authorize", lambda c: c.authorize(code_challenge="x"), 302,
         "redirect:invalid_request"),
    Case("authorize-challenge-twice", "GET", "/authorize", lambda c: {"query_string": MultiDict(
        [*c.authorize()["query_string"].items(), ("code_challenge", "y" * 43)])}, 302, "redirect:invalid_request"),
    Case("authorize-bad-max-age", "GET", "/authorize", lambda c: c.authorize(max_age="-5"), 302,
         "redirect:invalid_request"),
    Case("authorize-superscript-max-age", "GET", "/authorize", lambda c: c.authorize(max_age="²"), 302,
         "redirect:invalid_request"),
    Case("authorize-prompt-none-and-login", "GET", "/authorize", lambda c: c.authorize(prompt="none login"), 302,
         "redirect:invalid_request"),
    Case("authorize-garbage-hint", "GET", "/authorize", lambda c: c.authorize(id_token_hint="x.y.z"), 302,
         "redirect:invalid_request"),
    Case("authorize-form-post-mode", "GET", "/authorize", lambda c: c.authorize(response_mode="form_post"), 302,
         "redirect:invalid_request"),
    Case("authorize-query-mode", "GET", "/authorize", lambda c: c.authorize(response_mode="query"), 302, LOGIN),
    Case("authorize-deep-claims", "GET", "/authorize", lambda c: c.authorize(claims=DEEP_JSON), 302,
         "redirect:invalid_request"),
    Case("authorize-nul-nonce", "GET", "/authorize", lambda c: c.authorize(nonce="n\x00"), 302,
         "redirect:invalid_request"),
    Case("authorize-oversized-nonce", "GET", "/authorize", lambda c: c.authorize(nonce="n" * 10 * KB), 302,
         "redirect:invalid_request"),
    Case("authorize-10kb-state", "GET", "/authorize", lambda c: c.authorize(state="s" * 10 * KB), 302, LOGIN),
    Case("authorize-nul-login-hint", "GET", "/authorize", lambda c: c.authorize(login_hint="a\x00"), 302, LOGIN),
    # /token
    Case("token-get", "GET", "/token", lambda c: {}, 405, "invalid_request"),
    Case("token-no-parameters", "POST", "/token", lambda c: {}, 400, "invalid_request"),
    Case("token-empty-grant", "POST", "/token", lambda c: form(("grant_type", "")), 400, "invalid_request"),
    Case("token-unknown-grant", "POST", "/token", lambda c: form(("grant_type", "password")), 400,
         "unsupported_grant_type"),
    Case("token-nul-grant", "POST", "/token", lambda c: form(("grant_type", "authorization_code\x00")), 400,
         "unsupported_grant_type"),
    Case("token-grant-twice", "POST", "/token", lambda c: auth_code_form(
        c, ("grant_type", "refresh_token"), ("code", "x")), 400, "invalid_request"),
    Case("token-code-twice", "POST", "/token", lambda c: auth_code_form(c, ("code", "a"), ("code", "b")), 400,
         "invalid_request"),
    Case("token-client-twice", "POST", "/token", lambda c: form(
        ("grant_type", "authorization_code"), ("code", "x"), ("client_id", c.public_rp.client_id),
        ("client_id", c.rp.client_id)), 400, "invalid_request"),
    Case("token-no-code", "POST", "/token", lambda c: auth_code_form(c), 400, "invalid_request"),
    # RFC 6749 sections 2.3.1 and 3.2: parameters in the body only (a secret in the URI is logged).
    Case("token-grant-in-query", "POST", "/token", lambda c: {"headers": c.rp.basic_auth, "query_string": {
        "grant_type": "client_credentials"}}, 400, "invalid_request"),
    Case("token-secret-in-query", "POST", "/token", lambda c: {"query_string": {
        "client_id": c.rp.client_id, "client_secret": c.rp.client_secret}, **form(
        ("grant_type", "client_credentials"))}, 400, "invalid_request"),
    Case("token-array-code", "POST", "/token", lambda c: auth_code_form(c, ("code[]", "x")), 400,
         "invalid_request"),
    Case("token-unknown-code", "POST", "/token", lambda c: auth_code_form(
        c, ("code", "nope"), ("redirect_uri", c.rp.redirect_uri), ("code_verifier", "v" * 43)), 400,
         "invalid_grant"),
    Case("token-nul-code", "POST", "/token", lambda c: auth_code_form(c, ("code", "a\x00b")), 400, "invalid_grant"),
    Case("token-10kb-code", "POST", "/token", lambda c: auth_code_form(c, ("code", "c" * 10 * KB)), 400,
         "invalid_grant"),
    Case("token-70kb-body", "POST", "/token", lambda c: auth_code_form(c, ("code", "c" * 70 * KB)), 413,
         "invalid_request"),
    Case("token-json-body", "POST", "/token", lambda c: {"headers": c.rp.basic_auth, "json": {
        "grant_type": "authorization_code", "code": "x"}}, 400, "invalid_request"),
    Case("token-non-utf8-body", "POST", "/token", lambda c: {
        "headers": c.rp.basic_auth, "content_type": "application/x-www-form-urlencoded",
        "data": b"grant_type=authorization_code&code=%FF%FE&redirect_uri=\xff"}, 400, "invalid_request"),
    Case("token-unknown-client", "POST", "/token", lambda c: {"headers": basic(b"nobody:secret"), **form(
        ("grant_type", "authorization_code"), ("code", "x"))}, 401, "invalid_client"),
    Case("token-nul-client", "POST", "/token", lambda c: form(
        ("grant_type", "authorization_code"), ("code", "x"), ("client_id", "a\x00"), ("client_secret", "s")),
         400, "invalid_client"),
    Case("token-wrong-secret", "POST", "/token", lambda c: {"headers": basic(f"{c.rp.client_id}:no".encode()),
                                                           **form(("grant_type", "authorization_code"))},
         401, "invalid_client"),
    Case("token-basic-not-base64", "POST", "/token", lambda c: {"headers": {"Authorization": "Basic %%%"}, **form(
        ("grant_type", "authorization_code"), ("code", "x"))}, 401, "invalid_client"),
    Case("token-basic-empty", "POST", "/token", lambda c: {"headers": {"Authorization": "Basic  "}, **form(
        ("grant_type", "authorization_code"), ("code", "x"))}, 401, "invalid_client"),
    Case("token-basic-not-utf8", "POST", "/token", lambda c: {"headers": basic(b"\xff\xfe:\xff"), **form(
        ("grant_type", "authorization_code"), ("code", "x"))}, 401, "invalid_client"),
    Case("token-garbage-assertion", "POST", "/token", lambda c: form(
        ("grant_type", "authorization_code"), ("code", "x"), ("client_assertion", "a.b.c"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")), 400, "invalid_client"),
    Case("token-basic-and-body-secret", "POST", "/token", lambda c: {"headers": c.rp.basic_auth, **form(
        ("grant_type", "client_credentials"), ("client_id", c.rp.client_id), ("client_secret", "other"))}, 400,
         "invalid_request"),
    Case("token-secret-and-assertion", "POST", "/token", lambda c: form(
        ("grant_type", "client_credentials"), ("client_id", c.rp.client_id), ("client_secret", c.rp.client_secret),
        ("client_assertion", "a.b.c"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")), 400, "invalid_request"),
    Case("introspect-basic-and-body-secret", "POST", "/introspect", lambda c: {"headers": c.rp.basic_auth, **form(
        ("token", "x"), ("client_id", c.rp.client_id), ("client_secret", c.rp.client_secret))}, 400,
         "invalid_request"),
    Case("token-deep-assertion", "POST", "/token", lambda c: form(
        ("grant_type", "client_credentials"), ("client_assertion", DEEP_JWT),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")), 400, "invalid_client"),
    Case("token-public-client-credentials", "POST", "/token", lambda c: form(
        ("grant_type", "client_credentials"), ("client_id", c.public_rp.client_id)), 401, "invalid_client"),
    Case("token-unknown-refresh", "POST", "/token", lambda c: {"headers": c.rp.basic_auth, **form(
        ("grant_type", "refresh_token"), ("refresh_token", "nope"))}, 400, "invalid_grant"),
    Case("token-no-refresh", "POST", "/token", lambda c: {"headers": c.rp.basic_auth, **form(
        ("grant_type", "refresh_token"))}, 400, "invalid_request"),
    Case("token-missing-verifier", "POST", "/token", lambda c: with_code(c, lambda v: None), 400, "invalid_request"),
    Case("token-short-verifier", "POST", "/token", lambda c: with_code(c, lambda v: "short"), 400, "invalid_request"),
    Case("token-wrong-verifier", "POST", "/token", lambda c: with_code(c, lambda v: v[::-1]), 400, "invalid_grant"),
    Case("token-verifier-twice", "POST", "/token", lambda c: {"data": MultiDict(
        [*with_code(c, lambda v: v)["data"].items(multi=True), ("code_verifier", "w" * 43)]),
        "headers": c.rp.basic_auth}, 400, "invalid_request"),
    # /introspect
    Case("introspect-get", "GET", "/introspect", lambda c: {}, 405, "invalid_request"),
    Case("introspect-no-client", "POST", "/introspect", lambda c: form(("token", "x")), 401, "invalid_client"),
    Case("introspect-no-token", "POST", "/introspect", lambda c: {"headers": c.rp.basic_auth}, 400,
         "invalid_request"),
    Case("introspect-token-twice", "POST", "/introspect", lambda c: {"headers": c.rp.basic_auth, **form(
        ("token", "a"), ("token", "b"))}, 400, "invalid_request"),
    Case("introspect-token-in-query", "POST", "/introspect", lambda c: {"headers": c.rp.basic_auth,
         "query_string": {"token": "x"}}, 400, "invalid_request"),
    Case("introspect-json-body", "POST", "/introspect", lambda c: {"headers": c.rp.basic_auth, "json": {
        "token": "x"}}, 400, "invalid_request"),
    Case("introspect-nul-token", "POST", "/introspect", lambda c: {"headers": c.rp.basic_auth, **form(
        ("token", "a\x00b"))}, 200, None),
    Case("introspect-10kb-token", "POST", "/introspect", lambda c: {"headers": c.rp.basic_auth, **form(
        ("token", "t" * 10 * KB))}, 200, None),
    Case("introspect-70kb-body", "POST", "/introspect", lambda c: {"headers": c.rp.basic_auth, **form(
        ("token", "t" * 70 * KB))}, 413, "invalid_request"),
    # /revoke
    Case("revoke-no-client", "POST", "/revoke", lambda c: form(("token", "x")), 401, "invalid_client"),
    Case("revoke-no-token", "POST", "/revoke", lambda c: {"headers": c.rp.basic_auth}, 400, "invalid_request"),
    Case("revoke-token-twice", "POST", "/revoke", lambda c: {"headers": c.rp.basic_auth, **form(
        ("token", "a"), ("token", "b"))}, 400, "invalid_request"),
    Case("revoke-token-in-query", "POST", "/revoke", lambda c: {"headers": c.rp.basic_auth, "query_string": {
        "token": "x"}, **form(("token", "y"))}, 400, "invalid_request"),
    Case("revoke-unknown-hint", "POST", "/revoke", lambda c: {"headers": c.rp.basic_auth, **form(
        ("token", "a"), ("token_type_hint", "id_token"))}, 400, "unsupported_token_type"),
    Case("revoke-nul-token", "POST", "/revoke", lambda c: {"headers": c.rp.basic_auth, **form(
        ("token", "a\x00"))}, 200, None),
    Case("revoke-70kb-body", "POST", "/revoke", lambda c: {"headers": c.rp.basic_auth, **form(
        ("token", "t" * 70 * KB))}, 413, "invalid_request"),
    # /userinfo (RFC 6750 section 3.1)
    Case("userinfo-no-token", "GET", "/userinfo", lambda c: {}, 401, CHALLENGE),
    Case("userinfo-post-no-token", "POST", "/userinfo", lambda c: form(("scope", "openid")), 401, CHALLENGE),
    Case("userinfo-basic-scheme", "GET", "/userinfo", lambda c: {"headers": basic(b"a:b")}, 401, CHALLENGE),
    Case("userinfo-bearer-alone", "GET", "/userinfo", lambda c: {"headers": {"Authorization": "Bearer"}}, 400,
         "invalid_request"),
    Case("userinfo-body-garbage", "POST", "/userinfo", lambda c: form(("access_token", "x.y.z")), 401,
         "invalid_token"),
    Case("userinfo-header-and-body", "POST", "/userinfo", lambda c: {"headers": {"Authorization": "Bearer x"}, **form(
        ("access_token", "x"))}, 400, "invalid_request"),
    Case("userinfo-body-token-twice", "POST", "/userinfo", lambda c: form(("access_token", "x"), ("access_token", "y")),
         400, "invalid_request"),
    Case("userinfo-bearer-garbage", "GET", "/userinfo", lambda c: {"headers": {"Authorization": "Bearer x.y.z"}},
         401, "invalid_token"),
    Case("userinfo-bearer-10kb", "POST", "/userinfo", lambda c: {"headers": {
        "Authorization": "Bearer " + "t" * 10 * KB}}, 401, "invalid_token"),
    Case("userinfo-70kb-body", "POST", "/userinfo", lambda c: {"data": {"access_token": "t" * 70 * KB}}, 413,
         "invalid_request"),
    # /logout
    Case("logout-garbage-hint", "GET", "/logout", lambda c: {"query_string": {"id_token_hint": "x.y.z"}}, 400, PAGE),
    Case("logout-no-csrf", "POST", "/logout", lambda c: form(("client_id", c.rp.client_id)), 400, PAGE),
    Case("logout-nul-client", "GET", "/logout", lambda c: {"query_string": {
        "client_id": "a\x00", "post_logout_redirect_uri": "https://evil.test/"}}, 200, PAGE),
    Case("logout-70kb-body", "POST", "/logout", lambda c: {"data": {"state": "s" * 70 * KB}}, 413, PAGE),
]


@pytest.fixture
def ctx(app, client, person, rp, public_rp) -> Ctx:
    return Ctx(app, client, rp, public_rp)


def assert_answer(response, case: Case, ctx: Ctx) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == case.status, body[:500]
    assert "Traceback" not in body
    if case.expect == PAGE:
        assert response.mimetype == "text/html" and "Location" not in response.headers
    elif case.expect == CHALLENGE:
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "error" not in json.loads(body)
    elif case.expect == LOGIN:
        assert response.headers["Location"].startswith("/login?interaction=")
    elif case.expect and case.expect.startswith("redirect:"):
        location = response.headers["Location"]
        assert location.startswith(ctx.rp.redirect_uri + "?"), location
        params = query_of(location)
        assert params["error"] == case.expect.removeprefix("redirect:")
        assert params["iss"] == "http://idp.test" and "state" in params
    else:
        assert response.mimetype == "application/json"
        assert json.loads(body).get("error") == case.expect
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_request_gets_the_protocols_error(ctx, case):
    response = ctx.client.open(case.path, method=case.method, **case.build(ctx))
    assert_answer(response, case, ctx)
