"""Fixtures of the fault-injection suite (``tests/faults/``): private servers a test may break.

A plugin of tests/conftest.py rather than a conftest of its own, so that test modules here import
the suite's shared helpers (``from conftest import …``) as every other test module does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faults.services import Node, PrivatePostgres, PrivateRedis, running_postgres, running_redis


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



