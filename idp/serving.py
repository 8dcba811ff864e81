"""Running the provider from ``idp serve``: granian by default, gunicorn as the alternative.

granian (a Rust HTTP server with a WSGI interface) earns its place by the benchmark
(bench/README.md): on two cores it serves discovery and the JWKS 4-6 times faster than
gunicorn and the token endpoints 20-80% faster, gunicorn's own Python HTTP handling costing
about as much per request as a whole client_credentials token.

Neither server writes an access log: the provider writes its own (idp/request_telemetry.py), the
same under both, escaped and with the request id; both servers' own lines go through the
provider's logging configuration (idp/log_config.py). The access log can be turned off where a
reverse proxy logs every request already: each line is formatted in Python, which costs the
cheapest requests (discovery, JWKS) a good part of their throughput.
"""

from __future__ import annotations

from flask import Flask
from gunicorn.app.base import BaseApplication

SERVERS = ("granian", "gunicorn")


def create_worker_app() -> Flask:
    """The app of one serving worker process, counted in ``idp_workers`` while it lives."""
    from idp.app import create_app
    from idp.metrics import mark_worker_alive

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


def run_gunicorn(*, host: str, port: int, workers: int, threads: int, logging_config: dict) -> None:
    GunicornApplication(
        {"bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": threads,
         "accesslog": None, "logconfig_dict": logging_config,
         # gunicorn would take X-Forwarded-Proto from a loopback peer on its own; IDP_TRUSTED_PROXY_HOPS
         # alone decides which forwarded headers count (idp/reverse_proxy.py), as under granian.
         "forwarded_allow_ips": ""}
    ).run()


def run_granian(*, host: str, port: int, workers: int, threads: int, logging_config: dict) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "idp.serving:create_worker_app", factory=True, interface=Interfaces.WSGI, address=host, port=port,
        workers=workers,
        # The WSGI app runs on these threads; QR login pages' long polls hold a few of them (at most
        # IDP_QR_WAITING_POLLS_PER_WORKER).
        blocking_threads=threads, websockets=False, log_access=False, log_dictconfig=logging_config,
    ).serve()


def run_server(server: str, **options) -> None:
    {"granian": run_granian, "gunicorn": run_gunicorn}[server](**options)
