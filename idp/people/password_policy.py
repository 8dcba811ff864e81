"""The personal password rule (docs/domain.md §6.2).

8-16 characters; at least two of digits, letters (case-sensitive) and the symbols
``.@$%*#_+-&^``; nothing else; not containing the document number.  The initial password
(the last six characters of the document) never passes: it is too short.
"""

from __future__ import annotations

import string

from idp.people.identity_documents import LocalizedValueError

SYMBOLS = ".@$%*#_+-&^"
ALLOWED = set(string.ascii_letters + string.digits + SYMBOLS)


class PasswordPolicyError(LocalizedValueError):
    MESSAGES = {
        "length": {"zh-CN": "密码长度应为8-16位", "en": "The password must have 8 to 16 characters."},
        "characters": {
            "zh-CN": f"密码只能包含字母、数字和符号 {SYMBOLS}",
            "en": f"The password may contain only letters, digits and the symbols {SYMBOLS}",
        },
        "kinds": {
            "zh-CN": "密码应至少包含数字、字母、符号中的两种",
            "en": "The password needs at least two of: digits, letters, symbols.",
        },
        "document": {
            "zh-CN": "密码不能包含证件号码",
            "en": "The password cannot contain your document number.",
        },
    }


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
