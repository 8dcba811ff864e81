"""A small relying party, the way an e-tax web app would be written with authlib's Flask client.

It learns everything from discovery, sends PKCE (S256) and a nonce, and on ``/callback`` lets
``authorize_access_token()`` redeem the code and validate the ID token (signature against the
JWKS, ``iss``, ``aud``, ``nonce``, ``exp``, ``at_hash``) before showing the login's claims.
"""

from __future__ import annotations

import secrets

from authlib.integrations.flask_client import OAuth
from flask import Flask, render_template_string, request

CLAIMS_PAGE = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>e-tax demo app</title></head>
<body>
  <h1 id="welcome">{{ claims.name }}</h1>
  <dl>
    <dt>sub</dt><dd id="sub">{{ claims.sub }}</dd>
    <dt>acr</dt><dd id="acr">{{ claims.acr }}</dd>
    <dt>amr</dt><dd id="amr">{{ claims.amr | join(" ") }}</dd>
    <dt>realname_level</dt><dd id="realname_level">{{ claims.realname_level }}</dd>
    <dt>auth_time</dt><dd id="auth_time">{{ claims.auth_time }}</dd>
    <dt>business</dt><dd id="business">{{ claims.business }}</dd>
    <dt>entity</dt><dd id="entity">{{ claims.entity.name if claims.entity else "" }}</dd>
    <dt>entity claim</dt><dd id="entity_claim">{{ claims.entity | tojson if claims.entity else "" }}</dd>
  </dl>
</body>
</html>
"""


def create_relying_party(*, issuer: str, client_id: str, client_secret: str, redirect_uri: str) -> Flask:
    """A Flask app with ``/login`` (starts the code flow) and ``/callback`` (finishes it)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_urlsafe(32),
        # Cookies ignore ports: a name of its own keeps this app clear of the provider's cookies.
        SESSION_COOKIE_NAME="rp_session",
    )
    oauth = OAuth(app)
    oauth.register(
        "idp",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile phone", "code_challenge_method": "S256"},
    )

    @app.route("/login")
    def login():
        # Extra authorization parameters pass through: business_entry, prompt, acr_values.
        return oauth.idp.authorize_redirect(redirect_uri, **request.args)

    @app.route("/callback")
    def callback():
        if "error" in request.args:  # the provider answered the request with an OAuth error
            return render_template_string('<p id="error">{{ error }}</p>', error=request.args["error"]), 400
        token = oauth.idp.authorize_access_token()
        return render_template_string(CLAIMS_PAGE, claims=token["userinfo"])

    return app
