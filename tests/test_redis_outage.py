"""Redis down (docs/outages.md): logins go on under per-process limits, and the outage is logged once.

Redis coming back (shared limits again, without a restart) is shown with a real Redis stopped
and started in tests/faults/test_redis_server_outage.py.
"""

from __future__ import annotations

import logging
import time

from limits import parse
from test_rate_limits import post_login

from idp.app import create_app
from idp.core import dependency_outages
from idp.web.rate_limiter import RETRY_FIRST_SECONDS, FallbackRateLimiter

from conftest import make_settings

#: Nothing listens on port 1 on loopback: every connection is refused at once, as when Redis is stopped.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_logins_go_on_under_per_process_limits_while_redis_is_down(database_url, instance_dir, app, caplog,
                                                                   monkeypatch):
    monkeypatch.setattr(dependency_outages, "_outages", {})  # no outage on record in this process
    limited = create_app(make_settings(database_url, instance_dir, LOGIN_RATE_LIMIT="3 per minute",
                                       REDIS_URL=UNREACHABLE_REDIS))
    client = limited.test_client()
    with caplog.at_level(logging.WARNING):
        # A wrong password is 400: the login itself ran, and its limit was counted in this process.
        assert [post_login(client).status_code for _ in range(3)] == [400, 400, 400]
        refused = post_login(client)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    outages = [r for r in caplog.records if "dependency outage" in r.getMessage()]
    assert len(outages) == 1, [r.getMessage() for r in caplog.records]
    assert "redis" in outages[0].getMessage()


def test_the_qr_page_budget_is_counted_per_process_too(database_url, instance_dir, app):
    limited = create_app(make_settings(database_url, instance_dir, QR_PAGE_RATE_LIMIT="1 per minute",
                                       REDIS_URL=UNREACHABLE_REDIS))
    client = limited.test_client()
    assert client.get("/login/qr").status_code == 200
    assert client.get("/login/qr").status_code == 429


def test_a_down_redis_is_tried_again_after_a_back_off_not_by_every_request(monkeypatch):
    limiter = FallbackRateLimiter(UNREACHABLE_REDIS)
    tries: list[str] = []
    shared_hit = limiter.shared.hit
    monkeypatch.setattr(limiter.shared, "hit", lambda *args: tries.append("redis") or shared_hit(*args))
    budget = parse("100 per minute")
    assert all(limiter.hit(budget, "idp", "test", "10.0.0.1").allowed for _ in range(20))
    assert len(tries) == 1
    time.sleep(RETRY_FIRST_SECONDS + 0.1)
    assert all(limiter.hit(budget, "idp", "test", "10.0.0.1").allowed for _ in range(20))
    assert len(tries) == 2
