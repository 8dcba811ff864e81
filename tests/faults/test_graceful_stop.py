"""SIGTERM stops a node without failing a request, under either server and whether it reaches
every process (systemd) or the main one only (``kill``, a container's PID 1): the port closes at
once, so a balancer sends new requests elsewhere, and the requests in flight are answered (a QR
login page's status check waits IDP_QR_WAIT_SECONDS, 20 s by default, QR_WAIT_SECONDS here) before
the node exits."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import time
from base64 import b64encode
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from idp.web.serving import SERVERS

from faults.services import Node, make_node, register_client, wait_until

#: The nodes' IDP_QR_WAIT_SECONDS: short, so each stop drains in seconds rather than 20, yet longer
#: than the second the status check is in flight before SIGTERM, so it is still waiting when the
#: node is told to stop and must be answered during the drain (its cap: this + DRAIN_MARGIN).
QR_WAIT_SECONDS = 4


def start_qr_status_check(node: Node, pool: ThreadPoolExecutor) -> Future:
    """A QR login page's long poll, waiting in the node for news of its code."""
    browser = requests.Session()
    page = browser.get(f"{node.url}/login/qr", timeout=10).text
    request_id = re.search(r'name="request" value="([^"]+)"', page).group(1)
    return pool.submit(browser.get, f"{node.url}/login/qr/status", params={"request": request_id, "since": "pending"},
                       timeout=60)


def start_token_request(node: Node, client: tuple[str, str]) -> tuple[http.client.HTTPConnection, bytes]:
    """A ``POST /token`` of which the node has the headers and part of the body: the rest is returned."""
    body = b"grant_type=client_credentials"
    connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    connection.putrequest("POST", "/token")
    connection.putheader("Authorization", "Basic " + b64encode(":".join(client).encode()).decode())
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body[:10])
    return connection, body[10:]


def refuses_connections(node: Node) -> bool:
    try:
        socket.create_connection(("127.0.0.1", node.port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("target", ["every process", "main process"])
def test_sigterm_closes_the_port_and_answers_requests_in_flight(server: str, target: str, nodes: list[Node],
                                                                 tmp_path: Path):
    node = make_node(tmp_path, "a", QR_WAIT_SECONDS=str(QR_WAIT_SECONDS))
    client = register_client(node)
    nodes.append(node.start("--server", server, "--workers", "2", "--threads", "4"))
    with ThreadPoolExecutor(1) as pool:
        status_check = start_qr_status_check(node, pool)
        token_requests = [start_token_request(node, client) for _ in range(3)]
        time.sleep(1)

        assert not status_check.done(), "the status check was answered before the node was told to stop"
        stopped = time.monotonic()
        (os.killpg if target == "every process" else os.kill)(node.process.pid, signal.SIGTERM)
        wait_until(lambda: refuses_connections(node), 5, "the stopping node still took connections")
        closed = time.monotonic()
        for connection, rest in token_requests:
            connection.send(rest)
            response = connection.getresponse()
            assert response.status == 200 and "access_token" in response.read().decode()
        answer = status_check.result(timeout=60)
    assert answer.status_code == 200 and answer.json()["status"] == "pending"
    assert node.process.wait(timeout=60) == 0, node.log()[-2000:]
    print(f"\nfigures {server}, SIGTERM to {target}: port closed after {closed - stopped:.2f} s, "
          f"QR status check answered after {answer.elapsed.total_seconds():.1f} s, "
          f"exit after {time.monotonic() - stopped:.1f} s")
