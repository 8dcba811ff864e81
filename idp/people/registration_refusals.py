"""How a refused registration step is told, alike by the pages and the app API: a stable code, a text
in the person's language and an HTTP status (docs/architecture.md §12.1)."""

from __future__ import annotations

from idp.core.errors import LocalizedValueError, UserError
from idp.factors.face_provider import FaceProviderError
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.people.identity_documents import DocumentNumberError
from idp.people.password_policy import PasswordPolicyError
from idp.people.usernames import UsernameError

#: Every refusal a registration step can raise (registration, factor and value errors); all are shown
#: to the person, none is a crash.
Refusal = UserError
#: A service a step needs was out of reach: nothing the service was to do is kept (no code sent, no
#: check started) and the person may try again; what the person gave before the call stands, as a
#: face consent given with the scan (docs/architecture.md §12.2).
Unavailable = (SmsDeliveryFailed, FaceProviderError)
#: Any of :data:`Refusal` and :data:`Unavailable`.
RegistrationRefusal = UserError | SmsDeliveryFailed | FaceProviderError
_SERVICES = ((SmsDeliveryFailed, "sms"), (FaceProviderError, "face"))
#: The registration API names value errors by what was refused: ``document_check_digit``, ...
_PREFIXES = ((DocumentNumberError, "document"), (PasswordPolicyError, "password"), (UsernameError, "username"))


class ServiceUnavailable(UserError):
    """The SMS gateway or the face service was out of reach (``sms_unavailable``, ``face_unavailable``)."""

    status = 503


def as_user_error(error: RegistrationRefusal) -> UserError:
    """The refusal as the person is told it."""
    if isinstance(error, UserError):
        return error
    return ServiceUnavailable(next(f"{name}_unavailable" for kind, name in _SERVICES if isinstance(error, kind)))


def refusal_code(error: UserError) -> str:
    """The refusal's stable code in the registration API: a value error says which value."""
    if isinstance(error, LocalizedValueError):
        return next((name for kind, name in _PREFIXES if isinstance(error, kind)), "invalid") + "_" + error.code
    return error.code


def describe_refusal(error: RegistrationRefusal) -> tuple[str, str]:
    """A refusal's stable code and its text in the person's language."""
    told = as_user_error(error)
    return refusal_code(told), told.message()


def refusal_status(error: RegistrationRefusal) -> int:
    """The HTTP status of a refusal: 503 for a service out of reach, else the error's own."""
    return as_user_error(error).status
