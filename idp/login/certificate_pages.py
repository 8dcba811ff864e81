"""The tax digital certificate login pages and their JSON endpoints (docs/certificate-login.md).

The JSON endpoints are posted by the login page's own script, so they keep CSRF protection
(the token travels in the ``X-CSRFToken`` header).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from idp.core.errors import error_json
from idp.core.settings import current_settings
from idp.factors.base import FactorError
from idp.factors.certificate import CertificateFactor
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.login.certificate import (
    NoConfirmedRole,
    certificate_login,
    choose_certificate_person,
    list_candidates,
    start_certificate_login,
    timed_out_certificate_interaction,
)
from idp.login.password_steps import LoginExpired
from idp.people.password_change import PasswordChangeRequired
from idp.protocol.interactions import resume_url

bp = Blueprint("certificate_login", __name__)


@bp.route("/login/certificate", methods=["GET"])
def certificate_page():
    agent_url = current_settings().CERT_AGENT_URL
    agent = urlsplit(agent_url)
    # The page's script may talk to the agent's origin, and to nothing else beyond this site.
    policy = (f"default-src 'self'; connect-src 'self' {agent.scheme}://{agent.netloc}; frame-ancestors 'none'; "
              "form-action 'self'; base-uri 'none'")
    page = render_template("certificate_login.html", interaction=request.args.get("interaction", ""),
                           agent_url=agent_url)
    return page, 200, {"Content-Security-Policy": policy}


@bp.route("/login/certificate/challenge", methods=["POST"])
def challenge():
    """``{"challenge": <base64url, 256 bits>, "expires_in": <seconds>}``, stored server-side."""
    issued = CertificateFactor().begin()
    return jsonify(issued), 200, {"Cache-Control": "no-store"}


@bp.route("/login/certificate", methods=["POST"])
def certificate_submit():
    """The agent's signed answer; ``{"next": url}`` on success, else an app API's error
    (docs/architecture.md §12.1)."""
    body = request.get_json(silent=True)
    try:
        start_certificate_login(body if isinstance(body, dict) else {}, request.args.get("interaction") or None)
    except FactorError as error:
        return error_json(error)
    return jsonify(next=url_for("certificate_login.person_page"))


def _start_again():
    """The certificate step is gone: the certificate page again, for the app's request it served."""
    return redirect(url_for("certificate_login.certificate_page", interaction=timed_out_certificate_interaction()))


def _render_person(error: FactorError | str | None = None, status: int = 200):
    """The person chooser; ``error`` is a refusal or a message key."""
    try:
        login = certificate_login()
    except LoginExpired:
        return _start_again()
    candidates = list_candidates(login)
    return render_template(
        "certificate_person.html", entity=login.entity, candidates=candidates,
        error=error if isinstance(error, str) else error.message_key if error else None,
        error_params=error.params if isinstance(error, FactorError) else {},
    ), status if candidates else 403


@bp.route("/login/certificate/person", methods=["GET"])
def person_page():
    return _render_person()


@bp.route("/login/certificate/person", methods=["POST"])
def person_submit():
    method = request.form.get("method", "")
    try:
        interaction = certificate_login().interaction
        login = choose_certificate_person(request.form.get("person", ""), method, request.form.get("password", ""))
    except LoginExpired:
        return _start_again()
    except PasswordChangeRequired:
        return redirect(url_for("password_change.change_page"))
    except NoConfirmedRole as error:
        return _render_person(error, 403)
    except FactorError as error:
        return _render_person(error, 400)
    except SmsDeliveryFailed:
        # Only the undelivered code is taken back (factors/sms_code.py); the person may choose again.
        return _render_person("error_sms_unavailable", 503)
    if login is not None:
        return redirect(resume_url(interaction) or url_for("account.home"))
    return redirect(url_for("login.sms_page" if method == "sms" else "face_login.face_start"))
