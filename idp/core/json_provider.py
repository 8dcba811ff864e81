"""The app's JSON provider: request bodies and parameters are parsed by it, and they are untrusted."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider


class UntrustedJsonProvider(DefaultJSONProvider):
    """JSON nested deeper than Python's parser can follow is malformed JSON like any other: a
    ``ValueError`` (which ``request.get_json(silent=True)`` answers with ``None``), not a
    ``RecursionError`` that would end the request in a 500."""

    ensure_ascii = False  # Chinese messages readable as they are

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
