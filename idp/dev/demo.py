"""Demo data for ``idp serve --demo``, idempotently: two people, taxpayers and roles to choose
between, and two demo e-tax apps (``examples/etax_demo``) to show single sign-on, switching
taxpayer and single logout."""

from __future__ import annotations

import hashlib
import io
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import Client, Person
from idp.models.client import hash_client_secret
from idp.people.accounts import create_person
from idp.protocol.clients import create_client, generate_client_secret
from idp.taxpayers.entities import add_role, import_entities
from idp.taxpayers.legacy_import import import_legacy_accounts, read_rows

DEMO_PASSWORD = "Demo@2026"
DEMO_PEOPLE: list[dict[str, Any]] = [
    {"doc_type": "ID_CARD", "doc_number": "11010519491231002X", "name": "张三", "phone": "13800138000",
     "username": "zhangsan"},
    {"doc_type": "HKMO_RESIDENCE", "doc_number": "810000199001010019", "name": "李四", "phone": "13900139000",
     "username": None},
]
TRADER, BUILDER, AGENCY, AGENCY_CLIENT = "91110000600037341L", "91370200MA3C12346H", "9144030071526726XG", \
    "91350100M000100Y43"
#: An enterprise where zhangsan holds two roles, one with a cross-region registration, and an
#: agency with a client: every business entry has something to choose and to switch to.
DEMO_ENTITIES_CSV = f"""\
row_type,taxpayer_number,name,kind,tax_authority_code,tax_authority_name,client_taxpayer_number,status
entity,{TRADER},青岛远洋贸易有限公司,enterprise,13702030000,国家税务总局青岛市市南区税务局,,active
entity,{BUILDER},青岛海川建筑安装有限公司,enterprise,13702000000,国家税务总局青岛市税务局,,active
cross_region,{BUILDER},,报验,13702140000,国家税务总局青岛市即墨区税务局,,active
entity,{AGENCY},青岛信达税务师事务所,agency,13702120000,国家税务总局青岛市崂山区税务局,,active
entity,{AGENCY_CLIENT},青岛小微科技有限公司,enterprise,13702110000,国家税务总局青岛市黄岛区税务局,,active
agency_agreement,{AGENCY},,,,,{AGENCY_CLIENT},active
"""
DEMO_ROLES = [(TRADER, "legal_representative"), (TRADER, "financial_officer"), (BUILDER, "tax_officer"),
              (AGENCY, "agent_staff")]
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
#: The old enterprise login (dual-track, docs/domain.md §1.2) of one more taxpayer, imported as the previous
#: system exported it: its enterprise password as a salted SHA-256 hash (docs/legacy-login.md).
LEGACY_TAXPAYER, LEGACY_PASSWORD = "91370212MA3D45678P", "Qiye@2026"
LEGACY_SALT = bytes.fromhex("5a17c0de5a17c0de")


def demo_legacy_sunset() -> str:
    """90 days from today (Asia/Shanghai): the demo's transition end, unless one is configured."""
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=90)).isoformat()


def _legacy_csv() -> str:
    digest = hashlib.sha256(LEGACY_SALT + LEGACY_PASSWORD.encode()).hexdigest()
    return ("taxpayer_number,name,tax_authority_code,tax_authority_name,legacy_password_hash\n"
            f"{LEGACY_TAXPAYER},青岛老港口机械有限公司,13702120000,国家税务总局青岛市崂山区税务局,"
            f"sha256${LEGACY_SALT.hex()}${digest}\n")


@dataclass(frozen=True)
class DemoApp:
    name: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


#: The demo apps' names, which find their clients again when the demo is seeded anew (the first
#: keeps the name the single demo client had, so an existing demo database updates in place).
DEMO_APP_NAMES = ("演示电子税务局 (demo e-tax app)", "演示电子税务局 B (demo e-tax app B)")


def default_demo_app_ports(provider_port: int) -> tuple[int, int]:
    """The ports after the provider's (5001 and 5002 for the default 5000)."""
    return provider_port + 1, provider_port + 2


