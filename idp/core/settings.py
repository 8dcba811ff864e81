"""One documented settings module.

Every setting has a default and a one-line reason.  Each can be overridden from the
environment with the ``IDP_`` prefix (``IDP_ACCESS_TOKEN_TTL=300``) or by the mapping
passed to :func:`idp.create_app` (tests).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask, current_app

ENV_PREFIX = "IDP_"
#: Six calendar months at their longest (July to December): the least audit retention allowed.
MIN_AUDIT_RETENTION_DAYS = 184


@dataclass(frozen=True)
class Settings:
    #: Public issuer URL; appears in every token and in discovery.
    ISSUER: str = "http://127.0.0.1:5000"
    #: Folder for the embedded database, secret key and SMS outbox.
    INSTANCE_DIR: str = "instance"
    #: SQLAlchemy URL; empty means SQLite under INSTANCE_DIR (the embedded default).
    DATABASE_URL: str = ""
    #: Database connections each worker process keeps open: at least its threads (`idp serve
    #: --threads`), or the requests beyond it open and close a connection each time.
    DATABASE_POOL_SIZE: int = 16
    #: Seconds to wait for PostgreSQL to accept a new connection before the request gets a 503
    #: (libpq's connect_timeout; 2 at least): a hung server must not hold every serving thread.
    DATABASE_CONNECT_TIMEOUT: int = 5
    #: Folder of the on-disk signing keyring.
    KEYS_DIR: str = "keys"
    #: "file" (the keys/ folder) or "database" (several nodes sharing one database).
    KEYRING_STORE: str = "file"
    #: Seconds between a worker's checks for a changed keyring (must stay below JWKS_MAX_AGE).
    KEYRING_REFRESH_SECONDS: int = 5
    #: Rotate signing keys automatically every this many days; 0 leaves rotation to `idp keys rotate`.
    KEY_ROTATION_DAYS: int = 0
    #: Key-encryption passphrase for private keys at rest; empty only outside production.
    KEY_PASSPHRASE: str = ""
    #: "development" or "production"; production refuses unsafe defaults.
    ENVIRONMENT: str = "development"
    #: Secret for CSRF tokens and keyed hashes; generated into INSTANCE_DIR when empty.
    SECRET_KEY: str = ""
    #: JSON file of the keys that encrypt ID numbers, names and phones at rest (docs/operations.md, `idp pii
    #: new-key`); empty: INSTANCE_DIR/pii-keys.json, generated on first start, and refused in production.
    PII_KEYS_FILE: str = ""
    #: "international" (AES-256-GCM, SHA-256) or "sm" (SM4-GCM, SM3; GB/T 39786): personal data, its
    #: blind index and new audit-chain digests. Chosen once, before the first start (docs/privacy.md).
    CRYPTO_SUITE: str = "international"

    #: "outbox" (development: JSON lines to SMS_OUTBOX) or "http" (a real gateway).
    SMS_ADAPTER: str = "outbox"
    #: Development SMS outbox file; empty means INSTANCE_DIR/sms-outbox.jsonl.
    SMS_OUTBOX: str = ""
    #: URL of the production SMS gateway (http adapter).
    SMS_GATEWAY_URL: str = ""
    #: HMAC secret that signs requests to the SMS gateway.
    SMS_GATEWAY_SECRET: str = ""
    #: Seconds an SMS code stays valid (docs/domain.md §10: 5 minutes).
    SMS_CODE_TTL: int = 300
    #: Wrong tries allowed against one SMS code before it is void.
    SMS_CODE_MAX_TRIES: int = 5
    #: Seconds before another code may be sent to the same phone.
    SMS_RESEND_COOLDOWN: int = 60
    #: Codes one phone may receive per day (Asia/Shanghai) for each purpose, against SMS pumping.
    SMS_DAILY_CAP: int = 10

    #: "development" (a stand-in service with a pass/fail page) or "http" (a real provider).
    FACE_PROVIDER: str = "development"
    #: Base URL, application id and signing secret of the real face verification service.
    FACE_PROVIDER_URL: str = ""
    FACE_PROVIDER_APP_ID: str = ""
    FACE_PROVIDER_SECRET: str = ""
    #: Minimum similarity score the provider must report for a face check to pass.
    FACE_SIMILARITY_THRESHOLD: float = 0.8
    #: A provider result older than this many seconds is stale and refused.
    FACE_RESULT_MAX_AGE: int = 300
    #: Seconds a started face check may take before it expires.
    FACE_CHECK_TTL: int = 300

    #: Seconds a self-registration may take from document to face scan; then it leaves no trace.
    REGISTRATION_TTL: int = 1800
    #: Days a service hall's real-name record waits for its registration (docs/domain.md §1.6, §1.7) before it lapses.
    REALNAME_RECORD_TTL: int = 90

    #: PEM file(s) of the CAs whose tax digital certificates may log in, joined by os.pathsep;
    #: empty turns the login off.
    CERT_TRUST_ANCHORS: str = ""
    #: PEM/DER CRL file(s), joined by os.pathsep; a certificate whose issuer has one here is checked against it.
    CERT_CRL_PATHS: str = ""
    #: Where the login page's JavaScript finds the local signing agent (the UKey driver's HTTP bridge).
    CERT_AGENT_URL: str = "http://127.0.0.1:18080"
    #: Seconds a certificate challenge may wait for its signature (the agent asks for the UKey PIN).
    CERT_CHALLENGE_TTL: int = 120

    #: The page footer: who runs the site (主办单位) and the taxpayer hotline, as a government site
    #: names them; the ICP and public-security filing numbers appear only once they are set.
    FOOTER_OPERATOR: str = "国家税务总局青岛市税务局"
    FOOTER_HOTLINE: str = "12366"
    FOOTER_ICP_FILING: str = ""
    FOOTER_PUBLIC_SECURITY_FILING: str = ""

    #: Consecutive failures of one method in one day that lock it (docs/domain.md §1.14).
    LOCKOUT_THRESHOLD: int = 5
    #: The day boundary for lockout and SMS caps is the bureau's local day.
    TIMEZONE: str = "Asia/Shanghai"
    #: "owasp" (m=19 MiB, t=2, p=1) in service; "test" is a cheap profile for test suites only.
    PASSWORD_HASH_PROFILE: str = "owasp"

    #: Authorization codes live at most this many seconds.
    CODE_TTL: int = 60
    #: Access-token lifetime: short, since JWTs are verified offline by resource servers.
    ACCESS_TOKEN_TTL: int = 600
    #: ID-token lifetime.
    ID_TOKEN_TTL: int = 600
    #: Refresh tokens slide: each use extends the family by this many seconds.
    REFRESH_TOKEN_IDLE_TTL: int = 8 * 3600
    #: Absolute cap on a refresh-token family, counted from the login.
    REFRESH_TOKEN_ABSOLUTE_TTL: int = 24 * 3600
    #: Browser single sign-on session lifetime.
    LOGIN_SESSION_TTL: int = 8 * 3600
    #: Seconds a half-finished login (password done, SMS pending) may wait.
    LOGIN_STEP_TTL: int = 600
    #: Password, phone and username changes need a login at most this many seconds old.
    ACCOUNT_REAUTH_MAX_AGE: int = 900
    #: Seconds client registrations are cached per worker (token endpoint speed).
    CLIENT_CACHE_TTL: int = 30
    #: Cache-Control max-age of the JWKS document, shorter than key pre-publication.
    JWKS_MAX_AGE: int = 300
    #: Seconds a QR login code (QR payload, user code, device code) stays valid (docs/architecture.md §6).
    QR_CODE_TTL: int = 120
    #: RFC 8628 ``interval``: minimum seconds between two token-endpoint polls of one QR code.
    QR_POLL_INTERVAL: int = 5
    #: Seconds the login page's long poll waits for news before answering "no change" (holds a thread).
    QR_WAIT_SECONDS: int = 20
    #: Long polls one worker lets wait at once, each holding a serving thread: keep it well below
    #: ``idp serve --threads``. Beyond it a status check answers at once and the page asks again a
    #: second later, so open QR pages can never take every thread from the rest of the provider.
    QR_WAITING_POLLS_PER_WORKER: int = 4
    #: Unknown QR codes an app (or an IP) may present per QR_GUESS_WINDOW: user codes are short.
    QR_GUESS_LIMIT: int = 10
    QR_GUESS_WINDOW: int = 600
    #: Lowest real-name level here with which the IIT app may log a person in (docs/domain.md §1.11; 3 = verified).
    QR_IIT_MIN_REALNAME_LEVEL: int = 3
    #: Longest lifetime an external app's signed approval may have (bounds its single-use record).
    QR_ASSERTION_MAX_AGE: int = 300
    #: Dual-track (docs/domain.md §1.2): the old enterprise login (``idp legacy import``) works before this ISO date
    #: (YYYY-MM-DD, a TIMEZONE day) and is refused from it on; empty: no old login at all.
    LEGACY_LOGIN_SUNSET: str = ""
    #: Redis URL for per-IP rate limits shared by workers; empty keeps them per process.
    REDIS_URL: str = ""
    #: Retry-After (seconds) of the 503 answered while the database cannot be reached: about the
    #: time a restart or a failover takes, so clients come back when it may be over.
    UNAVAILABLE_RETRY_AFTER: int = 5
    #: Login attempts per IP per minute before 429.
    LOGIN_RATE_LIMIT: str = "30 per minute"
    #: QR login pages (each stores a fresh code) per IP before 429; a page renews its code every
    #: QR_CODE_TTL seconds, so this leaves room for a service hall's computers behind one address.
    QR_PAGE_RATE_LIMIT: str = "60 per minute"
    #: Reverse proxies in front of the provider that append X-Forwarded-For and set X-Forwarded-Proto;
    #: 0 trusts no such header, else a client could pick the IP that rate limits and the audit log see.
    TRUSTED_PROXY_HOPS: int = 0
    #: "text" (one plain line per record) or "json" (one object a line, for a log shipper); docs/operations.md.
    LOG_FORMAT: str = "text"
    #: host:port where `idp serve` answers Prometheus scrapes, apart from the public port; empty: no endpoint.
    METRICS_ADDRESS: str = "127.0.0.1:9464"
    #: Seconds each /readyz check (database, Redis) may take before it counts as failed.
    READINESS_TIMEOUT: float = 2.0

    #: Salt of pairwise subjects; derived from SECRET_KEY when empty (changing it changes every pairwise sub).
    PAIRWISE_SALT: str = ""
    #: Seconds a pushed authorization request's request_uri stays usable (RFC 9126 wants well under 600).
    PAR_TTL: int = 60
    #: Oldest DPoP proof accepted, in seconds from its ``iat`` (RFC 9449 section 11.1: a short window).
    DPOP_PROOF_MAX_AGE: int = 60
    #: Require a server-issued DPoP nonce in every proof (RFC 9449 section 8), so pre-made proofs are useless.
    DPOP_REQUIRE_NONCE: bool = True
    #: Seconds one DPoP nonce window lasts; a nonce from the current or the previous window is accepted.
    DPOP_NONCE_WINDOW: int = 300
    #: Logout-token lifetime: long enough for a slow relying party, short enough to be useless if leaked.
    LOGOUT_TOKEN_TTL: int = 120
    #: Seconds one back-channel logout POST may take before it counts as failed and is retried.
    BACKCHANNEL_LOGOUT_TIMEOUT: int = 5
    #: Attempts per logout message before it is given up (and audited as failed).
    BACKCHANNEL_LOGOUT_MAX_ATTEMPTS: int = 6
    #: First retry delay in seconds; each further retry doubles it (capped at an hour).
    BACKCHANNEL_LOGOUT_RETRY_SECONDS: int = 10
    #: Undelivered logout messages kept at most; beyond it new ones are dropped and audited (bounded queue).
    BACKCHANNEL_LOGOUT_QUEUE_LIMIT: int = 10_000
    #: Each serving worker delivers logout messages from a background thread; off leaves it to `idp logout-queue run`.
    BACKCHANNEL_LOGOUT_WORKER: bool = True
    #: Seconds between a worker's sweeps for expired login sessions (0 leaves it to `idp sessions expire`).
    SESSION_SWEEP_SECONDS: int = 60
    #: Seconds between a worker's retention purges of rows nobody can use any more (idp/housekeeping/retention.py),
    #: run in a background thread; 0 leaves it to `idp purge`.
    RETENTION_PURGE_SECONDS: int = 3600
    #: Days audit events are kept; 0 keeps them forever.  The Cybersecurity Law (art. 21) wants network
    #: logs kept at least six months (up to 184 days); a year also spans one whole annual filing cycle.
    AUDIT_RETENTION_DAYS: int = 366
    #: Directory each worker writes a signed audit-chain checkpoint to (idp/audit/checkpoints.py),
    #: mounted off the database host; empty writes none (``idp audit checkpoint`` from cron instead).
    AUDIT_CHECKPOINT_DIR: str = ""
    #: Seconds between a worker's checkpoints: records after the last one could be rewritten unseen.
    AUDIT_CHECKPOINT_SECONDS: int = 3600
    #: Milliseconds between a worker's runs of the audit chainer, which links committed audit records
    #: into the hash chain (idp/housekeeping/audit_chainer.py); 0 leaves it to `idp audit chain`.
    AUDIT_CHAIN_INTERVAL_MS: int = 250
    #: Seconds a committed audit record may wait to be chained before `idp audit verify` calls it a problem.
    AUDIT_UNCHAINED_MAX_SECONDS: int = 300

    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def instance_path(self) -> Path:
        return Path(self.INSTANCE_DIR).resolve()

    @property
    def database_url(self) -> str:
        return self.DATABASE_URL or f"sqlite:///{self.instance_path / 'idp.sqlite3'}"

    @property
    def sms_outbox_path(self) -> Path:
        return Path(self.SMS_OUTBOX) if self.SMS_OUTBOX else self.instance_path / "sms-outbox.jsonl"

    @property
    def legacy_login_sunset(self) -> date | None:
        """The first day the old enterprise login is refused, or None when there is none."""
        return date.fromisoformat(self.LEGACY_LOGIN_SUNSET) if self.LEGACY_LOGIN_SUNSET else None

    @property
    def is_production(self) -> bool:
        return self.ENVIRONMENT == "production"


SETTINGS_KEY = "IDP"


def current_settings(app: Flask | None = None) -> Settings:
    """The settings of ``app`` (by default the app of the current request or command), typed."""
    return (app or current_app).config[SETTINGS_KEY]


def _coerce(name: str, raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return str(raw).lower() in {"1", "true", "yes", "on"}
    if isinstance(default, float):
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise SystemExit(f"setting {ENV_PREFIX}{name} must be a number, got {raw!r}") from None
    if isinstance(default, int):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise SystemExit(f"setting {ENV_PREFIX}{name} must be an integer, got {raw!r}") from None
    return str(raw)


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build settings from defaults, then ``IDP_*`` environment variables, then ``overrides``."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        if f.name == "extra":
            continue
        if ENV_PREFIX + f.name in os.environ:
            values[f.name] = _coerce(f.name, os.environ[ENV_PREFIX + f.name], f.default)
    for key, value in (overrides or {}).items():
        values[key] = value
    settings = Settings(**values)
    if settings.PAR_TTL >= 600:
        raise SystemExit("IDP_PAR_TTL must stay below 600 seconds (RFC 9126 section 2.2).")
    if settings.AUDIT_RETENTION_DAYS != 0 and settings.AUDIT_RETENTION_DAYS < MIN_AUDIT_RETENTION_DAYS:
        raise SystemExit(f"IDP_AUDIT_RETENTION_DAYS must be 0 (keep forever) or at least {MIN_AUDIT_RETENTION_DAYS}: "
                         "the Cybersecurity Law (art. 21) wants network logs kept six months or more.")
    if settings.DATABASE_CONNECT_TIMEOUT < 1 or settings.UNAVAILABLE_RETRY_AFTER < 1:
        # libpq waits for ever with a connect_timeout of 0.
        raise SystemExit("IDP_DATABASE_CONNECT_TIMEOUT and IDP_UNAVAILABLE_RETRY_AFTER must be at least 1 second.")
    if settings.CRYPTO_SUITE not in ("international", "sm"):
        raise SystemExit("IDP_CRYPTO_SUITE must be 'international' or 'sm'.")
    if settings.TRUSTED_PROXY_HOPS < 0:
        raise SystemExit("IDP_TRUSTED_PROXY_HOPS must be 0 (no proxy) or the number of proxies in front.")
    if settings.LEGACY_LOGIN_SUNSET:
        try:
            date.fromisoformat(settings.LEGACY_LOGIN_SUNSET)
        except ValueError:
            raise SystemExit("IDP_LEGACY_LOGIN_SUNSET must be a date, YYYY-MM-DD (or empty).") from None
    return _with_pairwise_salt(_with_secret_key(settings))


def _with_secret_key(settings: Settings) -> Settings:
    """Generate the instance secret once so restarts keep sessions and keyed hashes valid."""
    if settings.SECRET_KEY:
        return settings
    if settings.is_production:
        raise SystemExit("IDP_SECRET_KEY must be set in production (it keys CSRF tokens and code hashes).")
    return dataclasses.replace(settings, SECRET_KEY=_instance_secret(settings, "secret_key", 48))


def _instance_secret(settings: Settings, name: str, nbytes: int) -> str:
    """A random secret kept in INSTANCE_DIR/``name``, created on first use."""
    path = settings.instance_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written aside, then linked into place: concurrent first starts agree on one secret.
        tmp = path.with_name(f".{name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(nbytes))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _with_pairwise_salt(settings: Settings) -> Settings:
    """Derive the pairwise-subject salt from the secret key when none is set, so every restart (and
    every node) computes the same pairwise ``sub``.  Set PAIRWISE_SALT explicitly before ever
    rotating SECRET_KEY: a new salt gives every person a new pairwise ``sub`` at every relying party."""
    if settings.PAIRWISE_SALT:
        return settings
    derived = hmac.new(settings.SECRET_KEY.encode(), b"qdtax-idp pairwise subject salt", hashlib.sha256).hexdigest()
    return dataclasses.replace(settings, PAIRWISE_SALT=derived)
