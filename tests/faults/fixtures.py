"""Fixtures of the fault-injection suite (``tests/faults/``): private servers a test may break.

A plugin of tests/conftest.py rather than a conftest of its own, so that test modules here import
the suite's shared helpers (``from conftest import …``) as every other test module does."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from faults.services import Node, PrivateNginx, PrivatePostgres, PrivateRedis, running_postgres, running_redis


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test's own, which it may stop and restart."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def redis_server(tmp_path_factory) -> Iterator[PrivateRedis]:
    """A Redis server of this test's own, which it may stop and start again."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[Node]]:
    """``nodes.append(make_node(...))``: every node a test started is stopped when it ends."""
    started: list[Node] = []
    yield started
    for node in started:
        node.stop()


@pytest.fixture
def nginx() -> Iterator[Callable[[list[Node], int], PrivateNginx]]:
    """``nginx([node, ...], port)`` starts Debian's nginx with docs/deploy/nginx.conf in front of
    the nodes, on ``port`` (the nodes' issuer is its URL); it stops when the test ends. Its folder is
    readable by nginx's unprivileged workers."""
    started: list[PrivateNginx] = []

    def start(upstreams: list[Node], port: int) -> PrivateNginx:
        directory = Path(tempfile.mkdtemp(prefix="idp-faults-nginx-"))
        directory.chmod(0o755)
        server = PrivateNginx(directory, upstreams, port)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
