"""SQL statements and database round trips per request, counted with SQLAlchemy's events.

    .venv/bin/python bench/sql_count.py [--db postgresql] [--requests 50] [--logins 5] [--without-audit-records]

It seeds a fresh database as ``run.py`` does, serves the provider in this process (werkzeug's
single-threaded server on a loopback port, so every statement between two requests belongs to
the request in between) with the local SMS sink, and drives each scenario over HTTP one request
at a time while counting every statement the engines send (``before_cursor_execute``) and every
transaction end (``commit``/``rollback`` on the connection). Round trips are statements plus
the BEGIN and COMMIT (or ROLLBACK) of each transaction: psycopg sends BEGIN on its own before a
transaction's first statement. The counts do not depend on the machine; the provider's CPU time
per request (one request at a time, in this process) does, and is there to compare two variants.
``--without-audit-records`` counts the provider with its audit records dropped instead of written
(bench/audit_records.py, bench only): the difference is what the records cost in statements.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import event
from werkzeug.serving import make_server

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import audit_records  # noqa: E402
import login_driver  # noqa: E402
import provision  # noqa: E402
import run  # noqa: E402

#: "UPDATE refresh_tokens", "SELECT … FROM grants": what a statement does, to group the counts.
TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


class StatementCounter:
    """Every statement and transaction end on the app's engines, since the last ``take``."""

    def __init__(self) -> None:
        self.statements: Counter[str] = Counter()
        self.transactions = 0

    def attach(self, engine, autocommit_engine) -> None:
        for each in (engine, autocommit_engine):
            event.listen(each, "before_cursor_execute", self._statement)
        # Autocommit reads (idp.core.database.read_committed_row) send no BEGIN or COMMIT.
        event.listen(engine, "commit", self._transaction_end)
        event.listen(engine, "rollback", self._transaction_end)

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        table = TABLE.search(statement)
        self.statements[f"{verb} {table.group(1) if table else ''}".strip()] += 1

    def _transaction_end(self, conn) -> None:
        self.transactions += 1

    def take(self) -> tuple[Counter[str], int]:
        taken = (self.statements, self.transactions)
        self.statements, self.transactions = Counter(), 0
        return taken


@contextmanager
def serving_in_process(settings: dict, port: int, counter: StatementCounter) -> Iterator[str]:
    from idp.app import create_app
    from idp.core.database import AUTOCOMMIT_BIND, db

    app = create_app(settings)
    with app.app_context():
        counter.attach(db.engine, db.engines[AUTOCOMMIT_BIND])
    server = make_server("127.0.0.1", port, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def per_request(counter: StatementCounter, count: int, action: Callable[[int], None]) -> dict:
    counter.take()
    # The provider's CPU: this process's (the server's thread, the housekeeping threads with the
    # chainer) less this thread's, which drives the requests. One request at a time, so no
    # concurrency inflates it: a figure to compare two variants by, run after run.
    process_started, driver_started = time.process_time(), time.thread_time()
    for index in range(count):
        action(index)
    provider_cpu = (time.process_time() - process_started) - (time.thread_time() - driver_started)
    statements, transactions = counter.take()
    total = sum(statements.values())
    return {"statements": total / count, "transactions": transactions / count,
            "round_trips": (total + 2 * transactions) / count, "provider_cpu_ms": provider_cpu / count * 1000,
            "by_kind": {kind: n / count for kind, n in statements.most_common()}}


def measure(options: argparse.Namespace) -> dict[str, dict]:
    if options.without_audit_records:
        # Before any app of this process registers the commit hook (provision.seed makes one).
        audit_records.discard_audit_records()
    workdir = Path(tempfile.mkdtemp(prefix="idp_sqlcount_"))
    try:
        with provision.fresh_database(options.db, options.pg_server) as database_url:
            sink_port, sms_secret = run.free_port(), secrets.token_urlsafe(24)
            sink_url = f"http://127.0.0.1:{sink_port}"
            port = run.free_port()
            settings = run.provider_settings(database_url, workdir, f"http://127.0.0.1:{port}", sink_url, sms_secret)
            # In-process settings are typed (the server's come as IDP_* strings).
            settings |= {"SMS_RESEND_COOLDOWN": 0, "SMS_DAILY_CAP": 100_000_000}
            seeded = provision.seed(settings, people=2)
            counter = StatementCounter()
            with run.sms_sink(sink_port, sms_secret), serving_in_process(settings, port, counter) as base_url:
                return scenarios(base_url, sink_url, seeded, counter, options)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def scenarios(base_url: str, sink_url: str, seeded: provision.SeededData, counter: StatementCounter,
              options: argparse.Namespace) -> dict[str, dict]:
    rp, rs = seeded.relying_party, seeded.resource_server
    session = requests.Session()
    browser = login_driver.Browser(base_url, sink_url, rp, seeded.people[0])
    tokens = browser.full_login()
    refresh_token = tokens["refresh_token"]

    def post(path: str, auth: str, **form: str) -> dict:
        answer = session.post(base_url + path, data=form, headers={"Authorization": auth})
        answer.raise_for_status()
        return answer.json()

    def refresh(_: int) -> None:
        nonlocal refresh_token
        refresh_token = post("/token", rp.basic_auth, grant_type="refresh_token",
                             refresh_token=refresh_token)["refresh_token"]

    def introspect(_: int) -> None:
        if post("/introspect", rs.basic_auth, token=tokens["access_token"])["active"] is not True:
            raise RuntimeError("the access token is not active")

    n = options.requests
    return {
        "discovery": per_request(counter, n, lambda _: session.get(base_url + "/.well-known/openid-configuration")),
        "jwks": per_request(counter, n, lambda _: session.get(base_url + "/jwks.json")),
        "client_credentials": per_request(
            counter, n, lambda _: post("/token", rp.basic_auth, grant_type="client_credentials")),
        "introspection": per_request(counter, n, introspect),
        "refresh": per_request(counter, n, refresh),
        "login": per_request(counter, options.logins, lambda _: browser.full_login()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg-server", default=provision.DEFAULT_POSTGRES_SERVER)
    parser.add_argument("--requests", type=int, default=50, help="requests per token scenario")
    parser.add_argument("--logins", type=int, default=5, help="full logins")
    parser.add_argument("--without-audit-records", action="store_true",
                        help="bench only: the provider drops its audit records instead of writing them")
    options = parser.parse_args()
    print("| scenario | statements | transactions | round trips | provider CPU ms | statements by kind |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, counts in measure(options).items():
        kinds = ", ".join(f"{kind} {n:g}" for kind, n in counts["by_kind"].items())
        print(f"| {name} | {counts['statements']:g} | {counts['transactions']:g} | {counts['round_trips']:g} "
              f"| {counts['provider_cpu_ms']:.2f} | {kinds or '—'} |")


if __name__ == "__main__":
    main()
