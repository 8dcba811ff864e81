"""A stand-in SMS gateway on loopback: it accepts what ``idp.factors.sms_gateway.HttpGateway``
sends and remembers the last code per phone, so the login driver can type it in.

``POST /`` takes the gateway's JSON body ``{"phone", "text"}`` signed with HMAC-SHA256 over
``timestamp + "." + body`` (headers ``X-Timestamp``, ``X-Signature``); an unsigned or
wrongly signed message is refused with 401, as a real gateway would.
``GET /last-code?phone=…`` answers ``{"code": "123456"}`` or 404.

Run as ``python bench/sms_sink.py --port 8099 --secret S``; it prints ``ready`` when listening.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

#: The code is the only run of exactly six digits in the message text.
CODE_PATTERN = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class CodeBook:
    """Last code per phone, shared by the handler threads."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}
        self._lock = threading.Lock()
        self.received = 0

    def record(self, phone: str, code: str) -> None:
        with self._lock:
            self._codes[phone] = code
            self.received += 1

    def last(self, phone: str) -> str | None:
        with self._lock:
            return self._codes.get(phone)


def make_handler(book: CodeBook, secret: bytes) -> type[BaseHTTPRequestHandler]:
    class SinkHandler(BaseHTTPRequestHandler):
        # Keep-alive lets the login driver reuse one connection per virtual user.
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            """Quiet: a log line per SMS would cost more than the SMS."""

        def _answer(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            timestamp = self.headers.get("X-Timestamp", "")
            expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
                self._answer(401, {"error": "bad signature"})
                return
            try:
                message = json.loads(body)
                phone, text = message["phone"], message["text"]
            except (ValueError, KeyError, TypeError):
                self._answer(400, {"error": "expected JSON with phone and text"})
                return
            found = CODE_PATTERN.search(text)
            if not found:
                self._answer(400, {"error": "no 6-digit code in text"})
                return
            book.record(phone, found.group(1))
            self._answer(200, {"accepted": True})

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/stats":
                self._answer(200, {"received": book.received})
                return
            phone = parse_qs(url.query).get("phone", [""])[0]
            code = book.last(phone) if url.path == "/last-code" else None
            if code is None:
                self._answer(404, {"error": "no code for this phone"})
            else:
                self._answer(200, {"code": code})

    return SinkHandler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(CodeBook(), args.secret.encode()))
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
