"""Running the provider from ``idp serve``: granian by default, gunicorn as the alternative.

granian (a Rust HTTP server with a WSGI interface) earns its place by the benchmark
(bench/README.md): on two cores it serves discovery and the JWKS 4-6 times faster than
gunicorn and the token endpoints 20-80% faster, gunicorn's own Python HTTP handling costing
about as much per request as a whole client_credentials token. Both log
the path without its query string: authorization codes and state travel in query strings.
The access log can be turned off where a reverse proxy logs every request already: each line is
formatted in Python, which costs the cheapest requests (discovery, JWKS) half their throughput.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

SERVERS = ("granian", "gunicorn")


class GunicornApplication(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from idp.app import create_app

        return create_app()


def run_gunicorn(*, host: str, port: int, workers: int, threads: int, access_log: bool) -> None:
    GunicornApplication(
        {"bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": threads,
         "accesslog": "-" if access_log else None, "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(L)ss',
         # gunicorn would take X-Forwarded-Proto from a loopback peer on its own; IDP_TRUSTED_PROXY_HOPS
         # alone decides which forwarded headers count (idp/reverse_proxy.py), as under granian.
         "forwarded_allow_ips": ""}
    ).run()


def run_granian(*, host: str, port: int, workers: int, threads: int, access_log: bool) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "idp.app:create_app", factory=True, interface=Interfaces.WSGI, address=host, port=port, workers=workers,
        # The WSGI app runs on these threads; QR login pages' long polls hold a few of them (at most
        # IDP_QR_WAITING_POLLS_PER_WORKER).
        blocking_threads=threads, websockets=False,
        log_access=access_log, log_access_format='%(addr)s "%(method)s %(path)s" %(status)d %(dt_ms).1fms',
    ).serve()


def run_server(server: str, **options) -> None:
    {"granian": run_granian, "gunicorn": run_gunicorn}[server](**options)
