"""Every error the views leave unhandled, answered in the protocol's own format: RFC 6749
section 5.2 JSON on the back-channel endpoints, the app API shape (``core/errors.py:error_json``)
to the app APIs and the pages' own scripts, a localized page elsewhere.

A database that cannot be reached is a 503 with ``Retry-After`` (``UNAVAILABLE_RETRY_AFTER``),
never a 500. An error handler never fails itself: when the page cannot be built (the template,
the message catalogue, the locale lookup fail), a plain page in both languages answers instead.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from idp.audit.log import report_lost_events
from idp.core.database import db
from idp.core.database_outages import DEPENDENCY as DATABASE
from idp.core.database_outages import check_unavailable
from idp.core.dependency_outages import current_outages
from idp.core.errors import DEFAULT_LOCALE, UserError, error_json
from idp.core.i18n import current_locale
from idp.core.settings import current_settings
from idp.messages import MESSAGES
from idp.web.browser_session import keep_stored_session
from idp.web.error_links import ErrorLinks, error_links
from idp.web.published_documents import DISCOVERY_PATHS

log = logging.getLogger(__name__)

#: Endpoints whose callers read JSON, not pages: the back-channel OAuth endpoints, the published
#: documents, the QR login page's status poll; besides them, the calls of :func:`_app_call`.
JSON_PATHS = frozenset({"/token", "/introspect", "/revoke", "/userinfo", "/par", "/device_authorization",
                        "/login/qr/status", "/jwks.json", *DISCOVERY_PATHS})
#: An HTTP error's code and text for a caller that reads JSON; any other is ``invalid_request``.
HTTP_JSON_ERRORS = {404: ("not_found", "error_not_found"), 429: ("too_many_requests", "error_too_many_requests")}


class PageExpired(UserError):
    """The CSRF check refused a call that reads JSON (docs/architecture.md §12.1)."""

    code = "page_expired"


class PipelineError(UserError):
    """What the pipeline answers before or instead of a view (no such address, a method it does
    not take, a rate limit, a crash, an outage), told to a caller that reads JSON in the text its
    error page shows (docs/architecture.md §12.1)."""

    def __init__(self, code: str, status: int, message_key: str) -> None:
        self._message_key = message_key
        super().__init__(code, status)

    @property
    def message_key(self) -> str:
        return self._message_key


def _answers_in_json() -> bool:
    return request.path in JSON_PATHS or _app_call()


def _app_call() -> bool:
    """An app API, or a page's own script: it posts JSON (a form never does), reads JSON back and
    shows the person its ``message`` (the certificate login's fetch calls)."""
    return request.path.startswith("/api/") or (request.is_json and request.path not in JSON_PATHS)


def _json_error(error: UserError, headers: dict[str, str]) -> Response:
    """The one answer to a caller that reads JSON: the app API shape to the app APIs and the pages'
    scripts, which show ``message``; RFC 6749 section 5.2 to the back-channel callers, whose
    ``error_description`` must be ASCII, hence English."""
    if _app_call():
        _settle_locale()
        response = error_json(error)
    else:
        response = jsonify(error=error.code, error_description=error.message("en"))
        response.status_code = error.status
    # An error answers this request only (RFC 6749 section 5.1 asks it of the token endpoint's).
    response.headers.update({"Cache-Control": "no-store", **headers})
    return response


def _plain_page(title_key: str, message_key: str, status: int, headers: dict, params: dict) -> Response:
    """The page without template or locale: both languages, Chinese first."""
    parts = []
    for locale in ("zh-CN", "en"):
        try:
            message = MESSAGES[message_key][locale].format(**params)
        except (KeyError, IndexError):
            message = MESSAGES[message_key][locale]
        parts.append(f"<h1>{escape(MESSAGES[title_key][locale])}</h1><p>{escape(message)}</p>")
    body = '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{}</title>{}</html>'.format(
        escape(MESSAGES[title_key]["zh-CN"]), "".join(parts))
    return Response(body, status, headers, mimetype="text/html")


def _links(restart_step: bool, restart_url: str | None) -> ErrorLinks:
    try:
        links = error_links(restart_step=restart_step)
    except Exception:
        # The session or the client registry out of reach (the database is down): the page
        # still offers the login, never a crash.
        log.debug("the error page's links could not be built", exc_info=True)
        _roll_back()
        links = ErrorLinks(None, "/login", "log_in_again")
    return replace(links, restart_url=restart_url) if restart_url and links.return_url is None else links


def error_page(title_key: str, message_key: str, status: int, headers: dict | None = None, *, code: str | None = None,
               restart_step: bool = False, restart_url: str | None = None, home: bool = False,
               **params) -> Response:
    """The one error page: the problem in plain words, 返回应用 when the application and its
    redirect URI are known and valid, else 重新登录 (or 重新开始这一步 after a refused form,
    ``restart_step``; ``restart_url`` overrides where), 返回首页 with ``home``, the hotline, and
    ``code`` (a protocol error code) last, small, under 错误代码."""
    headers = headers or {}
    try:
        links = _links(restart_step, restart_url)
        return current_app.make_response((render_template(
            "error.html", title_key=title_key, message_key=message_key, params=params, code=code,
            return_url=links.return_url, restart_url=links.restart_url, restart_key=links.restart_key, home=home,
        ), status, headers))
    except Exception:
        log.exception("the %s page could not be rendered; answering the plain one", message_key)
        return _plain_page(title_key, message_key, status, headers, params)


def _settle_locale() -> None:
    """The request's language, or Chinese when it cannot be read (the session that holds it could
    not be opened, its database is down): the answer is still given."""
    try:
        current_locale()
    except Exception:
        log.debug("the request's language could not be read; answering in Chinese", exc_info=True)
        g.locale = DEFAULT_LOCALE


def _roll_back() -> None:
    """End the request's failed transaction; on a lost connection that can fail too, harmlessly."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        log.debug("rollback failed after a database error", exc_info=True)


def _unavailable(error: BaseException) -> Response:
    """503 while the database cannot be reached; nothing of the request is kept, the browser
    session included (its row and cookie stay as they were), and its audit events are logged."""
    keep_stored_session()
    report_lost_events(error)
    _roll_back()
    headers = {"Retry-After": str(current_settings().UNAVAILABLE_RETRY_AFTER), "Cache-Control": "no-store"}
    if _answers_in_json():
        return _json_error(PipelineError("temporarily_unavailable", 503, "error_unavailable"), headers)
    return error_page("error_unavailable_title", "error_unavailable", 503, headers)


def _internal(error: BaseException) -> Response:
    if check_unavailable(error):
        return _unavailable(error)
    _roll_back()
    if _answers_in_json():
        return _json_error(PipelineError("server_error", 500, "error_internal"), {})
    return error_page("error_internal", "error_internal", 500)


def _csrf_error(error: CSRFError) -> Response:
    if _answers_in_json():
        return _json_error(PageExpired(), {})
    return error_page("error_csrf_title", "error_csrf", 400, restart_step=True)


def _http_error(error: HTTPException) -> Response:
    if error.code == 500:
        # Flask hands an error raised outside the view (saving the session, an after_request
        # hook) over as a 500 that carries it; it has logged it already.
        return _internal(getattr(error, "original_exception", None) or error)
    # What the caller needs to try again: the methods the address takes, when the limit lifts.
    headers = {name: value for name, value in error.get_headers() if name in ("Allow", "Retry-After")}
    if _answers_in_json():
        code, message_key = HTTP_JSON_ERRORS.get(error.code or 400, ("invalid_request", "error_bad_request_title"))
        return _json_error(PipelineError(code, error.code or 400, message_key), headers)
    if error.code == 429:
        return error_page("error_too_many_requests", "error_too_many_requests", 429, headers)
    if error.code == 404:
        # Where to go next rather than a dead end: home too, besides the login and the hotline.
        return error_page("error_not_found", "not_found_text", 404, home=True)
    return error_page("error_bad_request_title", "error_bad_request_title", error.code or 400, headers)


def _database_error(error: SQLAlchemyError) -> Response:
    if not check_unavailable(error):
        log.exception("database error")
    elif DATABASE not in current_outages():
        # A deadlock, a statement timeout, a full pool: one request's trouble, not an outage
        # (an outage is logged once, by idp/core/database_outages.py).
        log.warning("database busy, answered 503 (%s)", type(getattr(error, "orig", None) or error).__name__)
    return _internal(error)


def _unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error")
    return _internal(error)


class _QuietDuringDatabaseOutage(logging.Filter):
    """Flask logs every error raised outside a view (saving the session, say) with its traceback:
    while the database is down that would be a traceback a request, its outage being logged once
    already (idp/core/database_outages.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or not check_unavailable(error) or DATABASE not in current_outages()


def install_error_pages(app: Flask) -> None:
    app.logger.addFilter(_QuietDuringDatabaseOutage())
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(Exception, _unexpected_error)
