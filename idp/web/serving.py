"""Running the provider from ``idp serve``: granian by default, gunicorn as the alternative.

granian (a Rust HTTP server with a WSGI interface) earns its place by the benchmark
(bench/README.md): on two cores it serves discovery and the JWKS 4-6 times faster than
gunicorn and the token endpoints 20-80% faster, gunicorn's own Python HTTP handling costing
about as much per request as a whole client_credentials token.

Neither server writes an access log: the provider writes its own (idp/web/request_telemetry.py), the
same under both, escaped and with the request id; both servers' own lines go through the
provider's logging configuration (idp/core/log_config.py). The access log can be turned off where a
reverse proxy logs every request already: each line is formatted in Python, which costs the
cheapest requests (discovery, JWKS) a good part of their throughput.

Under either server a node outlives its workers and stops without failing a request
(tests/faults/): a worker that dies is replaced while the others serve, and SIGTERM closes the
port at once (a load balancer then sends new requests to another node: docs/deploy/nginx.conf)
and lets the requests in flight finish, for at most :func:`drain_seconds`. A node serves only
loopback unless a reverse proxy is declared in front of it (:func:`check_exposure`): neither
server bounds how long a client may take to send a request body, so a few slow clients would
hold every thread, while nginx holds them for next to nothing and passes on whole requests.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from idp.core.settings import Settings

SERVERS = ("granian", "gunicorn")
#: Seconds a client may take to send a request's headers (granian; gunicorn has no such bound).
#: Behind the proxy a node gets whole requests; a client reaching it directly is cut off at this.
HEADER_READ_TIMEOUT = 10
#: Seconds a stopping node allows beyond the longest request it serves (a QR status check).
DRAIN_MARGIN = 10


class ServeRefused(Exception):
    """``idp serve`` must not start as asked; the message is one line for the operator."""


def drain_seconds(settings: Settings) -> int:
    """How long SIGTERM waits for requests in flight: a QR login page's status check waits
    ``QR_WAIT_SECONDS`` (idp/qr/pages.py) and must be answered, not cut off."""
    return settings.QR_WAIT_SECONDS + DRAIN_MARGIN


def check_exposure(host: str, *, behind_proxy: bool) -> None:
    """Refuse a non-loopback ``host`` unless a reverse proxy is declared in front of the node."""
    if behind_proxy or _is_loopback(host):
        return
    raise ServeRefused(f"--host {host} would let clients reach this node directly, where a few slow ones hold "
                       "every thread: put the reverse proxy in front (docs/deploy/nginx.conf) and set "
                       "IDP_TRUSTED_PROXY_HOPS, or pass --behind-proxy")


def _is_loopback(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        return False
    return all(ipaddress.ip_address(str(address).split("%")[0]).is_loopback for address in addresses)


def check_port_free(host: str, port: int) -> None:
    """Refuse a port something already listens on, whoever it is.

    granian binds each worker's socket with SO_REUSEPORT, so a second node on a served port would
    start and take half the connections, with keys of its own. This probe asks for the port
    without SO_REUSEPORT, which no listening socket then shares; SO_REUSEADDR lets it past
    connections of a previous server still in TIME_WAIT.
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ServeRefused(f"port {port} on {host} is already in use (another idp serve or another "
                                   "program): stop it or choose another --port") from None
            raise ServeRefused(f"cannot listen on {host} port {port}: {error.strerror}") from None


class DrainingThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, except that a stopping worker closes its listening sockets.

    gthread stops accepting on SIGTERM but keeps its copies of the sockets open until it exits,
    so the port still took connections during the whole drain and reset them at the end. Closed
    at once, the port refuses them and the balancer sends them to another node, as under granian.
    """

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if enabled or self.alive:
            return
        for listener in self.sockets:
            # Connections already in the backlog would be reset with the socket: take them in
            # to be answered (accept() takes one per call and ignores an empty backlog).
            accepted = None
            while accepted != self.nr_conns:
                accepted = self.nr_conns
                self.accept(listener)
            listener.close()


def create_worker_app() -> Flask:
    """The app of one serving worker process, counted in ``idp_workers`` while it lives."""
    from idp.app import create_app
    from idp.core.metrics import mark_worker_alive

    app = create_app()
    mark_worker_alive()
    return app


class GunicornApplication(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_worker_app()


def run_gunicorn(*, host: str, port: int, workers: int, threads: int, logging_config: dict, drain: int) -> None:
    # gunicorn's arbiter replaces a worker that dies on its own.
    GunicornApplication(
        {"bind": f"{host}:{port}", "workers": workers, "worker_class": DrainingThreadWorker, "threads": threads,
         "graceful_timeout": drain, "accesslog": None, "logconfig_dict": logging_config,
         # gunicorn would take X-Forwarded-Proto from a loopback peer on its own; IDP_TRUSTED_PROXY_HOPS
         # alone decides which forwarded headers count (idp/web/reverse_proxy.py), as under granian.
         "forwarded_allow_ips": ""}
    ).run()


def run_granian(*, host: str, port: int, workers: int, threads: int, logging_config: dict, drain: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    Granian(
        "idp.web.serving:create_worker_app", factory=True, interface=Interfaces.WSGI, address=host, port=port,
        workers=workers,
        # The WSGI app runs on these threads; QR login pages' long polls hold a few of them (at most
        # IDP_QR_WAITING_POLLS_PER_WORKER).
        blocking_threads=threads, websockets=False, log_access=False, log_dictconfig=logging_config,
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT * 1000),
        # Without these a worker's death (a crash, the OOM killer) stopped the whole node, and a
        # stopping node waited for a hung request without end.
        respawn_failed_workers=True, workers_kill_timeout=drain,
    ).serve()


def run_server(server: str, **options) -> None:
    {"granian": run_granian, "gunicorn": run_gunicorn}[server](**options)
