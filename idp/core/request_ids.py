"""Request ids: one per request, in every log line written while it is served and in its
``X-Request-Id`` answer header, so a person's report, the proxy's log and ours meet on one value.

Behind trusted proxies (``TRUSTED_PROXY_HOPS`` of one or more) the id the proxy sent is kept
(nginx's ``$request_id``: ``proxy_set_header X-Request-Id $request_id``); without one a client
could choose the id of its lines, so a fresh one is made instead. A forwarded id that is not a
short token of letters, digits and ``.-_:`` is replaced too: it is written into every log line.
"""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-Id"
#: What a forwarded id may look like (nginx's 32 hex digits, UUIDs, load balancers' trace ids).
_FORWARDED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_current: ContextVar[str | None] = ContextVar("idp_request_id", default=None)


def choose_request_id(forwarded: str | None, trust_forwarded: bool) -> str:
    """The forwarded id when it may be trusted and is well formed, else a new random one."""
    if trust_forwarded and forwarded and _FORWARDED_ID.fullmatch(forwarded):
        return forwarded
    return secrets.token_hex(16)


def current_request_id() -> str | None:
    """The id of the request this thread is serving (None outside a request)."""
    return _current.get()


def bind_request_id(request_id: str):
    """Make ``request_id`` current; returns the token :func:`unbind_request_id` takes."""
    return _current.set(request_id)


def unbind_request_id(token) -> None:
    _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id`` attribute ("-" outside a request) for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or "-"
        return True
