"""requests-oauthlib at its defaults: ``OAuth2Session`` with ``pkce="S256"``, the secret sent
with HTTP Basic. It is an OAuth 2 library: it neither reads discovery nor validates ID tokens,
and has no logout or device grant; endpoints come from discovery by hand, the logout URL is
built from it. Driven by tests/test_interop.py through lines.py."""

from __future__ import annotations

import os
from urllib.parse import urlencode

import requests
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from lines import SETTINGS, emit, read_line

# oauthlib refuses plain http unless told: the test provider is http on loopback.
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

metadata = requests.get(f"{SETTINGS['OIDC_ISSUER']}/.well-known/openid-configuration", timeout=10).json()
client_id, client_secret = SETTINGS["OIDC_CLIENT_ID"], SETTINGS["OIDC_CLIENT_SECRET"]
session = OAuth2Session(client_id, redirect_uri=SETTINGS["OIDC_REDIRECT_URI"], scope=["openid", "profile", "phone"],
                        pkce="S256")
authorization_url, state = session.authorization_url(metadata["authorization_endpoint"])
emit({"authorization_url": authorization_url})

tokens = session.fetch_token(metadata["token_endpoint"], authorization_response=read_line(),
                             client_secret=client_secret)
# Refreshing a confidential client's token needs its credentials passed again.
refreshed = session.refresh_token(metadata["token_endpoint"], auth=HTTPBasicAuth(client_id, client_secret))
userinfo = session.get(metadata["userinfo_endpoint"], timeout=10)
userinfo.raise_for_status()

emit({"logout_url": metadata["end_session_endpoint"] + "?" + urlencode({
    "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SETTINGS["OIDC_POST_LOGOUT_REDIRECT_URI"],
    "state": "logged-out"})})
read_line()

emit({"result": {
    "issuer": metadata["issuer"],
    "id_token_alg": None,
    "id_token_claims": None,
    "refreshed_id_token_claims": None,
    "refreshed": bool(refreshed.get("access_token")),
    "userinfo": userinfo.json(),
    "device_id_token_claims": None,
}})
