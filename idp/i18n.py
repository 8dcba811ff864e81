"""Page language: Simplified Chinese first, English second.

The locale comes from ``ui_locales`` of the authorization request, then the language the
person picked (a cookie), then ``Accept-Language``; zh-CN when nothing matches.
"""

from __future__ import annotations

from flask import g, request

from idp.messages import MESSAGES

LOCALE_COOKIE = "idp_lang"


def match_locale(candidates: str | None) -> str | None:
    """The first supported locale among space-separated BCP 47 tags (OIDC ``ui_locales``)."""
    for tag in (candidates or "").split():
        tag = tag.strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return None


def current_locale() -> str:
    if "locale" not in g:
        g.locale = (
            match_locale(request.args.get("ui_locales"))
            or match_locale(request.cookies.get(LOCALE_COOKIE))
            or match_locale(request.accept_languages.best_match(["zh-CN", "zh", "en"]))
            or "zh-CN"
        )
    return g.locale


def translate(key: str, **params: object) -> str:
    """The message ``key`` in the current locale, formatted with ``params``."""
    entry = MESSAGES.get(key)
    if entry is None:
        raise KeyError(f"no message {key!r}")
    return entry[current_locale()].format(**params)
