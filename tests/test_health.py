"""``/healthz`` and ``/readyz``: what a load balancer sees of a node, and the request id every
answer carries."""

from __future__ import annotations

import re
import socket
import time

import pytest
from test_audit import audit_rows

from idp.app import create_app

from conftest import dispose_engines, make_settings, register_client


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_without_asking_any_dependency(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_reports_each_check_when_ready(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok"
    # No Redis configured: nothing to check there.
    assert set(body["checks"]) == {"database", "keyring"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


def test_readyz_says_degraded_but_stays_ready_while_redis_cannot_be_reached(database_url, instance_dir):
    """Logins go on without Redis (per-node rate limits): taking every node out of the balancer
    for it would turn a degraded service into an outage."""
    app = create_app(make_settings(database_url, instance_dir, REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0",
                                   READINESS_TIMEOUT=1.0))
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"
    checks = response.get_json()["checks"]
    assert checks["redis"]["status"] == "fail" and checks["redis"]["error"] == "ConnectionError"
    assert checks["database"]["status"] == "ok" and checks["keyring"]["status"] == "ok"
    # Alive all the same: an orchestrator must not restart a node for its dependency's outage.
    assert app.test_client().get("/healthz").status_code == 200


def test_readyz_fails_while_the_database_cannot_be_reached(instance_dir):
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/idp"
    app = create_app(make_settings(url, instance_dir, READINESS_TIMEOUT=1.0))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "fail"
    assert body["checks"]["keyring"]["status"] == "ok"
    assert "127.0.0.1" not in response.get_data(as_text=True)  # no address or URL in a public answer
    assert app.test_client().get("/healthz").status_code == 200


def test_readyz_answers_within_its_bound_when_the_database_accepts_but_never_answers(instance_dir):
    """A hung server (the kernel completes the connection, nobody speaks) must not hold the probe."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/idp"
        app = create_app(make_settings(url, instance_dir, READINESS_TIMEOUT=1.0))
        started = time.monotonic()
        response = app.test_client().get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["status"] == "fail"
    assert elapsed < 5, elapsed


def test_readyz_fails_on_a_database_without_the_schema(tmp_path, instance_dir):
    """A node pointed at an empty database (migrations not run) is not ready."""
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'empty.sqlite3'}", instance_dir))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["status"] == "fail"


@pytest.mark.parametrize("path", ["/healthz", "/.well-known/openid-configuration", "/jwks.json", "/nowhere"])
def test_every_answer_carries_a_fresh_request_id(client, path):
    first, second = (client.get(path).headers.get("X-Request-Id") for _ in range(2))
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_a_clients_request_id_is_not_taken_without_a_trusted_proxy(client):
    response = client.get("/healthz", headers={"X-Request-Id": "chosen-by-the-client"})
    assert response.headers["X-Request-Id"] != "chosen-by-the-client"


def test_the_trusted_proxys_request_id_is_kept_and_a_malformed_one_replaced(database_url, instance_dir):
    app = create_app(make_settings(database_url, instance_dir, TRUSTED_PROXY_HOPS=1))
    client = app.test_client()
    assert client.get("/healthz", headers={"X-Request-Id": "0af7651916cd43dd8448eb211c80319c"}) \
        .headers["X-Request-Id"] == "0af7651916cd43dd8448eb211c80319c"
    forged = client.get("/healthz", headers={"X-Request-Id": "x\" injected=1"}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", forged)


def test_probes_never_start_housekeeping_and_a_persons_request_does(app, database_url, instance_dir):
    """A sweep or chaining batch stuck on a silent database must not hold a load balancer's probe:
    the audit chainer, which runs before requests, stands for all housekeeping here."""
    provider = create_app(make_settings(database_url, instance_dir, AUDIT_CHAIN_INTERVAL_MS=1))
    machine = register_client(app, grant_types=["client_credentials"], redirect_uris=[])
    web = provider.test_client()
    try:
        assert web.post("/token", headers=machine.basic_auth,
                        data={"grant_type": "client_credentials"}).status_code == 200
        for probe in ("/healthz", "/readyz", "/healthz"):
            time.sleep(0.01)  # past the chainer's interval of 1 ms
            assert web.get(probe).status_code == 200
        [issued] = audit_rows(app, "token.issued")
        assert issued.seq is None, "a probe ran the audit chainer"
        time.sleep(0.01)
        assert web.get("/login").status_code == 200
        [issued] = audit_rows(app, "token.issued")
        assert issued.seq is not None, "a person's request did not run the audit chainer"
    finally:
        dispose_engines(provider)
