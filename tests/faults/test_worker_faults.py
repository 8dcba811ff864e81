"""A node outlives its workers: a worker killed outright (``kill -9``, as the OOM killer does) is
replaced while the others go on serving, under either server. Only the requests that worker had
in flight fail; granian's first release here stopped the whole node instead
("Unexpected exit from worker-1 ... Shutting down granian")."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from idp.web.serving import SERVERS

from faults.services import Load, Node, jwks_and_token_requests, make_node, register_client, wait_until

THREADS = 4


def worker_pids(node: Node) -> set[int]:
    children = Path(f"/proc/{node.process.pid}/task/{node.process.pid}/children").read_text()
    return {int(pid) for pid in children.split()}


@pytest.mark.parametrize("server", SERVERS)
def test_a_killed_worker_is_replaced_and_the_node_keeps_serving(server: str, nodes: list[Node], tmp_path: Path):
    node = make_node(tmp_path, "a")
    client = register_client(node)
    nodes.append(node.start("--server", server, "--workers", "2", "--threads", "4"))
    wait_until(lambda: len(worker_pids(node)) == 2, 30, "two workers did not start")
    with Load(jwks_and_token_requests(node.url, client), threads=THREADS) as load:
        time.sleep(2)
        victim = min(worker_pids(node))
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(worker_pids(node) - {victim}) == 2, 30, "no worker replaced the killed one")
        replaced = time.monotonic()
        time.sleep(3)
    failed = load.failures()
    print(f"\nfigures {server}: worker kill -9 under {THREADS} clients: {len(failed)} of {len(load.outcomes)} "
          f"requests failed ({sorted({outcome.error for outcome in failed})}); replacement worker after "
          f"{replaced - killed:.1f} s")
    assert node.process.poll() is None, f"the node stopped:\n{node.log()[-2000:]}"
    assert load.answered_since(killed) > 0 and load.answered_since(replaced + 1) > 0
    # At most what the killed worker held: each client's request in flight on it, and one more
    # connection the kernel put in the dying worker's accept queue (SO_REUSEPORT) before its socket
    # closed; net.ipv4.tcp_migrate_req=1 (README) moves those, and CI machines need not set it. A
    # node that stopped, the defect this test is for, fails thousands.
    assert len(failed) <= 2 * THREADS, failed
    assert all(outcome.started < killed + 1 for outcome in failed), failed
