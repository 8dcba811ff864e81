"""Retention (idp/housekeeping/retention.py): rows nobody can use any more are deleted, and nothing else."""

from __future__ import annotations

import dataclasses
import secrets
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings, load_settings
from idp.housekeeping.retention import BackgroundRetentionPurge, purge_expired
from idp.models import (
    AuditEvent,
    AuthorizationCode,
    BackchannelLogout,
    BrowserSession,
    CertificateChallenge,
    DevFaceSession,
    FaceCheck,
    Grant,
    LoginSession,
    PushedAuthorizationRequest,
    QrLoginRequest,
    QrLookupFailure,
    RealnameRecord,
    RefreshToken,
    Registration,
    RevokedToken,
    SeenDpopProof,
    SmsCode,
    UsedAssertion,
)

from conftest import register_client, tokens_for

LONG_AGO = timedelta(days=3)
SOON = timedelta(minutes=5)


def token() -> str:
    return secrets.token_hex(16)


def add(app, *rows) -> None:
    """Insert ``rows`` in the order given (a grant before its tokens); they stay readable afterwards
    (detached before the commit could expire them)."""
    with app.app_context():
        for row in rows:
            db.session.add(row)
            db.session.flush()
        db.session.expunge_all()
        db.session.commit()


def purge(app, **options) -> dict[str, int]:
    with app.app_context():
        return purge_expired(utcnow(), **options)


def count(app, model, *conditions) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*conditions)).scalar_one()


def exists(app, model, key) -> bool:
    with app.app_context():
        return db.session.get(model, key) is not None


# --- rows that expire on their own -----------------------------------------------------------

EXPIRING = {
    "revoked_token": lambda at: RevokedToken(jti=token(), expires_at=at),
    "used_assertion": lambda at: UsedAssertion(jti_digest=token(), expires_at=at),
    "dpop_proof": lambda at: SeenDpopProof(jti_digest=token(), expires_at=at),
    "pushed_authorization_request": lambda at: PushedAuthorizationRequest(
        request_uri_hash=token(), client_id="c", params=[], expires_at=at),
    "browser_session": lambda at: BrowserSession(id_hash=token(), data={}, expires_at=at),
    "qr_login_request": lambda at: QrLoginRequest(
        id=token(), kind="device", payload_hash=token(), user_code_hmac=token(), poll_interval=5, expires_at=at),
    "certificate_challenge": lambda at: CertificateChallenge(challenge_hash=token(), expires_at=at),
    "registration": lambda at: Registration(
        id=token(), step="phone", doc_type="ID_CARD", doc_number=token(), name="张三", expires_at=at),
    "realname_record": lambda at: RealnameRecord(doc_type="ID_CARD", doc_number=token(), name="张三", expires_at=at),
    "face_check": lambda at: FaceCheck(id=token(), purpose="login", doc_type="ID_CARD", doc_number=token(),
                                       provider_session_id=token(), expires_at=at),
    "dev_face_session": lambda at: DevFaceSession(id=token(), name="张三", doc_type="ID_CARD", doc_number=token(),
                                                  return_url="http://idp.test/", expires_at=at),
    "sms_code": lambda at: SmsCode(phone="13812345678", purpose="login", code_hmac=token(),
                                   local_day=date.today(), expires_at=at),
}


@pytest.mark.parametrize("table", sorted(EXPIRING))
def test_an_expired_row_goes_and_a_live_one_stays(app, table):
    now = utcnow()
    expired, live = EXPIRING[table](now - LONG_AGO), EXPIRING[table](now + SOON)
    add(app, expired, live)
    model = type(live)
    assert purge(app)[table] == 1
    assert count(app, model) == 1
    (key,) = model.__table__.primary_key.columns
    with app.app_context():
        assert db.session.execute(select(key)).scalar_one() == getattr(live, key.key)


def test_a_row_just_past_its_expiry_is_kept_for_clock_skew(app):
    add(app, RevokedToken(jti="just", expires_at=utcnow() - timedelta(minutes=5)))
    assert purge(app)["revoked_token"] == 0


def test_sms_codes_of_the_current_day_stay_for_the_daily_cap(app):
    add(app, SmsCode(phone="13812345678", purpose="login", code_hmac=token(), local_day=date.today(),
                     expires_at=utcnow() - timedelta(hours=3)))
    assert purge(app)["sms_code"] == 0


def test_a_qr_guess_counter_goes_once_its_window_closed(app):
    window = current_settings(app).QR_GUESS_WINDOW
    add(app, QrLookupFailure(key_hash="old", window_start=utcnow() - timedelta(seconds=window, hours=2), failures=3),
        QrLookupFailure(key_hash="open", window_start=utcnow() - timedelta(seconds=window - 60), failures=9))
    assert purge(app)["qr_lookup_failure"] == 1
    assert exists(app, QrLookupFailure, "open") and not exists(app, QrLookupFailure, "old")


