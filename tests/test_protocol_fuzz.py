"""Random malformed and hostile requests to every protocol endpoint (seeded, so repeatable).

Whatever arrives, the provider answers in the protocol's terms: never a 5xx, every JSON error
body names its ``error`` code, and no redirect goes anywhere a client did not register.
"""

from __future__ import annotations

import base64
import json
import random
import string
from urllib.parse import parse_qs, urlsplit

from test_error_catalogue import documented_errors
from werkzeug.datastructures import MultiDict

from conftest import authorization_request, pkce_pair, tokens_for

REQUESTS = 300
ENDPOINTS = [
    ("GET", "/authorize"), ("POST", "/authorize"), ("POST", "/token"), ("GET", "/token"),
    ("POST", "/introspect"), ("POST", "/revoke"), ("GET", "/userinfo"), ("POST", "/userinfo"),
    ("GET", "/logout"), ("POST", "/logout"),
]
NAMES = [
    "client_id", "client_secret", "redirect_uri", "response_type", "grant_type", "code", "code_verifier",
    "code_challenge", "code_challenge_method", "scope", "state", "nonce", "prompt", "max_age", "id_token_hint",
    "login_hint", "ui_locales", "refresh_token", "token", "token_type_hint", "client_assertion",
    "client_assertion_type", "post_logout_redirect_uri", "interaction", "acr_values", "claims", "request",
    "request_uri", "client_id[]", "code[0]", "", "\x00", "名字",
]
HOSTILE = [
    "", " ", "\x00", "a\x00b", "%00", "%FF%FE", "\ud7ff", "名字", "' OR 1=1 --", "<script>alert(1)</script>",
    "../../etc/passwd", "-1", "0", "1e309", "NaN", "null", "[]", "{}", "true", "none login", "plain", "S512",
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "a.b.c", "javascript:alert(1)", "https://evil.test/cb",
    "urn:ietf:params:oauth:grant-type:device_code", "Basic", "Bearer",
]


def random_text(rng: random.Random) -> str:
    length = rng.choice([1, 8, 43, 129, 300, 5000, 20000])
    alphabet = string.printable + "\x00\x7f中文ß\u202e"
    return "".join(rng.choice(alphabet) for _ in range(length))


def realistic_values(rp, public_rp, tokens: dict) -> list[str]:
    verifier, challenge = pkce_pair()
    return [
        rp.client_id, public_rp.client_id, rp.redirect_uri, public_rp.redirect_uri, "https://rp.test/bye",
        "code", "token", "authorization_code", "refresh_token", "client_credentials", "openid profile phone",
        "openid email", "S256", challenge, verifier, "none", "login", "10000", "en", "zh-CN",
        tokens["access_token"], tokens["refresh_token"], tokens["id_token"], rp.client_secret,
        "access_token", "refresh_token", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    ]


def random_value(rng: random.Random, realistic: list[str]) -> str:
    pick = rng.random()
    if pick < 0.45:
        return rng.choice(realistic)
    if pick < 0.85:
        return rng.choice(HOSTILE)
    return random_text(rng)


def random_headers(rng: random.Random, rp, tokens: dict) -> dict:
    choice = rng.randrange(9)
    if choice == 0:
        return rp.basic_auth
    if choice == 1:
        return {"Authorization": "Bearer " + tokens["access_token"]}
    if choice == 2:
        return {"Authorization": "Basic " + base64.b64encode(rng.randbytes(rng.choice([3, 30, 300]))).decode()}
    if choice == 3:
        return {"Authorization": rng.choice(["Basic %%%", "Bearer", "Bearer  ", "Negotiate x", "Basic Og==",
                                             "Bearer " + "x" * 9000, "bearer a b c", "Basic " + "A" * 5000])}
    if choice == 4:
        return {"Authorization": f"Bearer {tokens['id_token']}"}
    return {}


