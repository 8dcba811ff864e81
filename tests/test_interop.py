"""Relying-party libraries at their defaults complete every flow they have against the served
provider: discovery, code + PKCE, ID token validation, refresh, userinfo,
RP-initiated logout, and the device grant where the library has one.

Each library runs as its own process (tests/certified_client/interop_*.mjs on Node,
tests/relying_parties/rp_*.py on Python) speaking a line protocol: it prints the authorization
URL, gets the callback URL this test's "browser" reached after logging in, prints the logout URL
its library built, and for the device grant the codes, which the bureau app simulator approves.
Each client is registered with nothing but the library's own default client authentication
method; any check a library refuses fails the test. docs/integration.md section 9 has the table.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from test_certified_client import node_executable

from idp.core.settings import current_settings
from idp.dev.app_simulator import MobileAppSimulator

from conftest import PASSWORD, register_client
from e2e.live_provider import LiveProvider
from http_browser import log_in_over_http
from qr_steps import APP_REDIRECT, DEVICE_GRANT, register_bureau_app

TESTS = Path(__file__).parent
REDIRECT_URI = "https://rp.test/callback"
POST_LOGOUT_REDIRECT_URI = "https://rp.test/logged-out"


@dataclass(frozen=True)
class Library:
    name: str
    script: Path
    #: The client authentication the library uses unless told otherwise.
    auth_method: str
    has_device_grant: bool

    def command(self) -> list[str]:
        if self.script.suffix == ".mjs":
            return [node_executable(), str(self.script)]
        return [sys.executable, str(self.script)]


LIBRARIES = [
    Library("openid-client 5", TESTS / "certified_client" / "interop_openid_client_v5.mjs", "client_secret_basic",
            True),
    Library("openid-client 6", TESTS / "certified_client" / "interop_openid_client_v6.mjs", "client_secret_post",
            True),
    Library("oauth4webapi", TESTS / "certified_client" / "interop_oauth4webapi.mjs", "client_secret_basic", True),
    Library("oic (pyoidc)", TESTS / "relying_parties" / "rp_oic.py", "client_secret_basic", False),
    Library("requests-oauthlib", TESTS / "relying_parties" / "rp_requests_oauthlib.py", "client_secret_basic",
            False),
    Library("authlib", TESTS / "relying_parties" / "rp_authlib.py", "client_secret_basic", False),
]


class RelyingPartyProcess:
    def __init__(self, library: Library, env: dict):
        self.library = library
        self.process = subprocess.Popen(library.command(), cwd=library.script.parent, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def read(self, timeout: float = 60) -> dict:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.process.kill()
            _, stderr = self.process.communicate(timeout=10)
            pytest.fail(f"{self.library.name} stopped (exit {self.process.returncode}):\n{stderr[-4000:]}")
        return json.loads(line)

    def answer(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def phone(live_provider, person) -> MobileAppSimulator:
    bureau_app = register_bureau_app(live_provider.app)
    simulator = MobileAppSimulator(issuer=live_provider.url, client_id=bureau_app.client_id, redirect_uri=APP_REDIRECT,
                                   sms_outbox=current_settings(live_provider.app).sms_outbox_path)
    simulator.login(person["username"], PASSWORD)
    return simulator


def run_library(library: Library, provider: LiveProvider, phone: MobileAppSimulator) -> tuple[dict, dict]:
    """Drive one library through every flow; returns its result and what the browser saw at logout."""
    grant_types = ["authorization_code", "refresh_token", *([DEVICE_GRANT] if library.has_device_grant else [])]
    registered = register_client(provider.app, name=f"互操作 {library.name}", redirect_uris=[REDIRECT_URI],
                                 post_logout_redirect_uris=[POST_LOGOUT_REDIRECT_URI], grant_types=grant_types,
                                 auth_method=library.auth_method)
    env = {**os.environ, "OIDC_ISSUER": provider.url, "OIDC_CLIENT_ID": registered.client_id,
           "OIDC_CLIENT_SECRET": registered.client_secret, "OIDC_REDIRECT_URI": REDIRECT_URI,
           "OIDC_POST_LOGOUT_REDIRECT_URI": POST_LOGOUT_REDIRECT_URI}
    rp = RelyingPartyProcess(library, env)
    seen: dict = {}
    try:
        with requests.Session() as browser:
            rp.answer(log_in_over_http(provider.url, rp.read()["authorization_url"], REDIRECT_URI,
                                       provider.last_sms_code, browser=browser))
            logout_url = rp.read()["logout_url"]
            seen["logout_redirect"] = follow_logout(browser, logout_url)
            seen["session_after_logout"] = browser.get(f"{provider.url}/account", allow_redirects=False,
                                                       timeout=10).status_code
            rp.answer("done")
        message = rp.read()
        if "device" in message:
            payload = message["device"]["verification_uri_complete"]
            phone.scan(payload)
            phone.approve(payload)
            rp.answer("approved")
            message = rp.read(timeout=120)
        rp.process.wait(timeout=30)
    finally:
        rp.stop()
    assert rp.process.returncode == 0, rp.process.stderr.read()[-4000:]
    return message["result"], seen


def follow_logout(browser: requests.Session, url: str) -> str:
    """GET the library's logout URL with the person's browser; returns where it was sent."""
    response = browser.get(url, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text[:500]
    return urljoin(url, response.headers["Location"])


@pytest.mark.parametrize("library", LIBRARIES, ids=[library.name for library in LIBRARIES])
def test_library_at_its_defaults_completes_every_flow_it_has(live_provider: LiveProvider, phone, person, library):
    logged_in_before = int(time.time())
    result, seen = run_library(library, live_provider, phone)

    assert result["issuer"] == live_provider.url
    claims = result["id_token_claims"]
    if claims is not None:  # requests-oauthlib does not read ID tokens
        assert result["id_token_alg"] == "RS256"
        assert claims["iss"] == live_provider.url and claims["sub"] == person["sub"]
        assert claims["acr"] == "urn:qdtax:loa:2" and claims["amr"] == ["pwd", "sms", "mfa"]
        assert logged_in_before - 5 <= claims["auth_time"] <= int(time.time()) + 5
        refreshed = result["refreshed_id_token_claims"]
        assert refreshed["sub"] == claims["sub"] and refreshed["auth_time"] == claims["auth_time"]
    assert result["userinfo"]["sub"] == person["sub"] and result["userinfo"]["name"] == "张三"

    assert seen["logout_redirect"].startswith(POST_LOGOUT_REDIRECT_URI + "?")
    assert "state=logged-out" in seen["logout_redirect"]
    assert seen["session_after_logout"] == 302, "the provider session must have ended"

    if library.has_device_grant:
        device = result["device_id_token_claims"]
        assert device["sub"] == person["sub"] and "mca" in device["amr"]