def test_given_up_back_channel_logouts_go_after_a_month_and_queued_ones_stay(app):
    def message(status: str, age: timedelta) -> BackchannelLogout:
        return BackchannelLogout(jti=token(), client_id="c", uri="https://rp.test/bcl", sid=token(), sub="s",
                                 status=status, created_at=utcnow() - age)

    old_failure, recent_failure = message("failed", timedelta(days=31)), message("failed", timedelta(days=29))
    old_pending = message("pending", timedelta(days=31))
    add(app, old_failure, recent_failure, old_pending)
    assert purge(app)["backchannel_logout"] == 1
    with app.app_context():
        left = set(db.session.execute(select(BackchannelLogout.jti, BackchannelLogout.status)).all())
    assert left == {(recent_failure.jti, "failed"), (old_pending.jti, "pending")}


# --- grants, codes and refresh tokens ---------------------------------------------------------

def login_session(person, *, ended_ago: timedelta | None = None, expires_in: timedelta = SOON) -> LoginSession:
    now = utcnow()
    return LoginSession(id=token(), person_id=person["id"], auth_time=int(time.time()), amr=["pwd"], acr="loa2",
                        expires_at=now + expires_in, ended_at=now - ended_ago if ended_ago is not None else None)


def grant(person, session: LoginSession, *, expires_in: timedelta, revoked: bool = False) -> Grant:
    now = utcnow()
    return Grant(id=token(), person_id=person["id"], client_id="c", login_session_id=session.id, scope="openid",
                 auth_time=session.auth_time, acr="loa2", amr=["pwd"], expires_at=now + expires_in,
                 revoked_at=now if revoked else None)


def refresh_token(owner: Grant, *, expires_in: timedelta, used: bool = False) -> RefreshToken:
    return RefreshToken(token_hash=token(), grant_id=owner.id, client_id="c", scope="openid",
                        expires_at=utcnow() + expires_in, used_at=utcnow() - LONG_AGO if used else None)


def code(owner: Grant, *, expires_in: timedelta, used: bool = False) -> AuthorizationCode:
    return AuthorizationCode(code_hash=token(), grant_id=owner.id, client_id="c", redirect_uri="https://rp.test/cb",
                             scope="openid", code_challenge="x" * 43, code_challenge_method="S256",
                             expires_at=utcnow() + expires_in, used_at=utcnow() - LONG_AGO if used else None)


def test_refresh_tokens_go_once_expired_unless_a_live_family_still_needs_them_for_reuse_detection(app, person):
    ended = login_session(person, ended_ago=timedelta(days=1))
    live_family = grant(person, ended, expires_in=timedelta(hours=8))
    dead_family = grant(person, ended, expires_in=timedelta(hours=8), revoked=True)
    unused_expired = refresh_token(live_family, expires_in=-LONG_AGO)
    rotated_in_live_family = refresh_token(live_family, expires_in=-LONG_AGO, used=True)
    rotated_in_dead_family = refresh_token(dead_family, expires_in=-LONG_AGO, used=True)
    live = refresh_token(live_family, expires_in=timedelta(hours=1))
    add(app, ended, live_family, dead_family, unused_expired, rotated_in_live_family, rotated_in_dead_family, live)
    assert purge(app)["refresh_token"] == 2
    assert exists(app, RefreshToken, live.token_hash)
    assert exists(app, RefreshToken, rotated_in_live_family.token_hash)
    assert not exists(app, RefreshToken, unused_expired.token_hash)
    assert not exists(app, RefreshToken, rotated_in_dead_family.token_hash)


def test_authorization_codes_go_once_expired_unless_a_live_grant_still_needs_them_for_reuse_detection(app, person):
    ended = login_session(person, ended_ago=timedelta(days=1))
    live_grant = grant(person, ended, expires_in=timedelta(hours=8))
    expired_grant = grant(person, ended, expires_in=-LONG_AGO)
    unused_expired = code(live_grant, expires_in=-LONG_AGO)
    used_of_live_grant = code(live_grant, expires_in=-LONG_AGO, used=True)
    used_of_expired_grant = code(expired_grant, expires_in=-LONG_AGO, used=True)
    live = code(live_grant, expires_in=timedelta(seconds=60))
    add(app, ended, live_grant, expired_grant, unused_expired, used_of_live_grant, used_of_expired_grant, live)
    assert purge(app)["authorization_code"] == 2
    assert exists(app, AuthorizationCode, live.code_hash)
    assert exists(app, AuthorizationCode, used_of_live_grant.code_hash)
    assert not exists(app, AuthorizationCode, unused_expired.code_hash)


