"""What an operator sees of real ``idp serve`` nodes: the metrics endpoint summing every worker,
JSON log lines, and readiness following the database down and back up."""

from __future__ import annotations

import json
import os
import re
import signal
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import PHONE, RelyingParty, authorization_request, csrf_from
from faults.services import free_port, make_node, wait_until
from http_browser import log_in_over_http

REDIRECT_URI = "https://rp.test/callback"
WORKERS = 2
TOKEN_REQUESTS = 24


def _wrong_password(base: str) -> int:
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=10)
    return browser.post(f"{base}/login", timeout=10, allow_redirects=False, data={
        "csrf_token": csrf_from(page.text), "identifier": "zhangsan", "password": "not-the-password"}).status_code


def _log_in_and_redeem(node, rp: RelyingParty) -> int:
    """A person's whole login for ``rp``, its code redeemed at the token endpoint."""
    request = authorization_request(rp)
    authorization_url = requests.Request("GET", f"{node.url}/authorize", params=request.params).prepare().url
    callback = log_in_over_http(node.url, authorization_url, REDIRECT_URI, lambda: node.last_sms_code(PHONE))
    code = parse_qs(urlsplit(callback).query)["code"][0]
    return requests.post(f"{node.url}/token", auth=(rp.client_id, rp.client_secret), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": request.verifier}).status_code


def _samples(metrics_url: str) -> dict[tuple[str, frozenset], float]:
    text = requests.get(metrics_url, timeout=10).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_the_metrics_endpoint_sums_every_worker(tmp_path, nodes, server):
    metrics_port = free_port()
    node = make_node(tmp_path, "a", METRICS_ADDRESS=f"127.0.0.1:{metrics_port}")
    node.env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_1.db").write_bytes(b"left by an earlier run")
    node.run_idp("db", "upgrade")
    node.add_person()
    api = json.loads(node.run_idp("clients", "add", "--name", "征管接口", "--grant-type", "client_credentials",
                                  "--json"))
    web = json.loads(node.run_idp("clients", "add", "--name", "电子税务局", "--redirect-uri", REDIRECT_URI,
                                  "--first-party", "--json"))
    nodes.append(node.start("--server", server, "--workers", str(WORKERS), "--threads", "4"))

    def token(_: int) -> int:
        return requests.post(f"{node.url}/token", data={"grant_type": "client_credentials"},
                             auth=(api["client_id"], api["client_secret"]), timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(token, range(TOKEN_REQUESTS))) == {200}
    assert _wrong_password(node.url) == 400
    assert _log_in_and_redeem(node, RelyingParty(web["client_id"], web["client_secret"], REDIRECT_URI)) == 200

    # Each worker wrote its own files; the endpoint adds them up (a stale file was cleared at start).
    writers = {re.fullmatch(r"\w+_(\d+)\.db", f.name).group(1) for f in (tmp_path / "metrics").glob("*.db")}
    assert "1" not in writers
    metrics = _samples(f"http://127.0.0.1:{metrics_port}/metrics")

    def value(name: str, **labels: str) -> float | None:
        return metrics.get((name, frozenset(labels.items())))

    assert value("idp_workers") == WORKERS
    assert value("idp_tokens_issued_total", grant_type="client_credentials") == TOKEN_REQUESTS
    assert value("idp_http_request_duration_seconds_count", endpoint="protocol.token", method="POST",
                 status="200") == TOKEN_REQUESTS + 1  # and the code's redemption
    assert value("idp_login_attempts_total", method="password", outcome="failure") == 1
    assert value("idp_login_attempts_total", method="password", outcome="success") == 1
    assert value("idp_login_attempts_total", method="sms", outcome="success") == 1
    assert value("idp_sms_messages_total", purpose="login", outcome="sent") == 1
    assert value("idp_logins_total", kind="login", acr="urn:qdtax:loa:2") == 1
    assert value("idp_tokens_issued_total", grant_type="authorization_code") == 1
    assert value("idp_backchannel_logout_queue_depth") == 0
    assert 0 <= value("idp_signing_key_age_seconds", alg="ES256") < 600
    # The public port serves no metrics.
    assert requests.get(f"{node.url}/metrics", timeout=5).status_code == 404
    worker_pids = {m.group(1) for m in re.finditer(r"(?:Spawning worker-\d+ with PID|Booting worker with pid): (\d+)",
                                                   node.log())}
    assert len(worker_pids) == WORKERS and writers <= worker_pids | {str(node.process.pid)}
    assert len(writers & worker_pids) == WORKERS, "both workers served and counted"


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_json_logs_are_one_object_a_line_with_the_request_id(tmp_path, nodes, server):
    node = make_node(tmp_path, "a", LOG_FORMAT="json")
    nodes.append(node.start("--server", server, "--workers", "1", "--threads", "2"))
    answer = requests.get(f"{node.url}/healthz", timeout=5)
    forging = requests.get(f"{node.url}/x%0a{{\"level\":\"INFO\"}}", timeout=5)
    assert forging.status_code == 404
    node.stop()
    lines = [line for line in node.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, the servers' own included
    assert all({"time", "level", "logger", "message", "request_id"} <= record.keys() for record in records)
    access = {record["request_id"]: record for record in records if record["logger"] == "idp.access"}
    healthz = access[answer.headers["X-Request-Id"]]
    assert (healthz["method"], healthz["path"], healthz["status"]) == ("GET", "/healthz", 200)
    assert access[forging.headers["X-Request-Id"]]["path"] == '/x\\n{\\"level\\":\\"INFO\\"}'


def test_readiness_follows_the_database_down_and_back_without_a_restart(tmp_path, nodes, postgres):
    node = make_node(tmp_path, "a", DATABASE_URL=postgres.url, READINESS_TIMEOUT="1")
    nodes.append(node.start("--workers", "1", "--threads", "2"))
    assert requests.get(f"{node.url}/readyz", timeout=5).status_code == 200
    postgres.stop()
    down = requests.get(f"{node.url}/readyz", timeout=5)
    assert down.status_code == 503 and down.json()["checks"]["database"]["status"] == "fail"
    assert requests.get(f"{node.url}/healthz", timeout=5).status_code == 200
    postgres.start()
    wait_until(lambda: requests.get(f"{node.url}/readyz", timeout=5).status_code == 200, 15,
               "/readyz did not recover after the database came back")


def test_a_killed_worker_leaves_the_worker_count_and_its_counts_stay(tmp_path, nodes):
    """gunicorn replaces a killed worker; the scrape drops the dead one from ``idp_workers`` (its
    live-gauge file) and keeps what it counted."""
    metrics_port = free_port()
    node = make_node(tmp_path, "a", METRICS_ADDRESS=f"127.0.0.1:{metrics_port}")
    node.env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    nodes.append(node.start("--server", "gunicorn", "--workers", str(WORKERS), "--threads", "2"))
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    for _ in range(10):
        assert requests.get(f"{node.url}/healthz", timeout=5).status_code == 200
    healthz = ("idp_http_request_duration_seconds_count",
               frozenset({"endpoint": "health.healthz", "method": "GET", "status": "200"}.items()))
    # The node is ready once one worker is; the other counts itself when its app is built.
    wait_until(lambda: _samples(metrics_url).get(("idp_workers", frozenset())) == WORKERS, 30,
               "the second worker never counted itself")
    before = _samples(metrics_url)
    assert before[healthz] == 10

    def booted() -> list[int]:
        return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", node.log())]

    os.kill(booted()[0], signal.SIGKILL)
    wait_until(lambda: len(booted()) == WORKERS + 1, 30, "gunicorn did not replace the killed worker")
    replacement = tmp_path / "metrics" / f"gauge_livesum_{booted()[-1]}.db"
    wait_until(replacement.exists, 30, "the replacement worker did not start counting itself")
    after = _samples(metrics_url)
    assert after[("idp_workers", frozenset())] == WORKERS
    assert after[healthz] >= 10
