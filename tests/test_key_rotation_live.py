"""Keys rotate (docs/architecture.md §8) under a 2-worker gunicorn while a relying party keeps validating
ID tokens with a JWKS cached exactly as long as the provider's cache headers allow.

Zero verification failures may happen for tokens of non-revoked keys; tokens of the revoked
key must fail (at the relying party once its cache expires, at introspection and userinfo at once).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.core.settings import current_settings

from conftest import PASSWORD, PHONE, authorization_request, hidden_value, last_sms_code, query_of, register_client

JWKS_MAX_AGE = 3
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CachingRelyingParty:
    """Fetches the JWKS again only when the provider's max-age has run out (never on an unknown kid)."""

    def __init__(self, jwks_uri: str):
        self.jwks_uri = jwks_uri
        self.keys: KeySet | None = None
        self.expires = 0.0
        self.etag: str | None = None
        self.fetches = 0

    def _keys(self) -> KeySet:
        if self.keys is None or time.monotonic() >= self.expires:
            headers = {"If-None-Match": self.etag} if self.etag else {}
            response = requests.get(self.jwks_uri, headers=headers, timeout=30)
            if response.status_code != 304:
                assert response.headers["Content-Type"] == "application/jwk-set+json"
                self.keys = KeySet.import_key_set(response.json())
                self.etag = response.headers.get("ETag", "").strip('"') or None
            max_age = int(re.search(r"max-age=(\d+)", response.headers["Cache-Control"]).group(1))
            self.expires = time.monotonic() + max_age
            self.fetches += 1
        return self.keys

    def verify(self, id_token: str) -> bool:
        try:
            jwt.decode(id_token, self._keys(), algorithms=["ES256"])
            return True
        except (JoseError, ValueError):
            return False


def kid_of(token: str) -> str:
    return jws.extract_compact(token.encode()).headers()["kid"]


@pytest.fixture
def live_provider(app, database_url, instance_dir, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "IDP_ISSUER": f"http://127.0.0.1:{port}",
        "IDP_DATABASE_URL": database_url,
        "IDP_INSTANCE_DIR": str(instance_dir),
        "IDP_KEYS_DIR": str(tmp_path / "keys"),
        "IDP_SMS_OUTBOX": str(current_settings(app).sms_outbox_path),
        "IDP_PASSWORD_HASH_PROFILE": "test",
        "IDP_JWKS_MAX_AGE": str(JWKS_MAX_AGE),
        "IDP_KEYRING_REFRESH_SECONDS": "1",
    }
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "idp.app:create_app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = env["IDP_ISSUER"]
    # A deadline, not a number of tries: on a busy machine (CI runs two passes at once) gunicorn
    # and its workers can take many seconds to start.
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/.well-known/openid-configuration", timeout=30).ok:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail("provider did not start: " + server.stderr.read().decode()[-2000:])
        time.sleep(0.1)
    yield base, env
    server.terminate()
    server.wait(10)


