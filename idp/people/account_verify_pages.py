"""Account-centre pages that verify something new: the phone (SMS to the new number + password)
and the real-name level (a face check raises level 3 to 4, docs/domain.md §1.5)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from idp.core.errors import LocalizedValueError
from idp.core.i18n import translate
from idp.factors import FACTORS
from idp.factors.base import FactorError
from idp.factors.face_pages import FaceRefusal, face_message
from idp.factors.face_step import FaceStep, add_face_routes
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.login.record import LoginContext, NotLoggedIn, require_login
from idp.models import Person
from idp.people.account_centre import (
    REALNAME_FACE_PURPOSE,
    AccountChangeRefused,
    check_realname_upgrade_offered,
    require_realname_upgrade_offered,
)
from idp.people.account_pages import error_text, fresh_login_required, login_required
from idp.people.identity_documents import mask_phone
from idp.people.phone_change import finish_phone_change, pending_phone_change, start_phone_change

bp = Blueprint("account_verify", __name__)


def _render_phone(login: LoginContext, error: str | None = None, status: int = 200, new_phone: str = ""):
    pending = pending_phone_change(login.person)
    return render_template("account_phone.html", current_phone=mask_phone(login.person.phone),
                           pending_phone=mask_phone(pending) if pending else None, new_phone=new_phone,
                           error=error), status


@bp.route("/account/phone", methods=["GET"])
@fresh_login_required("account_verify.phone")
def phone(login: LoginContext):
    return _render_phone(login)


@bp.route("/account/phone/code", methods=["POST"])
@fresh_login_required("account_verify.phone")
def phone_code(login: LoginContext):
    new_phone = request.form.get("new_phone", "")
    try:
        start_phone_change(login.person, new_phone)
    except LocalizedValueError as error:
        return _render_phone(login, error_text(error), 400, new_phone)
    except FactorError as error:
        return _render_phone(login, error_text(error), 429, new_phone)
    except SmsDeliveryFailed:
        return _render_phone(login, translate("error_sms_unavailable"), 503, new_phone)
    return redirect(url_for("account_verify.phone"))


@bp.route("/account/phone", methods=["POST"])
@fresh_login_required("account_verify.phone")
def phone_submit(login: LoginContext):
    try:
        finish_phone_change(login.person, code=request.form.get("code", ""),
                            password=request.form.get("password", ""))
    except (FactorError, LocalizedValueError) as error:
        return _render_phone(login, error_text(error), 400)
    flash("acct_saved_phone")
    return redirect(url_for("account.overview"))


def _render_face_error(error: str, status: int, retry: str | None = None):
    return render_template("account_face_result.html", error=error, retry=retry), status


def _face_page(error: FaceRefusal, status: int, retry: str | None):
    key, params = face_message(error)
    return _render_face_error(translate(key, **params), status, retry)


@bp.route("/account/realname")
@login_required
def realname(login: LoginContext):
    return render_template("account_realname.html", level=login.person.realname_level,
                           offered=check_realname_upgrade_offered(login.person))


def _gone(error: Exception):
    if isinstance(error, AccountChangeRefused):
        return _render_face_error(error_text(error), 400)
    return redirect(url_for("login.login_page"))


def _passed(person: Person, check: str):
    """A pass makes level 4, inside the face factor's success (docs/domain.md §1.5)."""
    FACTORS["face"].verify(person, check, purpose=REALNAME_FACE_PURPOSE)
    flash("acct_saved_realname")
    return redirect(url_for("account_verify.realname"))


# The account centre's upgrade starts from its own form (POST) and is where consent is given
# again after a withdrawal.
add_face_routes(bp, "/account/realname/face", FaceStep(
    purpose=REALNAME_FACE_PURPOSE,
    person=lambda: require_login().person,
    passed=_passed,
    gone=(NotLoggedIn, AccountChangeRefused),
    on_gone=_gone,
    refusal_page=lambda: _face_page,
    consent_template="account_face_consent.html",
    consent_context=lambda: {"back": url_for("account_verify.realname")},
    renews_consent=True,
    before_start=require_realname_upgrade_offered,
), start_methods=("POST",))
