"""What the audit hash chain costs one audit record: ``record_event`` + commit with the chain
(head row locked and moved, digest computed) against the same insert with seq and digest
precomputed (no head row), on a fresh SQLite file and a fresh PostgreSQL database.

    .venv/bin/python bench/audit_chain.py [--records 1000] [--pg-server postgresql://postgres@127.0.0.1:5432/postgres]

A login writes about four audit records (password step, SMS sent, SMS step, login succeeded,
then token.issued at redemption), so its added cost is about four times the difference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from idp.app import create_app  # noqa: E402
from idp.audit.chain import _chain_new_records, pending_records  # noqa: E402
from idp.audit.log import record_event  # noqa: E402
from idp.core.database import db, upgrade_database  # noqa: E402

from conftest import make_settings  # noqa: E402


def one_record(seq: int | None) -> float:
    """Seconds of one record_event + commit; with ``seq``, unchained (seq and digest given)."""
    start = time.perf_counter()
    record_event("login.password", subject="bench", reason="wrong_credential", identifier="138****5678")
    if seq is not None:
        for row in pending_records(db.session()):
            row.seq, row.digest = seq, "0" * 64
    db.session.commit()
    return time.perf_counter() - start


def run(url: str, instance: Path, records: int) -> tuple[float, float]:
    """Median seconds per record unchained and chained, the two interleaved (the machine's load
    drifts; measured one after the other, the drift would be the result)."""
    upgrade_database(url)
    app = create_app(make_settings(url, instance))
    plain, chained = [], []
    with app.test_request_context():
        for _ in range(50):  # warm-up
            one_record(None)
        for index in range(records):
            event.remove(db.session, "before_flush", _chain_new_records)
            plain.append(one_record(10**12 + index))
            event.listen(db.session, "before_flush", _chain_new_records)
            chained.append(one_record(None))
    return statistics.median(plain), statistics.median(chained)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        results = {"sqlite": run(f"sqlite:///{instance / 'bench.sqlite3'}", instance, args.records)}
        name = f"bench_audit_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.pg_server.rsplit("/", 1)[0] + f"/{name}"
            results["postgresql"] = run(url, instance, args.records)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print("| database | insert + commit, plain | with the chain | difference |")
    print("|---|---|---|---|")
    for database, (plain, chained) in results.items():
        print(f"| {database} | {plain * 1000:.2f} ms | {chained * 1000:.2f} ms | {(chained - plain) * 1000:+.2f} ms |")


if __name__ == "__main__":
    main()
