"""The demo e-tax app: log in, see who and for which taxpayer, step up, switch, log out.

Everything protocol-related goes through authlib's Flask OAuth client configured from
discovery (``server_metadata_url``): PKCE S256, nonce, ID token validation.  The app keeps
its sessions server-side (:mod:`examples.etax_demo.local_sessions`) and checks on every page
load that the provider still honours its tokens, so a logout elsewhere shows here at once;
with a registered ``backchannel_logout_uri`` the provider also tells it directly.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, jsonify, redirect, render_template, request, session, url_for

from examples.etax_demo.backchannel import LogoutTokenError, SeenTokenIds, verify_logout_token
from examples.etax_demo.local_sessions import LocalSession, LocalSessions

STEP_UP_ACR = "urn:qdtax:loa:3"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
BUSINESS_ENTRIES = {"natural_person": "自然人业务", "enterprise": "企业业务", "agent": "代理业务",
                    "special_subject": "特定主体业务"}
#: The ``role`` of the ``entity`` claim (docs/integration.md §3) as the provider's chooser names it:
#: a person reads 办税员, not ``tax_officer``.
ROLE_NAMES = {"legal_representative": "法定代表人", "financial_officer": "财务负责人", "tax_officer": "办税员",
              "invoice_issuer": "开票员", "administrator": "管理员", "agent_staff": "涉税服务人员",
              "agent": "代理办税", "legacy_enterprise_account": "企业账号（原登录方式）"}


@dataclass(frozen=True)
class DemoConfig:
    issuer: str
    client_id: str
    client_secret: str
    #: Where this app is served, e.g. ``http://127.0.0.1:5001``; the redirect and logout URIs
    #: registered at the provider are built from it.
    base_url: str
    name: str = "演示电子税务局"


def mask_subject(sub: str) -> str:
    """Enough of ``sub`` to tell two people apart on screen, not enough to copy it."""
    return sub if len(sub) <= 8 else f"{sub[:4]}…{sub[-4:]}"


def create_demo_app(config: DemoConfig) -> Flask:
    app = Flask(__name__)
    port = urlsplit(config.base_url).port or 80
    app.config.update(
        SECRET_KEY=secrets.token_urlsafe(32),
        # Browsers share cookies across ports: each app (and the provider) needs its own name.
        SESSION_COOKIE_NAME=f"etax_demo_{port}",
        SESSION_COOKIE_SAMESITE="Lax",
    )
    oauth = OAuth(app)
    provider = oauth.register(
        "qdtax", client_id=config.client_id, client_secret=config.client_secret,
        server_metadata_url=f"{config.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile phone", "code_challenge_method": "S256"},
    )
    sessions = LocalSessions()
    seen_logout_tokens = SeenTokenIds()
    app.extensions["etax_demo.sessions"] = sessions
    callback_uri = f"{config.base_url}/callback"

    def current() -> LocalSession | None:
        return sessions.get(session.get("local_id"))

    def check_csrf() -> None:
        sent = request.form.get("csrf_token", "")
        if not hmac.compare_digest(sent, session.get("csrf_token", "-")):
            abort(400)

    def adopt(token: dict, claims: dict) -> None:
        """Keep a new token set (login, step-up, switch) as this browser's local session."""
        sessions.end(session.get("local_id"))
        session["local_id"] = sessions.create(token, claims).id

    def still_valid_at_provider(local: LocalSession) -> bool:
        """Userinfo with our access token; when it is refused, one refresh.  Both fail once the
        person logged out anywhere (the provider revokes every grant of the ended session)."""
        endpoint = provider.load_server_metadata()["userinfo_endpoint"]
        answer = provider.get(endpoint, token=local.token)
        if answer.status_code == 401 and local.token.get("refresh_token"):
            try:
                local.token = provider.fetch_access_token(grant_type="refresh_token",
                                                          refresh_token=local.token["refresh_token"])
            except OAuthError:
                return False
            answer = provider.get(endpoint, token=local.token)
        if answer.status_code != 200:
            return False
        local.claims.update(answer.json())  # fresher than the ID token (e.g. real-name level)
        return True

    @app.get("/")
    def home():
        session.setdefault("csrf_token", secrets.token_urlsafe(16))
        local = current()
        notice = session.pop("notice", None)
        returned_state = request.args.get("state")
        if returned_state and hmac.compare_digest(returned_state, session.pop("logout_state", "")):
            notice = "已退出登录 (logged out)"  # RP-Initiated Logout 1.0 section 3: our state came back
        if local is not None and not still_valid_at_provider(local):
            sessions.end(local.id)
            session.pop("local_id", None)
            local, notice = None, "您已在统一身份认证平台退出登录 (logged out at the provider)."
        return render_template("page.html", config=config, local=local, notice=notice,
                               claims=local.claims if local else {}, entries=BUSINESS_ENTRIES, role_names=ROLE_NAMES,
                               masked_sub=mask_subject(local.sub) if local else "",
                               csrf_token=session["csrf_token"])

    @app.get("/login")
    def login():
        entry = request.args.get("business_entry")
        extra = {"business_entry": entry} if entry in BUSINESS_ENTRIES else {}
        return provider.authorize_redirect(callback_uri, **extra)

    @app.get("/callback")
    def callback():
        if "error" in request.args:
            session["notice"] = f"登录未完成 ({request.args['error']})"
            return redirect(url_for("home"))
        token = provider.authorize_access_token()  # code + PKCE, ID token validated
        adopt(token, dict(token["userinfo"]))
        return redirect(url_for("home"))

    @app.post("/step-up")
    def step_up():
        check_csrf()
        return provider.authorize_redirect(callback_uri, acr_values=STEP_UP_ACR)

    @app.post("/switch")
    def switch_in_browser():
        check_csrf()
        entry = request.form.get("business_entry")
        extra = {"business_entry": entry} if entry in BUSINESS_ENTRIES else {}
        return provider.authorize_redirect(callback_uri, prompt="select_account", **extra)

    @app.post("/switch/exchange")
    def switch_by_token_exchange():
        """RFC 8693 at the token endpoint: no browser round trip, same login, new taxpayer."""
        check_csrf()
        local = current()
        if local is None:
            return redirect(url_for("home"))
        target = {name: request.form[name].strip() for name in ("business", "entity", "tax_authority", "agency")
                  if request.form.get(name, "").strip()}
        try:
            token = provider.fetch_access_token(grant_type=TOKEN_EXCHANGE, subject_token=local.token["access_token"],
                                                subject_token_type=ACCESS_TOKEN_TYPE, **target)
        except OAuthError as error:
            session["notice"] = f"切换失败 ({error.error})"
            return redirect(url_for("home"))
        claims = provider.parse_id_token(token, nonce=None)
        adopt(token, dict(claims))
        session["notice"] = "已切换纳税人 (switched by token exchange)"
        return redirect(url_for("home"))

    @app.post("/logout")
    def logout():
        """RP-initiated logout: end ours, then send the browser to the provider's end session."""
        check_csrf()
        local = current()
        sessions.end(session.pop("local_id", None))
        session["logout_state"] = secrets.token_urlsafe(8)
        query = {"post_logout_redirect_uri": f"{config.base_url}/", "client_id": config.client_id,
                 "state": session["logout_state"]}
        if local is not None:
            query["id_token_hint"] = local.token["id_token"]
        return redirect(f"{provider.load_server_metadata()['end_session_endpoint']}?{urlencode(query)}")

    @app.post("/backchannel-logout")
    def backchannel_logout():
        """Back-Channel Logout 1.0 section 2.5: verify the logout token, end matching sessions."""
        metadata = provider.load_server_metadata()
        try:
            claims = verify_logout_token(
                request.form.get("logout_token", ""), issuer=config.issuer, client_id=config.client_id,
                algorithms=metadata.get("id_token_signing_alg_values_supported", ["RS256"]),
                fetch_jwks=lambda force: provider.fetch_jwk_set(force=force), seen=seen_logout_tokens)
        except LogoutTokenError as error:
            response = jsonify(error="invalid_request", error_description=str(error))
            response.status_code = 400
        else:
            sessions.end_matching(sid=claims.get("sid"), sub=claims.get("sub"))
            response = app.response_class(status=200)
        response.headers["Cache-Control"] = "no-store"
        return response

    return app
