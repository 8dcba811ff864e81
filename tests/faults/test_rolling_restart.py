"""Two nodes behind the shipped nginx (docs/deploy/nginx.conf) restarted one after the other
(SIGTERM, start again) under continuous load fail no request, under either server: a stopping
node closes its port at once, nginx resends what it refuses (or resets, from the closing port's
backlog) to the other node, and the node answers what it had taken in, a QR login page's status
check waiting IDP_QR_WAIT_SECONDS included (20 s by default; QR_WAIT_SECONDS here, so that each
stop drains in seconds)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from idp.web.serving import SERVERS

from faults.services import (
    Load,
    Node,
    PrivateNginx,
    PrivatePostgres,
    free_port,
    jwks_and_token_requests,
    make_node,
    register_client,
    wait_until,
)

QR_WAIT_SECONDS = 4


def qr_page_polls(base_url: str) -> Callable[[requests.Session, int, float], requests.Response]:
    """For :class:`Load`: a QR login page, then its status checks, each waiting for news."""

    def send(session: requests.Session, n: int, timeout: float) -> requests.Response:
        if not getattr(session, "qr_request", None):
            page = session.get(f"{base_url}/login/qr", timeout=timeout)
            found = re.search(r'name="request" value="([^"]+)"', page.text)
            session.qr_request = found and found.group(1)
            return page
        return session.get(f"{base_url}/login/qr/status", params={"request": session.qr_request, "since": "pending"},
                           timeout=timeout)

    return send


@pytest.mark.parametrize("server", SERVERS)
def test_a_rolling_restart_behind_nginx_fails_no_request(server: str, postgres: PrivatePostgres, nodes: list[Node],
                                                        nginx: Callable[[list[Node], int], PrivateNginx],
                                                        tmp_path: Path):
    port = free_port()
    shared = {"DATABASE_URL": postgres.url, "KEYRING_STORE": "database", "ISSUER": f"https://127.0.0.1:{port}",
              "SECRET_KEY": secrets.token_hex(32), "TRUSTED_PROXY_HOPS": "1",
              "QR_WAIT_SECONDS": str(QR_WAIT_SECONDS)}
    pair = [make_node(tmp_path, name, **shared) for name in ("a", "b")]
    client = register_client(pair[0])
    for node in pair:
        nodes.append(node.start("--server", server, "--workers", "2", "--threads", "4"))
    proxy = nginx(pair, port)
    verify = str(proxy.certificate)

    with (Load(jwks_and_token_requests(proxy.url, client), threads=4, verify=verify) as load,
          Load(qr_page_polls(proxy.url), threads=1, timeout=60, verify=verify) as browser):
        time.sleep(2)
        began = time.monotonic()
        for node in pair:
            assert node.stop() == 0, node.log()[-2000:]
            served = len(node.log())
            node.start("--server", server, "--workers", "2", "--threads", "4")
            # nginx skips a node that refused a connection for the upstream's fail_timeout: the
            # next node may stop only once nginx uses this one again.
            wait_until(lambda node=node, served=served: '"POST /token"' in node.log()[served:], 30,
                       "nginx did not use the restarted node")
        took = time.monotonic() - began
        time.sleep(1)
    failed = load.failures() + browser.failures()
    resets = proxy.error_log().count("Connection reset by peer) while reading response header")
    print(f"\nfigures {server}: rolling restart of 2 nodes behind nginx in {took:.0f} s: {len(failed)} of "
          f"{len(load.outcomes) + len(browser.outcomes)} requests failed, {resets} reset by a closing port "
          f"(and resent); slowest token/JWKS request {max(outcome.seconds for outcome in load.outcomes):.2f} s; "
          f"{len(browser.outcomes) - 1} QR status checks")
    assert not failed, (failed, [line for line in proxy.error_log().splitlines() if "[error]" in line][-10:])
    assert len(browser.outcomes) > 1 and load.answered_since(began + took) > 0
