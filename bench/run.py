"""Benchmark the provider under granian and gunicorn on PostgreSQL and SQLite; write bench/README.md's table.

    .venv/bin/python bench/run.py [--db sqlite|postgresql|both] [--duration 10] [--workers N]

For each database and each server setting (granian; gunicorn sync and gthread) it creates a
fresh database, migrates and seeds it through the provider's own functions, starts a local SMS
sink and the server on free loopback ports, and measures with wrk (discovery, JWKS,
client_credentials, introspection, refresh) and a Python login driver (full password +
SMS logins).  With ``--peer`` it measures node-oidc-provider on Redis (bench/peer/, bench/peer.py)
in the same run, alternating with the provider scenario by scenario, and the tables get the
same-run ratio.  With ``--nodes N`` it starts N nodes behind nginx as docs/operations.md deploys
them (bench/nodes.py) and measures through nginx.  Every request goes to 127.0.0.1; every run is
bounded by ``--duration``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import audit_records  # noqa: E402
import cpu_accounting  # noqa: E402
import login_driver  # noqa: E402
import machine_speed  # noqa: E402
import nodes  # noqa: E402
import peer  # noqa: E402
import provision  # noqa: E402
import readme_table  # noqa: E402

WRK_DIR = BENCH_DIR / "wrk"
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = Path(sys.executable).parent
#: The runner's own requests (pre-flight checks).  nginx's certificate is a throwaway self-signed
#: one on loopback, which neither wrk nor the login driver verifies either.
HTTP = requests.Session()
HTTP.verify = False
HTTP.trust_env = False  # REQUESTS_CA_BUNDLE would override ``verify``
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

#: People used only to mint the refresh/introspection token pool (one browser each).
MINTING_PEOPLE = 4

#: Requests per second each scenario must reach (the "target" column of bench/README.md), on PostgreSQL, on 2 cores.
TARGETS = {
    "discovery": 15_000,
    "jwks": 15_000,
    "client_credentials": 5_000,
    "introspection": 4_000,
    "refresh": 1_500,
    "login": 80,
    # The calibration is held to discovery's target: it shows whether the server alone could.
    "floor": 15_000,
}

#: What each scenario's same-run ratio (qdtax-idp / peer, requests per second) must reach (issue 21).
RATIO_TARGETS = {
    "discovery": 2.0,
    "jwks": 2.0,
    "client_credentials": 1.0,
    "introspection": 0.6,
    "refresh": 0.8,
    "login": 1.0,
}


@dataclass(frozen=True)
class ServerConfig:
    """One way of serving the WSGI app: gunicorn (``sync``, ``gthread``) or granian."""

    worker_class: str
    workers: int
    threads: int = 1
    #: Nodes behind nginx (``--nodes``); 0: one node answering the load generator itself.
    nodes: int = 0
    #: False only with ``--without-audit-records`` (bench/audit_records.py): never a product setting.
    audit_records: bool = True

    @property
    def label(self) -> str:
        if self.worker_class == "sync":
            server = f"gunicorn sync w={self.workers}"
        else:
            kind = "granian" if self.server == "granian" else f"gunicorn {self.worker_class}"
            server = f"{kind} w={self.workers} t={self.threads}"
        where = f"{self.nodes} node{'s' if self.nodes > 1 else ''} behind nginx" if self.nodes else "1 node"
        return f"{server}, {where}" + ("" if self.audit_records else ", audit records not written (bench only)")

    @property
    def bench_env(self) -> dict[str, str]:
        """What bench/wsgi.py reads besides the provider's settings."""
        return {} if self.audit_records else {audit_records.ENVIRONMENT: "1"}

    @property
    def server(self) -> str:
        return "granian" if self.worker_class == "granian" else "gunicorn"

    @property
    def slug(self) -> str:
        return self.label.replace(" ", "-").replace("=", "")

    def command(self, port: int, app: str) -> list[str]:
        if self.server == "granian":
            # The WSGI app runs on granian's blocking threads; its Rust runtime does the HTTP.
            return [str(VENV_BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                    "--workers", str(self.workers), "--blocking-threads", str(self.threads),
                    "--working-dir", str(BENCH_DIR), "--log-level", "warning", "--no-ws", app]
        return [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--worker-class", self.worker_class,
                "--workers", str(self.workers), "--threads", str(self.threads), "--pythonpath", str(BENCH_DIR),
                "--log-level", "warning", "--timeout", "60", app]


@dataclass
class RunningProvider:
    """One provider under its server — qdtax-idp, or the peer — with what the scenarios need to talk to it."""

    base_url: str
    sink_url: str
    database_url: str
    master_pid: int
    sink_pid: int
    seeded: provision.SeededData
    workdir: Path
    options: argparse.Namespace
    token_pool: list[dict] = field(default_factory=list)
    #: How a browser logs in to it (the peer's login pages are its own).
    browser_class: type[login_driver.Browser] = login_driver.Browser
    #: The peer's Redis server; qdtax-idp's store is the PostgreSQL of ``database_url``.
    redis_pid: int = 0
    #: With ``--nodes``: the other nodes' server processes, and nginx in front of them all.
    other_masters: list[int] = field(default_factory=list)
    proxy: nodes.Proxy | None = None

    @property
    def server_pids(self) -> set[int]:
        return {pid for master in (self.master_pid, *self.other_masters)
                for pid in (master, *cpu_accounting.children_of(master))}

    def proxy_pids(self) -> set[int]:
        return self.proxy.pids if self.proxy else set()

    def store_pids(self) -> set[int]:
        return {self.redis_pid} if self.redis_pid else provision.postgres_pids(self.database_url)

    @property
    def login_people(self) -> list[provision.BenchPerson]:
        return list(self.seeded.people[MINTING_PEOPLE:])

    def mint_token_pool(self) -> list[dict]:
        """Fresh token families: at least connections x 2 refresh tokens (we take x 4)."""
        count = self.options.connections * 4
        return login_driver.mint_tokens(self.base_url, self.sink_url, self.seeded.relying_party,
                                        list(self.seeded.people[:MINTING_PEOPLE]), count, self.browser_class)


def server_config(worker_class: str, options: argparse.Namespace) -> ServerConfig:
    """Each server's sizing advice unless ``--workers`` says otherwise.

    A gunicorn sync worker sits idle while PostgreSQL answers, so it takes two per core to keep
    the cores busy; a gthread worker overlaps those waits with its threads, one per core; granian
    likewise, one worker per core with ``--threads`` blocking threads each.
    """
    cores = os.cpu_count() or 1
    if worker_class == "sync":
        return ServerConfig("sync", options.workers or 2 * cores, nodes=options.nodes,
                            audit_records=not options.without_audit_records)
    if worker_class in ("gthread", "granian"):
        return ServerConfig(worker_class, options.workers or cores, options.threads, options.nodes,
                            not options.without_audit_records)
    raise SystemExit(f"unsupported server {worker_class!r}: use sync, gthread or granian")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def provider_settings(database_url: str, workdir: Path, issuer: str, sink_url: str, sms_secret: str) -> dict:
    """The provider's settings (without the ``IDP_`` prefix) for seeding and for the server."""
    return {
        "ISSUER": issuer,
        "DATABASE_URL": database_url,
        "INSTANCE_DIR": str(workdir / "instance"),
        "KEYS_DIR": str(workdir / "keys"),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PASSWORD_HASH_PROFILE": "owasp",
        "SMS_ADAPTER": "http",
        "SMS_GATEWAY_URL": sink_url,
        "SMS_GATEWAY_SECRET": sms_secret,
        "SMS_RESEND_COOLDOWN": "0",
        "SMS_DAILY_CAP": "100000000",
        # Not enforced by the provider today; set so a future per-IP limit cannot cap the benchmark.
        "LOGIN_RATE_LIMIT": "100000000 per minute",
    }


def _stop(process: subprocess.Popen, grace: float = 20.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def sms_sink(port: int, secret: str) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen([sys.executable, str(BENCH_DIR / "sms_sink.py"), "--port", str(port),
                                f"--secret={secret}"], stdout=subprocess.PIPE, text=True)
    try:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMS sink did not start")
        yield process
    finally:
        _stop(process)


@contextlib.contextmanager
def serving(config: ServerConfig, settings: dict, port: int, workdir: Path, app: str = "wsgi:app",
            name: str = "") -> Iterator[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update({f"IDP_{key}": str(value) for key, value in settings.items()})
    env.update(config.bench_env)
    log_path = workdir / f"{config.server}{name}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(config.command(port, app), env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, f"http://127.0.0.1:{port}", config, log_path)
        yield process
    finally:
        _stop(process)
        errors = [line for line in log_path.read_text().splitlines() if "Traceback" in line or "ERROR" in line]
        if errors:
            print(f"    {config.server} logged {len(errors)} error line(s); see {log_path}", file=sys.stderr)


@contextlib.contextmanager
def serving_nodes(config: ServerConfig, settings: dict, ports: list[int],
                  workdir: Path) -> Iterator[list[subprocess.Popen]]:
    """One node per port, one after the other (each ready before the next starts), on one database."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(serving(config, settings, port, workdir, name=f"-node{index + 1}"))
               for index, port in enumerate(ports)]


@contextlib.contextmanager
def fronted(config: ServerConfig, node_ports: list[int], port: int) -> Iterator[nodes.Proxy | None]:
    """With ``--nodes``: nginx in front of the nodes, on ``port``."""
    if not config.nodes:
        yield None
        return
    with nodes.nginx_in_front(node_ports, port) as proxy:
        yield proxy


def _wait_ready(process: subprocess.Popen, base_url: str, config: ServerConfig, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{config.server} exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            ready = HTTP.get(f"{base_url}/.well-known/openid-configuration", timeout=2).status_code == 200
            if ready and len(cpu_accounting.children_of(process.pid)) >= config.workers:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{config.server} did not become ready:\n{log_path.read_text()[-3000:]}")


# --- scenarios ---------------------------------------------------------------------------------


def run_wrk(provider: RunningProvider, script: str, path: str, env: dict[str, str], seconds: float) -> dict:
    options = provider.options
    command = ["wrk", f"-t{options.wrk_threads}", f"-c{options.connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(WRK_DIR / script), provider.base_url + path]
    completed = subprocess.run(command, env={**os.environ, "BENCH_WRK_THREADS": str(options.wrk_threads), **env},
                               capture_output=True, text=True, timeout=seconds + 60)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            raw = json.loads(line.removeprefix("BENCH_JSON "))
            break
    else:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    socket_errors = sum(v for k, v in raw["errors"].items() if k != "status")
    bad = raw["errors"]["status"] + raw["unexpected"] + raw["starved"] + socket_errors
    seconds_run = raw["duration_us"] / 1e6
    return {
        "rps": raw["requests"] / seconds_run,
        "p50_ms": raw["latency_us"]["p50"] / 1000,
        "p99_ms": raw["latency_us"]["p99"] / 1000,
        "requests": raw["requests"],
        "failed": bad,
        "failures": [f"{k}={v}" for k, v in {**raw["errors"], "unexpected": raw["unexpected"],
                                               "starved": raw["starved"]}.items() if v],
        "duration_s": seconds_run,
    }


def _expect(response: requests.Response, check: Callable[[dict], bool], what: str) -> None:
    if response.status_code != 200 or not check(response.json()):
        raise RuntimeError(f"pre-flight check failed for {what}: {response.status_code} {response.text[:300]}")


@dataclass(frozen=True)
class Load:
    """A prepared scenario: ``run(seconds)`` drives it; ``warmable`` if a warm-up run may precede."""

    run: Callable[[float], dict]
    warmable: bool = True


def wrk_load(provider: RunningProvider, script: str, path: str, env: dict[str, str]) -> Load:
    return Load(lambda seconds: run_wrk(provider, script, path, env, seconds))


def prepare_discovery(provider: RunningProvider) -> Load:
    path = "/.well-known/openid-configuration"
    _expect(HTTP.get(provider.base_url + path), lambda body: "issuer" in body, "discovery")
    return wrk_load(provider, "get.lua", path, {})


def prepare_jwks(provider: RunningProvider) -> Load:
    _expect(HTTP.get(provider.base_url + "/jwks.json"), lambda body: bool(body["keys"]), "jwks")
    return wrk_load(provider, "get.lua", "/jwks.json", {})


def prepare_client_credentials(provider: RunningProvider) -> Load:
    auth = provider.seeded.relying_party.basic_auth
    _expect(HTTP.post(provider.base_url + "/token", data={"grant_type": "client_credentials"},
                          headers={"Authorization": auth}), lambda body: "access_token" in body, "client_credentials")
    return wrk_load(provider, "client_credentials.lua", "/token", {"BENCH_BASIC_AUTH": auth})


def prepare_introspection(provider: RunningProvider) -> Load:
    if not provider.token_pool:
        provider.token_pool = provider.mint_token_pool()
    # A user's access token: introspection then also checks its grant and the jti deny-list.
    token = provider.token_pool[0]["access_token"]
    auth = provider.seeded.resource_server.basic_auth
    _expect(HTTP.post(provider.base_url + "/introspect", data={"token": token, "token_type_hint": "access_token"},
                          headers={"Authorization": auth}), lambda body: body.get("active") is True, "introspection")
    env = {"BENCH_BASIC_AUTH": auth, "BENCH_ACCESS_TOKEN": token}
    return wrk_load(provider, "introspection.lua", "/introspect", env)


def prepare_refresh(provider: RunningProvider) -> Load:
    # Each token is single use, so every run (a profiled re-run too) gets fresh families.
    pool = provider.token_pool or provider.mint_token_pool()
    provider.token_pool = []
    pool_file = provider.workdir / f"refresh-pool-{secrets.token_hex(4)}.txt"
    pool_file.write_text("\n".join(tokens["refresh_token"] for tokens in pool) + "\n")
    env = {"BENCH_BASIC_AUTH": provider.seeded.relying_party.basic_auth, "BENCH_REFRESH_POOL": str(pool_file)}

    def run(seconds: float) -> dict:
        return run_wrk(provider, "refresh.lua", "/token", env, seconds) | {"pool": len(pool)}

    # No warm-up: it would spend the pool; the earlier scenarios have warmed the workers.
    return Load(run, warmable=False)


def prepare_login(provider: RunningProvider) -> Load:
    def run(seconds: float) -> dict:
        return login_driver.run_logins(provider.base_url, provider.sink_url, provider.seeded.relying_party,
                                       provider.login_people, seconds, provider.browser_class)

    return Load(run, warmable=False)


def prepare_floor(provider: RunningProvider) -> Load:
    return wrk_load(provider, "get.lua", "/", {})


SCENARIOS: dict[str, Callable[[RunningProvider], Load]] = {
    "discovery": prepare_discovery,
    "jwks": prepare_jwks,
    "client_credentials": prepare_client_credentials,
    "introspection": prepare_introspection,
    "refresh": prepare_refresh,
    "login": prepare_login,
}
#: Not a provider scenario: the calibration run of bench/wsgi_floor.py (``--calibrate``).
CALIBRATION = {"floor": prepare_floor}


def measure(provider: RunningProvider, name: str) -> dict:
    load = {**SCENARIOS, **CALIBRATION}[name](provider)
    busy_before = cpu_accounting.wait_for_quiet(provider.options.quiet_below, provider.options.quiet_wait)
    if load.warmable and provider.options.warmup > 0:
        load.run(provider.options.warmup)
    before = cpu_accounting.snapshot()
    started = time.monotonic()
    result = load.run(provider.options.duration)
    result["busy_before"] = busy_before
    after = cpu_accounting.snapshot()
    elapsed = time.monotonic() - started
    cores = cpu_accounting.cpu_split(before, after, server_pids=provider.server_pids, sink_pid=provider.sink_pid,
                                     store_pids=provider.store_pids(), proxy_pids=provider.proxy_pids(),
                                     seconds=elapsed)
    result["cpu_cores"] = cores
    # CPU per request is what bounds throughput once the cores are full, whoever else runs.
    done = max(result["requests"], 1)
    result["cpu_ms_per_request"] = {party: round(cores[party] * elapsed / done * 1000, 3)
                                    for party in ("provider", "store", "proxy")}
    result["target"] = TARGETS[name]
    result["ratio_target"] = RATIO_TARGETS.get(name)
    result["valid"] = result["failed"] == 0
    result["met"] = result["valid"] and result["rps"] >= TARGETS[name]
    return result


def profile(provider: RunningProvider, name: str, out: Path) -> Path:
    """Re-run one scenario with py-spy sampling every worker (wall-clock stacks)."""
    load = SCENARIOS[name](provider)
    out.parent.mkdir(parents=True, exist_ok=True)
    # "wall" keeps samples of waiting threads (on PostgreSQL, on the next request), "cpu" only
    # threads that are running, "gil" only the thread holding the GIL: with several threads per
    # worker, running threads also include those waiting for the GIL.
    mode = {"wall": ["--idle"], "cpu": [], "gil": ["--gil"]}[provider.options.profile_mode]
    spy = subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "--pid", str(provider.master_pid), "--subprocesses",
                            "--nonblocking", *mode, "--rate", "200", "--format", "raw", "--output", str(out),
                            "--duration", str(int(provider.options.duration) + 2)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # py-spy attaches to every worker before the load starts
    result = load.run(provider.options.duration)
    _, stderr = spy.communicate(timeout=60)
    if spy.returncode != 0:
        raise RuntimeError(f"py-spy failed: {stderr[-2000:]}")
    print(f"    profiled {name}: {result['rps']:.0f}/s under py-spy -> {out}")
    return out


def benchmark(db_kind: str, config: ServerConfig, options: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"idp_bench_{db_kind}_"))
    speed = machine_speed.measure()
    print(f"  machine speed: {speed}", flush=True)
    try:
        with provision.fresh_database(db_kind, options.pg_server) as database_url:
            sink_port, sms_secret = free_port(), secrets.token_urlsafe(24)
            sink_url = f"http://127.0.0.1:{sink_port}"
            node_ports = [free_port() for _ in range(max(config.nodes, 1))]
            # Behind nginx every node has its URL as issuer (docs/operations.md, "Topology").
            front_port = nodes.proxy_port() if config.nodes else node_ports[0]
            base_url = nodes.proxy_url(front_port) if config.nodes else f"http://127.0.0.1:{front_port}"
            settings = provider_settings(database_url, workdir, base_url, sink_url, sms_secret)
            if config.nodes:
                settings |= nodes.NODE_SETTINGS
            seeded = provision.seed(settings, people=MINTING_PEOPLE + options.login_users)
            with sms_sink(sink_port, sms_secret) as sink, \
                    serving_nodes(config, settings, node_ports, workdir) as masters, \
                    fronted(config, node_ports, front_port) as proxy, \
                    serving_peer(config, seeded, sink_url, sms_secret, workdir, options) as peer_side:
                master = masters[0]
                provider = RunningProvider(base_url, sink_url, database_url, master.pid, sink.pid, seeded, workdir,
                                           options, other_masters=[m.pid for m in masters[1:]], proxy=proxy)
                if peer_side is not None:
                    peer_side.sink_pid = sink.pid
                sides = {"qdtax-idp": provider, peer.LABEL: peer_side}
                scenarios, peer_scenarios = {}, {}
                for index, name in enumerate(options.scenarios):
                    # Scenario by scenario, alternating who goes first: a machine that speeds up or
                    # slows down during the run then favours neither side.
                    order = ["qdtax-idp", peer.LABEL] if index % 2 == 0 else [peer.LABEL, "qdtax-idp"]
                    for who in order:
                        side = sides[who]
                        if side is None:
                            continue
                        result = measure(side, name)
                        (scenarios if side is provider else peer_scenarios)[name] = result
                        _print_result(db_kind, config.label if side is provider else peer.LABEL, name, result)
                memory = {str(pid): cpu_accounting.memory_of(pid) for m in masters
                          for pid in cpu_accounting.children_of(m.pid)}
                peer_memory = ({str(pid): cpu_accounting.memory_of(pid)
                                for pid in cpu_accounting.children_of(peer_side.master_pid)} if peer_side else {})
                profiles = []
                for name in options.profile:
                    profiles.append(str(profile(provider, name, RESULTS_DIR / "profiles" /
                                                f"{db_kind}-{config.slug}-{name}-{options.profile_mode}.txt")))
        run = {"db": db_kind, "server": config.label, "workers": config.workers, "threads": config.threads,
               "worker_class": config.worker_class, "nodes": max(config.nodes, 1), "behind_nginx": bool(config.nodes),
               "audit_records": config.audit_records, "scenarios": scenarios, "machine_speed": speed,
               "memory": {pid: m for pid, m in memory.items() if m}, "profiles": profiles,
               "loadavg_before": options.loadavg_before, "finished_at": time.strftime("%Y-%m-%d %H:%M:%S")}
        if peer_side is not None:
            run["peer"] = {"server": peer.LABEL, "workers": config.workers, "scenarios": peer_scenarios,
                           "memory": {pid: m for pid, m in peer_memory.items() if m}}
        return run
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _print_result(db_kind: str, label: str, name: str, result: dict) -> None:
    flag = "" if result["valid"] else f"  INVALID: {result['failures']}"
    print(f"  {db_kind:10} {label:18} {name:18} {result['rps']:9.1f}/s  "
          f"p50 {result['p50_ms']:8.2f} ms  p99 {result['p99_ms']:8.2f} ms  "
          f"idle-check {result['busy_before']} cores {result['cpu_cores']}{flag}", flush=True)


@contextlib.contextmanager
def serving_peer(config: ServerConfig, seeded: provision.SeededData, sink_url: str, sms_secret: str, workdir: Path,
                 options: argparse.Namespace) -> Iterator[RunningProvider | None]:
    """With ``--peer``: node-oidc-provider on Redis (bench/peer/), as many workers as the provider has."""
    if not options.peer:
        yield None
        return
    port = free_port()
    with peer.serving_peer(port=port, redis_port=free_port(), workers=config.workers, seeded=seeded,
                           sink_url=sink_url, sms_secret=sms_secret, workdir=workdir) as processes:
        yield RunningProvider(f"http://127.0.0.1:{port}", sink_url, "", processes.master_pid, 0, seeded, workdir,
                              options, browser_class=login_driver.PeerBrowser, redis_pid=processes.redis_pid)


def calibrate(config: ServerConfig, options: argparse.Namespace) -> dict:
    """The same server settings serving constant bytes (bench/wsgi_floor.py): the server's ceiling."""
    workdir = Path(tempfile.mkdtemp(prefix="idp_bench_floor_"))
    # The server alone: one node, straight, whatever the run's topology.
    config = dataclasses.replace(config, nodes=0, audit_records=True)
    try:
        port = free_port()
        with serving(config, {}, port, workdir, app="wsgi_floor:app") as master:
            provider = RunningProvider(f"http://127.0.0.1:{port}", "", "", master.pid, 0, None, workdir, options)
            result = measure(provider, "floor")
            print(f"  {'none':10} {config.label:18} {'floor':18} {result['rps']:9.1f}/s  "
                  f"p50 {result['p50_ms']:8.2f} ms  p99 {result['p99_ms']:8.2f} ms", flush=True)
        return {"db": "none", "server": config.label, "workers": config.workers, "threads": config.threads,
                "worker_class": config.worker_class, "scenarios": {"floor": result}, "memory": {}, "profiles": [],
                "loadavg_before": options.loadavg_before, "finished_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of wrk warm-up before each (0: none)")
    parser.add_argument("--workers", type=int, default=0,
                        help="worker processes (default: 2 per core for sync, 1 per core for gthread and granian)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread or granian worker")
    parser.add_argument("--servers", default="granian,gthread,sync",
                        help="servers to compare: granian, gthread (gunicorn), sync (gunicorn)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--login-users", type=int, default=8, help="concurrent virtual users in the login test")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    parser.add_argument("--profile", default="", help="scenarios to re-run under py-spy (e.g. refresh)")
    parser.add_argument("--quiet-below", type=float, default=0.3,
                        help="before each scenario wait until the machine uses fewer cores than this")
    parser.add_argument("--quiet-wait", type=float, default=90, help="seconds to wait for that at most")
    parser.add_argument("--nice", type=int, default=0,
                        help="scheduling priority for the runner and everything it starts (root may go below 0 "
                             "to keep a shared machine's other work from skewing the numbers)")
    parser.add_argument("--flat-scheduling", action="store_true",
                        help="root only: turn the kernel's autogroup scheduling off for the run (restored "
                             "afterwards), so PostgreSQL's processes compete for the cores one by one, not as "
                             "another session's group (which left its backends waiting up to seconds: "
                             "introspection p99 of 1-3 s)")
    parser.add_argument("--profile-mode", choices=("wall", "cpu", "gil"), default="wall",
                        help="wall: also sample waiting threads (py-spy --idle); cpu: running threads only; "
                             "gil: only the thread holding the GIL (py-spy --gil)")
    parser.add_argument("--pg-server", default=provision.DEFAULT_POSTGRES_SERVER)
    parser.add_argument("--calibrate", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure each server serving constant bytes (the server's own ceiling)")
    parser.add_argument("--peer", action="store_true",
                        help="also measure node-oidc-provider on Redis (bench/peer/, after `npm ci --prefix "
                             "bench/peer`), alternating with the provider scenario by scenario")
    parser.add_argument("--nodes", type=int, default=0,
                        help="N provider nodes (each with --workers and --threads), one database, behind nginx "
                             "running docs/deploy/nginx.conf (bench/nodes.py), measured through nginx; without "
                             "it one node answers the load generator itself, as the parity tables were measured")
    parser.add_argument("--without-audit-records", action="store_true",
                        help="bench only (bench/audit_records.py): the provider drops its audit records instead "
                             "of writing them, to measure what they cost; not a setting of the product")
    parser.add_argument("--no-readme", action="store_true", help="print results, leave bench/README.md alone")
    options = parser.parse_args(argv)
    options.scenarios = [s for s in options.scenarios.split(",") if s]
    options.profile = [s for s in options.profile.split(",") if s]
    unknown = set(options.scenarios + options.profile) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if options.nodes < 0:
        parser.error("--nodes must be 1 or more")
    if options.peer and options.nodes:
        # The peer is measured straight, one node; a ratio against nodes behind nginx would not be like for like.
        parser.error("--peer compares one node without a proxy: leave out --nodes")
    if options.without_audit_records and not options.no_readme:
        parser.error("--without-audit-records is a measurement, not a result table: add --no-readme")
    if options.flat_scheduling and options.nice < 0:
        # Without autogroups nice ranks single processes: PostgreSQL's would lose to ours.
        parser.error("--nice below 0 with --flat-scheduling would rank PostgreSQL below the provider")
    return options


AUTOGROUP = Path("/proc/sys/kernel/sched_autogroup_enabled")


@contextlib.contextmanager
def flat_scheduling(enabled: bool) -> Iterator[None]:
    """Autogroup scheduling off for the run, as it was afterwards."""
    if not enabled:
        yield
        return
    before = AUTOGROUP.read_text().strip()
    try:
        AUTOGROUP.write_text("0")
    except OSError as error:
        raise SystemExit(f"--flat-scheduling needs root ({AUTOGROUP}: {error.strerror})") from error
    try:
        yield
    finally:
        AUTOGROUP.write_text(before)


def main(argv: list[str] | None = None) -> None:
    options = parse_arguments(argv)
    # A plain `kill` must still stop the server and drop the database: unwind like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    if options.peer:
        peer.check_installed()
    options.loadavg_before = os.getloadavg()[0]
    if options.nice:
        os.nice(options.nice)  # inherited by the server, wrk, the login driver and the SMS sink
        # With autogroup scheduling, nice only ranks processes inside one session; the
        # session's own weight against other sessions is set here.
        with contextlib.suppress(OSError):
            Path("/proc/self/autogroup").write_text(str(options.nice))
    dbs = ["postgresql", "sqlite"] if options.db == "both" else [options.db]
    configs = [server_config(kind, options) for kind in options.servers.split(",") if kind]
    with flat_scheduling(options.flat_scheduling):
        runs = [calibrate(config, options) for config in configs] if options.calibrate else []
        for db_kind in dbs:
            for config in configs:
                print(f"== {db_kind} / {config.label}", flush=True)
                runs.append(benchmark(db_kind, config, options))
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(runs, indent=2))
    if not options.no_readme:
        readme_table.update_readme(BENCH_DIR / "README.md", runs, options, TARGETS)
        print(f"updated {BENCH_DIR / 'README.md'}")


if __name__ == "__main__":
    main()
