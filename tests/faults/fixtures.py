"""Fixtures of the fault-injection suite (``tests/faults/``): private servers a test may break.

A plugin of tests/conftest.py rather than a conftest of its own, so that test modules here import
the suite's shared helpers (``from conftest import …``) as every other test module does."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from faults.services import Node, PrivatePostgres, PrivateRedis


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test's own, which it may stop and restart. Its folder is not
    under pytest's (mode 0700, root's): the ``postgres`` user must reach it."""
    directory = Path(tempfile.mkdtemp(prefix="idp-faults-pg-"))
    server = PrivatePostgres(directory)
    try:
        server.init()
        yield server
    finally:
        if server.is_running():
            server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def redis_server(tmp_path_factory) -> Iterator[PrivateRedis]:
    """A Redis server of this test's own, which it may stop and start again."""
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[Node]]:
    """``nodes.append(make_node(...))``: every node a test started is stopped when it ends."""
    started: list[Node] = []
    yield started
    for node in started:
        node.stop()



