"""Redis stopped for a while under a login load (docs/outages.md): no 500, logins go on under per-node
limits, and the limits are shared by both nodes again once Redis is back, without a restart."""

from __future__ import annotations

import itertools
import threading
import time

import redis
import requests

from conftest import PASSWORD, csrf_from
from faults.services import make_node

LIMIT = 5
#: Past the back-off's cap (idp/web/rate_limiter.py: 0.5 + 1 + 2 + 4 s, then 8 s apart), so the nodes
#: find Redis back from their longest back-off.
OUTAGE_SECONDS = 10
#: Every node of the test signs CSRF tokens with one key, as nodes behind one balancer do.
SHARED_SETTINGS = {"SECRET_KEY": "faults-redis-outage-" + "k" * 32, "TRUSTED_PROXY_HOPS": "1",
                   "LOGIN_RATE_LIMIT": f"{LIMIT} per minute", "SMS_RESEND_COOLDOWN": "0",
                   "SMS_DAILY_CAP": "100000"}
_addresses = (f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in itertools.count(1))


def fresh_address() -> str:
    """A client address of its own (X-Forwarded-For), so its budget starts full."""
    return next(_addresses)


def log_in(node, address: str) -> int:
    """The first login step with the right password, as a browser from ``address``: 302 to the
    SMS step when the login went on, 429 when the address spent its budget."""
    with requests.Session() as browser:
        token = csrf_from(browser.get(node.url + "/login", timeout=10).text)
        answer = browser.post(node.url + "/login", data={"csrf_token": token, "identifier": "zhangsan",
                                                         "password": PASSWORD},
                              headers={"X-Forwarded-For": address}, allow_redirects=False, timeout=10)
        return answer.status_code


def budget_spent_after(nodes_in_turn, address: str) -> int:
    """Logins ``address`` gets, alternating over the nodes, before the first 429."""
    for count in range(4 * LIMIT):
        status = log_in(nodes_in_turn[count % len(nodes_in_turn)], address)
        if status == 429:
            return count
        assert status == 302, status
    raise AssertionError("no limit at all")


def counted_in_redis(client: redis.Redis, address: str) -> bool:
    return any(True for _ in client.scan_iter(match=f"*/{address}/*"))


def test_logins_go_on_while_redis_is_down_and_limits_are_shared_again(postgres, redis_server, nodes, tmp_path):
    settings = dict(SHARED_SETTINGS, DATABASE_URL=postgres.url, REDIS_URL=redis_server.url)
    a = make_node(tmp_path, "a", **settings)
    nodes.append(a.start("--workers", "1", "--threads", "4"))
    b = make_node(tmp_path, "b", **settings)
    nodes.append(b.start("--workers", "1", "--threads", "4"))
    a.add_person()
    both = [a, b]
    assert budget_spent_after(both, fresh_address()) == LIMIT  # one budget over both nodes

    redis_server.stop()
    statuses: list[int] = []
    stop_load = threading.Event()

    def load(turn: int) -> None:
        for count in itertools.count(turn):
            if stop_load.is_set():
                return
            statuses.append(log_in(both[count % 2], fresh_address()))

    workers = [threading.Thread(target=load, args=(turn,)) for turn in (0, 1)]
    outage_began = time.monotonic()
    for worker in workers:
        worker.start()
    try:
        # Meanwhile each node counts alone: one address gets the budget once per node.
        time.sleep(2)
        assert budget_spent_after([a], (alone := fresh_address())) == LIMIT
        assert budget_spent_after([b], alone) == LIMIT
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_began)))
    finally:
        stop_load.set()
        for worker in workers:
            worker.join(30)
    assert statuses and set(statuses) == {302}, sorted(set(statuses))

    redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    back = time.monotonic()
    recovered: dict[str, float] = {}
    while len(recovered) < 2 and time.monotonic() - back < 30:
        for node in both:
            if node.url not in recovered:
                address = fresh_address()
                assert log_in(node, address) == 302
                if counted_in_redis(client, address):
                    recovered[node.url] = time.monotonic() - back
        time.sleep(0.2)
    assert len(recovered) == 2, f"only {recovered} count in Redis again 30 s after it came back"
    assert budget_spent_after(both, fresh_address()) == LIMIT  # shared again, no restart

    for node in both:
        log = node.log()
        assert log.count("dependency outage: redis") == 1, log[-2000:]
        assert log.count("dependency recovered: redis") == 1, log[-2000:]
        assert " 500 " not in log and "Traceback" not in log, log[-2000:]
    print(f"\nRedis down {OUTAGE_SECONDS} s: {len(statuses)} logins, {sum(s != 302 for s in statuses)} failed; "
          f"shared limits back after {max(recovered.values()):.1f} s ({recovered})")


def test_a_hung_redis_holds_no_login(redis_server, nodes, tmp_path):
    """Redis frozen (it accepts connections, answers nothing): each login is answered within
    seconds under per-process limits, and the shared counters are used again once it thaws."""
    node = make_node(tmp_path, "a", REDIS_URL=redis_server.url, **SHARED_SETTINGS)
    nodes.append(node.start("--workers", "1", "--threads", "4"))
    node.add_person()
    assert log_in(node, fresh_address()) == 302

    redis_server.pause()
    try:
        slowest, statuses = 0.0, []
        began = time.monotonic()
        while time.monotonic() - began < 10:
            asked = time.monotonic()
            statuses.append(log_in(node, fresh_address()))
            slowest = max(slowest, time.monotonic() - asked)
        assert set(statuses) == {302}, statuses
        assert slowest < 5, f"a login waited {slowest:.1f} s for the hung Redis"
    finally:
        redis_server.resume()

    client = redis.Redis.from_url(redis_server.url)
    thawed = time.monotonic()
    while True:
        assert log_in(node, address := fresh_address()) == 302
        if counted_in_redis(client, address):
            break
        assert time.monotonic() - thawed < 30, "the node never counted in Redis again"
        time.sleep(0.2)
    print(f"\nRedis hung 10 s: {len(statuses)} logins, none failed, the slowest {slowest:.2f} s; "
          f"shared counters again {time.monotonic() - thawed:.1f} s after it thawed")
