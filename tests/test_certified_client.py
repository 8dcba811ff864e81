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
from urllib.parse import urljoin

import pytest
import requests

from conftest import PASSWORD, csrf_from, hidden_value, register_client
from e2e.live_provider import LiveProvider

CLIENT_DIR = Path(__file__).parent / "certified_client"
SCRIPT = CLIENT_DIR / "rp.mjs"
#: Nothing listens here: the library only needs the callback URL the browser was sent to.
REDIRECT_URI = "https://rp.test/callback"


def follow_until(browser: requests.Session, url: str, stop_prefix: str) -> requests.Response | str:
    """GET ``url`` following redirects by hand; the first target starting with ``stop_prefix``
    is returned unfetched, otherwise the final response."""
    response = browser.get(url, allow_redirects=False, timeout=10)
    while response.is_redirect:
        target = urljoin(response.url, response.headers["Location"])
        if target.startswith(stop_prefix):
            return target
        response = browser.get(target, allow_redirects=False, timeout=10)
    return response


def log_in_over_http(provider: LiveProvider, authorization_url: str, identifier: str = "zhangsan",
                     password: str = PASSWORD) -> str:
    """What the person's browser does, page by page: password, then the SMS code from the
    outbox.  Returns the callback URL the provider redirects to."""
    with requests.Session() as browser:
        return log_in_as_browser(browser, provider, authorization_url, REDIRECT_URI, identifier, password)


def log_in_as_browser(browser: requests.Session, provider: LiveProvider, authorization_url: str, redirect_uri: str,
                      identifier: str = "zhangsan", password: str = PASSWORD) -> str:
    """:func:`log_in_over_http` in a browser session the caller keeps (for a logout after it)."""
    page = follow_until(browser, authorization_url, redirect_uri)
    assert isinstance(page, requests.Response) and page.status_code == 200, page
    assert page.url.startswith(f"{provider.url}/login?"), page.url
    posted = browser.post(f"{provider.url}/login", allow_redirects=False, timeout=10, data={
        "csrf_token": csrf_from(page.text), "interaction": hidden_value(page.text, "interaction"),
        "identifier": identifier, "password": password,
    })
    assert posted.status_code == 302, posted.text
    sms_page = browser.get(urljoin(posted.url, posted.headers["Location"]), timeout=10)
    assert sms_page.status_code == 200, sms_page.text
    posted = browser.post(f"{provider.url}/login/sms", allow_redirects=False, timeout=10, data={
        "csrf_token": csrf_from(sms_page.text), "code": provider.last_sms_code(),
    })
    assert posted.status_code == 302, posted.text
    callback = follow_until(browser, urljoin(posted.url, posted.headers["Location"]), redirect_uri)
    assert isinstance(callback, str), f"no redirect to {redirect_uri}: {callback.status_code} {callback.text}"
    return callback


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
        callback_url = log_in_over_http(provider, authorization_url)
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
