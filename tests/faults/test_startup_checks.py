"""A node with something wrong at start says what, in one line, and exits non-zero before it
serves (no traceback); a read-only keys folder that holds the keys already is fine."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from idp.core.settings import load_settings
from idp.keyring import Keyring
from idp.keyring.file_store import FileKeyStore

from faults.services import Node, free_port, make_node

PASSPHRASE = "correct horse battery"


def create_keys(node: Node, passphrase: str = "") -> dict[str, Path]:
    """The node's file keyring, created as its first start would; the PEM path of each alg's active key."""
    keys = Path(node.env["IDP_KEYS_DIR"])
    settings = load_settings({"INSTANCE_DIR": node.env["IDP_INSTANCE_DIR"], "KEYS_DIR": str(keys),
                              "SECRET_KEY": "x", "KEY_PASSPHRASE": passphrase})
    Keyring(FileKeyStore(keys), settings).ensure_initialised()
    index = json.loads((keys / "keyring.json").read_text())["keys"]
    return {entry["alg"]: keys / f"{entry['kid']}.pem" for entry in index if entry["state"] == "active"}


def refused_start(node: Node, *args: str) -> str:
    """Run ``idp serve`` (or ``idp args``) to its end: it must fail at once; returns what it printed."""
    args = args or ("serve", "--port", str(node.port), "--workers", "1", "--threads", "2")
    result = subprocess.run([*node.command, *args], env=node.env, capture_output=True, text=True, timeout=30)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    return output


def test_a_truncated_key_file_is_named_and_stops_the_start(nodes, tmp_path):
    node = make_node(tmp_path, "a")
    pem = create_keys(node)["ES256"]
    pem.write_bytes(pem.read_bytes()[:90])
    output = refused_start(node)
    assert str(pem) in output and "truncated" in output
    assert "IDP_KEY_PASSPHRASE" not in output  # none is set: it is not the reason


def test_a_file_that_is_no_key_is_named_and_stops_the_start(nodes, tmp_path):
    node = make_node(tmp_path, "a")
    pem = create_keys(node)["RS256"]
    pem.write_bytes(b"this is not a key\n")
    output = refused_start(node)
    assert str(pem) in output and "not a PEM private key" in output


def test_an_encrypted_key_without_a_passphrase_set_says_so(nodes, tmp_path):
    node = make_node(tmp_path, "a")
    pem = create_keys(node, PASSPHRASE)["ES256"]
    output = refused_start(node)
    assert str(pem.parent) in output and "encrypted, but IDP_KEY_PASSPHRASE is not set" in output


def test_a_wrong_passphrase_says_so(nodes, tmp_path):
    node = make_node(tmp_path, "a", KEY_PASSPHRASE="wrong passphrase")
    create_keys(node, PASSPHRASE)
    output = refused_start(node)
    assert "cannot be decrypted with IDP_KEY_PASSPHRASE" in output


def test_a_key_of_another_algorithm_than_its_record_says_so(nodes, tmp_path):
    node = make_node(tmp_path, "a")
    active = create_keys(node)
    active["ES256"].write_bytes(active["RS256"].read_bytes())
    output = refused_start(node)
    assert str(active["ES256"]) in output and "RSA key" in output and "ES256" in output


def _read_only(folder: Path, command: list[str]) -> list[str]:
    """``command`` run with ``folder`` read-only, as a mounted secret is: root ignores file
    modes, so for root a bind mount of its own mount namespace (gone when it exits)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return command
    return ["unshare", "--mount", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(folder), *command]


def test_a_read_only_keys_folder_holding_the_keys_serves(nodes, tmp_path):
    node = make_node(tmp_path, "a")
    keys = create_keys(node)["ES256"].parent
    before = sorted(p.name for p in keys.iterdir())
    node.command = _read_only(keys, node.command)
    nodes.append(node.start("--workers", "1", "--threads", "2"))
    assert requests.get(node.url + "/jwks.json", timeout=10).status_code == 200
    assert sorted(p.name for p in keys.iterdir()) == before


def test_an_empty_read_only_keys_folder_says_it_cannot_create_the_keys(nodes, tmp_path):
    node = make_node(tmp_path, "a")
    keys = Path(node.env["IDP_KEYS_DIR"])
    keys.mkdir()
    node.command = _read_only(keys, node.command)
    output = refused_start(node)
    assert str(keys) in output and "not writable" in output


@pytest.mark.parametrize("url, reason", [
    ("postgresql://postgres@127.0.0.1:notaport/idp", "IDP_DATABASE_URL"),
    ("no database here", "IDP_DATABASE_URL"),
    ("mysql+nosuchdriver://idp@127.0.0.1/idp", "IDP_DATABASE_URL"),
])
@pytest.mark.parametrize("command", ["serve", "db upgrade"])
def test_a_bad_database_url_is_one_line(tmp_path, url, reason, command):
    node = make_node(tmp_path, "a", DATABASE_URL=url)
    args = ("serve", "--port", str(node.port)) if command == "serve" else ("db", "upgrade")
    output = refused_start(node, *args)
    assert reason in output and len(output.strip().splitlines()) == 1, output


@pytest.mark.parametrize("command", ["serve", "db upgrade"])
def test_an_unreachable_database_is_one_line_without_its_password(tmp_path, command):
    node = make_node(tmp_path, "a", DATABASE_URL=f"postgresql://idp:s3cret@127.0.0.1:{free_port()}/idp")
    args = ("serve", "--port", str(node.port)) if command == "serve" else ("db", "upgrade")
    output = refused_start(node, *args)
    assert "cannot connect to the database" in output and len(output.strip().splitlines()) == 1, output
    assert "s3cret" not in output


def test_production_without_the_personal_data_key_file_says_so(nodes, tmp_path):
    """docs/operations.md, "Personal-data keys": no node serves production without the key file."""
    node = make_node(tmp_path, "a", ENVIRONMENT="production", SECRET_KEY="s" * 48, KEY_PASSPHRASE=PASSPHRASE,
                     PII_KEYS_FILE="")
    assert "IDP_PII_KEYS_FILE must be set in production" in refused_start(node)
