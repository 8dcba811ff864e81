"""Self-registration pages (docs/domain.md §1.3, §1.5, §1.6, §1.7): one page per step of :mod:`idp.people.registration`.

The browser session holds only the registration's id and the relying party's request it was
started for (a pending step, docs/architecture.md §5.3); the registration record decides which
step comes next, and a page for another step sends the person to the right one.  Started from an
app's login page, the new account is signed in at the end (by what the registration verified) and
the app's request continues; otherwise the person is pointed to the natural-person login.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import inspect, select

from idp.core.database import db
from idp.core.i18n import current_locale
from idp.core.settings import current_settings
from idp.factors.face import FacePending
from idp.factors.face_pages import face_refusal
from idp.factors.face_provider import FaceProviderError
from idp.factors.sms_code import seconds_until_resend
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.login.record import create_login_session
from idp.models import Person, Registration
from idp.people.identity_documents import COUNTRY_REQUIRED, DOCUMENT_TYPES, mask_phone
from idp.people.registration import (
    HALL_ROUTE,
    RegistrationError,
    choose_password,
    choose_username,
    complete_registration_face,
    consent_to_face,
    load_registration,
    resend_registration_code,
    send_registration_code,
    start_registration,
    start_registration_face,
    verify_registration_phone,
)
from idp.people.registration_refusals import Refusal, RegistrationRefusal, describe_refusal, refusal_status
from idp.protocol.interactions import find_interaction, login_url
from idp.protocol.pending_steps import PendingSteps

bp = Blueprint("registration", __name__, url_prefix="/register")

#: This browser's registration: "registering" with its id, then "done" with the level reached.
REGISTRATION = PendingSteps("registration", ttl=lambda: current_settings().REGISTRATION_TTL)
REGISTERING, DONE = "registering", "done"
#: The page that serves each step.
STEP_PAGES = {"phone": ".phone_page", "username": ".username_page", "password": ".password_page",
              "face_consent": ".face_page", "face": ".face_page", HALL_ROUTE: ".hall_page"}
T = TypeVar("T")


def _render(template: str, registration: Registration | None = None, error: RegistrationRefusal | None = None,
            status: int = 200, **context):
    code, message = describe_refusal(error) if error is not None else (None, None)
    interaction = context.pop("interaction", None) or _interaction_id()
    return render_template(template, registration=registration, error_code=code, error=message,
                           interaction=interaction or "", login_url=login_url(interaction), **context), status


def _interaction_id() -> str | None:
    """The relying party's request this registration serves: the one the start page was opened or
    submitted for, else the running (or timed-out) registration's, while this browser holds it."""
    asked = request.values.get("interaction") if "interaction" in request.values else REGISTRATION.interaction_id()
    return asked if find_interaction(asked) else None


def _registration_id() -> str | None:
    running = REGISTRATION.read(REGISTERING)
    return running["registration_id"] if running else None


def _render_start(error: RegistrationRefusal | None = None, form: dict | None = None, status: int = 200,
                  interaction: str | None = None):
    documents = [(doc.code, doc.name_en if current_locale() == "en" else doc.name_zh, doc.code in COUNTRY_REQUIRED)
                 for doc in DOCUMENT_TYPES.values()]
    return _render("registration_start.html", error=error, status=status, documents=documents,
                   form=form or {}, interaction=interaction)


