"""The peer of ``bench/run.py --peer``: node-oidc-provider (bench/peer/) on its own Redis.

``serving_peer`` starts a Redis server of its own on a free loopback port (in a temporary
directory, append-only file with ``appendfsync everysec``: the durable setting a deployment
that keeps its tokens in Redis uses), seeds it with the same relying party, resource server
and people as the provider's database — the people's password hashes made by the provider's
own argon2id hasher at the OWASP profile, so both sides verify the same hash at the same
parameters — and starts ``node bench/peer/server.js`` with one worker per provider worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cpu_accounting
import provision
import redis
import requests

PEER_DIR = Path(__file__).resolve().parent / "peer"
#: The peer as the tables name it.
LABEL = "node-oidc-provider"


@dataclass(frozen=True)
class PeerProcesses:
    master_pid: int
    redis_pid: int


def check_installed() -> None:
    if shutil.which("node") is None or shutil.which("redis-server") is None:
        raise SystemExit("--peer needs node (>= 20.19) and redis-server (Debian: apt-get install nodejs redis-server)")
    if not (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        raise SystemExit(f"--peer: install the peer first: npm ci --prefix {PEER_DIR}")


@contextlib.contextmanager
def _redis_server(port: int, workdir: Path) -> Iterator[subprocess.Popen]:
    folder = workdir / "redis"
    folder.mkdir()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
         "--appendonly", "yes", "--appendfsync", "everysec", "--logfile", str(folder / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"redis-server did not start: {(folder / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.1)
        client.close()
        yield process
    finally:
        process.terminate()
        process.wait(20)


def _seed(redis_url: str, seeded: provision.SeededData) -> str:
    """The provider's people as the peer stores them; returns the hash unknown people are checked against."""
    from idp.factors.password import HASH_PROFILES

    hasher = HASH_PROFILES["owasp"]
    client = redis.Redis.from_url(redis_url)
    try:
        for index, person in enumerate(seeded.people):
            sub = f"peer-{index}-{secrets.token_hex(4)}"
            client.hset(f"peer:person:{person.phone}",
                        mapping={"sub": sub, "phone": person.phone, "hash": hasher.hash(person.password)})
            client.hset(f"peer:account:{sub}", mapping={"phone": person.phone, "name": f"测试{index}"})
    finally:
        client.close()
    return hasher.hash(secrets.token_urlsafe(32))


def _clients(seeded: provision.SeededData) -> list[dict]:
    rp, rs = seeded.relying_party, seeded.resource_server
    return [
        {"client_id": rp.client_id, "client_secret": rp.client_secret, "redirect_uris": [rp.redirect_uri],
         "response_types": ["code"], "token_endpoint_auth_method": "client_secret_basic",
         "grant_types": ["authorization_code", "refresh_token", "client_credentials",
                         "urn:ietf:params:oauth:grant-type:device_code"],
         # As the provider's bench relying party (bench/provision.py).
         "id_token_signed_response_alg": "ES256"},
        {"client_id": rs.client_id, "client_secret": rs.client_secret, "redirect_uris": [],
         "response_types": [], "grant_types": ["client_credentials"],
         "token_endpoint_auth_method": "client_secret_basic"},
    ]


@contextlib.contextmanager
def serving_peer(*, port: int, redis_port: int, workers: int, seeded: provision.SeededData, sink_url: str,
                 sms_secret: str, workdir: Path) -> Iterator[PeerProcesses]:
    """The peer answering on 127.0.0.1:``port`` with the provider's clients and people."""
    check_installed()
    base_url = f"http://127.0.0.1:{port}"
    with _redis_server(redis_port, workdir) as redis_process:
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        config = {"port": port, "issuer": base_url, "workers": workers, "redisUrl": redis_url, "smsUrl": sink_url,
                  "smsSecret": sms_secret, "clients": _clients(seeded), "dummyHash": _seed(redis_url, seeded)}
        config_path = workdir / "peer-config.json"
        config_path.write_text(json.dumps(config))
        log_path = workdir / "peer.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(["node", str(PEER_DIR / "server.js"), str(config_path)],
                                       env={**_node_environment(), "NODE_ENV": "production"},
                                       stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(process, base_url, workers, log_path)
            yield PeerProcesses(process.pid, redis_process.pid)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            errors = [line for line in log_path.read_text().splitlines() if "Error" in line]
            if errors:
                print(f"    peer logged {len(errors)} error line(s); see {log_path}")


def _node_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "NODE_"))}


def _wait_ready(process: subprocess.Popen, base_url: str, workers: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the peer exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            ready = requests.get(f"{base_url}/.well-known/openid-configuration", timeout=2).status_code == 200
            if ready and len(cpu_accounting.children_of(process.pid)) >= workers:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the peer did not become ready:\n{log_path.read_text()[-3000:]}")