def _seed_entities() -> None:
    report = import_entities(io.StringIO(DEMO_ENTITIES_CSV))
    if report.errors:
        raise RuntimeError(f"demo entities: {report.errors}")
    for number, role in DEMO_ROLES:
        held = add_role("zhangsan", number, role)
        if held.status != "confirmed":
            # Confirmed for the demo; a real role waits for the person's confirmation at login.
            held.status, held.confirmed_at = "confirmed", utcnow()


def _seed_app(demo: DemoApp) -> tuple[Client, str]:
    """Register (or bring up to date) a demo app's client; a fresh secret every time, because a
    secret is shown only once and the printed commands must work."""
    registration: dict[str, Any] = {
        "redirect_uris": [f"{demo.base_url}/callback"],
        "post_logout_redirect_uris": [f"{demo.base_url}/"],
        "grant_types": ["authorization_code", "refresh_token", TOKEN_EXCHANGE],
        "backchannel_logout_uri": f"{demo.base_url}/backchannel-logout",
        "backchannel_logout_session_required": True,
    }
    client = db.session.execute(select(Client).where(Client.name == demo.name)).scalar_one_or_none()
    if client is None:
        client, secret = create_client(name=demo.name, first_party=True, **registration)
        assert secret is not None, "a confidential client is given a secret"
        return client, secret
    for field, value in registration.items():
        setattr(client, field, value)
    secret = generate_client_secret()
    client.client_secret_hash = hash_client_secret(secret)
    return client, secret


def seed_demo(app: Flask, app_ports: tuple[int, int] = (5001, 5002)) -> str:
    """Create what is missing, register the demo apps for ``app_ports`` (their clients' redirect,
    logout and back-channel addresses follow the ports), and return the instructions to print."""
    demos = [DemoApp(name, port) for name, port in zip(DEMO_APP_NAMES, app_ports, strict=True)]
    for entry in DEMO_PEOPLE:
        exists = db.session.execute(select(Person.id).where(Person.phone == entry["phone"])).first()
        if not exists:
            create_person(password=DEMO_PASSWORD, **entry)
    db.session.flush()
    _seed_entities()
    registered = [(demo, *_seed_app(demo)) for demo in demos]
    db.session.commit()
    report = import_legacy_accounts(read_rows(io.StringIO(_legacy_csv())))
    if report.count("failed"):
        raise RuntimeError(f"demo legacy login: {report.outcomes}")
    settings = current_settings(app)
    sunset = settings.legacy_login_sunset
    issuer_option = "" if settings.ISSUER == "http://127.0.0.1:5000" else f" --issuer {shlex.quote(settings.ISSUER)}"
    lines = [
        "== qdtax-idp demo ==",
        f"issuer: {settings.ISSUER}  (discovery: {settings.ISSUER}/.well-known/openid-configuration)",
        f"log in as 'zhangsan' (or 13800138000, or 11010519491231002X), password {DEMO_PASSWORD};",
        f"the SMS code is appended to {settings.sms_outbox_path} (development SMS adapter).",
        "zhangsan acts for 青岛远洋贸易有限公司 (two roles), 青岛海川建筑安装有限公司 (with a cross-region",
        "registration, entry 特定主体) and, through 青岛信达税务师事务所, its client 青岛小微科技有限公司.",
        (f"old enterprise login (dual-track, loa:1, until {sunset.isoformat()}): the login page's link, taxpayer "
         f"number {LEGACY_TAXPAYER}, enterprise password {LEGACY_PASSWORD}." if sunset else
         f"old enterprise login: imported for {LEGACY_TAXPAYER}, but off (set IDP_LEGACY_LOGIN_SUNSET=YYYY-MM-DD)."),
        "",
        "Start the two demo e-tax apps from the repository root, each in its own terminal",
        "(new client secrets are issued every time the demo is seeded):",
    ]
    for demo, client, secret in registered:
        lines.append(f"  .venv/bin/python -m examples.etax_demo --port {demo.port} --name {shlex.quote(demo.name)}"
                     f" --client-id {client.client_id} --client-secret {secret}{issuer_option}")
    lines += [
        f"then open {demos[0].base_url}/ and log in: keep 自然人业务 to act for yourself, or pick 企业业务 above the",
        "account field and, after the SMS code, choose one of the taxpayers on 选择办税身份 and press 进入.",
        f"Open {demos[1].base_url}/ too: it signs in without a second login; log out of one, reload the other.",
    ]
    return "\n".join(lines)
