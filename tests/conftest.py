"""Shared fixtures: one app on a fresh database per run (SQLite, or PostgreSQL when
``IDP_TEST_DATABASE_URL`` names a server), emptied between tests."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from idp.app import create_app
from idp.core.database import db, normalise_database_url, upgrade_database
from idp.core.settings import current_settings

#: The provider served on a real loopback port (fixtures ``live_provider``, ``provider_server``), and
#: the fault suite's private servers (``postgres``, ``redis_server``, ``nodes``).
pytest_plugins = ["e2e.live_provider", "e2e.browser", "faults.fixtures"]

#: Linux's shared-memory tmpfs.
RAM_FOLDER = Path("/dev/shm")

PASSWORD = "Secret#2026"
DOC_NUMBER = "11010519491231002X"
PHONE = "13812345678"


def _fresh_postgres_database(server_url: str) -> tuple[str, callable]:
    """Create a uniquely named database on the server and a function that drops it."""
    engine = sa.create_engine(normalise_database_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"idp_test_{uuid.uuid4().hex[:12]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # A throwaway test database need not wait for the disk on every commit.
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = sa.engine.make_url(normalise_database_url(server_url)).set(database=name)

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return url.render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    server_url = os.environ.get("IDP_TEST_DATABASE_URL")
    if server_url:
        url, drop = _fresh_postgres_database(server_url)
        upgrade_database(url)
        yield url
        drop()
    else:
        # In RAM when the machine has a tmpfs: SQLite waits for the disk on every commit, which a
        # throwaway test database need not (as synchronous_commit = off above); on a busy disk
        # that wait was most of the SQLite pass's time.
        folder = Path(tempfile.mkdtemp(prefix="idp-test-", dir=RAM_FOLDER if RAM_FOLDER.is_dir() else None))
        url = f"sqlite:///{folder / 'idp.sqlite3'}"
        upgrade_database(url)
        yield url
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


def make_settings(database_url: str, instance_dir: Path, **overrides) -> dict:
    return {
        "ISSUER": "http://idp.test",
        "INSTANCE_DIR": str(instance_dir),
        "DATABASE_URL": database_url,
        "KEYS_DIR": str(instance_dir / "keys"),
        "SMS_OUTBOX": str(instance_dir / "sms-outbox.jsonl"),
        "PASSWORD_HASH_PROFILE": "test",
        "CLIENT_CACHE_TTL": 0,
        # The suite logs in hundreds of times a minute from one address; test_rate_limits.py
        # checks the limit itself with the production-like value.
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "QR_PAGE_RATE_LIMIT": "100000 per minute",
        # Tests deliver back-channel logouts, sweep sessions, purge spent rows and chain audit
        # records when they choose to.
        "BACKCHANNEL_LOGOUT_WORKER": False,
        "SESSION_SWEEP_SECONDS": 0,
        "RETENTION_PURGE_SECONDS": 0,
        "AUDIT_CHAIN_INTERVAL_MS": 0,
        **overrides,
    }


def dispose_engines(app) -> None:
    """Close the pooled connections of a test's own app (PostgreSQL allows only so many clients)."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def app(database_url, instance_dir):
    return create_app(make_settings(database_url, instance_dir))


@pytest.fixture(autouse=True)
def _empty_tables(request):
    """Tests that use the app leave no rows behind; pure unit tests skip this entirely."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    yield
    with app.app_context():
        db.session.rollback()
        # DELETE, not TRUNCATE: on a few small tables it is many times faster on PostgreSQL.
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    outbox = Path(current_settings(app).sms_outbox_path)
    outbox.unlink(missing_ok=True)


@pytest.fixture
def cli(app, database_url, instance_dir, monkeypatch):
    """``cli("sessions", "expire")``: runs an ``idp`` command against the app's database, returns its output."""
    from click.testing import CliRunner

    from idp.cli.main import main

    for key, value in make_settings(database_url, instance_dir).items():
        monkeypatch.setenv(f"IDP_{key}", str(value))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.fixture
