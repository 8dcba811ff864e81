"""Demo data for ``idp serve --demo``: two people and a demo relying party, idempotently."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from idp.accounts import create_person
from idp.clients import create_client
from idp.database import db
from idp.models import Client, Person

DEMO_PASSWORD = "Demo@2026"
DEMO_PEOPLE = [
    {"doc_type": "ID_CARD", "doc_number": "11010519491231002X", "name": "张三", "phone": "13800138000",
     "username": "zhangsan"},
    {"doc_type": "HKMO_RESIDENCE", "doc_number": "810000199001010019", "name": "李四", "phone": "13900139000",
     "username": None},
]
DEMO_CLIENT_NAME = "演示电子税务局 (demo e-tax app)"
DEMO_REDIRECT_URI = "http://127.0.0.1:5001/callback"


def seed_demo(app: Flask) -> str:
    """Create what is missing and return the instructions to print."""
    for entry in DEMO_PEOPLE:
        exists = db.session.execute(select(Person.id).where(Person.phone == entry["phone"])).first()
        if not exists:
            create_person(password=DEMO_PASSWORD, **entry)
    client = db.session.execute(select(Client).where(Client.name == DEMO_CLIENT_NAME)).scalar_one_or_none()
    secret_line = "client_secret: (created earlier; register a new client with `idp clients add` to see one)"
    if client is None:
        client, secret = create_client(
            name=DEMO_CLIENT_NAME,
            redirect_uris=[DEMO_REDIRECT_URI],
            post_logout_redirect_uris=["http://127.0.0.1:5001/"],
            first_party=True,
            grant_types=["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"],
        )
        secret_line = f"client_secret: {secret}"
    db.session.commit()
    settings = app.config["IDP"]
    return "\n".join([
        "== qdtax-idp demo ==",
        f"issuer: {settings.ISSUER}  (discovery: {settings.ISSUER}/.well-known/openid-configuration)",
        f"demo relying party client_id: {client.client_id}",
        secret_line,
        f"redirect_uri: {DEMO_REDIRECT_URI}",
        f"log in at {settings.ISSUER}/login as 'zhangsan' (or 13800138000, or 11010519491231002X), "
        f"password {DEMO_PASSWORD};",
        f"the SMS code is appended to {settings.sms_outbox_path} (development SMS adapter).",
    ])
