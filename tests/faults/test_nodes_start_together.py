"""Several nodes started at the same moment on one empty PostgreSQL all come up: the first
migrates the schema while the others wait for it, then find it current."""

from __future__ import annotations

import time

import requests

from faults.services import make_node


def test_three_nodes_started_together_on_an_empty_database_all_answer(postgres, nodes, tmp_path):
    started = [make_node(tmp_path, name, DATABASE_URL=postgres.url, KEYRING_STORE="database")
               for name in ("a", "b", "c")]
    began = time.monotonic()
    for node in started:
        nodes.append(node.start("--workers", "1", "--threads", "2", wait=False))
    for node in started:
        node.wait_ready(120)
    print(f"3 nodes answered {time.monotonic() - began:.1f} s after they were started together")
    jwks = [requests.get(node.url + "/jwks.json", timeout=10).json() for node in started]
    # One keyring in the shared database: every node publishes the same keys.
    assert jwks[0] == jwks[1] == jwks[2]
    assert jwks[0]["keys"]