def valid_pairs(rng: random.Random, path: str, rp, public_rp, tokens: dict) -> list[tuple[str, str]]:
    """A well-formed request for ``path``, which the mutations then spoil a little."""
    if path == "/authorize":
        return list(authorization_request(rng.choice([rp, public_rp])).params.items())
    if path == "/token":
        return rng.choice([
            [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"])],
            [("grant_type", "authorization_code"), ("code", "x" * 43), ("redirect_uri", rp.redirect_uri),
             ("code_verifier", pkce_pair()[0])],
            [("grant_type", "client_credentials"), ("client_id", public_rp.client_id)],
        ])
    if path in ("/introspect", "/revoke"):
        return [("token", tokens[rng.choice(["access_token", "refresh_token"])]),
                ("token_type_hint", rng.choice(["access_token", "refresh_token"]))]
    if path == "/logout":
        return [("id_token_hint", tokens["id_token"]), ("post_logout_redirect_uri", "https://rp.test/bye"),
                ("state", "s")]
    return []


def mutate(rng: random.Random, pairs: list, realistic: list[str]) -> list:
    for _ in range(rng.randrange(1, 4)):
        operation = rng.randrange(4)
        if operation == 0 and pairs:
            pairs.pop(rng.randrange(len(pairs)))
        elif operation == 1 and pairs:
            index = rng.randrange(len(pairs))
            pairs[index] = (pairs[index][0], random_value(rng, realistic))
        elif operation == 2 and pairs:
            pairs.append(rng.choice(pairs))  # a repeated parameter
        else:
            pairs.append((rng.choice(NAMES), random_value(rng, realistic)))
    return pairs


def random_request(rng: random.Random, rp, public_rp, tokens: dict) -> tuple[str, str, dict]:
    method, path = rng.choice(ENDPOINTS)
    realistic = realistic_values(rp, public_rp, tokens)
    if rng.random() < 0.6:
        pairs = mutate(rng, valid_pairs(rng, path, rp, public_rp, tokens), realistic)
    else:
        pairs = [(rng.choice(NAMES), random_value(rng, realistic)) for _ in range(rng.randrange(0, 12))]
    kwargs: dict = {"headers": random_headers(rng, rp, tokens)}
    shape = rng.randrange(10)
    if method == "GET" or shape < 2:
        kwargs["query_string"] = MultiDict(pairs)
    elif shape < 6:
        kwargs["data"] = MultiDict(pairs)
    elif shape < 7:
        kwargs["json"] = dict(pairs) if rng.random() < 0.8 else [v for _, v in pairs]
    elif shape < 8:
        kwargs["data"] = rng.randbytes(rng.choice([0, 10, 1000]))
        kwargs["content_type"] = rng.choice(["application/x-www-form-urlencoded", "multipart/form-data",
                                             "text/plain", "application/json"])
    elif shape < 9:
        kwargs["data"] = {"state": "s" * 70 * 1024}
    else:
        kwargs["data"] = MultiDict(pairs)
        kwargs["query_string"] = MultiDict(pairs[::-1])
    return method, path, kwargs


def check_answer(response, allowed_redirects: tuple[str, ...]) -> str | None:
    """What is wrong with this answer, or None."""
    body = response.get_data(as_text=True)
    if response.status_code >= 500:
        return f"status {response.status_code}"
    if "Traceback" in body:
        return "traceback in the body"
    if response.mimetype == "application/json" and response.status_code >= 400:
        try:
            error = json.loads(body).get("error")
        except (ValueError, AttributeError):
            return "unparseable JSON error body"
        # RFC 6750 section 3.1: a resource request without credentials gets a Bearer challenge
        # and no error code.
        bare_challenge = response.status_code == 401 and response.headers.get("WWW-Authenticate") == "Bearer"
        if not bare_challenge and (not isinstance(error, str) or not error):
            return f"JSON error body without an error code: {body[:200]}"
    location = response.headers.get("Location")
    if location is not None and not location.startswith(allowed_redirects):
        return f"redirect to {location[:200]}"
    return None


def test_random_hostile_requests_never_break_the_protocol(app, client, person, rp, public_rp):
    tokens = tokens_for(app, client, rp)
    allowed = (rp.redirect_uri + "?", public_rp.redirect_uri + "?", "https://rp.test/bye", "/login")
    rng = random.Random(1234)
    failures = []
    for number in range(REQUESTS):
        method, path, kwargs = random_request(rng, rp, public_rp, tokens)
        response = client.open(path, method=method, **kwargs)
        if problem := check_answer(response, allowed):
            failures.append(f"#{number} {method} {path} {str(kwargs)[:300]}: {problem}")
    assert not failures, "\n".join(failures)


def answered_error(path: str, response) -> tuple[str, str, str] | None:
    """(endpoint, status, error) as docs/integration.md section 8 lists them, for a protocol error."""
    if response.mimetype == "application/json" and response.status_code >= 400:
        error = json.loads(response.get_data(as_text=True)).get("error") or "(none)"
        return path, str(response.status_code), error
    location = response.headers.get("Location", "")
    if path == "/authorize" and "error=" in location:
        return path, "302", parse_qs(urlsplit(location).query)["error"][0]
    return None


def test_every_error_random_requests_get_is_in_the_documented_list(app, client, person, rp, public_rp):
    """docs/integration.md section 8 claims to list every error; random requests find no other."""
    listed = documented_errors()
    tokens = tokens_for(app, client, rp)
    rng = random.Random(4321)
    unlisted = set()
    for _ in range(REQUESTS):
        method, path, kwargs = random_request(rng, rp, public_rp, tokens)
        if path != "/logout" and (answer := answered_error(path, client.open(path, method=method, **kwargs))):
            unlisted |= {answer} - listed
    assert not unlisted, sorted(unlisted)
