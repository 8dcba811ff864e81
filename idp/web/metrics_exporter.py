"""The Prometheus endpoint of ``idp serve``, served by the process that starts the workers.

Workers write their metrics to files (:mod:`idp.core.metrics`); this process adds them up for each
scrape, so one address answers for every worker, and a worker's counts outlive its restart. The
endpoint is served on ``METRICS_ADDRESS`` (loopback by default), never on the public port: it
tells who uses the provider how, which is nobody's business but the operator's.

A few figures are read at scrape time instead of counted: the back-channel logout queue's depth
(one ``COUNT`` on a bounded connection, :func:`idp.web.readiness.create_probe_engine`) and the age of
each algorithm's active signing key. A worker that died leaves its counters (they stay true) but
not its place in ``idp_workers``.
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from flask import Flask

from idp.core.settings import current_settings
from idp.keyring import current_keyring
from idp.protocol.backchannel_logout import COUNT_UNDELIVERED
from idp.web.readiness import create_probe_engine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Files of prometheus-client's live gauges end with the writing process's id.
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+_(\d+)\.db")


def prepare_multiprocess_directory() -> Path:
    """An empty folder for this run's metric files, named in the environment every worker
    inherits: the one ``PROMETHEUS_MULTIPROC_DIR`` names (emptied of a previous run's files), or a
    temporary one removed at exit. Call before anything creates a metric (:mod:`idp.core.metrics`)."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="idp-metrics-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's process
        pass
    return True


def _forget_dead_workers(directory: Path) -> None:
    from prometheus_client import multiprocess

    for path in directory.glob("gauge_live*.db"):
        match = _LIVE_GAUGE_FILE.fullmatch(path.name)
        if match and not _alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), str(directory))


def _workers_collector(directory: Path):
    """prometheus-client's sum of the workers' files, each scrape first forgetting the live
    gauges of workers that died (gunicorn and granian have no common hook for a worker's end)."""
    from prometheus_client.multiprocess import MultiProcessCollector

    class WorkersCollector(MultiProcessCollector):
        def collect(self) -> Iterator:
            _forget_dead_workers(directory)
            return super().collect()

    return WorkersCollector(None, path=str(directory))


class ProviderState:
    """Figures read when scraped (a prometheus-client custom collector)."""

    def __init__(self, app: Flask):
        settings = current_settings(app)
        self.app = app
        self.database = create_probe_engine(settings.database_url, settings.READINESS_TIMEOUT)

    def collect(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        try:
            with self.database.connect() as connection:
                depth = connection.execute(COUNT_UNDELIVERED).scalar_one()
        except Exception:  # the database is down: the figure is missing from this scrape, the rest is not
            depth = None
        if depth is not None:
            yield GaugeMetricFamily("idp_backchannel_logout_queue_depth",
                                    "Back-channel logout messages waiting for delivery or being sent.", value=depth)
        try:
            with self.app.app_context():
                since = current_keyring(self.app).active_since()
        except Exception:  # an unreadable keyring: /readyz says so; no age to report
            since = {}
        ages = GaugeMetricFamily("idp_signing_key_age_seconds", "Seconds since the active signing key of each "
                                 "algorithm began to sign (rotation: idp keys rotate).", labels=["alg"])
        now = time.time()
        for alg, started in sorted(since.items()):
            ages.add_metric([alg], now - started)
        yield ages


def _host_and_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"IDP_METRICS_ADDRESS must be host:port (or empty for no endpoint), got {address!r}")
    return host.strip("[]"), int(port)


def start_metrics_exporter(app: Flask, directory: Path) -> None:
    """Answer scrapes on ``METRICS_ADDRESS`` from a thread of this process (none when it is empty)."""
    address = current_settings(app).METRICS_ADDRESS
    if not address:
        return
    from prometheus_client import CollectorRegistry, start_http_server

    host, port = _host_and_port(address)
    registry = CollectorRegistry()
    registry.register(_workers_collector(directory))
    registry.register(ProviderState(app))
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        reason = "address already in use" if error.errno == errno.EADDRINUSE else error.strerror or str(error)
        raise SystemExit(f"cannot serve metrics on {address} (IDP_METRICS_ADDRESS): {reason}") from None
