"""How a refused registration step is told, alike by the pages and the app API: a stable code, a text
in the person's language and an HTTP status (docs/architecture.md §12.1)."""

from __future__ import annotations

from idp.core.errors import LocalizedValueError, UserError
from idp.core.i18n import translate
from idp.factors.face_provider import FaceProviderError
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.people.identity_documents import DocumentNumberError
from idp.people.password_policy import PasswordPolicyError
from idp.people.usernames import UsernameError

#: Every refusal a registration step can raise (registration, factor and value errors); all are shown
#: to the person, none is a crash.
Refusal = UserError
#: A service a step needs was out of reach: nothing of the step is kept, and the person may try again.
Unavailable = (SmsDeliveryFailed, FaceProviderError)
#: Any of :data:`Refusal` and :data:`Unavailable`.
RegistrationRefusal = UserError | SmsDeliveryFailed | FaceProviderError
_SERVICES = ((SmsDeliveryFailed, "sms"), (FaceProviderError, "face"))
#: The registration API names value errors by what was refused: ``document_check_digit``, ...
_PREFIXES = ((DocumentNumberError, "document"), (PasswordPolicyError, "password"), (UsernameError, "username"))


def describe_refusal(error: RegistrationRefusal) -> tuple[str, str]:
    """A refusal's stable code and its text in the person's language."""
    if isinstance(error, Unavailable):
        service = next(name for kind, name in _SERVICES if isinstance(error, kind))
        return f"{service}_unavailable", translate(f"error_{service}_unavailable")
    if isinstance(error, LocalizedValueError):
        prefix = next((name for kind, name in _PREFIXES if isinstance(error, kind)), "invalid")
        return f"{prefix}_{error.code}", error.message()
    return error.code, error.message()


def refusal_status(error: RegistrationRefusal) -> int:
    """The HTTP status of a refusal: the error's own, 503 for a service out of reach."""
    return 503 if isinstance(error, Unavailable) else error.status
