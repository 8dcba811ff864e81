"""A stand-in for the bureau's mobile app, for demos and tests: it speaks only HTTP to a running
provider, as the real app would (docs/architecture.md §6).

It logs in like any native client (authorization code + PKCE through the provider's own login
pages: password, then the SMS code read from the development outbox, or a face check on the
development face provider), then scans and approves or denies a QR code through the approval API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

#: Scopes the app asks for: who it is, and the right to approve QR logins.
APP_SCOPE = "openid profile qr:approve"
USER_CODE = re.compile(r"^[A-Za-z]{4}-?[A-Za-z]{4}$")
MAX_HOPS = 20


class AppSimulatorError(RuntimeError):
    """The provider refused a step; the message names the step and the provider's answer."""


def _hidden(html: str, name: str) -> str | None:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    return unescape(match.group(1)) if match else None


def _form_action(html: str) -> str | None:
    match = re.search(r'<form method="post"(?: action="([^"]*)")?', html)
    return unescape(match.group(1) or "") if match else None


@dataclass
class AppSession:
    """The app's login: its tokens (the access token carries ``qr:approve``)."""

    access_token: str
    refresh_token: str | None
    id_token: str | None


class MobileAppSimulator:
    def __init__(self, *, issuer: str, client_id: str, redirect_uri: str, sms_outbox: Path,
                 http: requests.Session | None = None, timeout: float = 10.0):
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.sms_outbox = Path(sms_outbox)
        self.http = http or requests.Session()
        self.timeout = timeout
        self.session: AppSession | None = None
        #: Where the outbox ended before the password step: the login's SMS code comes after it.
        self._outbox_offset = 0

    # --- HTTP ------------------------------------------------------------------------------------

    def _url(self, location: str) -> str:
        return urljoin(self.issuer + "/", location)

    def _get(self, location: str) -> requests.Response:
        return self.http.get(self._url(location), allow_redirects=False, timeout=self.timeout)

    def _post(self, location: str, **kwargs) -> requests.Response:
        return self.http.post(self._url(location), allow_redirects=False, timeout=self.timeout, **kwargs)

    @staticmethod
    def _expect_redirect(response: requests.Response, step: str) -> str:
        if response.status_code not in (302, 303):
            raise AppSimulatorError(f"{step}: HTTP {response.status_code}")
        return response.headers["Location"]

    # --- login -----------------------------------------------------------------------------------

    def login(self, identifier: str, password: str, *, face: bool = False, business: str | None = None,
              entity: str | None = None) -> AppSession:
        """Log in through ``/authorize`` and the login pages; returns the app's tokens."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(12)
        params = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                  "scope": APP_SCOPE, "state": state, "nonce": secrets.token_urlsafe(12),
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        if business:
            params["business_entry"] = business
        response = self.http.get(self._url("/authorize"), params=params, allow_redirects=False, timeout=self.timeout)
        location = self._expect_redirect(response, "authorize")
        location = self._password_step(location, identifier, password)
        location = self._face_step() if face else self._sms_step()
        code = self._follow_to_callback(location, state, entity)
        token = self.http.post(self._url("/token"), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "client_id": self.client_id, "code_verifier": verifier}, timeout=self.timeout)
        if token.status_code != 200:
            raise AppSimulatorError(f"token: {token.text}")
        body = token.json()
        self.session = AppSession(body["access_token"], body.get("refresh_token"), body.get("id_token"))
        return self.session

    def _password_step(self, location: str, identifier: str, password: str) -> str:
        page = self._get(location)
        outbox_size = self.sms_outbox.stat().st_size if self.sms_outbox.exists() else 0
        response = self._post("/login", data={
            "csrf_token": _hidden(page.text, "csrf_token"), "interaction": _hidden(page.text, "interaction") or "",
            "identifier": identifier, "password": password})
        self._outbox_offset = outbox_size
        return self._expect_redirect(response, "password")

    def _new_sms_code(self) -> str:
        """The code the provider just sent: the newest outbox line written since the password step."""
        with self.sms_outbox.open("rb") as outbox:
            outbox.seek(self._outbox_offset)
            lines = [json.loads(line) for line in outbox.read().decode("utf-8").splitlines() if line.strip()]
        if not lines:
            raise AppSimulatorError(f"sms: no code in {self.sms_outbox}")
        return lines[-1]["code"]

    def _sms_step(self) -> str:
        page = self._get("/login/sms")
        response = self._post("/login/sms", data={"csrf_token": _hidden(page.text, "csrf_token"),
                                                  "code": self._new_sms_code()})
        return self._expect_redirect(response, "sms")

    def _face_step(self) -> str:
        response = self._get("/login/face")
        if response.status_code == 200:  # first face check: the separate consent (PIPL) is given
            action = _form_action(response.text) or "/login/face/consent"
            consented = self._post(action, data={"csrf_token": _hidden(response.text, "csrf_token")})
            response = self._get(self._expect_redirect(consented, "face consent"))
        scan_page_url = self._expect_redirect(response, "face")
        scan_page = self._get(scan_page_url)
        # The development provider's page: the person passes the scan.
        passed = self._post(scan_page_url, data={"csrf_token": _hidden(scan_page.text, "csrf_token"),
                                                 "outcome": "pass"})
        back = self._get(self._expect_redirect(passed, "face scan"))
        return self._expect_redirect(back, "face result")

    def _follow_to_callback(self, location: str, state: str, entity: str | None) -> str:
        """Follow the provider's redirects (role review, taxpayer choice) to the app's callback."""
        for _ in range(MAX_HOPS):
            if location.startswith(self.redirect_uri):
                query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                if query.get("state") != state or "code" not in query:
                    raise AppSimulatorError(f"authorize: {query.get('error', 'no code')}")
                return query["code"]
            response = self._get(location)
            if response.status_code == 200 and 'name="choice"' in response.text:
                response = self._choose(response.text, entity)
            location = self._expect_redirect(response, f"login ({urlsplit(location).path})")
        raise AppSimulatorError("authorize: too many redirects")

    def _choose(self, html: str, entity: str | None) -> requests.Response:
        choices = re.findall(r'<label class="choice"><input type="radio" name="choice" value="([^"]*)"[^>]*>'
                             r'(.*?)</label>', html, flags=re.S)
        picked = next((key for key, label in choices if entity and entity in label), None)
        if picked is None:
            if entity or not choices:
                raise AppSimulatorError(f"select: no taxpayer {entity or ''} to act for")
            picked = choices[0][0]
        return self._post("/select", data={"csrf_token": _hidden(html, "csrf_token"),
                                           "interaction": _hidden(html, "interaction") or "",
                                           "business": _hidden(html, "business") or "", "choice": unescape(picked)})

    # --- the approval API ------------------------------------------------------------------------

    def _call(self, action: str, code: str) -> dict:
        if self.session is None:
            raise AppSimulatorError(f"{action}: log in first")
        body = {"user_code": code} if USER_CODE.match(code) else {"payload": code}
        response = self.http.post(self._url(f"/api/qr/{action}"), json=body, timeout=self.timeout,
                                  headers={"Authorization": f"Bearer {self.session.access_token}"})
        answer = response.json()
        if response.status_code != 200:
            raise AppSimulatorError(f"{action}: {answer.get('error')}: {answer.get('message')}")
        return answer

    def scan(self, code: str) -> dict:
        """Scan a payload (or type a user code): the answer says who asks, from where, when."""
        return self._call("scan", code)

    def approve(self, code: str) -> dict:
        return self._call("approve", code)

    def deny(self, code: str) -> dict:
        return self._call("deny", code)
