"""Issuing, persisting, looking up and revoking tokens.

Access tokens are RFC 9068 JWTs verified offline by resource servers; the provider keeps
no row per access token, only the grant (family) they belong to and a deny-list of
individually revoked ``jti`` values, which introspection and userinfo consult.
Refresh tokens and codes are random strings stored as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import bindparam, insert, select, update

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import conflict_insert, db, read_committed_row
from idp.core.metrics import count_token_issued
from idp.core.settings import current_settings
from idp.keyring import current_keyring
from idp.models import Client, Grant, LoginSession, RefreshToken, RevokedToken
from idp.protocol.claims import business_claims
from idp.protocol.client_registry import client_registry
from idp.protocol.subjects import Account, query_grant_and_account, subject_for_client_id


def digest(value: str) -> str:
    """Lookup key of a high-entropy bearer secret (code, refresh token)."""
    return hashlib.sha256(value.encode()).hexdigest()


def generate_opaque_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenSubject:
    """The person and grant a token is issued for: the login record, carried unchanged."""

    person: Account
    grant: Grant

    def get_user_id(self) -> str:
        """The ``sub`` of every token of this grant: pairwise for third-party clients."""
        return subject_for_client_id(self.person, self.grant.client_id)


@dataclass(frozen=True)
class TokenHolder:
    """The person an access token speaks for, with the business context it carries."""

    person: Account
    context: dict
    #: The ``sub`` the token carries (pairwise for third-party clients); userinfo repeats it.
    subject: str | None = None


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 access tokens signed by the keyring's active key, with the login context.

    authlib calls a generator without the request, so the DPoP binding is not read from it:
    :meth:`bound_to` makes the generator of one request's tokens, which the grants ask for with
    the key of the request's proof (``idp.grants.dpop_bound``)."""

    def __init__(self, issuer: str, access_token_ttl: int, dpop_jkt: str | None = None):
        super().__init__(
            issuer=issuer,
            alg="ES256",
            refresh_token_generator=lambda client, grant_type, user, scope: generate_opaque_token(),
            expires_generator=lambda client, grant_type: access_token_ttl,
        )
        self.access_token_ttl = access_token_ttl
        #: RFC 7638 thumbprint of the DPoP key this generator's tokens are bound to, if any.
        self.dpop_jkt = dpop_jkt

    def bound_to(self, jkt: str | None) -> AccessTokenGenerator:
        """This generator for tokens bound to the DPoP key ``jkt`` (RFC 9449 section 6.1); itself for None."""
        return self if jkt is None else AccessTokenGenerator(self.issuer, self.access_token_ttl, jkt)

    def get_jwks(self) -> KeySet:
        # A one-key set makes joserfc put that key's kid in the header.
        return KeySet([current_keyring().active_key().key])

    def get_jti(self, client, grant_type, user, scope) -> str:
        # 128 random bits; authlib's default generator costs ~20x more on the token hot path.
        return secrets.token_urlsafe(16)

    def get_auth_time(self, user: TokenSubject | None) -> int | None:
        return user.grant.auth_time if user else None

    def get_acr(self, user: TokenSubject | None) -> str | None:
        return user.grant.acr if user else None

    def get_amr(self, user: TokenSubject | None) -> list[str] | None:
        return list(user.grant.amr) if user else None

    def get_extra_claims(self, client, grant_type, user: TokenSubject | None, scope) -> dict:
        # RFC 9449 section 6.1: the token is bound to the key of the request's DPoP proof.
        claims: dict = {"cnf": {"jkt": self.dpop_jkt}} if self.dpop_jkt else {}
        if not user:
            return claims
        grant = user.grant
        return {**claims, "sid": grant.login_session_id, "grant_id": grant.id,
                **business_claims(grant.business, grant.entity, grant.act)}

    def generate(self, grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
        token = super().generate(grant_type, client, user=user, scope=scope, expires_in=expires_in,
                                 include_refresh_token=include_refresh_token)
        if self.dpop_jkt:
            token["token_type"] = "DPoP"  # RFC 9449 section 5
        return token


#: A plain Core INSERT, built once: nothing reads the row back in this request, so no ORM
#: object is needed.
_INSERT_REFRESH_TOKEN = insert(RefreshToken.__table__)


def save_token(token: dict, request) -> None:
    """authlib's save hook: only refresh tokens are stored (access tokens are JWTs). Every
    grant saves what it issued here, so this is where issued tokens are counted and audited.
    A refresh token is bound to the key of the request's DPoP proof, as its access token is."""
    count_token_issued(request.payload.grant_type)
    subject: TokenSubject | None = request.user
    _audit_token_issued(token, request, subject)
    refresh = token.get("refresh_token")
    if not refresh:
        return
    # Refresh tokens are issued on a person's grant only (never to client_credentials).
    assert subject is not None, "a refresh token without a person's grant"
    settings = current_settings()
    expires_at = min(utcnow() + timedelta(seconds=settings.REFRESH_TOKEN_IDLE_TTL), subject.grant.expires_at)
    db.session.execute(_INSERT_REFRESH_TOKEN, {
        "token_hash": digest(refresh),
        "grant_id": subject.grant.id,
        "client_id": request.client.client_id,
        # RFC 6749 section 6: a rotated refresh token keeps the scope of the one it replaces,
        # however narrow the access token the client asked for this time.
        "scope": request.refresh_token.scope if request.refresh_token else token.get("scope", ""),
        "issued_at": utcnow(),
        "expires_at": expires_at,
        "dpop_jkt": proof.jkt if (proof := request.dpop_proof) else None,
    })


def _audit_token_issued(token: dict, request, subject: TokenSubject | None) -> None:
    """One ``token.issued`` row per token response: who got what, never a token value."""
    # Our own JWT, signed a moment ago: its payload is read, not verified again.
    claims = json.loads(jws.extract_compact(token["access_token"].encode()).payload)
    grant = subject.grant if subject else None
    record_event(
        "token.issued",
        subject=subject.person.sub if subject else None,
        client_id=request.client.client_id,
        grant_type=request.payload.grant_type,
        jti=claims.get("jti"),
        acr=grant.acr if grant else None,
        business=grant.business if grant else None,
        entity_id=grant.entity_id if grant else None,
        scope=token.get("scope", ""),
        with_refresh_token="refresh_token" in token,
        dpop="cnf" in claims,
    )


class ActingFor(Protocol):
    """Whom tokens act for: a business entry and taxpayer, as a login session, a grant and a
    taxpayer choice (``idp.consent.choices.Choice``) each carry them."""

    @property
    def business(self) -> str: ...
    @property
    def entity_id(self) -> int | None: ...
    @property
    def entity(self) -> dict | None: ...
    @property
    def act(self) -> dict | None: ...


def open_grant(login: LoginSession | Grant, client_id: str, scope: str, acting_for: ActingFor | None = None) -> Grant:
    """A new grant (token family) of ``client_id``, written now, copying its login record
    (docs/architecture.md §5.4): the subject, ``auth_time``, ``acr``, ``amr``, and whom it acts for.

    ``login`` is the login session a code or a QR approval comes from (the grant ends
    ``REFRESH_TOKEN_ABSOLUTE_TTL`` from now), or the grant a token exchange replaces (the new one
    keeps its login session and its end); ``acting_for`` is the taxpayer switched to, if any.
    """
    if isinstance(login, Grant):
        login_session_id, expires_at = login.login_session_id, login.expires_at
    else:
        login_session_id = login.id
        expires_at = utcnow() + timedelta(seconds=current_settings().REFRESH_TOKEN_ABSOLUTE_TTL)
    taxpayer: ActingFor = acting_for or login
    grant = Grant(
        id=secrets.token_urlsafe(32), person_id=login.person_id, legacy_account_id=login.legacy_account_id,
        client_id=client_id, login_session_id=login_session_id, scope=scope,
        auth_time=login.auth_time, acr=login.acr, amr=list(login.amr),
        business=taxpayer.business, entity_id=taxpayer.entity_id, entity=taxpayer.entity, act=taxpayer.act,
        expires_at=expires_at,
    )
    db.session.add(grant)
    db.session.flush()  # rows that reference the grant (a code, a refresh token) follow it
    return grant


def revoke_grant(grant_id: str, reason: str) -> bool:
    """End a token family: its refresh tokens stop working and its access tokens turn inactive.
    True when this call ended it (of parallel calls, exactly one)."""
    revoked = db.session.execute(
        update(Grant)
        .where(Grant.id == grant_id, Grant.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .returning(Grant.client_id)
    ).first()
    if revoked is None:
        return False
    record_event("grant.revoked", client_id=revoked.client_id, reason=reason, grant=grant_id[:8])
    return True


def check_grant_alive(grant_id: str) -> bool:
    row = db.session.execute(
        select(Grant.revoked_at, Grant.expires_at).where(Grant.id == grant_id)
    ).first()
    return row is not None and row.revoked_at is None and row.expires_at > utcnow()


_DENIED_CLAUSE = select(RevokedToken.jti).where(RevokedToken.jti == bindparam("jti")).exists().label("denied")
#: Built once: introspection runs them on every call, and building costs more than running.
_DENIED = select(_DENIED_CLAUSE)
_DENIED_OR_GRANT_STATE = select(_DENIED_CLAUSE, Grant.revoked_at, Grant.expires_at).where(
    Grant.id == bindparam("grant_id"))


class AccessToken:
    """A verified JWT access token, shaped for authlib's validators and endpoints."""

    def __init__(self, claims: dict):
        self.claims = claims

    def get_client_id(self) -> str:
        return self.claims["client_id"]

    def get_scope(self) -> str:
        return self.claims.get("scope", "")

    @property
    def scope(self) -> str:
        return self.get_scope()

    def get_expires_in(self) -> int:
        return self.claims["exp"] - self.claims["iat"]

    def is_expired(self) -> bool:
        return self.claims["exp"] <= time.time()

    def is_revoked(self) -> bool:
        """Exact on every call (no cache): the deny-list and the grant, in one query."""
        grant_id = self.claims.get("grant_id")
        if grant_id is None:
            denied = read_committed_row(_DENIED, {"jti": self.claims["jti"]})
            return denied is not None and denied.denied
        row = read_committed_row(_DENIED_OR_GRANT_STATE, {"jti": self.claims["jti"], "grant_id": grant_id})
        return row is None or row.denied or row.revoked_at is not None or row.expires_at <= utcnow()

    def check_client(self, client: Client) -> bool:
        return self.get_client_id() == client.client_id

    def get_client(self) -> Client | None:
        return client_registry().query_client(self.get_client_id())

    @property
    def jkt(self) -> str | None:
        """RFC 9449 section 6.1: the key thumbprint a DPoP-bound token is bound to."""
        cnf = self.claims.get("cnf")
        return cnf.get("jkt") if isinstance(cnf, dict) else None

    def get_user(self) -> TokenHolder | None:
        # Through the grant: a pairwise ``sub`` cannot be looked up, only recomputed.
        found = query_grant_and_account(self.claims.get("grant_id") or "")
        person = found[1] if found else None
        if person is None:
            return None
        context = {k: self.claims[k] for k in ("business", "entity", "act") if k in self.claims}
        return TokenHolder(person, context, self.claims["sub"])

    def revoke(self) -> None:
        # Revoked twice at once, or again later: RFC 7009 answers 200 either way.
        db.session.execute(conflict_insert(RevokedToken).values(
            jti=self.claims["jti"], expires_at=datetime.fromtimestamp(self.claims["exp"], tz=utcnow().tzinfo),
        ).on_conflict_do_nothing())

    def introspect(self) -> dict:
        keys = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "auth_time", "acr", "amr", "sid",
                "business", "entity", "act")
        bound = {"token_type": "DPoP", "cnf": {"jkt": self.jkt}} if self.jkt else {"token_type": "Bearer"}
        return {**bound, **{k: self.claims[k] for k in keys if k in self.claims}}


def load_access_token(token_string: str) -> AccessToken | None:
    """Verify signature, issuer and type of one of our access tokens; None if it is not one."""
    keyring = current_keyring()
    try:
        token = jwt.decode(token_string, keyring.verification_keys(), algorithms=["ES256", "RS256", "EdDSA"])
    except (JoseError, ValueError, TypeError):
        return None
    claims = token.claims
    if token.header.get("typ") != "at+jwt" or claims.get("iss") != current_settings().ISSUER:
        return None
    if not all(isinstance(claims.get(k), int) for k in ("exp", "iat")) or "jti" not in claims:
        return None
    return AccessToken(claims)


class StoredRefreshToken:
    """A refresh token row looked up for introspection or revocation (never consumed here)."""

    def __init__(self, row: RefreshToken):
        self.row = row

    def check_client(self, client: Client) -> bool:
        return self.row.client_id == client.client_id

    def get_scope(self) -> str:
        return self.row.scope

    def is_expired(self) -> bool:
        return self.row.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.used_at is not None or not check_grant_alive(self.row.grant_id)

    def revoke(self) -> None:
        # RFC 7009 section 2.1: revoking a refresh token ends the whole grant.
        revoke_grant(self.row.grant_id, "refresh_token_revoked")

    def introspect(self) -> dict:
        found = query_grant_and_account(self.row.grant_id)
        person = found[1] if found else None
        if person is None:
            # Deleting an account deletes its grants (and their tokens): not reached in practice.
            return {"active": False}
        bound = {"cnf": {"jkt": self.row.dpop_jkt}} if self.row.dpop_jkt else {}
        return {
            **bound,
            "token_type": "refresh_token",
            "scope": self.row.scope,
            "client_id": self.row.client_id,
            "sub": subject_for_client_id(person, self.row.client_id),
            "exp": int(self.row.expires_at.timestamp()),
            "iat": int(self.row.issued_at.timestamp()),
            "iss": current_settings().ISSUER,
        }


def query_any_token(token_string: str, hint: str | None) -> AccessToken | StoredRefreshToken | None:
    """Find an access or refresh token, trying the hinted kind first (RFC 7009/7662 hints)."""
    if not isinstance(token_string, str) or not token_string or len(token_string) > 8192:
        return None

    def as_refresh() -> StoredRefreshToken | None:
        row = db.session.get(RefreshToken, digest(token_string))
        return StoredRefreshToken(row) if row else None

    def as_access() -> AccessToken | None:
        return load_access_token(token_string)

    order = (as_refresh, as_access) if hint == "refresh_token" else (as_access, as_refresh)
    for lookup in order:
        found = lookup()
        if found is not None:
            return found
    return None
