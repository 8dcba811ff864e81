"""Page language: Simplified Chinese first, English second.

The locale comes from ``ui_locales`` of the request, then the language this browser session
settled on (the request's ``ui_locales`` or the person's switch), then the person's earlier pick (a
cookie), then ``Accept-Language``; zh-CN when nothing matches. When the browser session could
not be read (the database is down: idp/web/browser_session.py), it is empty, so the error page still
speaks the language of the cookie or of ``Accept-Language``.
"""

from __future__ import annotations

from flask import g, request, session

from idp.messages import MESSAGES

LOCALE_COOKIE = "idp_lang"
#: Form posts and the SMS step carry no ``ui_locales``: the session keeps the language for them.
SESSION_LOCALE_KEY = "locale"


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
            or match_locale(session.get(SESSION_LOCALE_KEY))
            or match_locale(request.cookies.get(LOCALE_COOKIE))
            or match_locale(request.accept_languages.best_match(["zh-CN", "zh", "en"]))
            or "zh-CN"
        )
    return g.locale


def remember_locale(candidates: str | None) -> str | None:
    """Keep a requested language for this browser session's later pages; returns it if supported."""
    chosen = match_locale(candidates)
    if chosen and session.get(SESSION_LOCALE_KEY) != chosen:
        session[SESSION_LOCALE_KEY] = chosen
    return chosen


def translate(key: str, **params: object) -> str:
    """The message ``key`` in the current locale, formatted with ``params``."""
    entry = MESSAGES.get(key)
    if entry is None:
        raise KeyError(f"no message {key!r}")
    return entry[current_locale()].format(**params)
