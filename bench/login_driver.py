"""The browser side of a password + SMS login, over real HTTP, for the login benchmark.

One login is what a person's browser and the relying party do, step by step:

1. ``GET /authorize`` (code flow, PKCE S256) → redirect to the login page
2. ``GET /login`` → the form (CSRF token, interaction id)
3. ``POST /login`` with the password (argon2id verify) → the code is sent, redirect
4. ``GET /login/sms`` → the SMS form (the redirect a browser follows)
5. the code is read from the local SMS sink (what the person reads on the phone)
6. ``POST /login/sms`` with the code → redirect back to ``/authorize``
7. ``GET /authorize`` resumed → redirect to the relying party with ``code``
8. ``POST /token`` by the relying party (client_secret_basic + ``code_verifier``)

``run_logins`` runs N virtual users in parallel processes, each with its own person and
phone; every login starts without a session cookie. ``mint_tokens`` logs in once and then
uses single sign-on to redeem many codes, for the refresh and introspection benchmarks.

The driver shares the provider's cores, so it speaks HTTP with the standard library's
``http.client``: each virtual user keeps one connection open to each origin (the browser's,
the relying party's back channel, the SMS sink) and keeps only the ``idp_session`` cookie.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import multiprocessing
import secrets
import ssl
import time
from dataclasses import dataclass, field
from http.cookies import Morsel, SimpleCookie
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from provision import BenchPerson, RelyingParty

STEPS = ("authorize", "login_page", "password", "sms_page", "read_sms", "sms_code", "resume", "token")
#: The provider's browser-session cookie (``idp.web.browser_session.COOKIE_NAME``), the only one a login uses.
SESSION_COOKIE = "idp_session"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class LoginStepFailed(RuntimeError):
    def __init__(self, step: str, detail: str):
        super().__init__(f"{step}: {detail}")
        self.step = step


@dataclass
class LoginOutcome:
    ok: bool
    started: float
    finished: float
    step_seconds: dict[str, float] = field(default_factory=dict)
    failed_step: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Response:
    """One answer, read to its end so that its connection can carry the next request."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> dict:
        return json.loads(self.body)