def client(app):
    return app.test_client()


def read_outbox(app) -> list[dict]:
    path = Path(current_settings(app).sms_outbox_path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def last_sms_code(app, phone: str = PHONE) -> str:
    codes = [m["code"] for m in read_outbox(app) if m["phone"] == phone]
    assert codes, f"no SMS was sent to {phone}"
    return codes[-1]


@contextmanager
def sms_gateway_down(app) -> Iterator[None]:
    """Within: the SMS gateway refuses every message, as a gateway answering 503 does."""
    from idp.factors.sms_gateway import SMS_EXTENSION, SmsDeliveryFailed

    gateway = app.extensions[SMS_EXTENSION]

    def refuse(message) -> None:
        raise SmsDeliveryFailed("SMS gateway answered 503")

    gateway.send = refuse
    try:
        yield
    finally:
        del gateway.send


def stored_sms_codes(app, phone: str = PHONE) -> int:
    """How many codes the database holds for ``phone``: a code that never went out is not one."""
    from idp.models import SmsCode

    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).where(SmsCode.phone == phone)).scalar_one()


@pytest.fixture
def person(app):
    from idp.people.accounts import create_person

    with app.app_context():
        created = create_person(doc_type="ID_CARD", doc_number=DOC_NUMBER, name="张三", phone=PHONE,
                                password=PASSWORD, username="zhangsan")
        db.session.commit()
        return {"sub": created.sub, "id": created.id, "phone": PHONE, "doc_number": DOC_NUMBER,
                "username": "zhangsan", "password": PASSWORD}


@dataclass
class RelyingParty:
    client_id: str
    client_secret: str | None
    redirect_uri: str

    @property
    def basic_auth(self) -> dict:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def register_client(app, **kwargs) -> RelyingParty:
    from idp.protocol.clients import create_client

    kwargs.setdefault("name", "测试应用")
    kwargs.setdefault("redirect_uris", ["https://rp.test/callback"])
    kwargs.setdefault("post_logout_redirect_uris", ["https://rp.test/bye"])
    kwargs.setdefault("first_party", True)
    with app.app_context():
        created, secret = create_client(**kwargs)
        db.session.commit()
        return RelyingParty(created.client_id, secret, next(iter(kwargs["redirect_uris"]), ""))


@pytest.fixture
def rp(app) -> RelyingParty:
    return register_client(app)


@pytest.fixture
def public_rp(app) -> RelyingParty:
    return register_client(app, name="税务APP", public=True, redirect_uris=["http://127.0.0.1:8765/cb"])


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class AuthorizationRequest:
    params: dict
    verifier: str


def authorization_request(rp: RelyingParty, **extra) -> AuthorizationRequest:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile phone",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return AuthorizationRequest({k: v for k, v in params.items() if v is not None}, verifier)


