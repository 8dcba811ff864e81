"""What each request leaves behind: its id, its access-log line and its metrics, recorded by one
WSGI middleware around the whole provider (discovery and the JWKS answered from memory included).

The access log is the provider's own, not granian's or gunicorn's, so both servers write the same
line, in either log format (:mod:`idp.core.log_config`), with the request id. It never carries a query
string (authorization codes and state travel in them), and the path is escaped: it arrives
percent-decoded, so a ``%0a`` in a URL would otherwise start a line of the client's choosing
(CWE-117). ``idp serve --no-access-log`` turns the ``idp.access`` logger off; the metrics stay.

The metrics label a request with its Flask endpoint name, never its path, so a scan of random
URLs adds one series (``unmatched``), not one per URL. The time is until the provider handed its
answer to the server (every answer here is built whole before it is sent).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from flask import Flask

from idp.core.metrics import metrics
from idp.core.settings import current_settings

if TYPE_CHECKING:
    from prometheus_client import Histogram
from idp.core.request_ids import REQUEST_ID_HEADER, bind_request_id, choose_request_id, unbind_request_id

log = logging.getLogger("idp.access")

#: Label of a request no route matched (404, 405), so unknown paths share one series.
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Control characters (C0, DEL, C1), Unicode line and paragraph separators, and the quote and
#: backslash that delimit and escape the logged request line.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029"\\]')
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}


def _escape_one(match: re.Match) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_for_log(text: str) -> str:
    """``text`` with no character that could end a log line or fake a field (backslash escapes)."""
    return _UNSAFE.sub(_escape_one, text)


def _path_of(environ: dict) -> str:
    # PEP 3333: PATH_INFO holds the decoded bytes as latin-1; the person typed UTF-8.
    return environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace")


class RequestTelemetry:
    """WSGI middleware: a request id, the latency histogram and the access line of each request."""

    def __init__(self, app: Flask):
        self.next = app.wsgi_app
        self.trust_forwarded_id = current_settings(app).TRUSTED_PROXY_HOPS >= 1
        # Answers replayed from memory (idp/web/published_documents.py) never reach Flask's routing;
        # their paths are fixed, so a lookup names their endpoints (and those of a 405).
        self.fixed_paths = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules() if not rule.arguments}
        # prometheus-client looks a label set up under a lock at every ``labels()``; the hottest
        # paths (discovery, JWKS: tens of thousands a second) skip that with a plain dict.
        self.latencies: dict[tuple[str, str, str], Histogram] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        # The connection's peer, as the servers' own access logs had it: read before
        # idp/web/reverse_proxy.py replaces it with the forwarded address on the way in.
        peer = environ.get("REMOTE_ADDR", "-")
        request_id = choose_request_id(environ.get("HTTP_X_REQUEST_ID"), self.trust_forwarded_id)
        token = bind_request_id(request_id)
        answer: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            answer.append(status)
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status, headers, exc_info)

        try:
            return self.next(environ, start)
        finally:
            self._record(environ, peer, answer[-1][:3] if answer else "500", time.perf_counter() - started)
            unbind_request_id(token)

    def _endpoint(self, environ: dict) -> str:
        # Flask's request object stays in the environ (werkzeug keeps it there) with its matched rule.
        rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
        if rule is not None:
            return rule.endpoint
        return self.fixed_paths.get(environ.get("PATH_INFO", ""), UNMATCHED)

    def _record(self, environ: dict, peer: str, status: str, seconds: float) -> None:
        method = environ.get("REQUEST_METHOD", "")
        labels = (self._endpoint(environ), method if method in METHODS else "other", status)
        latency = self.latencies.get(labels)
        if latency is None:
            latency = self.latencies[labels] = metrics().requests.labels(*labels)
        latency.observe(seconds)
        if log.isEnabledFor(logging.INFO):
            method, path = escape_for_log(method), escape_for_log(_path_of(environ))
            log.info('%s "%s %s" %s %.1fms', peer, method, path, status, seconds * 1000,
                     extra={"remote_addr": peer, "method": method, "path": path, "status": int(status),
                            "duration_ms": round(seconds * 1000, 1)})


def install_request_telemetry(app: Flask) -> None:
    """Wrap the whole provider; call last, so the answers from memory are seen too."""
    app.wsgi_app = RequestTelemetry(app)  # type: ignore[method-assign]  # Flask's documented way to add WSGI middleware
