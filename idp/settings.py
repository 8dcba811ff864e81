"""One documented settings module.

Every setting has a default and a one-line reason.  Each can be overridden from the
environment with the ``IDP_`` prefix (``IDP_ACCESS_TOKEN_TTL=300``) or by the mapping
passed to :func:`idp.create_app` (tests).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "IDP_"


@dataclass(frozen=True)
class Settings:
    #: Public issuer URL; appears in every token and in discovery.
    ISSUER: str = "http://127.0.0.1:5000"
    #: Folder for the embedded database, secret key and SMS outbox.
    INSTANCE_DIR: str = "instance"
    #: SQLAlchemy URL; empty means SQLite under INSTANCE_DIR (the embedded default).
    DATABASE_URL: str = ""
    #: Folder of the on-disk signing keyring.
    KEYS_DIR: str = "keys"
    #: Key-encryption passphrase for private keys at rest; empty only outside production.
    KEY_PASSPHRASE: str = ""
    #: "development" or "production"; production refuses unsafe defaults.
    ENVIRONMENT: str = "development"
    #: Secret for CSRF tokens and keyed hashes; generated into INSTANCE_DIR when empty.
    SECRET_KEY: str = ""

    #: "outbox" (development: JSON lines to SMS_OUTBOX) or "http" (a real gateway).
    SMS_ADAPTER: str = "outbox"
    #: Development SMS outbox file; empty means INSTANCE_DIR/sms-outbox.jsonl.
    SMS_OUTBOX: str = ""
    #: URL of the production SMS gateway (http adapter).
    SMS_GATEWAY_URL: str = ""
    #: HMAC secret that signs requests to the SMS gateway.
    SMS_GATEWAY_SECRET: str = ""
    #: Seconds an SMS code stays valid (FAQ practice: 5 minutes).
    SMS_CODE_TTL: int = 300
    #: Wrong tries allowed against one SMS code before it is void.
    SMS_CODE_MAX_TRIES: int = 5
    #: Seconds before another code may be sent to the same phone.
    SMS_RESEND_COOLDOWN: int = 60
    #: Codes one phone may receive per day (Asia/Shanghai), against SMS pumping.
    SMS_DAILY_CAP: int = 10

    #: Consecutive failures of one method in one day that lock it (FAQ 14).
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
    #: Seconds client registrations are cached per worker (token endpoint speed).
    CLIENT_CACHE_TTL: int = 30
    #: Cache-Control max-age of the JWKS document, shorter than key pre-publication.
    JWKS_MAX_AGE: int = 300
    #: Redis URL for per-IP rate limits shared by workers; empty keeps them per process.
    REDIS_URL: str = ""
    #: Login attempts per IP per minute before 429.
    LOGIN_RATE_LIMIT: str = "30 per minute"

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
    def is_production(self) -> bool:
        return self.ENVIRONMENT == "production"


def _coerce(name: str, raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return str(raw).lower() in {"1", "true", "yes", "on"}
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
    return _with_secret_key(settings)


def _with_secret_key(settings: Settings) -> Settings:
    """Generate the instance secret once so restarts keep sessions and keyed hashes valid."""
    if settings.SECRET_KEY:
        return settings
    if settings.is_production:
        raise SystemExit("IDP_SECRET_KEY must be set in production (it keys CSRF tokens and code hashes).")
    path = settings.instance_path / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written aside, then linked into place: concurrent first starts agree on one secret.
        tmp = path.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return dataclasses.replace(settings, SECRET_KEY=path.read_text().strip())