def csrf_from(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def hidden_value(html: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def login_through_pages(app, client, location: str, identifier: str = "zhangsan", password: str = PASSWORD,
                        phone: str = PHONE):
    """Walk the login pages from the redirect the authorization endpoint gave; returns the last response."""
    page = client.get(location)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    response = client.post("/login", data={
        "csrf_token": csrf_from(html), "interaction": hidden_value(html, "interaction"),
        "identifier": identifier, "password": password,
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    sms_page = client.get(response.headers["Location"])
    response = client.post("/login/sms", data={
        "csrf_token": csrf_from(sms_page.get_data(as_text=True)), "code": last_sms_code(app, phone),
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def obtain_code(app, client, rp: RelyingParty, **extra) -> tuple[str, AuthorizationRequest]:
    """Full browser-side login for ``rp``; returns the authorization code and the request."""
    request = authorization_request(rp, **extra)
    response = client.get("/authorize", query_string=request.params)
    if response.status_code == 302 and response.headers["Location"].startswith("/login"):
        response = login_through_pages(app, client, response.headers["Location"])
        response = client.get(response.headers["Location"])
    assert response.status_code == 302, response.get_data(as_text=True)
    params = query_of(response.headers["Location"])
    assert "code" in params, params
    assert params["state"] == request.params["state"]
    return params["code"], request


def redeem(client, rp: RelyingParty, code: str, verifier: str, **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier, **extra}
    headers = {}
    if rp.client_secret:
        headers = rp.basic_auth
    else:
        data["client_id"] = rp.client_id
    return client.post("/token", data=data, headers=headers)


def tokens_for(app, client, rp: RelyingParty, **extra) -> dict:
    code, request = obtain_code(app, client, rp, **extra)
    response = redeem(client, rp, code, request.verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json() | {"_nonce": request.params.get("nonce")}


def submit_password(client, identifier: str = "zhangsan", password: str = PASSWORD, **form):
    """POST the first login page as a browser would, with a CSRF token from GET /login."""
    page = client.get("/login")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "identifier": identifier,
            "password": password, **form}
    return client.post("/login", data=data)


def submit_sms_code(client, code: str):
    """POST the SMS page (its CSRF token is the session's, taken from the first page)."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login/sms", data={"csrf_token": token, "code": code})


class OutsideService:
    """Takes an outside service down and brings it back: ``down()`` puts in the production HTTP
    adapter aimed at a loopback port nobody listens on, so every call fails as when the real
    service is down; ``up()`` puts the development adapter back."""

    def __init__(self, app, extension: str, unreachable: Callable[[str], object]):
        self.extensions, self.extension, self.unreachable = app.extensions, extension, unreachable
        self.working = app.extensions[extension]

    def down(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.extensions[self.extension] = self.unreachable(f"http://127.0.0.1:{port}")

    def up(self) -> None:
        self.extensions[self.extension] = self.working


@pytest.fixture
def sms_gateway(app):
    from idp.factors.sms_gateway import SMS_EXTENSION, HttpGateway

    service = OutsideService(app, SMS_EXTENSION, lambda url: HttpGateway(url + "/send", "gateway-secret"))
    yield service
    service.up()


@pytest.fixture
def face_provider(app):
    from idp.factors.face_provider import FACE_PROVIDER_EXTENSION, HttpFaceProvider

    service = OutsideService(app, FACE_PROVIDER_EXTENSION, lambda url: HttpFaceProvider(url, "idp", "provider-secret"))
    yield service
    service.up()


def let_sms_cooldown_pass(app) -> None:
    """Age every sent SMS code past the 60 s resend cooldown (a minute passing, as the database
    sees it), so the next step of a test may send a new code to the same phone."""
    from datetime import timedelta

    from idp.models import SmsCode

    with app.app_context():
        for row in db.session.execute(sa.select(SmsCode)).scalars():
            row.sent_at = row.sent_at - timedelta(seconds=current_settings(app).SMS_RESEND_COOLDOWN + 1)
        db.session.commit()


#: Threads a race test releases together; each request (or app context) has its own database
#: connection, so on PostgreSQL their statements truly overlap.
RACE_THREADS = 16


def all_at_once(action: Callable[[int], object]) -> list:
    """``action(index)`` in RACE_THREADS threads that a barrier releases together."""
    barrier = threading.Barrier(RACE_THREADS)

    def one(index: int) -> object:
        barrier.wait(timeout=30)
        return action(index)

    with ThreadPoolExecutor(RACE_THREADS) as pool:
        return list(pool.map(one, range(RACE_THREADS)))


@pytest.fixture
def race(app):
    """``race(action, prepare)`` runs ``action(client, index)`` all at once, one test client (one
    browser) per thread; ``prepare(client)`` first, say to give them all one cookie."""

    def run(action: Callable, prepare: Callable | None = None) -> list:
        clients = [app.test_client() for _ in range(RACE_THREADS)]
        for client in clients:
            if prepare:
                prepare(client)
        return all_at_once(lambda index: action(clients[index], index))

    return run
