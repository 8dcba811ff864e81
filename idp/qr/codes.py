"""QR scan login (docs/architecture.md §6): the life of one QR code, from issue to redemption.

    pending --scan--> scanned --approve--> approved --redeem--> redeemed
                              `--deny----> denied

Each transition is one guarded UPDATE (``WHERE status = <expected> AND expires_at > now``), so a
code is scanned by one app, decided once and only within its lifetime, and redeemed once,
however many requests race (authlib's stock device and code grants read, then write).  The QR payload is
192 random bits; the short user code (typed when the camera fails) is rate-limited per app and
per IP against guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import has_request_context, request
from sqlalchemy import case, literal, select, update

from idp.audit.log import record_event
from idp.core.assurance import derive_acr, with_mfa
from idp.core.clock import utcnow
from idp.core.columns import UTCDateTime
from idp.core.database import conflict_insert, db
from idp.core.metrics import count_qr_decision
from idp.core.settings import current_settings
from idp.login.record import create_login_session
from idp.models import LoginSession, Person, QrLoginRequest, QrLookupFailure
from idp.protocol.tokens import digest

DEVICE = "device"
LOGIN_PAGE = "login_page"
#: RFC 8628 section 6.1: consonants only (no words, no 0/O or 1/I confusion), case-insensitive.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
#: 20^8 ≈ 2.6e10 codes (34 bits) against QR_GUESS_LIMIT guesses per window and IP or app.
USER_CODE_LENGTH = 8
#: The QR payload is ``{issuer}/qr/{token}``: RFC 8628's verification_uri_complete.
PAYLOAD_PATH = "/qr/"
PAYLOAD_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
#: Statuses in which the code still counts down; past expires_at they read "expired".
LIVE = ("pending", "scanned", "approved")


class QrError(Exception):
    """A refused QR operation: ``code`` picks the message, ``status`` the HTTP status."""

    def __init__(self, code: str, status: int = 400, **params: object):
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params


@dataclass(frozen=True)
class IssuedQr:
    """A new QR request and its secrets, shown once to whoever asked for it."""

    row: QrLoginRequest
    user_code: str
    payload: str
    device_code: str | None


@dataclass(frozen=True)
class ApprovingLogin:
    """What an approval hands to the web login: who, the approving session's factors, for whom."""

    person: Person
    amr: list[str]
    business: str
    entity_id: int | None = None
    entity: dict | None = None
    act: dict | None = None


def _settings():
    return current_settings()


def verification_uri() -> str:
    """RFC 8628 ``verification_uri``: the page telling the person to scan with the app."""
    return _settings().ISSUER + "/qr"


def normalise_user_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").upper()


def _user_code_hmac(code: str) -> str:
    # Keyed: the code space is small enough to enumerate against a leaked table.
    return hmac.new(_settings().SECRET_KEY.encode(), normalise_user_code(code).encode(), hashlib.sha256).hexdigest()


def generate_user_code() -> str:
    code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return f"{code[:4]}-{code[4:]}"


def _unused_user_code() -> str:
    """A user code no live request has (a clash would let one code name two requests)."""
    for _ in range(5):
        code = generate_user_code()
        clash = db.session.execute(select(QrLoginRequest.id).where(
            QrLoginRequest.user_code_hmac == _user_code_hmac(code), QrLoginRequest.expires_at > utcnow())).first()
        if clash is None:
            return code
    raise RuntimeError("no free QR user code after 5 tries")


def create_qr_request(*, kind: str, client_id: str | None, scope: str) -> IssuedQr:
    """Issue a QR code for a polling client (``device``) or the login page (``login_page``)."""
    settings = _settings()
    now = utcnow()
    device_code = secrets.token_urlsafe(32) if kind == DEVICE else None
    token = secrets.token_urlsafe(24)
    user_code = _unused_user_code()
    row = QrLoginRequest(
        id=secrets.token_urlsafe(32), kind=kind, device_code_hash=digest(device_code) if device_code else None,
        payload_hash=digest(token), user_code_hmac=_user_code_hmac(user_code), client_id=client_id, scope=scope,
        requester_ip=request.remote_addr if has_request_context() else None, status="pending",
        poll_interval=settings.QR_POLL_INTERVAL, created_at=now,
        expires_at=now + timedelta(seconds=settings.QR_CODE_TTL),
    )
    db.session.add(row)
    record_event("qr.issued", client_id=client_id, kind=kind, request=row.id[:8])
    return IssuedQr(row, user_code, settings.ISSUER + PAYLOAD_PATH + token, device_code)


