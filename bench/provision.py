"""A fresh database for one benchmark run, migrated and seeded through the provider's own code.

Nothing is inserted behind the application's back: clients come from
``idp.protocol.clients.create_client`` and people from ``idp.people.accounts.create_person`` (so their
password hashes are argon2id at the profile the server verifies with).
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from idp.core.database import db, normalise_database_url, upgrade_database

DEFAULT_POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIRECT_URI = "https://rp.bench.example/callback"
PASSWORD = "Bench#Pass-2026"
#: A Qingdao (Shinan district) area code: the people look like the bureau's own.
AREA_CODE = "370202"


@dataclass(frozen=True)
class RelyingParty:
    client_id: str
    client_secret: str
    redirect_uri: str = REDIRECT_URI

    @property
    def basic_auth(self) -> str:
        """The ``Authorization`` header value for client_secret_basic (RFC 6749 section 2.3.1)."""
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@dataclass(frozen=True)
class BenchPerson:
    phone: str
    password: str = PASSWORD


@dataclass(frozen=True)
class SeededData:
    #: Confidential client with authorization_code, refresh_token and client_credentials.
    relying_party: RelyingParty
    #: A resource server that introspects tokens (client_credentials only).
    resource_server: RelyingParty
    people: tuple[BenchPerson, ...]


@contextlib.contextmanager
def fresh_database(kind: str, postgres_server: str = DEFAULT_POSTGRES_SERVER) -> Iterator[str]:
    """Yield the URL of an empty, migrated database that is removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="idp_bench_") as folder:
            url = f"sqlite:///{Path(folder) / 'idp.sqlite3'}"
            upgrade_database(url)
            yield url
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}")
    admin = sa.create_engine(normalise_database_url(postgres_server), isolation_level="AUTOCOMMIT")
    name = f"idp_bench_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sa.engine.make_url(normalise_database_url(postgres_server)).set(database=name)
        rendered = url.render_as_string(hide_password=False)
        upgrade_database(rendered)
        yield rendered
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_pids(database_url: str) -> set[int]:
    """Server processes working for ``database_url``: its backends and the shared background ones."""
    if not database_url.startswith("postgresql"):
        return set()
    url = sa.engine.make_url(database_url)
    engine = sa.create_engine(url.set(database="postgres"), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE (datname = :name AND pid <> pg_backend_pid())"
                " OR backend_type <> 'client backend'"), {"name": url.database})
            return {row.pid for row in rows}
    finally:
        engine.dispose()


def id_card_number(index: int) -> str:
    """A valid 18-character resident ID number (GB 11643), distinct for each ``index``."""
    from idp.people.identity_documents import check_mod11_2

    born = date(1970, 1, 1) + timedelta(days=index // 500)
    body = f"{AREA_CODE}{born:%Y%m%d}{index % 500 * 2:03d}"
    return next(body + check for check in "0123456789X" if check_mod11_2(body + check))


def phone_number(index: int) -> str:
    return f"139{index:08d}"


def seed(settings: Mapping[str, object], people: int) -> SeededData:
    """Register the two clients and ``people`` accounts through the provider's own functions."""
    from idp.app import create_app
    from idp.people.accounts import create_person
    from idp.protocol.clients import create_client

    app = create_app(settings)
    with app.app_context():
        rp, rp_secret = create_client(
            name="基准测试应用 (benchmark relying party)",
            redirect_uris=[REDIRECT_URI],
            first_party=True,
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            # The figures in bench/README.md were measured with ES256 ID tokens (the default
            # before RS256, OIDC Registration section 2); an RS256 signature costs ~8x as much.
            id_token_alg="ES256",
        )
        rs, rs_secret = create_client(
            name="基准测试资源服务 (benchmark resource server)",
            redirect_uris=[],
            grant_types=["client_credentials"],
        )
        seeded_people = []
        for index in range(people):
            person = create_person(
                doc_type="ID_CARD",
                doc_number=id_card_number(index),
                name=f"测试{index}",
                phone=phone_number(index),
                password=PASSWORD,
                username=f"bench{index}",
            )
            seeded_people.append(BenchPerson(person.phone))
        db.session.commit()
        data = SeededData(RelyingParty(rp.client_id, rp_secret), RelyingParty(rs.client_id, rs_secret),
                          tuple(seeded_people))
        db.session.remove()
        db.engine.dispose()
    return data
