"""A bench-only switch: the provider with its audit records not written, to measure what they cost.

    BENCH_WITHOUT_AUDIT_RECORDS=1 (read by bench/wsgi.py; bench/sql_count.py --without-audit-records)

Not a setting of the product: the audit cannot be switched off there (docs/compliance.md §2 d).
Here the records a transaction keeps are dropped at its commit instead of inserted, so neither
the INSERT nor the chainer's linking happens; building each record and its log line still do.
"""

from __future__ import annotations

import os

ENVIRONMENT = "BENCH_WITHOUT_AUDIT_RECORDS"


def discard_audit_records() -> None:
    """Drop every transaction's audit records at commit; call before ``create_app`` (which
    registers the commit hook by name)."""
    from idp.audit import chain

    def drop_pending(session) -> None:
        session.info.pop(chain.PENDING, None)

    chain._insert_pending = drop_pending


def apply_from_environment() -> None:
    if os.environ.get(ENVIRONMENT) == "1":
        discard_audit_records()
