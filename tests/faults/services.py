"""Private servers for the fault-injection suite: a PostgreSQL cluster, a Redis server,
``idp serve`` nodes and an nginx in front of them (the shipped docs/deploy/nginx.conf), all of the
suite's own, on free loopback ports; and a load of requests that counts what failed.

A fault test stops, kills and restarts these freely: the machine's own PostgreSQL and Redis
(which the rest of the suite uses) are never touched, and every server started here is
stopped when its fixture ends, whatever the test did to it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.core.personal_data_cipher import generate_key_file, write_key_file

from conftest import DOC_NUMBER, PASSWORD, PHONE

IDP = Path(sys.executable).with_name("idp")
NGINX_SITE = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {seconds} s")


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql (Debian's postgresql)")
    return found[-1].parent


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; CI runs as root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class PrivatePostgres:
    """One PostgreSQL cluster in a temporary folder, trust auth on loopback."""

    directory: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(_postgres_bin() / "pg_ctl"), "-D", str(self.directory / "data"), *args]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self) -> None:
        data = self.directory / "data"
        data.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            shutil.chown(data, "postgres")
        subprocess.run(_as_postgres([str(_postgres_bin() / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.start()

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory} "
                   "-c fsync=off -c max_connections=200")
        self._pg_ctl("-o", options, "-l", str(self.directory / "server.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_running(self) -> bool:
        return (self.directory / "data" / "postmaster.pid").exists()


@contextmanager
def running_postgres() -> Iterator[PrivatePostgres]:
    """A started private cluster, stopped and deleted afterwards whatever was done to it. Its
    folder is not under pytest's (mode 0700, root's): the ``postgres`` user must reach it."""
    directory = Path(tempfile.mkdtemp(prefix="idp-faults-pg-"))
    server = PrivatePostgres(directory)
    try:
        server.init()
        yield server
    finally:
        if server.is_running():
            server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class PrivateRedis:
    """One Redis server that keeps nothing on disk."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, 10, "redis-server did not answer")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open and nothing answers, as a hung Redis."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.resume()  # a paused server would not act on the SIGTERM
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class Node:
    """One ``idp serve`` process: its base URL, environment and log."""

    port: int
    env: dict[str, str]
    log_path: Path
    #: The ``idp`` program: this venv's, or an installed wheel's.
    command: list[str] = field(default_factory=lambda: [str(IDP)])
    #: Where it runs; relative settings (the default ``instance`` folder) are relative to it.
    cwd: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *options: str, wait: bool = True) -> Node:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen([*self.command, "serve", "--port", str(self.port), *options],
                                            env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, seconds: float = 60) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"idp serve exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            try:
                return requests.get(f"{self.url}/.well-known/openid-configuration", timeout=2).status_code == 200
            # Timeout too: the port takes connections before a worker is ready to answer (gunicorn's
            # workers boot after its master listens), which on a busy machine can take seconds.
            except (requests.ConnectionError, requests.Timeout):
                return False

        wait_until(answers, seconds, f"idp serve on {self.port} did not answer")

    @property
    def sms_outbox(self) -> Path:
        """The development SMS adapter's outbox, as the node's settings place it."""
        if "IDP_SMS_OUTBOX" in self.env:
            return Path(self.env["IDP_SMS_OUTBOX"])
        return (self.cwd or Path.cwd()) / self.env.get("IDP_INSTANCE_DIR", "instance") / "sms-outbox.jsonl"

    def last_sms_code(self, phone: str) -> str:
        """The newest code sent to ``phone``."""
        lines = self.sms_outbox.read_text(encoding="utf-8").splitlines() if self.sms_outbox.exists() else []
        codes = [message["code"] for message in map(json.loads, lines) if message["phone"] == phone]
        assert codes, f"no SMS was sent to {phone}"
        return codes[-1]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def run_idp(self, *args: str) -> str:
        """Run ``idp <args>`` with this node's settings (its database); returns what it printed."""
        done = subprocess.run([*self.command, *args], env=self.env, cwd=self.cwd, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"idp {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
        return done.stdout

    def add_person(self) -> None:
        """The suite's person (conftest's ``zhangsan``: password, phone, document) in this node's database."""
        self.run_idp("users", "add", "--doc-type", "ID_CARD", "--doc-number", DOC_NUMBER, "--name", "张三",
                     "--phone", PHONE, "--password", PASSWORD, "--username", "zhangsan")

    def stop(self, sig: int = signal.SIGTERM, seconds: float = 60) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(timeout=10)


@contextmanager
def running_redis(directory: Path) -> Iterator[PrivateRedis]:
    """A started private Redis, stopped afterwards."""
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def node_environment(instance: Path, **settings: str) -> dict[str, str]:
    """The environment of an ``idp serve`` node: no IDP_* of the caller's, fast test hashing,
    rate limits out of the way unless a test sets them, no metrics endpoint (nodes on one host
    would share its port) unless a test asks; ``settings`` as ``IDP_<NAME>``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(IDP_INSTANCE_DIR=str(instance), IDP_KEYS_DIR=str(instance / "keys"),
               IDP_PASSWORD_HASH_PROFILE="test", IDP_QR_WAITING_POLLS_PER_WORKER="1",
               IDP_LOGIN_RATE_LIMIT="100000 per minute", IDP_METRICS_ADDRESS="")
    env.update({f"IDP_{name}": value for name, value in settings.items()})
    return env


def make_node(base: Path, name: str, **settings: str) -> Node:
    """A node (not started) with its own instance folder under ``base`` and the personal-data key
    file of every node under ``base``; its issuer is its own URL unless ``ISSUER`` is given (nodes
    behind one balancer share one issuer)."""
    instance = base / name
    instance.mkdir(parents=True, exist_ok=True)
    # Nodes sharing a database share the personal-data keys, as an operator gives every node one file.
    keys = base / "pii-keys.json"
    if not keys.exists():
        write_key_file(keys, generate_key_file(settings.get("CRYPTO_SUITE", "international")))
    settings.setdefault("PII_KEYS_FILE", str(keys))
    port = free_port()
    settings.setdefault("ISSUER", f"http://127.0.0.1:{port}")
    return Node(port, node_environment(instance, **settings), base / f"{name}.log")


def stop_all(nodes: Iterator[Node]) -> None:
    for node in nodes:
        node.stop()


def register_client(node: Node) -> tuple[str, str]:
    """A client_credentials client registered in the node's database: ``(client_id, client_secret)``."""
    registered = json.loads(node.run_idp("clients", "add", "--name", "load", "--grant-type", "client_credentials",
                                         "--scope", "openid", "--json"))
    return registered["client_id"], registered["client_secret"]


def write_self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), its own trust anchor: ``(certificate, key)``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    certificate_path, key_path = directory / "nginx.pem", directory / "nginx.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return certificate_path, key_path


