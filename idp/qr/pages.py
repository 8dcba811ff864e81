"""The QR tab of the provider's own login page (docs/architecture.md §5 and §6).

``GET /login/qr`` shows a fresh code as an inline SVG; the page long-polls
``/login/qr/status`` (each call waits up to ``QR_WAIT_SECONDS`` for a change, checking the
database every ``STATUS_STEP`` seconds, so an approval shows within a fraction of a second on any
worker; when ``QR_WAITING_POLLS_PER_WORKER`` calls already wait in this worker, a call answers at
once and the page asks again ``SHORT_POLL_SECONDS`` later, which still shows an approval within
about a second) and, once approved, posts ``/login/qr/complete``, which creates the login session and
resumes the pending authorization request like any other login.  The request id stays in the
browser's server-side session: only this browser can wait for or complete its code.
"""

from __future__ import annotations

import threading
import time

import segno
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from markupsafe import Markup
from sqlalchemy import select

from idp.core.database import db
from idp.core.i18n import remember_locale, translate
from idp.core.settings import current_settings
from idp.models import QrLoginRequest
from idp.protocol.client_registry import client_registry
from idp.protocol.interactions import interaction_params, resume_url
from idp.qr.codes import LOGIN_PAGE, IssuedQr, complete_login_page, create_qr_request, public_status, seconds_left

bp = Blueprint("qr_login", __name__)

SESSION_KEY = "qr_requests"
#: The code the QR page shows now (request id, payload, user code), to draw it again.
SHOWN_KEY = "qr_shown"
#: A code with less time left than this is replaced rather than drawn again (seconds).
MIN_SECONDS_TO_REUSE = 15
#: Codes one browser may wait for at once (one per open tab); older ones are forgotten.  With
#: fewer than the tabs a person keeps open, each tab's reload forgot another's code, which then
#: reloaded in turn, without end.
MAX_PER_BROWSER = 20
#: Seconds between database checks while a long poll waits (one indexed primary-key read each).
STATUS_STEP = 0.1
#: Seconds the page waits before asking again when its status check could not wait.
SHORT_POLL_SECONDS = 1


@bp.record_once
def _limit_waiting_polls(state) -> None:
    # Per worker process: each has its own serving threads.
    limit = current_settings(state.app).QR_WAITING_POLLS_PER_WORKER
    state.app.extensions["idp.qr_waiting_polls"] = threading.BoundedSemaphore(limit)


def _remember(request_id: str) -> None:
    session[SESSION_KEY] = [*session.get(SESSION_KEY, [])[-(MAX_PER_BROWSER - 1):], request_id]


def _owned(request_id: str | None) -> bool:
    return bool(request_id) and request_id in session.get(SESSION_KEY, [])


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _shown_code(interaction: str | None) -> IssuedQr | None:
    """The code this browser's QR page showed for ``interaction``, while it can still be scanned: the
    page drawn again (another language, a reload) shows the same code rather than a new one."""
    shown = session.get(SHOWN_KEY)
    if not shown or shown["interaction"] != interaction or not _owned(shown["request"]):
        return None
    row = db.session.get(QrLoginRequest, shown["request"])
    if row is None or public_status(row) != "pending" or seconds_left(row) < MIN_SECONDS_TO_REUSE:
        return None
    return IssuedQr(row, shown["user_code"], shown["payload"], None)


@bp.route("/login/qr", methods=["GET"])
def qr_page():
    remember_locale(request.args.get("ui_locales"))
    interaction = request.args.get("interaction") or None
    if request.args.get("fresh"):
        # "刷新二维码": forget the code shown, and land on the page's plain address, so that a
        # language switch from there keeps the new code.
        session.pop(SHOWN_KEY, None)
        return redirect(url_for("qr_login.qr_page", interaction=interaction))
    issued = _shown_code(interaction)
    if issued is None:
        params = interaction_params(interaction)
        client = client_registry().query_client(params["client_id"]) if params else None
        issued = create_qr_request(kind=LOGIN_PAGE, client_id=client.client_id if client else None,
                                   scope=client.get_allowed_scope(params.get("scope")) if client and params else "")
        _remember(issued.row.id)
        # The payload is a secret of this browser's page like the request id: kept server-side only.
        session[SHOWN_KEY] = {"request": issued.row.id, "interaction": interaction, "payload": issued.payload,
                              "user_code": issued.user_code}
    # segno writes only its own markup: the payload is a URL of our issuer with a random token.
    # Its <title> alone names the image for some screen readers only; role and label name it for all.
    title = translate("qr_svg_title")
    svg = Markup(segno.make(issued.payload, error="m").svg_inline(scale=5, title=title).replace(
        "<svg ", Markup('<svg role="img" aria-label="{}" ').format(title), 1))
    return _no_store(current_app.make_response(render_template(
        "qr_login.html", svg=svg, user_code=issued.user_code, request_id=issued.row.id, app_link=issued.payload,
        expires_in=seconds_left(issued.row), interaction=interaction or "",
        error="qr_login_failed" if request.args.get("failed") else None)))


@bp.route("/login/qr/status", methods=["GET"])
def qr_status():
    """Long poll: answers as soon as the status differs from ``since``, or after QR_WAIT_SECONDS."""
    request_id = request.args.get("request")
    if not _owned(request_id):
        return _no_store(jsonify(status="unknown")), 404
    since = request.args.get("since", "")
    waiting_polls = current_app.extensions["idp.qr_waiting_polls"]
    may_wait = waiting_polls.acquire(blocking=False)
    try:
        deadline = time.monotonic() + (current_settings().QR_WAIT_SECONDS if may_wait else 0)
        while True:
            row = db.session.execute(select(QrLoginRequest).where(QrLoginRequest.id == request_id)
                                     .execution_options(populate_existing=True)).scalar()
            status = public_status(row) if row else "expired"
            left = seconds_left(row) if row else 0
            # A waiting browser must not hold a pooled connection: hand it back between checks.
            db.session.close()
            if status != since or time.monotonic() >= deadline:
                return _no_store(jsonify(status=status, expires_in=left,
                                         ask_again_in=0 if may_wait else SHORT_POLL_SECONDS))
            time.sleep(STATUS_STEP)
    finally:
        if may_wait:
            waiting_polls.release()


@bp.route("/login/qr/complete", methods=["POST"])
def qr_complete():
    request_id = request.form.get("request")
    interaction = request.form.get("interaction") or None
    row = db.session.get(QrLoginRequest, request_id) if _owned(request_id) else None
    login = complete_login_page(row) if row is not None else None
    if login is None:
        return redirect(url_for("qr_login.qr_page", interaction=interaction, failed=1))
    return redirect(resume_url(interaction) or url_for("account.home"))


@bp.route("/qr", methods=["GET"])
@bp.route("/qr/<token>", methods=["GET"])
def qr_landing(token: str | None = None):
    """RFC 8628 ``verification_uri`` (and what a plain camera app opens): how to scan.  It
    never looks the token up, so it tells an onlooker nothing."""
    return render_template("message.html", title_key="qr_landing_title", message_key="qr_landing_text", params={})
