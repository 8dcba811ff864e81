"""Relying-party endpoints the provider calls, served on loopback in a thread (werkzeug): a
back-channel logout receiver and a static JSON document (a sector identifier)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import Flask, jsonify, request

from e2e.live_provider import LiveServer, serve_on_free_port


@dataclass
class Delivery:
    path: str
    logout_token: str
    arrived: float


@dataclass
class LogoutReceiver:
    """Records every logout token POSTed to ``{url}/<client name>``; answers ``status`` after
    ``delay`` seconds (a slow or failing relying party)."""

    status: int = 200
    delay: float = 0.0
    #: When set, each POST waits here for the others before it is answered.
    rendezvous: threading.Barrier | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    live: LiveServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.live.url

    def uri_for(self, name: str) -> str:
        return f"{self.url}/backchannel/{name}"

    def tokens_for(self, name: str) -> list[str]:
        with self.lock:
            return [d.logout_token for d in self.deliveries if d.path == f"/backchannel/{name}"]

    def wait_for(self, count: int, timeout: float = 15) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} deliveries, got {len(self.deliveries)}")

    def build(self, _url: str) -> Flask:
        app = Flask("logout_receiver")

        @app.post("/backchannel/<name>")
        def receive(name: str):
            with self.lock:
                self.deliveries.append(Delivery(request.path, request.form.get("logout_token", ""), time.monotonic()))
            time.sleep(self.delay)
            if self.rendezvous:
                self.rendezvous.wait(timeout=10)
            return "", self.status

        return app


def start_logout_receiver() -> LogoutReceiver:
    receiver = LogoutReceiver()
    receiver.live = serve_on_free_port(receiver.build)
    return receiver


def serve_json(path: str, document: object) -> LiveServer:
    """Serve ``document`` as JSON at ``path`` (an RP's sector_identifier_uri)."""
    def build(_url: str) -> Flask:
        app = Flask("json_document")
        app.add_url_rule(path, "document", lambda: jsonify(document))
        return app

    return serve_on_free_port(build)
