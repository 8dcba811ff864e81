"""A flow's pending step in the browser session, with one expiry (docs/architecture.md §5.3).

Every flow a person goes through in several requests (a login waiting for its second factor,
a verified certificate waiting for its person, a forced password change, a password reset, a
registration, a phone change waiting for its code, a security key's challenge) keeps one record
here under its own name: the step it waits for, the interaction it serves (the relying party's
pending request, :mod:`idp.protocol.interactions`, or none), its expiry and the flow's own data.

A record past its expiry, or at another step than the one asked for, reads as no record: a step
cannot be reached except from the one before it, nor after its time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from flask import session

from idp.core.settings import current_settings
from idp.protocol.interactions import Interaction, find_interaction

_RESERVED = ("step", "interaction", "expires")


@dataclass(frozen=True)
class PendingStep:
    """One flow's record as read: its step, the interaction it serves, its expiry and its data."""

    step: str
    #: The id of the relying party's pending request this flow serves, or None.
    interaction_id: str | None
    #: Unix time after which the record no longer reads.
    expires: int
    data: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.data[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    @property
    def interaction(self) -> Interaction | None:
        """The pending authorization this flow returns to, while this browser still holds it."""
        return find_interaction(self.interaction_id)


def login_step_ttl() -> int:
    return current_settings().LOGIN_STEP_TTL


class PendingSteps:
    """The pending step of one flow (named ``key``) in this browser; ``ttl`` gives its lifetime
    in seconds when the flow starts (``LOGIN_STEP_TTL`` unless the flow says otherwise)."""

    def __init__(self, key: str, ttl: Callable[[], int] = login_step_ttl) -> None:
        self.key = key
        self.ttl = ttl

    def start(self, step: str, interaction: str | None = None, **data: Any) -> PendingStep:
        """Begin the flow at ``step``, replacing any earlier record of it; the expiry starts now."""
        record = {**data, "step": step, "interaction": interaction or None,
                  "expires": int(time.time()) + self.ttl()}
        session[self.key] = record
        return self._as_step(record)

    def read(self, step: str | None = None) -> PendingStep | None:
        """The live record (at ``step``, when given), or None: none, expired, or at another step."""
        record = session.get(self.key)
        if not self._live(record):
            return None
        if step is not None and record["step"] != step:
            return None
        return self._as_step(record)

    def advance(self, step: str | None = None, **changes: Any) -> None:
        """Move the live record to ``step`` (or keep its step) and update its data; the expiry stays:
        one expiry covers the whole flow."""
        record = session.get(self.key)
        if record:
            # Reassigned, not changed in place: the session notices only a new value.
            session[self.key] = {**record, **changes, **({"step": step} if step else {})}

    def finish(self) -> PendingStep | None:
        """End the flow; returns its record if it was still live (a step answered once)."""
        record = session.pop(self.key, None)
        return self._as_step(record) if self._live(record) else None

    def interaction_id(self) -> str | None:
        """The interaction of this flow's record even past its expiry: a flow that timed out starts
        again for the same relying party's request (which has its own life, docs/architecture.md §5.2)."""
        record = session.get(self.key)
        return record.get("interaction") if record else None

    def timed_out(self) -> bool:
        """Whether this browser's record of the flow is there but past its time (not merely absent)."""
        record = session.get(self.key)
        return isinstance(record, dict) and isinstance(record.get("expires"), int) and record["expires"] < time.time()

    @staticmethod
    def _live(record: object) -> TypeGuard[dict[str, Any]]:
        # A record written before this module (no "step") reads as none: that flow starts again.
        return (isinstance(record, dict) and "step" in record
                and isinstance(record.get("expires"), int) and record["expires"] >= time.time())

    @staticmethod
    def _as_step(record: Mapping[str, Any]) -> PendingStep:
        data = {k: v for k, v in record.items() if k not in _RESERVED}
        return PendingStep(record["step"], record.get("interaction"), record["expires"], data)
