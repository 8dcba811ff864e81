"""The line protocol between tests/test_interop.py and a relying-party script (as
tests/certified_client/lines.mjs): one JSON object per line on stdout, one line back on stdin."""

from __future__ import annotations

import json
import os
import sys

SETTINGS = os.environ


def emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def read_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("stdin closed before the test answered")
    return line.strip()