def seconds_left(row: QrLoginRequest) -> int:
    return max(0, int((row.expires_at - utcnow()).total_seconds()))


def public_status(row: QrLoginRequest) -> str:
    """pending, scanned, approved, denied, redeemed, or expired."""
    return "expired" if row.status in LIVE and row.expires_at <= utcnow() else row.status


def payload_token(value: str) -> str | None:
    """The token of a scanned payload: the whole ``verification_uri_complete`` or the token alone."""
    if not isinstance(value, str):
        return None
    prefix = _settings().ISSUER + PAYLOAD_PATH
    token = value[len(prefix):] if value.startswith(prefix) else value
    return token if PAYLOAD_TOKEN.match(token) else None


# --- guessing ---------------------------------------------------------------------------------

def _guess_keys(approver_key: str) -> list[str]:
    keys = [digest("approver:" + approver_key)]
    if has_request_context() and request.remote_addr:
        keys.append(digest("ip:" + request.remote_addr))
    return keys


def _check_not_throttled(approver_key: str) -> None:
    settings = _settings()
    window_open = utcnow() - timedelta(seconds=settings.QR_GUESS_WINDOW)
    worst = db.session.execute(select(QrLookupFailure.failures).where(
        QrLookupFailure.key_hash.in_(_guess_keys(approver_key)), QrLookupFailure.window_start > window_open,
    ).order_by(QrLookupFailure.failures.desc()).limit(1)).scalar()
    if worst is not None and worst >= settings.QR_GUESS_LIMIT:
        raise QrError("too_many_attempts", 429)


def _record_lookup_failure(approver_key: str) -> None:
    """Count one unknown code for the app and the IP, in one atomic statement each."""
    now = utcnow()
    window_open = now - timedelta(seconds=_settings().QR_GUESS_WINDOW)
    in_window = QrLookupFailure.window_start > literal(window_open, UTCDateTime)
    for key in _guess_keys(approver_key):
        stmt = conflict_insert(QrLookupFailure).values(key_hash=key, window_start=now, failures=1)
        db.session.execute(stmt.on_conflict_do_update(
            index_elements=[QrLookupFailure.key_hash],
            set_={"failures": case((in_window, QrLookupFailure.failures + 1), else_=1),
                  "window_start": case((in_window, QrLookupFailure.window_start),
                                       else_=literal(now, UTCDateTime))},
        ))


def find_request(*, approver_key: str, payload: str | None = None, user_code: str | None = None) -> QrLoginRequest:
    """The request a scanned payload (or typed user code) names; unknown codes count as guesses."""
    _check_not_throttled(approver_key)
    token = payload_token(payload) if payload else None
    if token is not None:
        where = QrLoginRequest.payload_hash == digest(token)
    elif user_code and len(user_code) <= 16 and len(normalise_user_code(user_code)) == USER_CODE_LENGTH:
        where = QrLoginRequest.user_code_hmac == _user_code_hmac(user_code)
    else:
        where = None
    row = None
    if where is not None:
        row = db.session.execute(
            select(QrLoginRequest).where(where).order_by(QrLoginRequest.created_at.desc()).limit(1)).scalar()
    if row is None:
        _record_lookup_failure(approver_key)
        record_event("qr.lookup", "failure", reason="unknown_code")
        raise QrError("unknown_code", 404)
    return row


# --- transitions --------------------------------------------------------------------------------

