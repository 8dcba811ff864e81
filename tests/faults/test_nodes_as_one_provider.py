"""Two ``idp serve`` nodes on one PostgreSQL and one Redis are one provider, as behind a load
balancer that sends each request anywhere: a login begun on one finishes on the other, a code
and a refresh token work on either, a revocation and a lockout hold on both at once, and a key
rotation reaches both within IDP_KEYRING_REFRESH_SECONDS.

Both nodes have one issuer, one secret key, the database keyring and one SMS outbox. A
``requests.Session`` is one browser for both: cookies ignore ports.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
import requests
from joserfc import jws, jwt
from joserfc.jwk import KeySet

from idp.messages import MESSAGES

from conftest import PASSWORD, PHONE, AuthorizationRequest, RelyingParty, authorization_request, csrf_from, query_of
from faults.services import Node, make_node, running_postgres, running_redis
from http_browser import log_in_over_http

KEYRING_REFRESH_SECONDS = 2
LOCKED = MESSAGES["error_method_locked_password"]["zh-CN"]
WRONG_PASSWORD = MESSAGES["error_wrong_credential_password"]["zh-CN"]
OTHER_DOC, OTHER_PHONE = "440524188001010014", "13987654321"
REDIRECT_URI = "https://rp.test/callback"


@dataclass
class Cluster:
    a: Node
    b: Node
    rp: RelyingParty
    resource_server: RelyingParty


def registered(node: Node, *options: str) -> RelyingParty:
    """A client registered as an operator does, with ``idp clients add``."""
    added = json.loads(node.run_idp("clients", "add", "--first-party", "--json", *options))
    return RelyingParty(added["client_id"], added["client_secret"], REDIRECT_URI)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("cluster")
    with running_postgres() as postgres, running_redis(tmp_path_factory.mktemp("redis")) as redis:
        shared = {"DATABASE_URL": postgres.url, "REDIS_URL": redis.url, "SECRET_KEY": secrets.token_urlsafe(32),
                  "KEYRING_STORE": "database", "KEYRING_REFRESH_SECONDS": str(KEYRING_REFRESH_SECONDS),
                  "SMS_OUTBOX": str(base / "sms-outbox.jsonl")}
        a = make_node(base, "a", **shared)
        # One issuer, as behind one balancer: node a's address stands for it.
        b = make_node(base, "b", ISSUER=a.env["IDP_ISSUER"], **shared)
        nodes = [node.start("--workers", "2", "--threads", "2", wait=False) for node in (a, b)]
        try:
            for node in nodes:
                node.wait_ready(120)
            a.add_person()
            b.run_idp("users", "add", "--doc-type", "ID_CARD", "--doc-number", OTHER_DOC, "--name", "李四",
                      "--phone", OTHER_PHONE, "--password", PASSWORD, "--username", "lisi")
            yield Cluster(a, b, registered(a, "--name", "电子税务局", "--redirect-uri", REDIRECT_URI),
                          registered(b, "--name", "征管接口", "--grant-type", "client_credentials"))
        finally:
            for node in nodes:
                node.stop()


def log_in(cluster: Cluster, begin: Node, finish: Node) -> tuple[str, AuthorizationRequest]:
    """The authorization request and the password on ``begin``; the SMS code and the way back to
    the relying party on ``finish``. Returns the authorization code and its request."""
    request = authorization_request(cluster.rp)
    callback = log_in_over_http(begin.url, f"{begin.url}/authorize?{urlencode(request.params)}",
                                cluster.rp.redirect_uri, lambda: begin.last_sms_code(PHONE), finish_url=finish.url)
    answer = query_of(callback)
    assert answer["state"] == request.params["state"]
    return answer["code"], request


def token_request(node: Node, client: RelyingParty, **data: str) -> requests.Response:
    return requests.post(f"{node.url}/token", headers=client.basic_auth, data=data, timeout=30)


def introspect(node: Node, cluster: Cluster, token: str) -> dict:
    return requests.post(f"{node.url}/introspect", headers=cluster.resource_server.basic_auth,
                         data={"token": token}, timeout=30).json()


def tokens_across(cluster: Cluster) -> dict:
    code, request = log_in(cluster, cluster.a, cluster.b)
    redeemed = token_request(cluster.a, cluster.rp, grant_type="authorization_code", code=code,
                             redirect_uri=cluster.rp.redirect_uri, code_verifier=request.verifier)
    assert redeemed.status_code == 200, redeemed.text
    return redeemed.json()


def test_a_login_begun_on_one_node_finishes_on_the_other_and_its_tokens_work_on_both(cluster):
    tokens = tokens_across(cluster)
    issuer = cluster.a.env["IDP_ISSUER"]
    for node in (cluster.a, cluster.b):
        keys = KeySet.import_key_set(requests.get(f"{node.url}/jwks.json", timeout=30).json())
        assert jwt.decode(tokens["id_token"], keys).claims["iss"] == issuer
    refreshed = token_request(cluster.b, cluster.rp, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert introspect(cluster.a, cluster, refreshed.json()["access_token"])["active"] is True
    # The spent refresh token is spent on both nodes.
    again = token_request(cluster.a, cluster.rp, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert again.json()["error"] == "invalid_grant"


def test_a_revocation_on_one_node_holds_on_the_other_at_once(cluster):
    tokens = tokens_across(cluster)
    assert introspect(cluster.b, cluster, tokens["access_token"])["active"] is True
    revoked = requests.post(f"{cluster.a.url}/revoke", headers=cluster.rp.basic_auth,
                            data={"token": tokens["refresh_token"]}, timeout=30)
    assert revoked.status_code == 200
    assert introspect(cluster.b, cluster, tokens["refresh_token"]) == {"active": False}
    assert introspect(cluster.b, cluster, tokens["access_token"]) == {"active": False}
    assert requests.get(f"{cluster.b.url}/userinfo", timeout=30,
                        headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401


def submit_password(browser: requests.Session, node: Node, password: str) -> requests.Response:
    page = browser.get(f"{node.url}/login", timeout=30)
    return browser.post(f"{node.url}/login", timeout=30, data={
        "csrf_token": csrf_from(page.text), "identifier": "lisi", "password": password})


def test_password_failures_alternating_between_nodes_lock_on_both(cluster):
    browser = requests.Session()
    for attempt in range(4):
        node = (cluster.a, cluster.b)[attempt % 2]
        assert WRONG_PASSWORD in submit_password(browser, node, "Wrong#2026").text
    fifth = submit_password(browser, cluster.a, "Wrong#2026")
    assert fifth.status_code == 400 and LOCKED in fifth.text
    for node in (cluster.a, cluster.b):
        assert LOCKED in submit_password(requests.Session(), node, PASSWORD).text


def signing_kid(node: Node, cluster: Cluster) -> str:
    issued = token_request(node, cluster.resource_server, grant_type="client_credentials")
    assert issued.status_code == 200, issued.text
    return jws.extract_compact(issued.json()["access_token"].encode()).headers()["kid"]


def published_kids(node: Node) -> set[str]:
    return {key["kid"] for key in requests.get(f"{node.url}/jwks.json", timeout=30).json()["keys"]}


def test_a_key_rotation_is_signed_and_published_by_both_nodes_within_the_refresh_interval(cluster):
    signing_before = {signing_kid(node, cluster) for node in (cluster.a, cluster.b)}
    published_before = published_kids(cluster.a)
    assert len(signing_before) == 1 and published_kids(cluster.b) == published_before
    cluster.a.run_idp("keys", "rotate", "--force")
    rotated_at = time.monotonic()
    seen: dict[int, tuple[float, str, set[str]]] = {}  # port: (seconds after the rotation, signing kid, JWKS kids)
    while len(seen) < 2 and time.monotonic() - rotated_at < KEYRING_REFRESH_SECONDS + 2:
        for node in [node for node in (cluster.a, cluster.b) if node.port not in seen]:
            kid, published = signing_kid(node, cluster), published_kids(node)
            if kid not in signing_before and published - published_before:
                seen[node.port] = (time.monotonic() - rotated_at, kid, published)
        time.sleep(0.05)
    assert len(seen) == 2, f"only the nodes on {sorted(seen)} sign with and publish the new keys"
    keys = json.loads(cluster.b.run_idp("keys", "list", "--json"))
    active, upcoming = (next(k["kid"] for k in keys if k["alg"] == "ES256" and k["state"] == state)
                        for state in ("active", "next"))
    for _, kid, published in seen.values():
        assert kid == active and upcoming in published
    print(f"nodes signed with and published the new keys {', '.join(f'{s[0]:.1f}' for s in seen.values())} s "
          f"after `idp keys rotate` returned (IDP_KEYRING_REFRESH_SECONDS={KEYRING_REFRESH_SECONDS})")
