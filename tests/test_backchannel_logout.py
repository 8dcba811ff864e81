"""OpenID Connect Back-Channel Logout 1.0: every relying party of an ended session gets a
signed logout token, through a persistent, bounded queue with retries that never holds up
the person's own logout."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update

from idp.app import create_app
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import AuditEvent, BackchannelLogout, LoginSession
from idp.protocol.backchannel_logout import LOGOUT_EVENT, claim_due_logouts, deliver_due_logouts
from idp.protocol.client_registry import client_registry
from idp.protocol.clients import ClientRegistrationError, create_client

from account_steps import NEW_PASSWORD, log_in, post_form, post_with_token
from conftest import (
    authorization_request,
    make_settings,
    obtain_code,
    query_of,
    redeem,
    register_client,
    tokens_for,
)
from loopback_servers import serve_json, start_logout_receiver
from metric_samples import MetricGrowth

ISSUER = "http://idp.test"


@pytest.fixture
def receiver():
    started = start_logout_receiver()
    yield started
    started.live.stop()


@pytest.fixture
def other_app(app, database_url, instance_dir):
    """Another worker process on the same database and keys (a restart, or a second node)."""
    apps = []

    def build(**overrides):
        built = create_app(make_settings(database_url, instance_dir, **overrides))
        apps.append(built)
        return built

    yield build
    for built in apps:
        if worker := built.extensions.get("idp.logout_worker"):
            worker.stop()


def logout_rp(app, receiver, name: str, **kwargs):
    return register_client(app, name=name, backchannel_logout_uri=receiver.uri_for(name), **kwargs)


def rp_logout(client, id_token: str):
    response = client.get("/logout", query_string={"id_token_hint": id_token})
    assert response.status_code == 200, response.status_code
    return response


def deliver(app) -> dict:
    with app.app_context():
        report = deliver_due_logouts()
        return {"delivered": report.delivered, "retrying": report.retrying, "failed": report.failed,
                "claimed": len(report.claimed)}


def queue_rows(app) -> list[BackchannelLogout]:
    with app.app_context():
        rows = db.session.execute(select(BackchannelLogout).order_by(BackchannelLogout.id)).scalars().all()
        db.session.expunge_all()
        return rows


def make_due_now(app) -> None:
    with app.app_context():
        db.session.execute(update(BackchannelLogout).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def events(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id))
        return list(rows.scalars())


def verified_logout_token(client, token: str) -> jwt.Token:
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json()))


def id_token_claims(client, id_token: str) -> dict:
    return verified_logout_token(client, id_token).claims


def test_logout_tells_every_client_that_took_part_in_the_session_with_a_signed_logout_token(
        app, client, person, receiver):
    """Sections 2.4 to 2.6: one token per client of the session, signed, typed, with sid and sub."""
    payroll, invoices = logout_rp(app, receiver, "payroll"), logout_rp(app, receiver, "invoices")
    logout_rp(app, receiver, "bystander")  # registered, but never used in this session
    payroll_tokens = tokens_for(app, client, payroll)
    code, request = obtain_code(app, client, invoices)  # single sign-on: no second login
    invoices_tokens = redeem(client, invoices, code, request.verifier).get_json()
    rp_logout(client, payroll_tokens["id_token"])
    assert deliver(app)["delivered"] == 2
    assert receiver.tokens_for("bystander") == []
    for rp, tokens, name in ((payroll, payroll_tokens, "payroll"), (invoices, invoices_tokens, "invoices")):
        [logout_token] = receiver.tokens_for(name)
        verified = verified_logout_token(client, logout_token)
        claims, id_claims = verified.claims, id_token_claims(client, tokens["id_token"])
        assert verified.header["typ"] == "logout+jwt" and verified.header["kid"]
        assert claims["iss"] == ISSUER and claims["aud"] == rp.client_id
        assert claims["sid"] == id_claims["sid"] and claims["sub"] == id_claims["sub"]
        assert claims["events"] == {LOGOUT_EVENT: {}}
        assert claims["iat"] <= time.time() < claims["exp"] and claims["jti"]
        assert "nonce" not in claims
    assert len(events(app, "logout.backchannel.delivered")) == 2
    assert queue_rows(app) == []


def test_relying_parties_are_told_at_once_so_a_slow_one_holds_up_no_other(app, client, person, receiver):
    """Each receiver here answers only once the other relying party's message has arrived too:
    sent one after another, the first would wait for its timeout and fail."""
    receiver.rendezvous = threading.Barrier(2)
    payroll, invoices = logout_rp(app, receiver, "payroll"), logout_rp(app, receiver, "invoices")
    payroll_tokens = tokens_for(app, client, payroll)
    obtain_code(app, client, invoices)
    rp_logout(client, payroll_tokens["id_token"])
    assert deliver(app) == {"delivered": 2, "retrying": 0, "failed": 0, "claimed": 2}


def test_the_logout_response_does_not_wait_for_a_slow_relying_party(app, person, receiver, other_app):
    """Section 2.7 and the brief: delivery runs in the worker's background thread."""
    served = other_app(BACKCHANNEL_LOGOUT_WORKER=True)
    browser = served.test_client()
    rp = logout_rp(app, receiver, "slow")
    receiver.delay = 4
    tokens = tokens_for(served, browser, rp)
    started = time.monotonic()
    rp_logout(browser, tokens["id_token"])
    assert time.monotonic() - started < 2
    [delivery] = receiver.wait_for(1)
    assert delivery.path == "/backchannel/slow"
    deadline = time.monotonic() + 10
    while queue_rows(app) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert queue_rows(app) == []


