"""The metrics operators watch (docs/operations.md), counted where the provider does the thing.

In-process the metrics live in memory, so each test reads how much a value grew
(tests/metric_samples.py). The endpoint that sums the workers of
a real ``idp serve`` is tested in tests/faults/test_observability.py.
"""

from __future__ import annotations

import subprocess
import sys

from prometheus_client import REGISTRY

from idp.core.settings import current_settings
from idp.factors.sms_gateway import SmsDeliveryFailed

from conftest import register_client, submit_password, tokens_for
from metric_samples import MetricGrowth


def test_requests_are_counted_by_endpoint_never_by_path(client):
    growth = MetricGrowth()
    for path in ("/no/such/page", "/another/unknown/path", "/jwks.json", "/jwks.json"):
        client.get(path)
    assert growth("idp_http_request_duration_seconds_count", endpoint="unmatched", method="GET", status="404") == 2
    # The second JWKS answer comes from memory, in front of Flask: counted under the same endpoint.
    assert growth("idp_http_request_duration_seconds_count", endpoint="discovery.jwks", method="GET",
                  status="200") == 2
    names = {s.labels.get("endpoint") for f in REGISTRY.collect() for s in f.samples}
    assert not any("unknown" in str(name) for name in names)


def test_failed_logins_and_the_lockout_they_cause_are_counted(app, client, person):
    growth = MetricGrowth()
    threshold = current_settings(app).LOCKOUT_THRESHOLD
    for _ in range(threshold):
        submit_password(client, password="wrong-password-1")
    submit_password(client, identifier="nobody-registered", password="x")
    assert growth("idp_login_attempts_total", method="password", outcome="failure") == threshold + 1
    assert growth("idp_lockouts_total", method="password") == 1


def test_a_completed_login_counts_each_step_the_sms_and_the_tokens(app, client, rp, person):
    growth = MetricGrowth()
    tokens_for(app, client, rp)
    assert growth("idp_login_attempts_total", method="password", outcome="success") == 1
    assert growth("idp_login_attempts_total", method="sms", outcome="success") == 1
    assert growth("idp_sms_messages_total", purpose="login", outcome="sent") == 1
    assert growth("idp_logins_total", kind="login", acr="urn:qdtax:loa:2") == 1
    assert growth("idp_tokens_issued_total", grant_type="authorization_code") == 1


def test_client_credentials_tokens_are_counted_by_grant(app, client):
    api = register_client(app, name="征管接口", grant_types=["client_credentials"], redirect_uris=[])
    growth = MetricGrowth()
    for _ in range(3):
        assert client.post("/token", data={"grant_type": "client_credentials"},
                           headers=api.basic_auth).status_code == 200
    assert growth("idp_tokens_issued_total", grant_type="client_credentials") == 3


def test_an_sms_the_gateway_refuses_is_counted_as_failed(app, client, person, monkeypatch):
    def refuse(message):
        raise SmsDeliveryFailed("SMS gateway answered 503")

    monkeypatch.setattr(app.extensions["idp.sms"], "send", refuse)
    growth = MetricGrowth()
    submit_password(client)
    assert growth("idp_sms_messages_total", purpose="login", outcome="failed") == 1
    assert growth("idp_sms_messages_total", purpose="login", outcome="sent") == 0


def test_dependency_outages_are_counted_by_dependency():
    from idp.core.metrics import count_dependency_outage

    growth = MetricGrowth()
    count_dependency_outage("redis")
    count_dependency_outage("redis")
    assert growth("idp_dependency_outages_total", dependency="redis") == 2


def test_the_idp_command_imports_no_metrics_library_before_serve_names_the_workers_folder():
    """prometheus-client decides at import whether values go to the workers' files; imported
    before ``idp serve`` set PROMETHEUS_MULTIPROC_DIR, every worker would count in memory alone
    and the endpoint would show nothing."""
    probe = "import sys, idp.cli.main; sys.exit('prometheus_client' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], timeout=60).returncode == 0