def _render_step(registration: Registration, error: RegistrationRefusal | None = None, status: int = 200,
                 retry: str | None = None):
    template = {"phone": "registration_phone.html", "username": "registration_username.html",
                "password": "registration_password.html"}.get(registration.step, "registration_face.html")
    return _render(template, registration, error, status, retry=retry,
                   minutes=current_settings().SMS_CODE_TTL // 60, **_phone_shown(registration))


def _phone_shown(registration: Registration) -> dict[str, object]:
    """The phone step's number: asked for until a code went to one, and again when the person
    chooses 更换号码 or the number they typed was refused (left in the field to correct);
    otherwise shown masked, with 重新发送验证码 counting down the resend cooldown (issue 18)."""
    if registration.step != "phone" or not registration.phone or "change" in request.args \
            or "phone" in request.form:
        return {"phone": None, "typed_phone": request.form.get("phone", "")}
    return {"phone": mask_phone(registration.phone), "resend_wait": seconds_until_resend(registration.phone)}


def _still_there(registration: Registration | None) -> Registration | None:
    """``registration``, unless another tab of this browser finished it (its row deleted with
    the account's creation) while this request ran: read again from the database, not from
    the session, which still holds the copy loaded at the start."""
    if registration is None:
        return None
    identity = inspect(registration).identity
    if identity is None:  # never stored
        return None
    [registration_id] = identity
    stored = db.session.execute(select(Registration.id).where(Registration.id == registration_id)).first()
    return registration if stored is not None else None


def _refused(error: RegistrationRefusal, registration: Registration | None):
    """Show a refusal where the person can act on it (its audit rows are kept with the answer)."""
    registration = _still_there(registration)
    if registration is None and not isinstance(error, RegistrationError):
        error = RegistrationError("expired")
    if isinstance(error, RegistrationError):
        if error.code in ("expired", "conflict") or registration is None:
            interaction = _interaction_id()
            REGISTRATION.finish()
            return _render_start(error, status=refusal_status(error), interaction=interaction)
        if error.code == "wrong_step":
            return redirect(url_for(STEP_PAGES[str(error.params["step"])]))
        if error.code == "face_hall_route":
            return redirect(url_for(".hall_page"))
    assert registration is not None  # without one, the refusal went back to the start above
    return _render_step(registration, error, refusal_status(error))


def _step_page(*steps: str):
    """Show the page of the registration's current step, if it is one of ``steps``."""
    try:
        registration = load_registration(_registration_id())
    except RegistrationError as error:
        return _refused(error, None)
    if registration.step not in steps:
        return redirect(url_for(STEP_PAGES[registration.step]))
    return _render_step(registration)


@bp.route("", methods=["GET"])
def start_page():
    return _render_start()


@bp.route("", methods=["POST"])
def start_submit():
    form = {key: request.form.get(key, "") for key in ("doc_type", "doc_number", "country", "name")}
    try:
        registration = start_registration(doc_type=form["doc_type"], doc_number=form["doc_number"],
                                          name=form["name"], country=form["country"] or None)
    except Refusal as error:
        return _render_start(error, form, refusal_status(error))
    REGISTRATION.start(REGISTERING, _interaction_id(), registration_id=registration.id)
    return redirect(url_for(".phone_page"))


def _next_page(registration: Registration, person: Person | None):
    """The page of the step that is next or, once ``person`` (the new account) exists, the done page."""
    if person is None:
        return redirect(url_for(STEP_PAGES[registration.step]))
    interaction = _interaction_id()
    if find_interaction(interaction) is not None:
        # Started for an app: signed in by what was verified here, docs/domain.md §13 (the password
        # just set and the SMS code: loa:2; with the face scan: loa:3), and the app's request goes on.
        amr = ["pwd", "sms"] + ([] if registration.via_service_hall else ["face"])
        create_login_session(person, amr)
    REGISTRATION.start(DONE, interaction, level=person.realname_level)
    return redirect(url_for(".done_page"))


def _take_step(action: Callable[[Registration], T],
               # The default answers actions that return the created Person or None (mypy cannot
               # bind T from a default).
               answer: Callable[[Registration, T], ResponseReturnValue] = _next_page):  # type: ignore[assignment]
    """Run ``action`` on this browser's registration in one transaction, then ``answer`` with what
    it returned; a refusal is shown where the person can act on it."""
    registration = None
    try:
        registration = load_registration(_registration_id())
        result = action(registration)
    except (FacePending, FaceProviderError) as error:
        # Pending or unreachable, as on every face page; a refused scan is a refusal like any (below).
        assert registration is not None  # only ``action`` scans, once the registration was loaded
        return face_refusal(error, partial(_render_step, registration))
    except Refusal as error:
        return _refused(error, registration)
    except SmsDeliveryFailed as error:
        # No code went out: the page asks for the phone again, not for a code.
        return _render("registration_phone.html", registration, error, refusal_status(error))
    return answer(registration, result)


@bp.route("/phone", methods=["GET"])
def phone_page():
    return _step_page("phone")


@bp.route("/phone", methods=["POST"])
def phone_send():
    def send(registration: Registration) -> None:
        send_registration_code(registration, request.form.get("phone", ""))

    return _take_step(send)


@bp.route("/phone/resend", methods=["POST"])
def phone_resend():
    return _take_step(resend_registration_code, lambda r, lifetime: redirect(url_for(".phone_page")))


@bp.route("/phone/verify", methods=["POST"])
def phone_verify():
    return _take_step(lambda r: verify_registration_phone(r, request.form.get("code", "")))


@bp.route("/username", methods=["GET"])
def username_page():
    return _step_page("username")


@bp.route("/username", methods=["POST"])
def username_submit():
    chosen = None if "skip" in request.form else request.form.get("username", "")
    return _take_step(lambda r: choose_username(r, chosen))


@bp.route("/password", methods=["GET"])
def password_page():
    return _step_page("password")


@bp.route("/password", methods=["POST"])
def password_submit():
    password = request.form.get("password", "")

    def set_password(registration: Registration) -> Person | None:
        # Typed twice on the page only; the app API takes the app's own confirmation on trust.
        if password != request.form.get("confirm_password", ""):
            raise RegistrationError("password_mismatch")
        return choose_password(registration, password)

    return _take_step(set_password)


@bp.route("/face", methods=["GET"])
def face_page():
    return _step_page("face_consent", "face")


def _face_return_url() -> str:
    return current_settings().ISSUER + url_for(".face_return") + "?check={check}"


@bp.route("/face/consent", methods=["POST"])
def face_consent():
    """The consent button starts the scan too: one click, not "agree" then "start"."""

    def consent_and_start(registration: Registration) -> str:
        consent_to_face(registration)
        return start_registration_face(registration, _face_return_url())[1]

    return _take_step(consent_and_start, lambda r, url: redirect(url))


@bp.route("/face/start", methods=["POST"])
def face_start():
    # Answered with the provider's page, where the person scans.
    return _take_step(lambda r: start_registration_face(r, _face_return_url())[1], lambda r, url: redirect(url))


@bp.route("/face/return", methods=["GET"])
def face_return():
    """Back from the face provider: only a trigger to fetch the provider's own result."""
    return _take_step(lambda r: complete_registration_face(r, request.args.get("check", "")))


@bp.route("/hall", methods=["GET"])
def hall_page():
    """docs/domain.md §1.7's last resort: real-name collection at a service hall, then register again."""
    interaction = _interaction_id()
    return render_template("registration_hall.html", interaction=interaction or "", login_url=login_url(interaction))


@bp.route("/complete", methods=["GET"])
def done_page():
    """The real-name level reached (docs/domain.md §1.5), then back to the app that asked for the login,
    or, docs/domain.md §1.3: registered people log in through the natural-person entry."""
    done = REGISTRATION.read(DONE)
    interaction = done.interaction if done else None
    return render_template("registration_done.html", level=done["level"] if done else None,
                           continue_url=interaction.resume_url() if interaction else None)
