"""Slow clients cannot starve a node. Behind the shipped nginx (docs/deploy/nginx.conf), 50
clients sending a token request's body at 1 byte/s and 50 sending their headers at 1 byte/s, for
20 s, leave every other request answered promptly: nginx reads requests whole before a node sees
them and cuts off headers slower than client_header_timeout. Straight to a node, 12 such bodies
(2 workers x 6 threads) held every thread, JWKS included. A node itself cuts off a client slow
to send its headers after idp.web.serving.HEADER_READ_TIMEOUT (granian)."""

from __future__ import annotations

import select
import socket
import ssl
import statistics
import threading
import time
from pathlib import Path

import requests

from idp.web.serving import HEADER_READ_TIMEOUT

from faults.services import Node, PrivateNginx, free_port, make_node, register_client

SLOW_CLIENTS = 50
#: Long enough for nginx to cut off every slow header (client_header_timeout 10s) with seconds to
#: spare, and to hold every slow body past its client_body_timeout (a byte a second keeps it open).
HOLD_SECONDS = 20
#: Other requests must be answered within this while the slow clients hold their connections.
PROMPT_SECONDS = 5

SLOW_BODY_HEAD = (b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  b"Content-Length: 1000\r\n\r\n")
SLOW_HEADER = b"GET /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000


class SlowClient(threading.Thread):
    """Sends ``head`` at once, then ``slow`` at a byte a second, connecting again whenever the
    server cuts it off, until ``until``; keeps the ``time.monotonic()`` of each cut-off."""

    def __init__(self, connect, head: bytes, slow: bytes, until: float):
        super().__init__(daemon=True)
        self.connect, self.head, self.slow, self.until = connect, head, slow, until
        self.cut_off: list[float] = []

    def run(self) -> None:
        while time.monotonic() < self.until:
            with self.connect() as connection:
                connection.sendall(self.head)
                for byte in self.slow:
                    if time.monotonic() >= self.until:
                        return
                    try:
                        connection.sendall(bytes([byte]))
                        if self._closed_by_server(connection):
                            raise ConnectionResetError
                    except OSError:
                        self.cut_off.append(time.monotonic())
                        break

    @staticmethod
    def _closed_by_server(connection: socket.socket) -> bool:
        """Waits a second for the server to close (or answer and close); a TLS session ticket
        makes the socket readable too, without any data for the application."""
        readable, _, _ = select.select([connection], [], [], 1)
        if not readable:
            return False
        connection.setblocking(False)
        try:
            return not connection.recv(4096)
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        finally:
            connection.settimeout(10)


def test_slow_clients_behind_nginx_leave_other_requests_answered(nodes: list[Node], nginx, tmp_path: Path):
    port = free_port()
    node = make_node(tmp_path, "a", ISSUER=f"https://127.0.0.1:{port}", TRUSTED_PROXY_HOPS="1")
    client = register_client(node)
    nodes.append(node.start("--workers", "2", "--threads", "6"))
    proxy: PrivateNginx = nginx([node], port)
    tls = ssl.create_default_context(cafile=str(proxy.certificate))

    def connect() -> ssl.SSLSocket:
        return tls.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="127.0.0.1")

    until = time.monotonic() + HOLD_SECONDS
    bodies = [SlowClient(connect, SLOW_BODY_HEAD, b"grant_type=client_credentials&" + b"x" * 970, until)
              for _ in range(SLOW_CLIENTS)]
    headers = [SlowClient(connect, b"", SLOW_HEADER, until) for _ in range(SLOW_CLIENTS)]
    for slow in bodies + headers:
        slow.start()
    session = requests.Session()
    session.trust_env, session.verify = False, str(proxy.certificate)
    latencies: dict[str, list[float]] = {"GET /jwks.json": [], "POST /token": []}
    time.sleep(2)
    while time.monotonic() < until - 1:
        for what, send in (("GET /jwks.json", lambda: session.get(f"{proxy.url}/jwks.json", timeout=30)),
                           ("POST /token", lambda: session.post(f"{proxy.url}/token", auth=client, timeout=30,
                                                                data={"grant_type": "client_credentials"}))):
            response = send()
            assert response.status_code == 200, response.text
            latencies[what].append(response.elapsed.total_seconds())
        time.sleep(0.5)
    for slow in bodies + headers:
        slow.join(timeout=15)

    print(f"\nfigures slow clients: {SLOW_CLIENTS} slow bodies + {SLOW_CLIENTS} slow headers for {HOLD_SECONDS} s "
          "through nginx: " + "; ".join(
              f"{what} p50 {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms "
              f"({len(seconds)} requests)" for what, seconds in latencies.items())
          + f"; slow headers cut off {sum(len(slow.cut_off) for slow in headers)} times, slow bodies "
            f"{sum(len(slow.cut_off) for slow in bodies)} times")
    assert max(max(seconds) for seconds in latencies.values()) < PROMPT_SECONDS, latencies
    # The slow clients were real: nginx held the bodies all along and cut off every slow header.
    assert not any(slow.cut_off for slow in bodies)
    assert all(slow.cut_off for slow in headers)


def test_a_node_cuts_off_a_client_slow_to_send_its_headers(nodes: list[Node], tmp_path: Path):
    node = make_node(tmp_path, "a")
    nodes.append(node.start("--workers", "1", "--threads", "2"))
    began = time.monotonic()
    slow = SlowClient(lambda: socket.create_connection(("127.0.0.1", node.port), timeout=10), b"", SLOW_HEADER,
                      until=began + HEADER_READ_TIMEOUT + 5)
    slow.run()
    assert slow.cut_off, f"a client sending its headers at 1 byte/s was not cut off in {HEADER_READ_TIMEOUT + 5} s"
    print(f"\nfigures slow header straight to a node: cut off after {slow.cut_off[0] - began:.1f} s")
