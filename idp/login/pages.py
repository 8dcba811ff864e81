"""The login pages: identify + password, then the second factor: an SMS code, or a choice first
when the person enrolled a security key or app code (docs/architecture.md §5.3)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, make_response, redirect, render_template, request, url_for

from idp.consent.choices import NATURAL_PERSON
from idp.consent.policy import requested_entries
from idp.core.i18n import LOCALE_COOKIE, remember_locale
from idp.core.settings import current_settings
from idp.factors.base import FactorError, ResendTooSoon
from idp.factors.sms_code import seconds_until_resend
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.login.legacy_pages import legacy_login_offer
from idp.login.password_steps import (
    LoginExpired,
    finish_second_factor,
    login_again_url,
    mark_code_sent,
    pending_login,
    second_factor_offer,
    send_code_or_offer_choice,
    send_second_factor_code,
    start_password_login,
    timed_out_interaction,
)
from idp.messages import MESSAGES
from idp.people.identity_documents import mask_phone
from idp.people.password_change import PasswordChangeRequired
from idp.protocol.interactions import TIMED_OUT_PARAM, find_interaction, resume_url

bp = Blueprint("login", __name__)


def failures_note(error: str | None, params: dict) -> str | None:
    """The "today N failures in a row, 5 lock" line under a wrong password or SMS code."""
    if not error or not params.get("failures") or not error.startswith("error_wrong_credential_"):
        return None
    key = "error_failures_so_far_" + error.removeprefix("error_wrong_credential_")
    return key if key in MESSAGES else None


def _render_login(interaction: str | None, error: FactorError | str | None = None, identifier: str = "",
                  business: str | None = None):
    """The login page; ``error`` is a factor refusal or a message key.  An ``interaction`` this
    browser does not hold (expired, finished, never issued) is said so, and the login goes on
    without it, to the account centre."""
    status = 200 if error is None else 400
    pending = find_interaction(interaction)
    if interaction and pending is None:
        notice: str | None = "notice_interaction_unknown"
    else:
        notice = "notice_login_timed_out" if request.args.get(TIMED_OUT_PARAM) and error is None else None
    allowed, preselected = requested_entries(pending.params if pending else {})
    return render_template(
        "login.html",
        **legacy_login_offer(pending.id if pending else None),
        interaction=pending.id if pending else "",
        interaction_notice=notice,
        identifier=identifier or (pending.param("login_hint") if pending else None) or "",
        entries=allowed,
        business=business if business in allowed else preselected or allowed[0],
        error=error if isinstance(error, str) else error.message_key if error else None,
        error_params=error.params if isinstance(error, FactorError) else {},
        error_note=failures_note(error.message_key, error.params) if isinstance(error, FactorError) else None,
    ), status


@bp.route("/login", methods=["GET"])
def login_page():
    remember_locale(request.args.get("ui_locales"))
    return _render_login(request.args.get("interaction"))


@bp.route("/login", methods=["POST"])
def login_submit():
    interaction = request.form.get("interaction") or None
    identifier = request.form.get("identifier", "")
    password = request.form.get("password", "")
    business = request.form.get("business")
    if not identifier.strip() or not password:
        return _render_login(interaction, "error_missing_fields", identifier, business)
    try:
        start_password_login(identifier, password, interaction, business)
    except FactorError as error:
        return _render_login(interaction, error, identifier, business)
    # The password step stands whatever happens to the SMS (a failed send takes back only its own
    # code, factors/sms_code.py): the second-factor page reports a send problem and still offers
    # the face scan.
    try:
        send_code_or_offer_choice(pending_login())
    except ResendTooSoon:
        # A code went to this phone moments ago (the person came back to the password step): it
        # is still valid, so the page asks for it and counts down to the resend instead of erring.
        mark_code_sent()
        return redirect(url_for("login.sms_page"))
    except FactorError as error:
        return _render_sms(error.message_key, error.params, 429, code_sent=False)
    except SmsDeliveryFailed:
        return _render_sms("error_sms_unavailable", {}, 503, code_sent=False)
    return redirect(url_for("login.sms_page"))


def _render_sms(error: str | None = None, params: dict | None = None, status: int = 200, *, code_sent: bool = True):
    """The second-factor page; ``code_sent=False`` when this login's first code was refused
    (cap, lock) or not delivered: the page must not say that one is on its way."""
    try:
        pending = pending_login()
    except LoginExpired:
        return redirect(login_again_url())
    offer = second_factor_offer(pending)
    return render_template(
        "sms.html", phone=mask_phone(pending.person.phone), error=error, error_params=params or {},
        error_note=failures_note(error, params or {}), minutes=current_settings().SMS_CODE_TTL // 60,
        alternatives=offer.alternatives, asks_for_code=offer.asks_for_sms_code, code_sent=code_sent,
        face_offered=offer.face, resend_wait=seconds_until_resend(pending.person.phone),
        interaction=pending.interaction or "", taxpayer_step=pending.business != NATURAL_PERSON,
    ), status


@bp.route("/login/sms", methods=["GET"])
def sms_page():
    return _render_sms()


@bp.route("/login/sms", methods=["POST"])
def sms_submit():
    try:
        pending = pending_login()
        finish_second_factor(pending, "sms", request.form.get("code", ""))
    except LoginExpired as error:
        return _render_login(timed_out_interaction(), error)
    except PasswordChangeRequired:
        return redirect(url_for("password_change.change_page"))
    except FactorError as error:
        return _render_sms(error.message_key, error.params, 400)
    return redirect(resume_url(pending.interaction) or url_for("account.home"))


@bp.route("/login/sms/resend", methods=["POST"])
def sms_resend():
    """Send the code: again, or the first time when the page offered a choice of factors."""
    try:
        send_second_factor_code(pending_login())
    except LoginExpired as error:
        return _render_login(timed_out_interaction(), error)
    except FactorError as error:
        return _render_sms(error.message_key, error.params, 429)
    except SmsDeliveryFailed:
        return _render_sms("error_sms_unavailable", {}, 503)
    return redirect(url_for("login.sms_page"))


@bp.route("/lang/<locale>")
def switch_language(locale: str):
    # Judged as parsed, as browsers do: they drop tabs and newlines ("/\t/host" is "//host")
    # and read "/\\host" as "//host"; any of them would leave the site (open redirect).
    parts = urlsplit(request.args.get("next", "/"))
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith(("//", "/\\")):
        parts = urlsplit("/")
    # The page's own ui_locales would otherwise outrank the choice made here.
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ui_locales"]
    response = make_response(redirect(urlunsplit(parts._replace(query=urlencode(query)))))
    if chosen := remember_locale(locale):
        response.set_cookie(LOCALE_COOKIE, chosen, max_age=365 * 86400, httponly=True, samesite="Lax")
    return response
