"""``idp serve``: the README's first command starts the provider on a fresh instance folder
(SQLite, migrations, signing keys on first start) under either server, and its access log
never carries a query string (authorization codes and state travel in them); it can be off."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from idp.cli.main import main
from idp.web.serving import SERVERS

SECRET_IN_QUERY = "code-that-must-not-be-logged"
#: A path whose percent-encoded line break would, written raw, start a line of the attacker's own.
FORGED_LINE = '6.6.6.6 "GET /account" 200 1.0ms'
FORGING_PATH = "/nowhere%0d%0a" + FORGED_LINE.replace(" ", "%20").replace('"', "%22")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> requests.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"idp serve exited with {process.returncode}")
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"idp serve did not answer {url} within {seconds} s")


def _serve_and_log(tmp_path: Path, server: str, *options: str) -> str:
    """Start ``idp serve`` on a fresh instance folder, check it serves, make one request whose
    query carries a secret; returns what the server printed."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(IDP_INSTANCE_DIR=str(tmp_path / "instance"), IDP_KEYS_DIR=str(tmp_path / "keys"),
               IDP_QR_WAITING_POLLS_PER_WORKER="1", IDP_METRICS_ADDRESS=f"127.0.0.1:{_free_port()}")
    idp = Path(sys.executable).with_name("idp")
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(idp), "serve", "--server", server, "--port", str(port), "--workers", "1",
                                    "--threads", "2", *options], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        metadata = _wait_for(f"{base}/.well-known/openid-configuration", process).json()
        assert metadata["issuer"] == base
        jwks = requests.get(f"{base}/jwks.json", timeout=5).json()
        assert {key["alg"] for key in jwks["keys"]} >= {"ES256"}
        assert list((tmp_path / "keys").iterdir()), "the first start wrote the signing keys"
        assert requests.get(f"{base}/authorize?client_id=nobody&code={SECRET_IN_QUERY}", timeout=5).status_code == 400
        assert requests.get(base + FORGING_PATH, timeout=5).status_code == 404
        time.sleep(0.5)  # the access log line is written after the answer
    finally:
        process.terminate()
        process.wait(timeout=30)
    return log_path.read_text()


@pytest.mark.parametrize("server", SERVERS)
def test_serve_starts_on_a_fresh_instance_and_logs_paths_without_queries(tmp_path: Path, server: str):
    logged = _serve_and_log(tmp_path, server)
    assert '"GET /authorize"' in logged, logged[-2000:]
    assert SECRET_IN_QUERY not in logged


@pytest.mark.parametrize("server", SERVERS)
def test_access_log_escapes_control_characters_so_a_path_cannot_forge_a_line(tmp_path: Path, server: str):
    """CWE-117: the path is logged decoded, so its control characters are escaped."""
    logged = _serve_and_log(tmp_path, server)
    assert not any(line.startswith("6.6.6.6") for line in logged.splitlines()), logged[-2000:]
    assert "/nowhere\\r\\n6.6.6.6" in logged, logged[-2000:]


@pytest.mark.parametrize("server", SERVERS)
def test_serve_without_access_log_logs_no_requests(tmp_path: Path, server: str):
    """Behind a reverse proxy that logs every request, the provider need not log them again."""
    logged = _serve_and_log(tmp_path, server, "--no-access-log")
    assert "/authorize" not in logged and "/jwks.json" not in logged, logged[-2000:]


def test_serve_refuses_threads_that_waiting_qr_pages_could_all_take(tmp_path: Path):
    """Each waiting QR status check holds a thread: a worker must keep at least one for the rest."""
    result = CliRunner().invoke(main, ["serve", "--threads", "4"], env={
        "IDP_INSTANCE_DIR": str(tmp_path / "instance"), "IDP_QR_WAITING_POLLS_PER_WORKER": "4"})
    assert result.exit_code == 2
    assert "IDP_QR_WAITING_POLLS_PER_WORKER (4) must be below --threads (4)" in result.output
    assert not list((tmp_path / "instance").glob("*.sqlite3"))  # refused before migrating


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7"])
def test_serve_refuses_to_expose_a_node_without_a_proxy_in_front(tmp_path: Path, host: str):
    """Slow clients reaching a node directly hold its threads: only a reverse proxy may reach it."""
    result = CliRunner().invoke(main, ["serve", "--host", host], env={
        "IDP_INSTANCE_DIR": str(tmp_path / "instance"), "IDP_QR_WAITING_POLLS_PER_WORKER": "1",
        "IDP_TRUSTED_PROXY_HOPS": "0"})
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: --host {host} would let clients reach this node directly, where a few slow ones hold every "
        "thread: put the reverse proxy in front (docs/deploy/nginx.conf) and set IDP_TRUSTED_PROXY_HOPS, "
        "or pass --behind-proxy"]
    assert not list((tmp_path / "instance").glob("*.sqlite3"))  # refused before migrating


def test_serve_behind_a_declared_proxy_may_take_any_address(tmp_path: Path):
    """IDP_TRUSTED_PROXY_HOPS declares the proxy; the port check that follows then answers."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", str(port)], env={
            "IDP_INSTANCE_DIR": str(tmp_path / "instance"), "IDP_QR_WAITING_POLLS_PER_WORKER": "1",
            "IDP_TRUSTED_PROXY_HOPS": "1"})
    assert result.exit_code == 1
    assert "already in use" in result.output and "--host" not in result.output


def test_serve_stops_with_one_line_when_the_metrics_address_is_taken(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        env.update(IDP_INSTANCE_DIR=str(tmp_path / "instance"), IDP_KEYS_DIR=str(tmp_path / "keys"),
                   IDP_QR_WAITING_POLLS_PER_WORKER="1", IDP_METRICS_ADDRESS=address)
        done = subprocess.run([str(Path(sys.executable).with_name("idp")), "serve", "--port", str(_free_port())],
                              env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr == f"cannot serve metrics on {address} (IDP_METRICS_ADDRESS): address already in use\n"
