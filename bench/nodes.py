"""The production topology of docs/operations.md on this machine: N provider nodes behind nginx.

nginx runs the shipped docs/deploy/nginx.conf, rendered and started exactly as the fault tests do
(tests/faults/services.py, ``PrivateNginx``: the upstream lines point at the nodes' loopback
ports, TLS on a free loopback port with a self-signed certificate), so the benchmark measures the
configuration operators install, not a second one.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cpu_accounting

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from faults.services import PrivateNginx  # noqa: E402

#: What each node behind a proxy is told (docs/operations.md, "Topology"): one proxy in front.
NODE_SETTINGS = {"TRUSTED_PROXY_HOPS": 1}


@dataclass(frozen=True)
class Upstream:
    """A node as ``PrivateNginx`` needs it: its loopback port."""

    port: int


@dataclass(frozen=True)
class Proxy:
    url: str
    master_pid: int

    @property
    def pids(self) -> set[int]:
        """nginx's master and its workers (unprivileged children)."""
        return {self.master_pid, *cpu_accounting.children_of(self.master_pid)}


#: nginx listens where it does in production: docs/deploy/nginx.conf passes ``Host $host``, which
#: carries no port, and a browser's form post is checked against it (Flask-WTF compares the
#: Referer with the request's URL over HTTPS): on any other port every login would be refused.
HTTPS_PORT = 443


def proxy_port() -> int:
    """The port nginx will listen on, chosen first: every node's issuer is its URL."""
    with socket.socket() as probe:
        # As nginx binds: connections of a previous run left in TIME_WAIT do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", HTTPS_PORT))
        except OSError as error:
            raise SystemExit(f"--nodes: nginx must listen on 127.0.0.1:{HTTPS_PORT} ({error.strerror}; "
                             "as root, with the port free)") from error
    return HTTPS_PORT


def proxy_url(port: int) -> str:
    return "https://127.0.0.1" if port == HTTPS_PORT else f"https://127.0.0.1:{port}"


@contextlib.contextmanager
def nginx_in_front(node_ports: list[int], port: int) -> Iterator[Proxy]:
    """Debian's nginx with docs/deploy/nginx.conf in front of the nodes, stopped afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="idp_bench_nginx_"))
    directory.chmod(0o755)  # nginx's workers run unprivileged and read the certificate here
    server = PrivateNginx(directory, [Upstream(p) for p in node_ports], port)  # type: ignore[list-item]
    try:
        server.start()
        yield Proxy(proxy_url(port), server.process.pid)
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
