"""The one model of an error a person or an app is told about (docs/architecture.md §12.1).

A :class:`UserError` carries a stable ``code`` (what an app or a test matches on), the HTTP
``status`` it answers with, the key of its text in :mod:`idp.messages` and the parameters that
text is filled with. A page shows :meth:`UserError.message`; an app API answers
:func:`error_json`. Protocol errors (authlib's ``OAuth2Error``) are not user errors: they keep
the format of their RFC.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask import Response, has_request_context, jsonify

from idp.core.i18n import current_locale, match_locale
from idp.messages import MESSAGES

DEFAULT_LOCALE = "zh-CN"


class UserError(Exception):
    """A refusal shown to a person (on a page) or to an app (as JSON), in the person's language.

    Subclasses set ``MESSAGE_PREFIX`` (the text of code ``c`` is ``MESSAGE_PREFIX + c``), may set
    a class-level ``code`` and ``status``, and may fill the text's ``{placeholders}`` per
    language by overriding :meth:`message_fields` (by default the keyword parameters).
    """

    MESSAGE_PREFIX: ClassVar[str] = "error_"
    code: str = "error"
    status: int = 400

    def __init__(self, code: str | None = None, status: int | None = None, **params: Any) -> None:
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.params = params
        super().__init__(self.code)
        if self.message_key not in MESSAGES:
            # A typo in an error code must fail where it is raised, not when a page renders it.
            raise KeyError(f"{type(self).__name__} has no message for code {self.code!r}")

    @property
    def message_key(self) -> str:
        """The key of this error's text in :mod:`idp.messages`."""
        return self.MESSAGE_PREFIX + self.code

    def message(self, locale: str | None = None) -> str:
        """The text in ``locale`` (a BCP 47 tag; unsupported ones fall back to Chinese), by
        default in the current request's language, or Chinese outside a request."""
        if locale is None:
            resolved = current_locale() if has_request_context() else DEFAULT_LOCALE
        else:
            resolved = match_locale(locale.replace("_", "-")) or DEFAULT_LOCALE
        return MESSAGES[self.message_key][resolved].format(**self.message_fields(resolved))

    def message_fields(self, locale: str) -> dict[str, Any]:
        """Values for the ``{placeholders}`` of the text in ``locale``."""
        return self.params


def error_json(error: UserError, code: str | None = None, **extra: object) -> Response:
    """The answer of an app API to ``error``: its code (or ``code``), its text in the person's
    language, any ``extra`` fields, and its status. ``message`` repeats the text under the name the
    apps read before ``error_description`` existed."""
    text = error.message()
    response = jsonify({"error": code or error.code, "error_description": text, "message": text, **extra})
    response.status_code = error.status
    return response


class LocalizedValueError(UserError, ValueError):
    """A value a person or an operator typed that cannot be accepted (a document number, a
    username, a password, an import row): a ``ValueError`` that says why in both languages."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
