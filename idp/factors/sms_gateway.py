"""Where SMS messages go: a development outbox file, or a production HTTP gateway.

Both receive the same message with the same idempotency key; the provider's code path
(issue, store, verify) is identical whichever adapter is configured.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
from flask import current_app

from idp.core.settings import Settings


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    code: str
    #: Gateways are not idempotent: a retried send carries the same key so it is sent once.
    idempotency_key: str


class SmsDeliveryFailed(RuntimeError):
    """The gateway did not accept the message."""


class SmsGateway(Protocol):
    def send(self, message: SmsMessage) -> None: ...


class OutboxGateway:
    """Development adapter: one JSON line per message in ``IDP_SMS_OUTBOX``."""

    def __init__(self, path: Path):
        self.path = path

    def send(self, message: SmsMessage) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"phone": message.phone, "text": message.text, "code": message.code, "sent_at": int(time.time())},
            ensure_ascii=False,
        )
        with open(self.path, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(line + "\n")


class HttpGateway:
    """Production adapter: POSTs JSON signed with HMAC-SHA256 over timestamp and body."""

    def __init__(self, url: str, secret: str, timeout: float = 5.0):
        if not url or not secret:
            raise SystemExit("IDP_SMS_GATEWAY_URL and IDP_SMS_GATEWAY_SECRET are required for the http SMS adapter")
        self.url = url
        self.secret = secret.encode()
        self.timeout = timeout
        # One kept-alive connection per thread: a TLS handshake per message costs more than the
        # message (requests sessions are not documented as safe to share between threads).
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def send(self, message: SmsMessage) -> None:
        body = json.dumps({"phone": message.phone, "text": message.text}, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        signature = hmac.new(self.secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Timestamp": timestamp,
            "X-Signature": signature,
            "Idempotency-Key": message.idempotency_key,
        }
        try:
            response = self._session().post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SmsDeliveryFailed(f"SMS gateway unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise SmsDeliveryFailed(f"SMS gateway answered {response.status_code}")


def create_sms_gateway(settings: Settings) -> SmsGateway:
    """The adapter named by ``SMS_ADAPTER``."""
    if settings.SMS_ADAPTER == "http":
        return HttpGateway(settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_SECRET)
    if settings.SMS_ADAPTER == "outbox":
        return OutboxGateway(settings.sms_outbox_path)
    raise SystemExit(f"unknown IDP_SMS_ADAPTER {settings.SMS_ADAPTER!r}: use 'outbox' or 'http'")


SMS_EXTENSION = "idp.sms"


def current_sms_gateway() -> SmsGateway:
    """The current app's SMS gateway."""
    return current_app.extensions[SMS_EXTENSION]
