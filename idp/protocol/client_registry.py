"""The per-worker client cache the token endpoint reads (authlib's ``query_client``)."""

from __future__ import annotations

import time

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.inspection import inspect

from idp.core.database import db
from idp.models import Client


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
        # PostgreSQL refuses NUL in text: such an id is unknown, not a server error.
        if not isinstance(client_id, str) or not client_id or len(client_id) > 64 or "\x00" in client_id:
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


CLIENTS_EXTENSION = "idp.clients"


def client_registry(app: Flask | None = None) -> ClientRegistry:
    """The client registry of ``app`` (by default the current one)."""
    return (app or current_app).extensions[CLIENTS_EXTENSION]