class KeepAliveConnection:
    """One persistent HTTP/1.1 connection to one origin, reopened when the server has closed it."""

    def __init__(self, origin: str):
        parts = urlsplit(origin)
        if parts.scheme == "https":
            # nginx in front (run.py --nodes): TLS as a browser's, with its throwaway loopback
            # certificate unverified, as wrk does.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self._connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port, context=context)
        else:
            self._connection = http.client.HTTPConnection(parts.hostname, parts.port)

    def request(self, method: str, target: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> Response:
        reused = self._connection.sock is not None
        try:
            return self._exchange(method, target, body, headers or {})
        except ConnectionError:
            if not reused:
                raise
            # The server closed the idle connection before reading this request (its keep-alive
            # timeout): a browser sends it again on a new connection, and so do we, once.
            return self._exchange(method, target, body, headers or {})

    def _exchange(self, method: str, target: str, body: str | None, headers: dict[str, str]) -> Response:
        try:
            self._connection.request(method, target, body, headers)
            answer = self._connection.getresponse()
            return Response(answer.status, answer.headers, answer.read())
        except Exception:
            # A half-done exchange leaves http.client mid-request; the next one opens a new connection.
            self._connection.close()
            raise


def _form_value(html: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = html.find(marker)
    if start < 0:
        raise LoginStepFailed("form", f"no {name} field in the page")
    start += len(marker)
    return html[start:html.index('"', start)]


def _location(response: Response, step: str) -> str:
    if response.status not in (302, 303):
        raise LoginStepFailed(step, f"expected a redirect, got {response.status}: {response.text[:200]}")
    return response.headers["Location"]


class Browser:
    """One person's browser talking to the provider, plus the relying party's back channel."""

    def __init__(self, base_url: str, sink_url: str, rp: RelyingParty, person: BenchPerson):
        self.base_url = base_url
        self.rp = rp
        self.person = person
        self.provider = KeepAliveConnection(base_url)
        # The relying party's back channel: its own connection, never the browser's cookie.
        self.back_channel = KeepAliveConnection(base_url)
        self.sink = KeepAliveConnection(sink_url)
        self.session_cookie: Morsel | None = None
        self.timings: dict[str, float] = {}
        #: The address of the last page the browser loaded, its Referer for the next form.
        self._page = base_url + "/"

    def _timed(self, step: str, call, *args, **kwargs):
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - started

    def _target(self, location: str, step: str) -> str:
        """The request target on the provider for ``location`` (a Location may be relative)."""
        url = urlsplit(urljoin(self.base_url + "/", location))
        if f"{url.scheme}://{url.netloc}" != self.base_url:
            raise LoginStepFailed(step, f"sent to {location[:80]}, off the provider")
        return f"{url.path}?{url.query}" if url.query else url.path

    def forget_cookies(self) -> None:
        self.session_cookie = None

    def _cookie_header(self) -> str | None:
        return self.session_cookie.OutputString(attrs=[]) if self.session_cookie is not None else None

    def _browse(self, step: str, method: str, location: str, form: dict[str, str] | None = None) -> Response:
        """One request of the browser, which sends and keeps the session cookie."""
        # A form is posted from the page before it, which a browser names (Referrer-Policy: same-origin)
        # and Flask-WTF checks over HTTPS (behind nginx: run.py --nodes).
        headers = {**FORM_HEADERS, "Referer": self._page} if form is not None else {}
        cookie = self._cookie_header()
        if cookie:
            headers["Cookie"] = cookie
        body = urlencode(form) if form is not None else None
        target = self._target(location, step)
        response = self._timed(step, self.provider.request, method, target, body, headers)
        self._keep_cookies(response)
        self._page = self.base_url + target
        return response

    def _keep_cookies(self, response: Response) -> None:
        for header in response.headers.get_all("Set-Cookie", ()):
            morsel = SimpleCookie(header).get(SESSION_COOKIE)
            if morsel is not None:
                # The provider deletes it as werkzeug does: an empty value with Max-Age=0.
                self.session_cookie = morsel if morsel.value and morsel["max-age"] != "0" else None

    def start_authorization(self) -> tuple[Response, str, str]:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(12)
        params = {
            "response_type": "code", "client_id": self.rp.client_id, "redirect_uri": self.rp.redirect_uri,
            "scope": "openid profile phone", "state": state, "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge, "code_challenge_method": "S256",
        }
        response = self._browse("authorize", "GET", f"/authorize?{urlencode(params)}")
        return response, verifier, state

    def sign_in(self, login_location: str) -> str:
        """Steps 2-6; returns where the provider sends the browser back to (the resumed request)."""
        page = self._browse("login_page", "GET", login_location)
        if page.status != 200:
            raise LoginStepFailed("login_page", f"status {page.status}")
        submitted = self._browse("password", "POST", "/login", form={
            "csrf_token": _form_value(page.text, "csrf_token"),
            "interaction": _form_value(page.text, "interaction"),
            "identifier": self.person.phone,
            "password": self.person.password,
        })
        sms_page = self._browse("sms_page", "GET", _location(submitted, "password"))
        if sms_page.status != 200:
            raise LoginStepFailed("sms_page", f"status {sms_page.status}")
        sms = self._timed("read_sms", self.sink.request, "GET", f"/last-code?{urlencode({'phone': self.person.phone})}")
        if sms.status != 200:
            raise LoginStepFailed("read_sms", f"no code reached the SMS sink ({sms.status})")
        answered = self._browse("sms_code", "POST", "/login/sms",
                                form={"csrf_token": _form_value(sms_page.text, "csrf_token"),
                                      "code": sms.json()["code"]})
        return _location(answered, "sms_code")

    def code_from(self, response: Response, state: str, step: str) -> str:
        location = _location(response, step)
        if not location.startswith(self.rp.redirect_uri):
            raise LoginStepFailed(step, f"redirected to {location[:80]} instead of the relying party")
        query = parse_qs(urlsplit(location).query)
        if query.get("state") != [state] or "code" not in query:
            raise LoginStepFailed(step, f"no code for this state in {location[:120]}")
        return query["code"][0]

    def redeem(self, code: str, verifier: str) -> dict:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.rp.redirect_uri,
                "code_verifier": verifier}
        response = self._timed("token", self.back_channel.request, "POST", "/token", urlencode(form),
                               {**FORM_HEADERS, "Authorization": self.rp.basic_auth})
        if response.status != 200:
            raise LoginStepFailed("token", f"status {response.status}: {response.text[:200]}")
        tokens = response.json()
        if not tokens.get("id_token") or not tokens.get("refresh_token"):
            raise LoginStepFailed("token", "no id_token or refresh_token in the answer")
        return tokens

    def full_login(self) -> dict:
        """Steps 1-8 without a session cookie; returns the token response."""
        self.forget_cookies()
        first, verifier, state = self.start_authorization()
        resume = self.sign_in(_location(first, "authorize"))
        resumed = self._browse("resume", "GET", resume)
        return self.redeem(self.code_from(resumed, state, "resume"), verifier)

    def single_sign_on_tokens(self) -> dict:
        """A new code for the already logged-in browser (no login pages), redeemed."""
        response, verifier, state = self.start_authorization()
        return self.redeem(self.code_from(response, state, "authorize"), verifier)


class PeerBrowser(Browser):
    """The same login against the peer (bench/peer/): node-oidc-provider's interaction pages.

    node-oidc-provider keeps its state in several cookies (``_interaction``, ``_session``, their
    signatures, ...), so this browser keeps every cookie the peer sets. Steps and their names
    are the provider's: the peer's password form, its SMS form, then back to ``/authorize``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cookies: dict[str, str] = {}

    def forget_cookies(self) -> None:
        self.cookies = {}

    def _cookie_header(self) -> str | None:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items()) or None

    def _keep_cookies(self, response: Response) -> None:
        for header in response.headers.get_all("Set-Cookie", ()):
            for name, morsel in SimpleCookie(header).items():
                # Deleted as koa does: an empty value that expired in 1970.
                if morsel.value and "1970" not in morsel["expires"]:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)

    def sign_in(self, login_location: str) -> str:
        page = self._browse("login_page", "GET", login_location)
        if page.status != 200:
            raise LoginStepFailed("login_page", f"status {page.status}")
        interaction = self._target(login_location, "login_page")
        submitted = self._browse("password", "POST", f"{interaction}/login",
                                 form={"identifier": self.person.phone, "password": self.person.password})
        sms_page = self._browse("sms_page", "GET", _location(submitted, "password"))
        if sms_page.status != 200:
            raise LoginStepFailed("sms_page", f"status {sms_page.status}")
        sms = self._timed("read_sms", self.sink.request, "GET", f"/last-code?{urlencode({'phone': self.person.phone})}")
        if sms.status != 200:
            raise LoginStepFailed("read_sms", f"no code reached the SMS sink ({sms.status})")
        answered = self._browse("sms_code", "POST", f"{interaction}/sms", form={"code": sms.json()["code"]})
        return _location(answered, "sms_code")


# --- the login load: N virtual users ---------------------------------------------------------


def _virtual_user(browser_class: type[Browser], base_url: str, sink_url: str, rp: RelyingParty,
                  person: BenchPerson, start_at: float, stop_at: float, results) -> None:
    browser = browser_class(base_url, sink_url, rp, person)
    outcomes: list[LoginOutcome] = []
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < stop_at:
        browser.timings = {}
        started = time.time()
        try:
            browser.full_login()
            outcomes.append(LoginOutcome(True, started, time.time(), dict(browser.timings)))
        except (LoginStepFailed, OSError, http.client.HTTPException, ValueError, KeyError) as error:
            outcomes.append(LoginOutcome(False, started, time.time(), dict(browser.timings),
                                         getattr(error, "step", type(error).__name__), str(error)[:300]))
    results.put(outcomes)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_logins(base_url: str, sink_url: str, rp: RelyingParty, people: list[BenchPerson],
               duration: float, browser_class: type[Browser] = Browser) -> dict:
    """Full logins by ``len(people)`` parallel virtual users for ``duration`` seconds."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 1.0  # every process forked and waiting before the clock starts
    stop_at = start_at + duration
    workers = [
        context.Process(target=_virtual_user, args=(browser_class, base_url, sink_url, rp, person, start_at, stop_at,
                                                          results))
        for person in people
    ]
    for worker in workers:
        worker.start()
    outcomes: list[LoginOutcome] = []
    for _ in workers:
        outcomes.extend(results.get(timeout=duration + 120))
    for worker in workers:
        worker.join()
    ok = [o for o in outcomes if o.ok]
    failed = [o for o in outcomes if not o.ok]
    elapsed = max((o.finished for o in outcomes), default=stop_at) - start_at
    latencies = [o.finished - o.started for o in ok]
    return {
        "requests": len(ok),
        "failed": len(failed),
        "failures": sorted({f"{o.failed_step}: {o.error}" for o in failed})[:5],
        "duration_s": elapsed,
        "rps": len(ok) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "virtual_users": len(people),
        "step_p50_ms": {step: _percentile([o.step_seconds[step] for o in ok if step in o.step_seconds], 0.5) * 1000
                        for step in STEPS},
    }


# --- tokens for the refresh and introspection benchmarks -------------------------------------


def _mint(browser_class: type[Browser], base_url: str, sink_url: str, rp: RelyingParty, person: BenchPerson,
          count: int) -> list[dict]:
    browser = browser_class(base_url, sink_url, rp, person)
    minted = [browser.full_login()]
    while len(minted) < count:
        minted.append(browser.single_sign_on_tokens())
    return minted


def mint_tokens(base_url: str, sink_url: str, rp: RelyingParty, people: list[BenchPerson],
                count: int, browser_class: type[Browser] = Browser) -> list[dict]:
    """``count`` token responses, each from its own code (so its own refresh-token family)."""
    share = -(-count // len(people))
    pool = multiprocessing.get_context("fork").Pool(len(people))
    try:
        batches = pool.starmap(_mint, [(browser_class, base_url, sink_url, rp, person, share)
                                            for person in people])
        # close + join, not the context manager's terminate(): killing idle workers can leave
        # the pool's queue lock held and the next join waiting forever.
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return [tokens for batch in batches for tokens in batch][:count]
