"""``idp serve --port P`` on a port something already listens on says so in one line and exits
non-zero, under either server. granian binds with SO_REUSEPORT, so a second node used to start
on a served port and take half its connections, with signing keys of its own."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
import requests

from idp.web.serving import SERVERS

from faults.services import Node, make_node


def serve_again(nodes: list[Node], base: Path, port: int, server: str, *options: str) -> tuple[int, str]:
    """``idp serve`` on ``port``: its exit code and what it printed (a node that does start is
    stopped when the test ends)."""
    second = make_node(base, "second")
    second.port = port
    nodes.append(second.start("--server", server, *options, wait=False))
    try:
        return second.process.wait(timeout=60), second.log()
    except subprocess.TimeoutExpired:
        raise AssertionError(f"idp serve started on port {port}, already in use:\n{second.log()[-2000:]}") from None


def assert_refused(exit_code: int, printed: str, host: str, port: int) -> None:
    assert exit_code != 0 and "Traceback" not in printed, printed
    assert printed.strip().splitlines() == [
        f"Error: port {port} on {host} is already in use (another idp serve or another program): "
        "stop it or choose another --port"], printed


@pytest.mark.parametrize("server", SERVERS)
def test_a_second_node_on_a_served_port_is_refused(server: str, nodes: list[Node], tmp_path: Path):
    first = make_node(tmp_path, "first")
    nodes.append(first.start())
    keys = requests.get(f"{first.url}/jwks.json", timeout=5).json()

    assert_refused(*serve_again(nodes, tmp_path, first.port, server), "127.0.0.1", first.port)
    for _ in range(20):  # every connection still reaches the first node
        assert requests.get(f"{first.url}/jwks.json", timeout=5).json() == keys


@pytest.mark.parametrize("server", SERVERS)
def test_a_port_another_program_listens_on_is_refused(server: str, nodes: list[Node], tmp_path: Path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        assert_refused(*serve_again(nodes, tmp_path, port, server), "127.0.0.1", port)


def test_a_node_declared_behind_a_proxy_may_listen_on_every_address(nodes: list[Node], tmp_path: Path):
    """--behind-proxy lets a non-loopback --host through (the next check, the busy port, speaks)."""
    with socket.socket() as other:
        other.bind(("0.0.0.0", 0))
        other.listen()
        port = other.getsockname()[1]
        assert_refused(*serve_again(nodes, tmp_path, port, "granian", "--host", "0.0.0.0", "--behind-proxy"),
                       "0.0.0.0", port)