def test_an_expired_grant_goes_with_its_last_token_and_its_session_ended(app, person):
    ended = login_session(person, ended_ago=timedelta(days=1))
    spent = grant(person, ended, expires_in=-LONG_AGO)
    add(app, ended, spent, refresh_token(spent, expires_in=-LONG_AGO, used=True), code(spent, expires_in=-LONG_AGO))
    counts = purge(app)
    assert (counts["refresh_token"], counts["authorization_code"], counts["grant"]) == (1, 1, 1)
    assert not exists(app, Grant, spent.id)


def test_a_grant_with_a_live_refresh_token_stays(app, person):
    session = login_session(person)
    alive = grant(person, session, expires_in=timedelta(hours=8))
    add(app, session, alive, refresh_token(alive, expires_in=timedelta(hours=1)))
    assert purge(app)["grant"] == 0
    assert exists(app, Grant, alive.id) and count(app, RefreshToken) == 1


def test_an_expired_grant_stays_while_a_refresh_token_row_still_references_it(app, person):
    """The foreign key cascades: the grant must not take a row the refresh-token rule keeps."""
    ended = login_session(person, ended_ago=timedelta(days=1))
    expired = grant(person, ended, expires_in=-LONG_AGO)
    # Expired only minutes ago: kept for clock skew, so its grant is kept too.
    add(app, ended, expired, refresh_token(expired, expires_in=-timedelta(minutes=5)))
    assert purge(app)["grant"] == 0
    assert exists(app, Grant, expired.id) and count(app, RefreshToken) == 1


def test_an_expired_grant_stays_until_its_session_is_ended(app, person):
    """Ending the session finds the relying parties to send back-channel logouts to by its grants."""
    unswept = login_session(person, expires_in=-LONG_AGO)
    expired = grant(person, unswept, expires_in=-LONG_AGO)
    add(app, unswept, expired)
    counts = purge(app)
    assert (counts["grant"], counts["login_session"]) == (0, 0)
    assert exists(app, Grant, expired.id) and exists(app, LoginSession, unswept.id)


def test_login_sessions_go_a_month_after_they_ended(app, person):
    long_ended = login_session(person, ended_ago=timedelta(days=31))
    recently_ended = login_session(person, ended_ago=timedelta(days=2))
    live = login_session(person)
    add(app, long_ended, recently_ended, live)
    assert purge(app)["login_session"] == 1
    assert not exists(app, LoginSession, long_ended.id)
    assert exists(app, LoginSession, recently_ended.id) and exists(app, LoginSession, live.id)


# --- the audit log --------------------------------------------------------------------------

def audit_event(age: timedelta) -> AuditEvent:
    return AuditEvent(at=utcnow() - age, event="login.password", outcome="success", detail={})


def test_audit_events_older_than_the_retention_go_and_younger_ones_stay(app):
    days = current_settings(app).AUDIT_RETENTION_DAYS
    add(app, audit_event(timedelta(days=days + 1)), audit_event(timedelta(days=days - 1)))
    assert purge(app)["audit_event"] == 1
    assert count(app, AuditEvent, AuditEvent.event == "login.password") == 1


def test_audit_retention_zero_keeps_every_event(app, monkeypatch):
    monkeypatch.setitem(app.config, "IDP", dataclasses.replace(current_settings(app), AUDIT_RETENTION_DAYS=0))
    add(app, audit_event(timedelta(days=3650)))
    assert "audit_event" not in purge(app)
    assert count(app, AuditEvent, AuditEvent.event == "login.password") == 1


def test_audit_retention_below_six_months_is_refused():
    with pytest.raises(SystemExit, match="AUDIT_RETENTION_DAYS"):
        load_settings({"AUDIT_RETENTION_DAYS": 180, "SECRET_KEY": "x"})


def test_the_purge_is_audited_once_with_counts_and_no_identifiers(app):
    add(app, RevokedToken(jti="gone", expires_at=utcnow() - LONG_AGO))
    purge(app)
    with app.app_context():
        (event,) = db.session.execute(select(AuditEvent).where(AuditEvent.event == "retention.purged")).scalars()
        assert (event.subject, event.client_id, event.ip) == (None, None, None)
        assert event.detail["deleted"]["revoked_token"] == 1
        assert all(isinstance(n, int) for n in event.detail["deleted"].values())


# --- batches --------------------------------------------------------------------------------

