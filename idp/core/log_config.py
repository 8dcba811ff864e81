"""How ``idp serve`` writes its log: plain lines, or one JSON object a line (``LOG_FORMAT``).

One ``logging.config.dictConfig`` for the whole process tree: the provider's loggers, the access
log (:mod:`idp.web.request_telemetry`) and the servers' own (granian's ``_granian``, gunicorn's
``gunicorn.error``) all write to standard output in the one format, each line with its request id
(``-`` outside a request). The servers apply it themselves at start (granian's ``log_dictconfig``,
gunicorn's ``logconfig_dict``), before they fork their workers.

A JSON line has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and ``request_id``;
access lines add ``remote_addr``, ``method``, ``path``, ``status`` and ``duration_ms``. Personal
data stays out as in plain lines: the provider's own messages carry masked values only, and
:mod:`idp.core.log_redaction` blanks what libraries would log.
"""

from __future__ import annotations

LOG_FORMATS = ("text", "json")
#: Loggers of the servers, which keep their own levels and send their lines to ours.
SERVER_LOGGERS = ("_granian", "gunicorn.error")
ACCESS_LOGGER = "idp.access"


def _formatters(log_format: str) -> dict:
    if log_format == "json":
        json_line = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "{levelname}{name}{message}{request_id}", "style": "{", "timestamp": "time",
            "rename_fields": {"levelname": "level", "name": "logger"}, "json_ensure_ascii": False,
        }
        return {"line": json_line, "access": json_line}
    return {
        "line": {"format": "%(asctime)s [%(process)d] %(levelname)s %(name)s [%(request_id)s] %(message)s",
                 "datefmt": "%Y-%m-%dT%H:%M:%S%z"},
        "access": {"format": "%(message)s %(request_id)s"},
    }


def logging_config(log_format: str, *, access_log: bool) -> dict:
    """The ``dictConfig`` of ``idp serve``: ``log_format`` is one of :data:`LOG_FORMATS`; without
    ``access_log`` the access logger is off."""
    if log_format not in LOG_FORMATS:
        raise SystemExit(f"IDP_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "filters": ["request_id"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "idp.core.request_ids.RequestIdFilter"}},
        "formatters": _formatters(log_format),
        "handlers": {"line": {**handler, "formatter": "line"}, "access": {**handler, "formatter": "access"}},
        "root": {"level": "WARNING", "handlers": ["line"]},
        "loggers": {
            ACCESS_LOGGER: {"level": "INFO" if access_log else "CRITICAL", "handlers": ["access"],
                            "propagate": False},
            **{name: {"level": "INFO", "handlers": [], "propagate": True} for name in SERVER_LOGGERS},
        },
    }
