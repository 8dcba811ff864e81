"""Running the provider under gunicorn, the production WSGI server, from ``idp serve``."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


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


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    GunicornApplication(
        {"bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": threads,
         "accesslog": "-", "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(L)ss'}
    ).run()
