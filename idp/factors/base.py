"""The one small interface every factor implements, its result, and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from idp.core.errors import UserError
from idp.messages import MESSAGES

if TYPE_CHECKING:
    from idp.models import Person


@dataclass(frozen=True)
class FactorResult:
    """A verified factor, named by its RFC 8176 ``amr`` value."""

    method: str
    amr: str


class FactorError(UserError):
    """A factor refused (docs/architecture.md §12.1); each subclass names its ``code``."""

    code = "factor_failed"
    #: Whether the refusal ends a try that the audit log records as failed; "no result yet" does not.
    is_attempt = True

    def __init__(self, **params: Any):
        super().__init__(**params)

    @property
    def message_key(self) -> str:
        # A wrong credential is worded per method ("wrong password", "wrong SMS code", ...).
        if self.code == "wrong_credential":
            return f"error_wrong_credential_{self.params.get('method', 'password')}"
        if self.code == "method_locked":
            # Names the locked method and what still works when the method has its own text.
            specific = f"error_method_locked_{self.params.get('method')}"
            return specific if specific in MESSAGES else "error_method_locked"
        return f"error_{self.code}"


class WrongCredential(FactorError):
    code = "wrong_credential"


class MethodLocked(FactorError):
    code = "method_locked"


class CodeExpired(FactorError):
    code = "code_expired"


class ResendTooSoon(FactorError):
    code = "resend_too_soon"
    status = 429


class DailyCapReached(FactorError):
    code = "daily_cap_reached"
    status = 429


class Factor(Protocol):
    #: Name used for lockout counters and the registry.
    METHOD: ClassVar[str]
    #: RFC 8176 value recorded in ``amr`` on success.
    AMR: ClassVar[str]

    def begin(self, person: Person, **context: Any) -> dict[str, Any]:
        """Start a challenge (send a code, create a nonce); returns what the page may show."""

    def verify(self, person: Person, response: str, **context: Any) -> FactorResult:
        """Check the person's response; raises a :class:`FactorError` on refusal."""
