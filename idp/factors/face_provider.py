"""Face verification providers: the adapter interface and the HTTP adapter for a real service.

The provider's own result, fetched by this server, is the only source of a decision; a
browser returning from the provider, or a provider callback, merely triggers the fetch.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Protocol

import requests
from flask import current_app


@dataclass(frozen=True)
class FaceStart:
    session_id: str
    expires_at: int
    #: Where the person goes to scan: a page URL, or a payload the mobile app opens.
    url: str


@dataclass(frozen=True)
class FaceProviderResult:
    session_id: str
    #: pending, completed or expired
    status: str
    doc_type: str
    doc_number: str
    liveness_passed: bool
    similarity: float
    completed_at: int | None
    result_ref: str


class FaceProviderError(RuntimeError):
    """The provider could not be reached or answered something unusable."""


class FaceProvider(Protocol):
    def start(self, *, name: str, doc_type: str, doc_number: str, return_url: str) -> FaceStart: ...

    def fetch_result(self, session_id: str) -> FaceProviderResult: ...


class HttpFaceProvider:
    """A real verification service: JSON over HTTPS, each request signed with HMAC-SHA256.

    ``X-App-Id``, ``X-Timestamp`` and ``X-Signature = hex(HMAC(secret, timestamp + "." + method
    + " " + path + "." + body))`` let the service authenticate us and refuse replays.
    """

    def __init__(self, base_url: str, app_id: str, secret: str, timeout: float = 5.0):
        if not base_url or not app_id or not secret:
            raise SystemExit("IDP_FACE_PROVIDER_URL, IDP_FACE_PROVIDER_APP_ID and IDP_FACE_PROVIDER_SECRET "
                             "are required for the http face provider")
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.secret = secret.encode()
        self.timeout = timeout

    def _headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        message = f"{timestamp}.{method} {path}.".encode() + body
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-App-Id": self.app_id,
            "X-Timestamp": timestamp,
            "X-Signature": hmac.new(self.secret, message, hashlib.sha256).hexdigest(),
        }

    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
        try:
            response = requests.request(method, self.base_url + path, data=body or None, timeout=self.timeout,
                                        headers=self._headers(method, path, body))
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            raise FaceProviderError(f"face provider call {method} {path} failed: {type(exc).__name__}") from exc

    def start(self, *, name: str, doc_type: str, doc_number: str, return_url: str) -> FaceStart:
        data = self._call("POST", "/sessions", {"name": name, "doc_type": doc_type, "doc_number": doc_number,
                                                 "return_url": return_url})
        try:
            return FaceStart(str(data["session_id"]), int(data["expires_at"]), str(data["url"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise FaceProviderError("face provider answered an unusable session") from exc

    def fetch_result(self, session_id: str) -> FaceProviderResult:
        data = self._call("GET", f"/sessions/{session_id}/result")
        try:
            return FaceProviderResult(
                session_id=str(data["session_id"]), status=str(data["status"]), doc_type=str(data["doc_type"]),
                doc_number=str(data["doc_number"]), liveness_passed=bool(data["liveness_passed"]),
                similarity=float(data["similarity"]), completed_at=data.get("completed_at"),
                result_ref=str(data["result_ref"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FaceProviderError("face provider answered an unusable result") from exc


def create_face_provider(settings) -> FaceProvider:
    """The adapter named by ``FACE_PROVIDER``; the development one never runs in production."""
    if settings.FACE_PROVIDER == "http":
        return HttpFaceProvider(settings.FACE_PROVIDER_URL, settings.FACE_PROVIDER_APP_ID,
                                settings.FACE_PROVIDER_SECRET)
    if settings.FACE_PROVIDER == "development":
        if settings.is_production:
            raise SystemExit("IDP_FACE_PROVIDER=development cannot be used in production: configure 'http'")
        from idp.dev.face_provider import DevelopmentFaceProvider

        return DevelopmentFaceProvider()
    raise SystemExit(f"unknown IDP_FACE_PROVIDER {settings.FACE_PROVIDER!r}: use 'development' or 'http'")


FACE_PROVIDER_EXTENSION = "idp.face_provider"


def current_face_provider() -> FaceProvider:
    """The current app's face-verification provider."""
    return current_app.extensions[FACE_PROVIDER_EXTENSION]
