"""Face verification as the second factor of a login (password + face = loa:3)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from idp.consent.choices import NATURAL_PERSON
from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors.face import FaceConsentRequired, FaceIdentity, record_face_consent
from idp.factors.face_pages import FACE_PAGE_ERRORS, face_refusal
from idp.login.password_steps import LoginExpired, pending_login, start_face_second_factor
from idp.login.second_factor_pages import finish_second_factor_page

bp = Blueprint("face_login", __name__)


def _return_url() -> str:
    # Absolute, so a real provider's page can send the browser back; {check} is filled in.
    return current_settings().ISSUER + "/login/face/return?check={check}"


@bp.route("/login/face", methods=["GET"])
def face_start():
    try:
        pending = pending_login()
        url = start_face_second_factor(pending, _return_url())
    except LoginExpired:
        return redirect(url_for("login.login_page"))
    except FaceConsentRequired:
        return render_template("face_consent.html", action=url_for("face_login.face_consent"), step=2,
                               taxpayer_step=pending.business != NATURAL_PERSON)
    except FACE_PAGE_ERRORS as error:
        return face_refusal(error)
    db.session.commit()
    return redirect(url)


@bp.route("/login/face/consent", methods=["POST"])
def face_consent():
    try:
        pending = pending_login()
    except LoginExpired:
        return redirect(url_for("login.login_page"))
    record_face_consent(FaceIdentity.of(pending.person))
    db.session.commit()
    return redirect(url_for("face_login.face_start"))


@bp.route("/login/face/return", methods=["GET"])
def face_return():
    """The browser is back from the provider: only a trigger to fetch the provider's result."""
    return finish_second_factor_page("face", request.args.get("check", ""), face_refusal, FACE_PAGE_ERRORS)
