"""Self-registration for the bureau's mobile app (docs/domain.md §1.6: "web or app"): the steps and rules of
:mod:`idp.people.registration`, as JSON.

``POST /api/registration/start`` answers a ``registration_id`` (256 random bits); every later call
names it in its JSON body, and that id is the call's only credential, which is why these views
are exempt from the browser CSRF token.  Every answer names the ``next`` call; refusals answer
``{"error": code, "error_description": text, "message": text}`` with a 4xx status (503 when the SMS
gateway or face service is out of reach), in the language of ``Accept-Language``.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, jsonify, request, url_for

from idp.core.errors import error_json
from idp.core.i18n import translate
from idp.core.settings import current_settings
from idp.factors.face import NOTICE_VERSION, FacePending
from idp.models import Person, Registration
from idp.people.identity_documents import mask_phone
from idp.people.registration import (
    FACE_ATTEMPTS,
    HALL_ROUTE,
    RegistrationError,
    choose_password,
    choose_username,
    complete_registration_face,
    consent_to_face,
    load_registration,
    send_registration_code,
    start_registration,
    start_registration_face,
    verify_registration_phone,
)
from idp.people.registration_refusals import Refusal, RegistrationRefusal, Unavailable, as_user_error, refusal_code

bp = Blueprint("registration_api", __name__, url_prefix="/api/registration")

#: The call the app makes next, for each step a registration can wait in.
NEXT_CALL = {"phone": "phone", "username": "username", "password": "password", "face_consent": "face/consent",
             "face": "face/start", HALL_ROUTE: "service_hall"}


@bp.after_request
def _no_store(response: Response) -> Response:
    # Answers carry the registration id: no cache may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _next(registration: Registration) -> str:
    if registration.step == "phone" and registration.phone:
        return "phone/verify"
    return NEXT_CALL[registration.step]


def _refusal(error: RegistrationRefusal):
    told = as_user_error(error)
    wrong_step = isinstance(told, RegistrationError) and told.code == "wrong_step"
    extra = {"next": NEXT_CALL[str(told.params["step"])]} if wrong_step else {}
    return error_json(told, refusal_code(told), **extra)


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise RegistrationError("bad_request")
    return body


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RegistrationError("bad_request")
    return value


def _registered(person: Person):
    """docs/domain.md §1.3: the account exists; the person logs in through the natural-person entry."""
    return jsonify(status="registered", realname_level=person.realname_level,
                   login_url=current_settings().ISSUER + url_for("login.login_page"),
                   message=translate("registration_done")), 201


def _step(action: Callable[[Registration, dict], tuple]):
    """Run ``action`` on the registration the JSON body names; one transaction per call."""
    try:
        body = _body()
        return action(load_registration(body.get("registration_id")), body)
    except (Refusal, *Unavailable) as error:
        return _refusal(error)


@bp.route("/start", methods=["POST"])
def start():
    try:
        body = _body()
        registration = start_registration(doc_type=_text(body, "doc_type"), doc_number=_text(body, "doc_number"),
                                          name=_text(body, "name"), country=_text(body, "country") or None)
    except Refusal as error:
        return _refusal(error)
    return jsonify(registration_id=registration.id, next=_next(registration),
                   expires_in=current_settings().REGISTRATION_TTL), 201


@bp.route("/phone", methods=["POST"])
def phone():
    def send(registration: Registration, body: dict):
        lifetime = send_registration_code(registration, _text(body, "phone"))
        return jsonify(next=_next(registration), phone=mask_phone(registration.phone or ""), expires_in=lifetime), 200

    return _step(send)


@bp.route("/phone/verify", methods=["POST"])
def phone_verify():
    def verify(registration: Registration, body: dict):
        verify_registration_phone(registration, _text(body, "code"))
        return jsonify(next=_next(registration)), 200

    return _step(verify)


@bp.route("/username", methods=["POST"])
def username():
    def choose(registration: Registration, body: dict):
        choose_username(registration, _text(body, "username") or None)
        return jsonify(next=_next(registration)), 200

    return _step(choose)


@bp.route("/password", methods=["POST"])
def password():
    def choose(registration: Registration, body: dict):
        person = choose_password(registration, _text(body, "password"))
        if person is not None:
            return _registered(person)
        # The app shows this notice and asks for the separate consent before face/consent.
        return jsonify(next=_next(registration), face_notice=translate("face_consent_notice"),
                       notice_version=NOTICE_VERSION), 200

    return _step(choose)


@bp.route("/face/consent", methods=["POST"])
def face_consent():
    def consent(registration: Registration, body: dict):
        consent_to_face(registration)
        return jsonify(next=_next(registration)), 200

    return _step(consent)


@bp.route("/face/start", methods=["POST"])
def face_start():
    def begin(registration: Registration, body: dict):
        issuer = current_settings().ISSUER
        check_id, url = start_registration_face(registration, issuer + url_for(".face_returned") + "?check={check}")
        # The development provider answers a path on this server; the app needs an absolute URL.
        provider_url = issuer + url if url.startswith("/") else url
        return jsonify(next="face/complete", check_id=check_id, provider_url=provider_url,
                       attempts_left=FACE_ATTEMPTS - registration.face_failures), 200

    return _step(begin)


@bp.route("/face/complete", methods=["POST"])
def face_complete():
    def complete(registration: Registration, body: dict):
        try:
            return _registered(complete_registration_face(registration, _text(body, "check_id")))
        except FacePending:
            return jsonify(status="pending", next="face/complete", message=translate("error_face_pending")), 202

    return _step(complete)


@bp.route("/face/returned", methods=["GET"])
def face_returned():
    """Where the face provider's page sends the app's web view: a cue to call face/complete."""
    return jsonify(check_id=request.args.get("check", "")[:64], next="face/complete"), 200