def test_a_backlog_larger_than_one_batch_is_purged_entirely(app, person):
    long_ago = utcnow() - LONG_AGO
    ended = login_session(person, ended_ago=timedelta(days=1))
    grants = [grant(person, ended, expires_in=-LONG_AGO) for _ in range(12)]
    add(app, ended, *grants, *(refresh_token(g, expires_in=-LONG_AGO, used=True) for g in grants),
        *(RevokedToken(jti=token(), expires_at=long_ago) for _ in range(25)))
    counts = purge(app, batch_size=10)
    assert (counts["revoked_token"], counts["refresh_token"], counts["grant"]) == (25, 12, 12)
    assert count(app, RevokedToken) == count(app, RefreshToken) == count(app, Grant) == 0


# --- the command and the background purge ---------------------------------------------------

def test_purge_dry_run_changes_nothing_and_prints_counts(app, cli):
    add(app, *(RevokedToken(jti=token(), expires_at=utcnow() - LONG_AGO) for _ in range(3)))
    output = cli("purge", "--dry-run")
    assert "revoked_token" in output and "would delete 3 row(s)" in output
    assert count(app, RevokedToken) == 3
    assert count(app, AuditEvent, AuditEvent.event == "retention.purged") == 0
    output = cli("purge")
    assert "deleted 3 row(s)" in output
    assert count(app, RevokedToken) == 0
    assert count(app, AuditEvent, AuditEvent.event == "retention.purged") == 1


def test_the_background_purge_runs_at_most_once_per_interval(app):
    add(app, RevokedToken(jti="first", expires_at=utcnow() - LONG_AGO))
    hook = BackgroundRetentionPurge(app, interval=3600)

    def run_and_wait() -> None:
        hook()
        deadline = time.monotonic() + 10
        while hook.gate.busy and time.monotonic() < deadline:
            time.sleep(0.02)

    run_and_wait()
    assert not exists(app, RevokedToken, "first")
    add(app, RevokedToken(jti="second", expires_at=utcnow() - LONG_AGO))
    run_and_wait()
    assert exists(app, RevokedToken, "second")


# --- what the protocol still needs keeps working ----------------------------------------------

def refresh(client, rp, refresh_token: str):
    return client.post("/token", headers=rp.basic_auth,
                       data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def introspect(client, caller, value: str) -> dict:
    return client.post("/introspect", headers=caller.basic_auth, data={"token": value}).get_json()


def age_every_expiry(app, by: timedelta) -> None:
    """Move the protocol rows this login left into the past, as if ``by`` had gone by for them."""
    with app.app_context():
        for model in (AuthorizationCode, RefreshToken, BrowserSession, SmsCode):
            for row in db.session.execute(select(model)).scalars():
                row.expires_at -= by
        db.session.commit()


def test_live_tokens_still_work_after_a_purge(app, client, person, rp):
    resource_server = register_client(app, name="征管接口", grant_types=["client_credentials"])
    old = tokens_for(app, client, rp)
    # An old login's rows expire; a fresh login's must survive.  The old unused refresh token
    # goes; the old redeemed code stays while its grant lives (a replay would revoke it).
    age_every_expiry(app, timedelta(days=3))
    fresh = tokens_for(app, client, rp)
    counts = purge(app)
    assert (counts["authorization_code"], counts["refresh_token"]) == (0, 1)
    assert introspect(client, resource_server, fresh["access_token"])["active"] is True
    assert introspect(client, resource_server, fresh["refresh_token"])["active"] is True
    refreshed = refresh(client, rp, fresh["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    assert introspect(client, resource_server, old["refresh_token"])["active"] is False


def test_a_rotated_refresh_token_still_revokes_its_family_after_a_purge(app, client, person, rp):
    first = tokens_for(app, client, rp)
    second = refresh(client, rp, first["refresh_token"]).get_json()
    with app.app_context():
        for row in db.session.execute(select(RefreshToken).where(RefreshToken.used_at.is_not(None))).scalars():
            row.expires_at -= timedelta(days=3)
        db.session.commit()
    assert purge(app)["refresh_token"] == 0
    assert refresh(client, rp, first["refresh_token"]).status_code == 400
    assert refresh(client, rp, second["refresh_token"]).status_code == 400


def test_a_revoked_access_token_stays_denied_until_it_expires(app, client, person, rp):
    resource_server = register_client(app, name="征管接口", grant_types=["client_credentials"])
    tokens = tokens_for(app, client, rp)
    client.post("/revoke", headers=rp.basic_auth, data={"token": tokens["access_token"]})
    assert count(app, RevokedToken) == 1
    assert purge(app)["revoked_token"] == 0
    assert count(app, RevokedToken) == 1
    assert introspect(client, resource_server, tokens["access_token"])["active"] is False
