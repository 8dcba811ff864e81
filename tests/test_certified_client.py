"""An OpenID-certified relying party library (panva's openid-client 6, on Node) accepts the provider.

openid-client does every check a careful relying party does (discovery, state, RFC 9207 ``iss``,
PKCE, the ID token's signature and claims, userinfo ``sub``); this test plays the person's
browser over HTTP and asserts what the library accepted.  ``bash .ci/test`` installs the
library with ``npm ci --prefix tests/certified_client``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import register_client
from e2e.live_provider import LiveProvider
from http_browser import log_in_over_http

CLIENT_DIR = Path(__file__).parent / "certified_client"
SCRIPT = CLIENT_DIR / "rp.mjs"
#: Nothing listens here: the library only needs the callback URL the browser was sent to.
REDIRECT_URI = "https://rp.test/callback"


def node_executable() -> str:
    """Node and the installed library; missing ones fail the test (a skip would hide them in CI)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; `bash .ci/test` installs Debian's nodejs and npm")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.fail(f"openid-client 6 needs Node.js 20 or newer, found {version} (Debian 12 ships 18)")
    if not (CLIENT_DIR / "node_modules" / "openid-client" / "package.json").exists():
        pytest.fail("openid-client is not installed; run `npm ci --prefix tests/certified_client` "
                    "(`bash .ci/test` does)")
    return node


def read_json_line(process: subprocess.Popen, timeout: float) -> dict:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        _, stderr = process.communicate(timeout=10)
        pytest.fail(f"openid-client gave no answer (exit {process.returncode}):\n{stderr}")
    return json.loads(line)


def run_relying_party(provider: LiveProvider, client_id: str, client_secret: str) -> dict:
    """Run rp.mjs: it prints an authorization URL, gets the callback URL back, prints results."""
    env = {**os.environ, "OIDC_ISSUER": provider.url, "OIDC_CLIENT_ID": client_id,
           "OIDC_CLIENT_SECRET": client_secret, "OIDC_REDIRECT_URI": REDIRECT_URI}
    process = subprocess.Popen([node_executable(), str(SCRIPT)], cwd=CLIENT_DIR, env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        authorization_url = read_json_line(process, timeout=30)["authorization_url"]
        callback_url = log_in_over_http(provider.url, authorization_url, REDIRECT_URI, provider.last_sms_code)
        stdout, stderr = process.communicate(callback_url + "\n", timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, f"openid-client refused the provider:\n{stderr}"
    return json.loads(stdout)


def test_certified_client_completes_code_flow_refresh_userinfo_and_revocation(live_provider: LiveProvider,
                                                                               person: dict):
    """OIDC Core 3.1 (code flow), 12 (refresh), 5.3 (userinfo), RFC 7009 and RFC 7662, all as
    checked by openid-client 6; any check it refuses fails the run."""
    registered = register_client(live_provider.app, name="认证客户端", redirect_uris=[REDIRECT_URI])
    logged_in_before = int(time.time())

    result = run_relying_party(live_provider, registered.client_id, registered.client_secret)

    assert result["server_issuer"] == live_provider.url
    claims = result["id_token_claims"]
    assert claims["iss"] == live_provider.url
    assert claims["sub"] == person["sub"]
    assert registered.client_id in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])
    assert claims["acr"] == "urn:qdtax:loa:2"
    assert claims["amr"] == ["pwd", "sms", "mfa"]
    assert logged_in_before - 5 <= claims["auth_time"] <= int(time.time()) + 5

    refreshed = result["refreshed_id_token_claims"]
    assert refreshed["sub"] == claims["sub"]
    assert refreshed["auth_time"] == claims["auth_time"], "a refresh is not a new login (OIDC Core 12.2)"
    assert refreshed["acr"] == claims["acr"] and refreshed["amr"] == claims["amr"]
    assert result["refresh_token_rotated"] is True

    assert result["userinfo"]["sub"] == person["sub"]
    assert result["userinfo"]["name"] == "张三"

    assert result["introspection_before_revocation"]["active"] is True
    assert result["introspection_before_revocation"]["sub"] == person["sub"]
    assert result["refresh_token_after_revocation"] == {"active": False}
    # RFC 7009 section 2.1: revoking the refresh token ends the grant, its access tokens too.
    assert result["access_token_after_revocation"] == {"active": False}
