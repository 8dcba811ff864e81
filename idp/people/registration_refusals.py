"""How a refused registration step is told, alike by the pages and the app API: a stable code, a text
in the person's language and an HTTP status."""

from __future__ import annotations

from idp.core.i18n import current_locale, translate
from idp.factors.base import DailyCapReached, FactorError, ResendTooSoon
from idp.factors.face_provider import FaceProviderError
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.login.pages import error_key
from idp.people.identity_documents import DocumentNumberError, LocalizedValueError
from idp.people.password_policy import PasswordPolicyError
from idp.people.registration import RegistrationError
from idp.people.usernames import UsernameError

#: Every refusal a registration step can raise; all are shown to the person, none is a crash.
Refusal = (RegistrationError, FactorError, LocalizedValueError)
#: A service a step needs was out of reach: nothing of the step is kept, and the person may try again.
Unavailable = (SmsDeliveryFailed, FaceProviderError)
#: Any of :data:`Refusal` and :data:`Unavailable`.
RegistrationRefusal = RegistrationError | FactorError | LocalizedValueError | SmsDeliveryFailed | FaceProviderError
_SERVICES = ((SmsDeliveryFailed, "sms"), (FaceProviderError, "face"))
_PREFIXES = ((DocumentNumberError, "document"), (PasswordPolicyError, "password"), (UsernameError, "username"))


def describe_refusal(error: RegistrationRefusal) -> tuple[str, str]:
    """A refusal's stable code and its text in the person's language."""
    if isinstance(error, RegistrationError):
        return error.code, translate(f"error_registration_{error.code}", **error.params)
    if isinstance(error, LocalizedValueError):
        prefix = next((name for kind, name in _PREFIXES if isinstance(error, kind)), "invalid")
        return f"{prefix}_{error.code}", error.message(current_locale())
    if isinstance(error, Unavailable):
        service = next(name for kind, name in _SERVICES if isinstance(error, kind))
        return f"{service}_unavailable", translate(f"error_{service}_unavailable")
    return error.code, translate(error_key(error), **error.params)


def refusal_status(error: Exception) -> int:
    """The HTTP status of a refusal: 429 rate limits, 409 clashes and steps out of order, 403 the
    service-hall routes, 410 a registration that is gone, 503 a service out of reach, 400 anything
    wrongly filled in."""
    if isinstance(error, (ResendTooSoon, DailyCapReached)):
        return 429
    if isinstance(error, Unavailable):
        return 503
    if isinstance(error, RegistrationError) and error.code == "expired":
        return 410
    if isinstance(error, RegistrationError) and error.code == "wrong_step":
        return 409
    if isinstance(error, RegistrationError) and error.code in ("already_registered", "phone_taken", "conflict"):
        return 409
    if isinstance(error, RegistrationError) and error.code in ("hall_first", "hall_record_name", "face_hall_route"):
        return 403
    return 400
