"""Registering relying parties, and the per-worker client cache the token endpoint reads."""

from __future__ import annotations

import secrets
import time

from sqlalchemy import select
from sqlalchemy.inspection import inspect

from idp.audit import record_event
from idp.database import db
from idp.models import Client
from idp.models.client import hash_client_secret

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
DEFAULT_SCOPE = "openid profile phone"


class ClientRegistrationError(ValueError):
    """A registration request that cannot be honoured; the message says why."""


def generate_client_secret() -> str:
    return secrets.token_urlsafe(32)


def create_client(
    *,
    name: str,
    redirect_uris: list[str],
    public: bool = False,
    first_party: bool = False,
    grant_types: list[str] | None = None,
    auth_method: str | None = None,
    scope: str = DEFAULT_SCOPE,
    jwks: dict | None = None,
    post_logout_redirect_uris: list[str] | None = None,
) -> tuple[Client, str | None]:
    """Register a client; returns it and its one-time-visible secret (None for public clients)."""
    grant_types = list(grant_types or ["authorization_code", "refresh_token"])
    auth_method = auth_method or ("none" if public else "client_secret_basic")
    unknown = set(grant_types) - set(GRANT_TYPES)
    if unknown:
        raise ClientRegistrationError(f"unsupported grant type(s): {', '.join(sorted(unknown))}")
    if auth_method not in AUTH_METHODS:
        raise ClientRegistrationError(f"unsupported auth method {auth_method!r}; use one of {', '.join(AUTH_METHODS)}")
    if public and auth_method != "none":
        raise ClientRegistrationError("a public client authenticates with 'none'")
    if not public and auth_method == "none":
        raise ClientRegistrationError("a confidential client needs an auth method other than 'none'")
    if public and "client_credentials" in grant_types:
        raise ClientRegistrationError("a public client cannot use client_credentials")
    if auth_method == "private_key_jwt" and not jwks:
        raise ClientRegistrationError("private_key_jwt needs the client's public JWKS")
    if "authorization_code" in grant_types and not redirect_uris:
        raise ClientRegistrationError("the authorization_code grant needs at least one redirect URI")

    secret = generate_client_secret() if auth_method in ("client_secret_basic", "client_secret_post") else None
    client = Client(
        client_id=secrets.token_urlsafe(16),
        client_secret_hash=hash_client_secret(secret) if secret else None,
        name=name,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(post_logout_redirect_uris or []),
        grant_types=grant_types,
        scope=scope,
        token_endpoint_auth_method=auth_method,
        jwks=jwks,
        first_party=first_party,
    )
    db.session.add(client)
    record_event("client.registered", client_id=client.client_id, name=name, auth_method=auth_method)
    return client, secret


def list_clients() -> list[Client]:
    return list(db.session.execute(select(Client).order_by(Client.id)).scalars())


def _detached_copy(client: Client) -> Client:
    columns = {attr.key: getattr(client, attr.key) for attr in inspect(Client).column_attrs}
    return Client(**columns)


class ClientRegistry:
    """``query_client`` for authlib, cached per worker for ``CLIENT_CACHE_TTL`` seconds.

    Registrations change rarely and the token endpoint reads them on every call; a short
    cache trades a bounded delay in picking up changes for one query less per token.
    """

    def __init__(self, ttl: int):
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Client | None]] = {}

    def query_client(self, client_id: str) -> Client | None:
        if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
            return None
        now = time.monotonic()
        cached = self._cache.get(client_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        row = db.session.execute(select(Client).where(Client.client_id == client_id)).scalar_one_or_none()
        client = _detached_copy(row) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[client_id] = (now + self.ttl, client)
        return client

    def forget(self, client_id: str | None = None) -> None:
        if client_id is None:
            self._cache.clear()
        else:
            self._cache.pop(client_id, None)
