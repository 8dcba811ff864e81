"""Subject identifiers (OpenID Connect Core 8): the bureau's own apps see a person's public
``sub``; third-party apps each see a pairwise ``sub`` of their sector, so two of them cannot
match their users by it.  An old enterprise login (dual-track) has a ``sub`` of its own, under
the same rules.

A pairwise ``sub`` is HMAC-SHA256(PAIRWISE_SALT, sector host + public ``sub``), base64url: it is
stable for as long as the salt is, and cannot be turned back into the person without the salt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from urllib.parse import urlsplit

import requests
from sqlalchemy import bindparam, select

from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import Client, Grant, LegacyEnterpriseAccount, Person
from idp.protocol.client_registry import client_registry

#: Whom a login, grant or token speaks for: a person, or an old enterprise login (dual-track).
Account = Person | LegacyEnterpriseAccount

PUBLIC = "public"
PAIRWISE = "pairwise"
SUBJECT_TYPES = [PUBLIC, PAIRWISE]

#: A sector identifier document is a short JSON array of URIs (OIDC Core 8.1).
SECTOR_DOCUMENT_MAX_BYTES = 64 * 1024
SECTOR_FETCH_TIMEOUT = 5


class SectorIdentifierError(ValueError):
    """A pairwise registration whose sector cannot be established; the message says why."""


def query_account(row) -> Account | None:
    """Whom a login session, or a grant made from one (both have the two subject columns), speaks for."""
    if row.person_id is not None:
        return db.session.get(Person, row.person_id)
    if row.legacy_account_id is not None:
        return db.session.get(LegacyEnterpriseAccount, row.legacy_account_id)
    return None


_GRANT_AND_ACCOUNT = (
    select(Grant, Person, LegacyEnterpriseAccount)
    .outerjoin(Person, Person.id == Grant.person_id)
    .outerjoin(LegacyEnterpriseAccount, LegacyEnterpriseAccount.id == Grant.legacy_account_id)
    .where(Grant.id == bindparam("grant_id"))
)


def query_grant_and_account(grant_id: str) -> tuple[Grant, Account | None] | None:
    """A grant and whom it speaks for, in one round trip (token endpoint, userinfo)."""
    row = db.session.execute(_GRANT_AND_ACCOUNT, {"grant_id": grant_id}).first()
    if row is None:
        return None
    grant, person, legacy_account = row
    return grant, person or legacy_account


def pairwise_subject(sector: str, public_sub: str, salt: str) -> str:
    mac = hmac.new(salt.encode(), f"{sector}\x00{public_sub}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def subject_for(person: Account, client: Client | None) -> str:
    """The ``sub`` this client knows the person by (ID token, userinfo, access token, logout token)."""
    if client is None or client.subject_type != PAIRWISE:
        return person.sub
    # Registration guarantees a sector; the client_id fallback still never leaks the public sub.
    sector = client.sector_identifier or client.client_id
    return pairwise_subject(sector, person.sub, current_settings().PAIRWISE_SALT)


def subject_for_client_id(person: Account, client_id: str) -> str:
    return subject_for(person, client_registry().query_client(client_id))


def check_subject_names(sub: str, person: Account, client: Client | None) -> bool:
    """True when ``sub`` (from a token this provider gave ``client``) is this person's."""
    return isinstance(sub, str) and hmac.compare_digest(subject_for(person, client).encode(), sub.encode())


def public_subject_named(id_token_claims: dict, person: Account | None) -> str:
    """The public ``sub`` of ``person`` when one of our ID tokens (e.g. an ``id_token_hint``)
    names them, however its audience sees them; otherwise the token's ``sub`` unchanged."""
    sub = id_token_claims["sub"]
    aud = id_token_claims.get("aud")
    client_id = aud[0] if isinstance(aud, list) and len(aud) == 1 else aud
    client = client_registry().query_client(client_id) if isinstance(client_id, str) else None
    if person is not None and check_subject_names(sub, person, client):
        return person.sub
    return sub


def _check_fetchable(uri: str) -> None:
    parts = urlsplit(uri)
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise SectorIdentifierError("sector_identifier_uri must be an https URL")


def fetch_sector_redirect_uris(uri: str) -> list[str]:
    """The JSON array of redirect URIs published at ``sector_identifier_uri`` (OIDC Core 8.1)."""
    _check_fetchable(uri)
    try:
        with requests.get(uri, timeout=SECTOR_FETCH_TIMEOUT, allow_redirects=False, stream=True) as response:
            if response.status_code != 200:
                raise SectorIdentifierError(f"sector_identifier_uri answered HTTP {response.status_code}")
            body = response.raw.read(SECTOR_DOCUMENT_MAX_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise SectorIdentifierError(f"sector_identifier_uri could not be fetched: {error.__class__.__name__}") from None
    if len(body) > SECTOR_DOCUMENT_MAX_BYTES:
        raise SectorIdentifierError("sector_identifier_uri document is too large")
    try:
        uris = json.loads(body)
    except ValueError:
        raise SectorIdentifierError("sector_identifier_uri must serve a JSON array of URIs") from None
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise SectorIdentifierError("sector_identifier_uri must serve a JSON array of URIs")
    return uris


def validate_pairwise_sector(redirect_uris: list[str], sector_identifier_uri: str | None) -> None:
    """OIDC Core 8.1: every redirect URI must be listed at the sector identifier URI; without
    one, the redirect URIs must share one host, which is then the sector."""
    if sector_identifier_uri:
        listed = set(fetch_sector_redirect_uris(sector_identifier_uri))
        missing = [uri for uri in redirect_uris if uri not in listed]
        if missing:
            raise SectorIdentifierError(f"redirect URI(s) not listed at sector_identifier_uri: {', '.join(missing)}")
        return
    if len({urlsplit(uri).hostname for uri in redirect_uris}) > 1:
        raise SectorIdentifierError("redirect URIs on several hosts need a sector_identifier_uri for pairwise subjects")
