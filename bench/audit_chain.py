"""What the audit hash chain costs one audit record: on the request path, ``record_event`` and the
commit (an unchained insert: the head row is not touched there any more, issue 21); off it, the
chainer linking the records afterwards (idp.audit.chain.link_unchained, in batches of
``CHAIN_BATCH``), per record.  On a fresh SQLite file and a fresh PostgreSQL database.

    .venv/bin/python bench/audit_chain.py [--records 1000] [--pg-server postgresql://postgres@127.0.0.1:5432/postgres]

A login writes about four audit records (password step, SMS sent, SMS step, login succeeded,
then token.issued at redemption), so its added cost is about four times the request-path figure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from idp.app import create_app  # noqa: E402
from idp.audit.chain import link_all  # noqa: E402
from idp.audit.log import record_event  # noqa: E402
from idp.core.database import db, upgrade_database  # noqa: E402

from conftest import make_settings  # noqa: E402


def one_record() -> float:
    """Seconds of one record_event + commit, as a request writes it."""
    start = time.perf_counter()
    record_event("login.password", subject="bench", reason="wrong_credential", identifier="138****5678")
    db.session.commit()
    return time.perf_counter() - start


def run(url: str, instance: Path, records: int) -> tuple[float, float]:
    """Median seconds per record on the request path, and the chainer's seconds per record."""
    upgrade_database(url)
    app = create_app(make_settings(url, instance, AUDIT_CHAIN_INTERVAL_MS=0))
    with app.test_request_context():
        for _ in range(50):  # warm-up
            one_record()
        link_all(db.session())
        written = [one_record() for _ in range(records)]
        start = time.perf_counter()
        linked = link_all(db.session())
        chaining = (time.perf_counter() - start) / linked
    return statistics.median(written), chaining


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
    print("| database | record + commit, on the request path | chainer, per record (off the request path) |")
    print("|---|---|---|")
    for database, (written, chaining) in results.items():
        print(f"| {database} | {written * 1000:.2f} ms | {chaining * 1000:.3f} ms |")


if __name__ == "__main__":
    main()
