"""The provider served for real on a loopback port, for clients that speak HTTP themselves
(a browser, authlib's Flask client, panva's openid-client).

Loaded by ``tests/conftest.py`` as a plugin, so its fixtures reach every test.  The served
app shares the database and SMS outbox of conftest's ``app``, which is why the per-test
fixture requests ``app``: conftest's autouse cleanup then empties the tables after each test.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from idp.app import create_app
from idp.core.database import db

from conftest import PHONE, last_sms_code, make_settings


@dataclass
class LiveServer:
    """A WSGI app served by werkzeug in a daemon thread."""

    url: str
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_on_free_port(build_app: Callable[[str], Flask]) -> LiveServer:
    """Serve ``build_app(base_url)`` on a free loopback port.

    The socket is bound before the app is built because the provider's issuer must be the
    URL it is served at; handing werkzeug the bound socket leaves no window for another
    process to take the port.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        app = build_app(url)
        server = make_server("127.0.0.1", port, app, threaded=True, fd=listener.fileno())
    finally:
        listener.close()  # werkzeug serves a duplicate of this descriptor
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name=f"live-server-{port}")
    thread.start()
    return LiveServer(url, app, server, thread)


@dataclass(frozen=True)
class LiveProvider:
    url: str
    app: Flask

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def last_sms_code(self, phone: str = PHONE) -> str:
        """The newest code the development SMS adapter wrote to the outbox for ``phone``."""
        return last_sms_code(self.app, phone)


@pytest.fixture(scope="session")
def provider_server(database_url: str, instance_dir: Path) -> Iterator[LiveServer]:
    live = serve_on_free_port(lambda url: create_app(make_settings(database_url, instance_dir, ISSUER=url)))
    yield live
    live.stop()
    with live.app.app_context():
        db.engine.dispose()  # PostgreSQL: no idle connections left when the test database is dropped


@pytest.fixture
def live_provider(provider_server: LiveServer, app: Flask) -> LiveProvider:
    """The running provider; ``app`` is requested for conftest's table cleanup (same database)."""
    return LiveProvider(provider_server.url, provider_server.app)