def idp_command(env: dict, *args: str) -> str:
    result = subprocess.run([str(BIN / "idp"), *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def log_in(app, base: str, rp) -> dict:
    """The browser side over HTTP: login pages, then the code for tokens."""
    browser = requests.Session()
    request = authorization_request(rp)
    page = browser.get(f"{base}/authorize", params=request.params, timeout=30)
    html = page.text
    sent = browser.post(f"{base}/login", data={"csrf_token": hidden_value(html, "csrf_token"),
                                               "interaction": hidden_value(html, "interaction"),
                                               "identifier": "zhangsan", "password": PASSWORD}, timeout=30)
    code_page = sent.text
    back = browser.post(f"{base}/login/sms", allow_redirects=False, timeout=30, data={
        "csrf_token": hidden_value(code_page, "csrf_token"), "code": last_sms_code(app, PHONE)})
    done = browser.get(base + back.headers["Location"], allow_redirects=False, timeout=30)
    code = query_of(done.headers["Location"])["code"]
    tokens = requests.post(f"{base}/token", headers=rp.basic_auth, timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
        "code_verifier": request.verifier})
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def test_rotating_twice_and_revoking_never_fails_a_token_of_a_live_key(app, person, live_provider):
    base, env = live_provider
    # ES256 ID tokens: one revoked key then kills this client's ID and access tokens alike.
    rp = register_client(app, id_token_alg="ES256")
    relying_party = CachingRelyingParty(f"{base}/jwks.json")
    tokens = log_in(app, base, rp)
    seen: list[tuple[float, str, str, bool, str]] = []  # (time, kid, access token, verified, id token)
    stop = threading.Event()
    errors: list[str] = []

    def refresh_forever() -> None:
        refresh_token = tokens["refresh_token"]
        while not stop.is_set():
            response = requests.post(f"{base}/token", headers=rp.basic_auth, timeout=30,
                                     data={"grant_type": "refresh_token", "refresh_token": refresh_token})
            if response.status_code != 200:
                errors.append(response.text)
                return
            body = response.json()
            refresh_token = body["refresh_token"]
            seen.append((time.monotonic(), kid_of(body["id_token"]), body["access_token"],
                         relying_party.verify(body["id_token"]), body["id_token"]))
            time.sleep(0.02)

    worker = threading.Thread(target=refresh_forever)
    worker.start()
    try:
        time.sleep(JWKS_MAX_AGE + 0.5)
        idp_command(env, "keys", "rotate")
        time.sleep(JWKS_MAX_AGE + 1)
        idp_command(env, "keys", "rotate")
        time.sleep(JWKS_MAX_AGE + 1)
        active = [k for k in json.loads(idp_command(env, "keys", "list", "--json"))
                  if k["alg"] == "ES256" and k["state"] == "active"]
        assert len(active) == 1, idp_command(env, "keys", "list")
        revoked_kid = active[0]["kid"]
        idp_command(env, "keys", "revoke", revoked_kid, "--yes-revoke-now")
        revoked_at = time.monotonic()
        time.sleep(JWKS_MAX_AGE + 1)
    finally:
        stop.set()
        worker.join(20)
    assert not errors, errors[:1]
    assert len({entry[1] for entry in seen}) >= 4, "every rotation must reach both workers without a restart"

    # Tokens of keys that were never revoked: not one verification failure.
    live = [entry for entry in seen if entry[1] != revoked_kid]
    assert live and all(entry[3] for entry in live), [e[1] for e in live if not e[3]][:3]

    # The revoked key: nothing signed with it after the revocation reached the workers (1 s) ...
    late = [entry for entry in seen if entry[1] == revoked_kid and entry[0] > revoked_at + 1.5]
    assert not late
    # ... its access tokens are dead at once for introspection and userinfo ...
    revoked_tokens = [entry[2] for entry in seen if entry[1] == revoked_kid]
    assert revoked_tokens, "the revoked key must have signed tokens during the run"
    introspection_client = register_client(app, name="API", grant_types=["client_credentials"], redirect_uris=[])
    answer = requests.post(f"{base}/introspect", headers=introspection_client.basic_auth,
                           data={"token": revoked_tokens[-1]}, timeout=30).json()
    assert answer == {"active": False}
    assert requests.get(f"{base}/userinfo", headers={"Authorization": f"Bearer {revoked_tokens[-1]}"},
                        timeout=30).status_code == 401
    # ... and once the relying party's cache expires, its ID tokens no longer verify there.
    jwks_now = requests.get(f"{base}/jwks.json", timeout=30).json()
    assert revoked_kid not in {k["kid"] for k in jwks_now["keys"]}
    revoked_id_token = next(entry[4] for entry in seen if entry[1] == revoked_kid)
    assert relying_party.verify(revoked_id_token) is False
    assert relying_party.fetches >= 4
