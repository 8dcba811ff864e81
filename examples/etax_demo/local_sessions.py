"""The demo app's own sessions, kept server-side so a back-channel logout can end them.

The browser cookie holds only the local session id; the provider's ``sid`` (the ID token's
claim) maps each local session to the provider session it came from (Back-Channel Logout 1.0
section 2.7: the RP ends every session of the logged-out ``sid``).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field


@dataclass
class LocalSession:
    id: str
    #: The provider's session id (``sid``) and the person's ``sub`` from the ID token.
    sid: str | None
    sub: str
    #: authlib's token dict: access_token, refresh_token, id_token, expires_at.
    token: dict
    #: Claims of the current ID token, refreshed from userinfo on every page load.
    claims: dict = field(default_factory=dict)


class LocalSessions:
    """In memory, for a single-process demo; a real app would use its session store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, LocalSession] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def create(self, token: dict, claims: dict) -> LocalSession:
        created = LocalSession(secrets.token_urlsafe(24), claims.get("sid"), claims["sub"], token, dict(claims))
        with self._lock:
            self._sessions[created.id] = created
        return created

    def get(self, session_id: str | None) -> LocalSession | None:
        with self._lock:
            return self._sessions.get(session_id or "")

    def end(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def end_matching(self, *, sid: str | None, sub: str | None) -> int:
        """End the sessions of provider session ``sid`` (or, without one, of person ``sub``)."""
        with self._lock:
            ended = [key for key, s in self._sessions.items()
                     if (sid is not None and s.sid == sid) or (sid is None and sub is not None and s.sub == sub)]
            for key in ended:
                del self._sessions[key]
        return len(ended)