def test_queued_logouts_survive_a_restart_and_a_new_worker_sends_them(app, client, person, receiver, other_app):
    """The queue is a table: nothing is lost when the process that queued it goes away."""
    rp = logout_rp(app, receiver, "durable")
    rp_logout(client, tokens_for(app, client, rp)["id_token"])
    [row] = queue_rows(app)
    assert (row.status, row.attempts) == ("pending", 0)
    restarted = other_app()
    assert deliver(restarted)["delivered"] == 1
    assert len(receiver.tokens_for("durable")) == 1


def test_a_message_claimed_by_a_worker_that_died_is_sent_once_its_lease_runs_out(
        app, client, person, receiver, other_app):
    rp = logout_rp(app, receiver, "orphan")
    rp_logout(client, tokens_for(app, client, rp)["id_token"])
    with app.app_context():
        _, claimed = claim_due_logouts(10)  # this "worker" crashes before sending
    assert len(claimed) == 1
    survivor = other_app()
    assert deliver(survivor)["claimed"] == 0  # the lease still holds: never two senders
    with app.app_context():
        db.session.execute(update(BackchannelLogout).values(claimed_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert deliver(survivor)["delivered"] == 1
    assert len(receiver.tokens_for("orphan")) == 1


def test_a_failed_delivery_is_audited_and_retried_later(app, client, person, receiver):
    """Retries with a growing delay; every failure is in the audit log."""
    rp = logout_rp(app, receiver, "flaky")
    rp_logout(client, tokens_for(app, client, rp)["id_token"])
    receiver.status = 503
    growth = MetricGrowth()
    assert deliver(app)["retrying"] == 1
    [row] = queue_rows(app)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 503")
    assert timedelta(0) < row.next_attempt_at - utcnow() <= timedelta(seconds=10)
    [failure] = events(app, "logout.backchannel.failed")
    assert failure.outcome == "failure" and failure.client_id == rp.client_id and failure.detail["final"] is False
    assert deliver(app)["claimed"] == 0  # not due yet
    make_due_now(app)
    assert deliver(app)["retrying"] == 1
    [row] = queue_rows(app)
    assert timedelta(seconds=10) < row.next_attempt_at - utcnow() <= timedelta(seconds=20)  # doubled
    receiver.status = 200
    make_due_now(app)
    assert deliver(app)["delivered"] == 1
    assert queue_rows(app) == []
    assert (growth("idp_backchannel_logouts_total", outcome="retrying"),
            growth("idp_backchannel_logouts_total", outcome="delivered")) == (2, 1)
    assert len(receiver.tokens_for("flaky")) == 3
    assert len({json.dumps(verified_logout_token(client, t).claims["jti"]) for t in receiver.tokens_for("flaky")}) == 1


def test_a_relying_party_that_never_answers_is_given_up_after_the_last_attempt(app, client, person, receiver):
    rp = logout_rp(app, receiver, "gone")
    tokens = tokens_for(app, client, rp)
    receiver.live.stop()  # connection refused from now on
    rp_logout(client, tokens["id_token"])
    for _ in range(current_settings(app).BACKCHANNEL_LOGOUT_MAX_ATTEMPTS):
        make_due_now(app)
        deliver(app)
    [row] = queue_rows(app)
    assert row.status == "failed" and row.attempts == current_settings(app).BACKCHANNEL_LOGOUT_MAX_ATTEMPTS
    final = events(app, "logout.backchannel.failed")[-1]
    assert final.detail["final"] is True and final.detail["error"] == "ConnectionError"
    make_due_now(app)
    assert deliver(app)["claimed"] == 0


def test_two_workers_never_send_the_same_message(app, client, person, receiver, other_app):
    """Rows are claimed atomically (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
    names = [f"app{i}" for i in range(10)]
    rps = [logout_rp(app, receiver, name) for name in names]
    first = tokens_for(app, client, rps[0])
    for rp in rps[1:]:
        obtain_code(app, client, rp)
    rp_logout(client, first["id_token"])
    receiver.delay = 0.05
    workers = [app, other_app()]

    def work(worker_app) -> None:
        with worker_app.app_context():
            while deliver_due_logouts(2).claimed:
                pass

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(d.path for d in receiver.deliveries) == sorted(f"/backchannel/{n}" for n in names)
    assert queue_rows(app) == []


def test_the_queue_is_bounded_and_a_dropped_message_is_audited(app, person, receiver, other_app):
    small = other_app(BACKCHANNEL_LOGOUT_QUEUE_LIMIT=1)
    browser = small.test_client()
    first, second = logout_rp(app, receiver, "first"), logout_rp(app, receiver, "second")
    tokens = tokens_for(small, browser, first)
    obtain_code(small, browser, second)
    growth = MetricGrowth()
    rp_logout(browser, tokens["id_token"])  # the person is logged out all the same
    assert len(queue_rows(app)) == 1
    assert growth("idp_backchannel_logouts_total", outcome="dropped") == 1
    [dropped] = events(app, "logout.backchannel.dropped")
    assert dropped.outcome == "failure" and dropped.detail["reason"] == "queue_full"


def sessions_of_two_browsers(app, person, receiver):
    """A laptop logged in to a relying party, and this browser in the account centre."""
    rp = logout_rp(app, receiver, "laptop")
    laptop = app.test_client()
    tokens = tokens_for(app, laptop, rp)
    return rp, tokens


def test_ending_a_session_from_the_account_centre_tells_its_relying_parties(app, client, person, receiver):
    """Every caller of end_login_session: here the person ends another browser's session."""
    _, tokens = sessions_of_two_browsers(app, person, receiver)
    log_in(app, client)
    with app.app_context():
        laptop_sid = db.session.execute(select(LoginSession.id).order_by(LoginSession.created_at)).scalars().first()
    from idp.people.account_sessions import session_ref

    post_with_token(client, "/account/sessions/end", {"session": session_ref(laptop_sid)})
    deliver(app)
    [token] = receiver.tokens_for("laptop")
    assert verified_logout_token(client, token).claims["sid"] == laptop_sid


def test_a_password_change_tells_the_relying_parties_of_the_other_sessions(app, client, person, receiver):
    _, tokens = sessions_of_two_browsers(app, person, receiver)
    log_in(app, client)
    post_form(client, "/account/password", {"current_password": person["password"], "new_password": NEW_PASSWORD,
                                             "confirm_password": NEW_PASSWORD})
    deliver(app)
    [token] = receiver.tokens_for("laptop")
    assert verified_logout_token(client, token).claims["sid"] == id_token_claims(client, tokens["id_token"])["sid"]


def expire_every_session(app) -> None:
    with app.app_context():
        db.session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def test_an_expired_session_is_ended_by_the_opportunistic_sweep(app, person, receiver, other_app):
    """Session expiry ends the session (its grants too) and tells its relying parties."""
    rp, tokens = sessions_of_two_browsers(app, person, receiver)
    expire_every_session(app)
    swept = other_app(SESSION_SWEEP_SECONDS=3600).test_client()
    swept.get("/.well-known/openid-configuration")  # any request of a fresh worker sweeps
    deliver(app)
    assert len(receiver.tokens_for("laptop")) == 1
    refreshed = swept.post("/token", headers=rp.basic_auth,
                           data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_operators_expire_sessions_and_run_the_queue_from_the_command_line(app, person, receiver, cli):
    sessions_of_two_browsers(app, person, receiver)
    expire_every_session(app)
    assert "ended 1 expired session(s)" in cli("sessions", "expire")
    assert json.loads(cli("logout-queue", "status")) == {"pending": 1}
    assert json.loads(cli("logout-queue", "run")) == {"delivered": 1, "retrying": 0, "failed": 0}
    assert len(receiver.tokens_for("laptop")) == 1


def test_an_administrator_ends_a_persons_sessions_from_the_command_line(app, person, receiver, cli):
    """The admin action: every session of the person ends, and its relying parties are told."""
    sessions_of_two_browsers(app, person, receiver)
    assert "ended 1 session(s)" in cli("sessions", "end", "--sub", person["sub"])
    cli("logout-queue", "run")
    assert len(receiver.tokens_for("laptop")) == 1
    assert events(app, "sessions.ended_by_administrator")[0].subject == person["sub"]


def test_clients_add_registers_the_relying_party_options(app, cli):
    """``idp clients add``: back-channel logout, PAR, DPoP, the pairwise sector and default acr;
    ``idp clients list`` shows them."""
    document = serve_json("/sector.json", ["https://rp.test/cb", "https://m.rp.test/cb"])
    try:
        output = json.loads(cli(
            "clients", "add", "--name", "后台登出应用", "--redirect-uri", "https://rp.test/cb",
            "--redirect-uri", "https://m.rp.test/cb", "--backchannel-logout-uri", "https://rp.test/backchannel",
            "--backchannel-logout-session-required", "--require-pushed-authorization-requests",
            "--dpop-bound-access-tokens", "--sector-identifier-uri", f"{document.url}/sector.json",
            "--default-acr-values", "urn:qdtax:loa:3", "--json"))
    finally:
        document.stop()
    with app.app_context():
        registered = client_registry(app).query_client(output["client_id"])
    assert registered.backchannel_logout_uri == "https://rp.test/backchannel"
    assert registered.backchannel_logout_session_required is True
    assert registered.require_pushed_authorization_requests is True
    assert registered.dpop_bound_access_tokens is True
    assert (registered.subject_type, registered.sector_identifier) == ("pairwise", "127.0.0.1")
    listed = {row["client_id"]: row for row in json.loads(cli("clients", "list", "--json"))}[output["client_id"]]
    expected = {"default_acr_values": ["urn:qdtax:loa:3"], "subject_type": "pairwise",
                "backchannel_logout_uri": "https://rp.test/backchannel",
                "require_pushed_authorization_requests": True, "dpop_bound_access_tokens": True}
    assert {key: listed.get(key) for key in expected} == expected


@pytest.mark.parametrize("uri", ["http://rp.test/backchannel", "https://rp.test/backchannel#frag", "rp.test/bc"])
def test_a_back_channel_logout_uri_must_be_https_without_a_fragment(app, uri):
    """Section 2.2 (plain http only on loopback, for development relying parties)."""
    with app.app_context(), pytest.raises(ClientRegistrationError, match="backchannel_logout_uri"):
        create_client(name="x", redirect_uris=["https://rp.test/cb"], backchannel_logout_uri=uri)


def test_discovery_advertises_back_channel_logout_with_sid(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True


def test_a_logged_out_persons_relying_party_gets_no_code_silently_afterwards(app, client, person, receiver):
    """The session the logout token names is really over: prompt=none now needs a login."""
    rp = logout_rp(app, receiver, "after")
    rp_logout(client, tokens_for(app, client, rp)["id_token"])
    response = client.get("/authorize", query_string=authorization_request(rp, prompt="none").params)
    assert query_of(response.headers["Location"])["error"] == "login_required"
