"""PostgreSQL stopped, then started again, under a live node (docs/outages.md): the token endpoints
answer RFC 6749 JSON 503s with Retry-After, the pages a localized 503 page, discovery and the
JWKS (from a database keyring) answer throughout, and the node recovers without a restart: a
person logged in before the outage is still logged in after it."""

from __future__ import annotations

import json
import time
from collections import Counter

import requests

from conftest import PHONE, RelyingParty, authorization_request, query_of
from faults.services import make_node
from http_browser import follow_until, log_in_over_http

OUTAGE_SECONDS = 10
REDIRECT_URI = "https://rp.test/callback"


def authorization_url(node, relying_party: RelyingParty) -> tuple[str, str]:
    """A fresh authorization request's URL at ``node``, and its PKCE verifier."""
    request = authorization_request(relying_party)
    return requests.Request("GET", node.url + "/authorize", params=request.params).prepare().url, request.verifier


def probe(node, client: dict, browser: requests.Session) -> dict[str, requests.Response]:
    """One request to each endpoint under test."""
    auth = (client["client_id"], client["client_secret"])
    authorize = {"client_id": client["client_id"], "response_type": "code", "scope": "openid",
                 "redirect_uri": REDIRECT_URI, "code_challenge_method": "S256",
                 "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}
    get = {"allow_redirects": False, "timeout": 10}
    return {
        "token": requests.post(node.url + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10),
        "introspect": requests.post(node.url + "/introspect", data={"token": "x"}, auth=auth, timeout=10),
        "authorize": requests.get(node.url + "/authorize", params=authorize, **get),
        "authorize_en": requests.get(node.url + "/authorize", params=authorize, headers={"Accept-Language": "en"},
                                     **get),
        "login": browser.get(node.url + "/login", **get),
        "discovery": requests.get(node.url + "/.well-known/openid-configuration", timeout=10),
        "jwks": requests.get(node.url + "/jwks.json", timeout=10),
    }


def check_unavailable(answers: dict[str, requests.Response]) -> None:
    for name in ("token", "introspect"):
        answer = answers[name]
        assert answer.status_code == 503, (name, answer.status_code, answer.text[:300])
        assert answer.json()["error"] == "temporarily_unavailable"
        assert int(answer.headers["Retry-After"]) > 0
    for name, text in (("authorize", "系统暂时无法使用"), ("authorize_en", "temporarily unavailable"),
                       ("login", "系统暂时无法使用")):
        answer = answers[name]
        assert answer.status_code == 503 and text in answer.text, (name, answer.status_code, answer.text[:300])
        assert answer.headers["Content-Type"].startswith("text/html")


def check_working(answers: dict[str, requests.Response]) -> bool:
    return (answers["token"].status_code == 200 and answers["introspect"].json() == {"active": False}
            and answers["authorize"].status_code == 302 and answers["login"].status_code == 200)


def test_postgres_stopped_and_started_under_a_live_node(postgres, nodes, tmp_path):
    # No client cache: every request needs the database (a cached client gets client_credentials
    # tokens, which are JWTs with no row, for up to CLIENT_CACHE_TTL into an outage).
    node = make_node(tmp_path, "a", DATABASE_URL=postgres.url, KEYRING_STORE="database",
                     KEYRING_REFRESH_SECONDS="1", CLIENT_CACHE_TTL="0")
    nodes.append(node.start("--workers", "2", "--threads", "4"))
    client = json.loads(node.run_idp("clients", "add", "--name", "征管接口", "--grant-type", "client_credentials",
                                 "--grant-type", "authorization_code", "--redirect-uri", REDIRECT_URI,
                                 "--first-party", "--json"))
    node.add_person()
    relying_party = RelyingParty(client["client_id"], client["client_secret"], REDIRECT_URI)
    browser = requests.Session()  # a browser half-way through a login: a session row, no login yet
    assert browser.get(node.url + "/login", timeout=10).status_code == 200
    person = requests.Session()  # a person logged in (single sign-on) before the outage
    log_in_over_http(node.url, authorization_url(node, relying_party)[0], REDIRECT_URI,
                     lambda: node.last_sms_code(PHONE), browser=person)
    before = probe(node, client, browser)
    assert check_working(before)
    keys = before["jwks"].json()

    postgres.stop()
    statuses: Counter = Counter()
    began = time.monotonic()
    while time.monotonic() - began < OUTAGE_SECONDS:
        answers = probe(node, client, browser)
        statuses.update(f"{name} {answer.status_code}" for name, answer in answers.items())
        check_unavailable(answers)
        assert answers["discovery"].status_code == 200
        assert answers["jwks"].status_code == 200 and answers["jwks"].json() == keys
        time.sleep(0.2)
    refused = person.get(authorization_url(node, relying_party)[0], allow_redirects=False, timeout=10)
    assert refused.status_code == 503 and "系统暂时无法使用" in refused.text

    postgres.start()
    back = time.monotonic()
    failed_after_start = 0
    while not check_working(answers := probe(node, client, browser)):
        assert time.monotonic() - back < 30, {name: a.status_code for name, a in answers.items()}
        assert {a.status_code for a in answers.values()} <= {200, 302, 503}
        failed_after_start += 1
        time.sleep(0.1)
    recovered_after = time.monotonic() - back
    # Both workers: every request from now on works.
    for _ in range(10):
        assert check_working(probe(node, client, browser))
    # The person is still logged in: straight back to the relying party with a code.
    url, verifier = authorization_url(node, relying_party)
    callback = follow_until(person, url, REDIRECT_URI)
    assert isinstance(callback, str), callback.text[:300]
    token = requests.post(node.url + "/token", auth=(client["client_id"], client["client_secret"]), timeout=10,
                          data={"grant_type": "authorization_code", "code": query_of(callback)["code"],
                                "redirect_uri": REDIRECT_URI, "code_verifier": verifier})
    assert token.status_code == 200 and token.json()["id_token"], token.text

    log = node.log()
    assert 1 <= log.count("dependency outage: database") <= 2, log[-3000:]  # once per worker
    assert log.count("dependency recovered: database") == log.count("dependency outage: database"), log[-3000:]
    assert " 500 " not in log and "Traceback" not in log, log[-3000:]
    print(f"\nPostgreSQL down {OUTAGE_SECONDS} s: {sum(statuses.values())} requests, "
          f"{sum(n for key, n in statuses.items() if key.endswith(' 503'))} answered 503 "
          f"({dict(statuses)}); working again {recovered_after:.2f} s after it started, "
          f"{failed_after_start} probe rounds failed meanwhile")


def test_a_quick_postgres_restart_costs_at_most_one_request_per_worker(postgres, nodes, tmp_path):
    """A quick restart (say, a minor-version upgrade) right after pooled connections were used
    (too recently to be pinged before use, idp/core/database.py): the first request on a dropped
    connection gets a 503, and that empties the worker's whole pool, so the next one works."""
    node = make_node(tmp_path, "a", DATABASE_URL=postgres.url, CLIENT_CACHE_TTL="0")
    nodes.append(node.start("--workers", "2", "--threads", "4"))
    client = json.loads(node.run_idp("clients", "add", "--name", "征管接口", "--grant-type", "client_credentials",
                                 "--redirect-uri", "https://rp.test/callback", "--first-party", "--json"))
    auth = (client["client_id"], client["client_secret"])

    def token() -> int:
        return requests.post(node.url + "/token", data={"grant_type": "client_credentials"}, auth=auth,
                             timeout=10).status_code

    assert [token() for _ in range(20)] == [200] * 20  # both workers hold pooled connections
    postgres.restart()
    back = time.monotonic()
    statuses = [token() for _ in range(40)]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(503) <= 2, statuses  # --workers 2
    assert statuses[-10:] == [200] * 10
    print(f"\nPostgreSQL restarted: {statuses.count(503)} of the next {len(statuses)} token requests answered 503 "
          f"(all done {time.monotonic() - back:.2f} s after it was back)")
