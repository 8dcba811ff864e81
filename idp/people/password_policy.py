"""The personal password rule (docs/domain.md §6.2).

8-16 characters; at least two of digits, letters (case-sensitive) and the symbols
``.@$%*#_+-&^``; nothing else; not containing the document number.  The initial password
(the last six characters of the document) never passes: it is too short.
"""

from __future__ import annotations

import string

from idp.core.errors import LocalizedValueError

SYMBOLS = ".@$%*#_+-&^"
ALLOWED = set(string.ascii_letters + string.digits + SYMBOLS)


class PasswordPolicyError(LocalizedValueError):
    MESSAGE_PREFIX = "password_policy_"

    def message_fields(self, locale: str) -> dict[str, str]:
        return {"symbols": SYMBOLS}


def validate_password(password: str, *, doc_number: str) -> None:
    """Raise :class:`PasswordPolicyError` naming the first rule ``password`` breaks."""
    if not isinstance(password, str) or not 8 <= len(password) <= 16:
        raise PasswordPolicyError("length")
    if set(password) - ALLOWED:
        raise PasswordPolicyError("characters")
    kinds = (any(c.isdigit() for c in password), any(c.isalpha() for c in password),
             any(c in SYMBOLS for c in password))
    if sum(kinds) < 2:
        raise PasswordPolicyError("kinds")
    number = doc_number.upper()
    if number and number in password.upper():
        raise PasswordPolicyError("document")
