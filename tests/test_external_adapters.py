"""The HTTP adapters for services unreachable here (SMS gateway, face provider) sign their
requests and turn any failure into a clear error, checked against a local stand-in server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from idp.factors.face_provider import FaceProviderError, HttpFaceProvider
from idp.factors.sms_gateway import HttpGateway, SmsDeliveryFailed, SmsMessage

SECRET = "s3cret"


class StandIn:
    """A loopback HTTP server that records requests and answers from a table."""

    def __init__(self, answers: dict[tuple[str, str], tuple[int, dict]]):
        self.answers = answers
        self.requests: list[Request] = []
        self.bodies: list[bytes] = []
        self.server = make_server("127.0.0.1", 0, self._app)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _app(self, environ, start_response):
        request = Request(environ)
        self.requests.append(request)
        self.bodies.append(request.get_data())
        status, body = self.answers.get((request.method, request.path), (404, {}))
        return Response(json.dumps(body), status=status, content_type="application/json")(environ, start_response)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()


def test_sms_gateway_signs_body_and_sends_an_idempotency_key():
    with StandIn({("POST", "/send"): (200, {"ok": True})}) as stand_in:
        HttpGateway(stand_in.url + "/send", SECRET).send(
            SmsMessage(phone="13812345678", text="验证码123456", code="123456", idempotency_key="sms-1-abc"))
    request, body = stand_in.requests[0], stand_in.bodies[0]
    expected = hmac.new(SECRET.encode(), request.headers["X-Timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Signature"], expected)
    assert request.headers["Idempotency-Key"] == "sms-1-abc"
    assert json.loads(body) == {"phone": "13812345678", "text": "验证码123456"}


def test_sms_gateway_failure_is_a_clear_error():
    with StandIn({("POST", "/send"): (503, {})}) as stand_in, pytest.raises(SmsDeliveryFailed, match="503"):
        HttpGateway(stand_in.url + "/send", SECRET).send(SmsMessage("13812345678", "t", "1", "k"))


def test_face_provider_signs_requests_and_parses_its_result():
    result = {"session_id": "S1", "status": "completed", "doc_type": "ID_CARD", "doc_number": "11010519491231002X",
              "liveness_passed": True, "similarity": 0.91, "completed_at": 1_800_000_000, "result_ref": "R-9"}
    answers = {("POST", "/api/sessions"): (200, {"session_id": "S1", "expires_at": 1_800_000_300,
                                                 "url": "https://face.example/scan/S1"}),
               ("GET", "/api/sessions/S1/result"): (200, result)}
    with StandIn(answers) as stand_in:
        provider = HttpFaceProvider(stand_in.url + "/api", "app-1", SECRET)
        started = provider.start(name="张三", doc_type="ID_CARD", doc_number="11010519491231002X",
                                 return_url="https://idp.example/login/face/return?check=C")
        fetched = provider.fetch_result("S1")
    assert started.url == "https://face.example/scan/S1"
    assert fetched.similarity == 0.91 and fetched.liveness_passed and fetched.result_ref == "R-9"
    for request, body in zip(stand_in.requests, stand_in.bodies, strict=True):
        path = request.path.removeprefix("/api")
        message = f"{request.headers['X-Timestamp']}.{request.method} {path}.".encode() + body
        assert request.headers["X-App-Id"] == "app-1"
        assert request.headers["X-Signature"] == hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("answer", [(500, {}), (200, {"session_id": "S1"})])
def test_face_provider_errors_and_malformed_answers_are_clear_errors(answer):
    with StandIn({("GET", "/sessions/S1/result"): answer}) as stand_in, pytest.raises(FaceProviderError):
        HttpFaceProvider(stand_in.url, "app-1", SECRET).fetch_result("S1")
