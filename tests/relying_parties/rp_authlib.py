"""authlib's Flask client at its defaults, as docs/integration.md section 10 shows it: ``register``
with the discovery URL and ``code_challenge_method="S256"``; ``authorize_access_token`` checks
state and the ID token (signature from the JWKS, iss, aud, exp, nonce). It has no logout or
device grant helper: the logout URL is built from discovery. The relying party is a Flask app
driven through its test client. Driven by tests/test_interop.py through lines.py."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

from authlib.integrations.flask_client import OAuth
from flask import Flask, jsonify
from joserfc import jws

from lines import SETTINGS, emit, read_line

app = Flask(__name__)
app.secret_key = secrets.token_hex(32)
oauth = OAuth(app)
oauth.register("qdtax", server_metadata_url=f"{SETTINGS['OIDC_ISSUER']}/.well-known/openid-configuration",
               client_id=SETTINGS["OIDC_CLIENT_ID"], client_secret=SETTINGS["OIDC_CLIENT_SECRET"],
               client_kwargs={"scope": "openid profile phone", "code_challenge_method": "S256"})


@app.get("/login")
def login():
    return oauth.qdtax.authorize_redirect(SETTINGS["OIDC_REDIRECT_URI"])


@app.get("/callback")
def callback():
    token = oauth.qdtax.authorize_access_token()
    refreshed = oauth.qdtax.fetch_access_token(grant_type="refresh_token", refresh_token=token["refresh_token"])
    refreshed_claims = oauth.qdtax.parse_id_token(refreshed, nonce=None)
    userinfo = oauth.qdtax.userinfo(token=refreshed)
    return jsonify(id_token=token["id_token"], id_token_claims=token["userinfo"],
                   refreshed_id_token_claims=refreshed_claims, userinfo=userinfo)


browser = app.test_client()
emit({"authorization_url": browser.get("/login").headers["Location"]})
answer = browser.get("/callback?" + urlsplit(read_line()).query)
assert answer.status_code == 200, answer.get_data(as_text=True)
result = answer.get_json()

metadata = oauth.qdtax.load_server_metadata()
emit({"logout_url": metadata["end_session_endpoint"] + "?" + urlencode({
    "id_token_hint": result["id_token"], "post_logout_redirect_uri": SETTINGS["OIDC_POST_LOGOUT_REDIRECT_URI"],
    "state": "logged-out"})})
read_line()

emit({"result": {
    "issuer": metadata["issuer"],
    "id_token_alg": jws.extract_compact(result["id_token"].encode()).headers()["alg"],
    "id_token_claims": result["id_token_claims"],
    "refreshed_id_token_claims": result["refreshed_id_token_claims"],
    "userinfo": result["userinfo"],
    "device_id_token_claims": None,
}})