def _transition(row: QrLoginRequest, expected: str, values: dict, *, approver_key: str | None = None) -> bool:
    now = utcnow()
    conditions = [QrLoginRequest.id == row.id, QrLoginRequest.status == expected, QrLoginRequest.expires_at > now]
    if approver_key is not None:
        conditions.append(QrLoginRequest.approver_key == approver_key)
    changed = db.session.execute(
        update(QrLoginRequest).where(*conditions).values(**values).returning(QrLoginRequest.id)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.refresh(row)
    return changed is not None


def _refusal(row: QrLoginRequest, approver_key: str) -> QrError:
    """Why a scan or decision did not happen, read after the guarded UPDATE matched nothing."""
    if public_status(row) == "expired":
        return QrError("expired", 410)
    if row.approver_key is not None and not hmac.compare_digest(row.approver_key, approver_key):
        return QrError("already_scanned", 409)
    if row.status == "pending":
        return QrError("not_scanned", 409)
    return QrError("already_decided", 409)


def scan(row: QrLoginRequest, *, approver_key: str, approver_client_id: str, subject: str | None) -> None:
    """The first app to scan owns the request; the same app may repeat its scan (a retry)."""
    scanned = _transition(row, "pending", {"status": "scanned", "approver_key": approver_key,
                                           "approver_client_id": approver_client_id, "scanned_at": utcnow()})
    repeated = public_status(row) == "scanned" and hmac.compare_digest(row.approver_key or "", approver_key)
    if not (scanned or repeated):
        error = _refusal(row, approver_key)
        record_event("qr.scanned", "failure", subject=subject, client_id=approver_client_id,
                     request=row.id[:8], reason=error.code)
        raise error
    record_event("qr.scanned", subject=subject, client_id=approver_client_id, request=row.id[:8],
                 requester=row.client_id)


def approve(row: QrLoginRequest, *, approver_key: str, approver_client_id: str, login: ApprovingLogin) -> None:
    """Decide once, within the lifetime, by the app that scanned: the web login is the app
    session's factors plus ``mca`` (RFC 8176), its strength derived from them (docs/domain.md §13)."""
    amr = with_mfa([m for m in login.amr if m != "mfa"] + ["mca"])
    approved = _transition(row, "scanned", {
        "status": "approved", "decided_at": utcnow(), "person_id": login.person.id, "auth_time": int(time.time()),
        "acr": derive_acr(amr), "amr": amr, "business": login.business, "entity_id": login.entity_id,
        "entity": login.entity, "act": login.act,
    }, approver_key=approver_key)
    if not approved:
        error = _refusal(row, approver_key)
        record_event("qr.approved", "failure", subject=login.person.sub, client_id=approver_client_id,
                     request=row.id[:8], reason=error.code)
        count_qr_decision("refused")
        raise error
    count_qr_decision("approved")
    record_event("qr.approved", subject=login.person.sub, client_id=approver_client_id, request=row.id[:8],
                 requester=row.client_id, acr=row.acr, amr=amr, business=login.business,
                 taxpayer_number=login.entity["id"] if login.entity else None)


def deny(row: QrLoginRequest, *, approver_key: str, approver_client_id: str, subject: str | None) -> None:
    denied = _transition(row, "scanned", {"status": "denied", "decided_at": utcnow()}, approver_key=approver_key)
    if not denied:
        error = _refusal(row, approver_key)
        record_event("qr.denied", "failure", subject=subject, client_id=approver_client_id,
                     request=row.id[:8], reason=error.code)
        count_qr_decision("refused")
        raise error
    count_qr_decision("denied")
    record_event("qr.denied", subject=subject, client_id=approver_client_id, request=row.id[:8],
                 requester=row.client_id)


def redeem(row: QrLoginRequest) -> bool:
    """Consume an approved request: of any number of parallel redemptions exactly one wins."""
    redeemed = _transition(row, "approved", {"status": "redeemed", "redeemed_at": utcnow()})
    record_event("qr.redeemed", "success" if redeemed else "failure", client_id=row.client_id,
                 request=row.id[:8], kind=row.kind)
    return redeemed


def start_device_login_session(row: QrLoginRequest) -> LoginSession:
    """The login record of a redeemed device request: it has no browser, so no cookie is bound;
    its ``sid`` lets the person end it (and its tokens) like any other session."""
    login = LoginSession(
        id=secrets.token_urlsafe(32), person_id=row.person_id, auth_time=row.auth_time, amr=list(row.amr or []),
        acr=row.acr, business=row.business, entity_id=row.entity_id, entity=row.entity, act=row.act,
        expires_at=utcnow() + timedelta(seconds=_settings().LOGIN_SESSION_TTL),
    )
    db.session.add(login)
    return login


def complete_login_page(row: QrLoginRequest) -> LoginSession | None:
    """Redeem an approved login-page request into this browser's login session (the one record of
    acr/amr/business/entity, docs/architecture.md §5.4); None when it was not approved or already used."""
    if row.kind != LOGIN_PAGE or not redeem(row):
        return None
    person = db.session.get(Person, row.person_id)
    # An approved request has its approver's amr and business entry.
    if person is None or person.status != "active" or row.amr is None or row.business is None:
        return None
    login = create_login_session(person, [m for m in row.amr if m != "mfa"], row.business)
    login.entity_id, login.entity, login.act = row.entity_id, row.entity, row.act
    return login


def describe(row: QrLoginRequest, requester_name: str) -> dict:
    """What the scanning app shows, so the person can spot a relayed code: who asks, for which
    scopes, from which IP, when, and for how long yet."""
    return {
        "status": public_status(row),
        "client": {"client_id": row.client_id, "name": requester_name},
        "scopes": row.scope.split(),
        "requester": {"ip": row.requester_ip, "requested_at": row.created_at.isoformat(timespec="seconds")},
        "expires_in": seconds_left(row),
    }