@dataclass
class PrivateNginx:
    """Debian's nginx running the shipped docs/deploy/nginx.conf in front of ``nodes``.

    Only what cannot be the same on a test machine changes: the upstream addresses (one line per
    node, with the shipped line's parameters), the listening address (TLS on a free loopback
    port), the certificate; the main context (pid, logs, temporary files) is the suite's own.
    """

    directory: Path
    nodes: list[Node]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def certificate(self) -> Path:
        return self.directory / "nginx.pem"

    def site(self) -> str:
        site = NGINX_SITE.read_text()
        upstream = re.search(r"^upstream idp \{\n(.*?)^\}", site, re.M | re.S)
        servers = re.findall(r"^\s*server \S+(.*);$", upstream.group(1), re.M)
        lines = "".join(f"    server 127.0.0.1:{node.port}{servers[0]};\n" for node in self.nodes)
        site = site[:upstream.start(1)] + lines + site[upstream.end(1):]
        certificate, key = self.certificate, self.directory / "nginx.key"
        for pattern, replacement in ((r"^\s*listen \[::\]:443 .*\n", ""),
                                     (r"listen 443 ", f"listen 127.0.0.1:{self.port} "),
                                     (r"ssl_certificate \S+;", f"ssl_certificate {certificate};"),
                                     (r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};")):
            site, count = re.subn(pattern, replacement, site, flags=re.M)
            assert count == 1, f"{pattern!r} not once in {NGINX_SITE}"
        return site

    def start(self) -> None:
        write_self_signed_certificate(self.directory)
        (self.directory / "idp.conf").write_text(self.site())
        (self.directory / "nginx.conf").write_text(f"""
daemon off;
worker_processes 1;
pid {self.directory}/nginx.pid;
error_log {self.directory}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {self.directory}/access.log;
    client_body_temp_path {self.directory}/client_body;
    proxy_temp_path {self.directory}/proxy;
    fastcgi_temp_path {self.directory}/fastcgi;
    uwsgi_temp_path {self.directory}/uwsgi;
    scgi_temp_path {self.directory}/scgi;
    include {self.directory}/idp.conf;
}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen([nginx, "-p", str(self.directory), "-c", str(self.directory / "nginx.conf"),
                                         "-e", str(self.directory / "error.log")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(self._answers, 10, f"nginx did not answer on {self.port}:\n{self.error_log()[-2000:]}")

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"nginx exited with {self.process.returncode}:\n{self.error_log()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class Outcome:
    """One request of a :class:`Load`: when it started, how long it took, what went wrong (None: nothing)."""

    started: float
    seconds: float
    error: str | None


class Load:
    """``threads`` clients, each sending ``send(session, n, timeout)`` for n = 0, 1, 2... on a session of its
    own (kept-alive connections, as a relying party's HTTP client) until the ``with`` block ends.

    A request fails when it raises (connection refused or reset, no answer within ``timeout``) or
    answers other than 200; every outcome is kept, with ``time.monotonic()`` of its start.
    """

    def __init__(self, send: Callable[[requests.Session, int, float], requests.Response], threads: int = 4,
                 timeout: float = 10, verify: bool | str = True):
        self.send, self.timeout, self.verify = send, timeout, verify
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def _client(self) -> None:
        session = requests.Session()
        # REQUESTS_CA_BUNDLE (and proxy variables) of the environment would override ``verify``.
        session.trust_env = False
        session.verify = self.verify
        n = 0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                response = self.send(session, n, self.timeout)
                request = response.request
                error = None if response.status_code == 200 else (
                    f"{request.method} {request.path_url} {response.status_code} {response.text[:100]}")
            except requests.RequestException as exception:
                error = type(exception).__name__
            with self._lock:
                self.outcomes.append(Outcome(started, time.monotonic() - started, error))
            n += 1

    def failures(self) -> list[Outcome]:
        with self._lock:
            return [outcome for outcome in self.outcomes if outcome.error]

    def answered_since(self, moment: float) -> int:
        """Requests started at or after ``moment`` and answered as expected."""
        with self._lock:
            return sum(1 for outcome in self.outcomes if outcome.started >= moment and not outcome.error)


def jwks_and_token_requests(base_url: str,
                            client: tuple[str, str]) -> Callable[[requests.Session, int, float], requests.Response]:
    """For :class:`Load`: in turn ``GET /jwks.json`` and a client_credentials ``POST /token``."""

    def send(session: requests.Session, n: int, timeout: float) -> requests.Response:
        if n % 2:
            return session.post(f"{base_url}/token", data={"grant_type": "client_credentials"}, auth=client,
                                timeout=timeout)
        return session.get(f"{base_url}/jwks.json", timeout=timeout)

    return send
