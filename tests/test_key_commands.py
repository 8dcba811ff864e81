"""The administrator's commands: idp keys list/rotate/revoke/prune and idp audit tail (docs/architecture.md §8)."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from idp.cli.main import main

from conftest import make_settings


@pytest.fixture
def cli_env(app, database_url, instance_dir, tmp_path, monkeypatch):
    for key, value in make_settings(database_url, instance_dir, KEYS_DIR=str(tmp_path / "keys")).items():
        monkeypatch.setenv(f"IDP_{key}", str(value))
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def active_es256(run) -> str:
    return next(k["kid"] for k in json.loads(run("keys", "list", "--json")) if k["alg"] == "ES256"
                and k["state"] == "active")


def test_keys_list_shows_kid_alg_state_and_dates(cli_env):
    output = cli_env("keys", "list")
    assert "kid" in output and "retire-after" in output
    rows = json.loads(cli_env("keys", "list", "--json"))
    assert sorted((r["alg"], r["state"]) for r in rows) == sorted(
        (alg, state) for alg in ("ES256", "RS256", "EdDSA") for state in ("active", "next"))


def test_rotate_refuses_while_next_key_is_too_young_and_is_audited(cli_env):
    output = cli_env("keys", "rotate", code=1)
    assert "JWKS max-age" in output and "--force" in output
    assert "keys.rotate" in cli_env("audit", "tail", "--event", "keys")
    assert "failure" in cli_env("audit", "tail", "--event", "keys")


def test_forced_rotation_retires_the_active_key(cli_env):
    before = active_es256(cli_env)
    cli_env("keys", "rotate", "--force")
    rows = {r["kid"]: r for r in json.loads(cli_env("keys", "list", "--json"))}
    assert rows[before]["state"] == "retired" and rows[before]["retire_after"] != "-"
    assert active_es256(cli_env) != before


def test_revoke_needs_confirmation_then_removes_the_key_from_the_jwks(cli_env, app):
    kid = active_es256(cli_env)
    assert "--yes-revoke-now" in cli_env("keys", "revoke", kid, code=2)
    cli_env("keys", "revoke", kid, "--yes-revoke-now")
    rows = {r["kid"]: r for r in json.loads(cli_env("keys", "list", "--json"))}
    assert rows[kid]["state"] == "revoked"
    events = [json.loads(line) for line in cli_env("audit", "tail", "--event", "keys.revoke", "--json").splitlines()]
    assert events and events[-1]["detail"]["kid"] == kid[:12]


def test_a_kid_beginning_with_a_dash_is_taken_as_the_kid(cli_env):
    """Thumbprints are base64url: one in 64 begins with "-", which must not read as an option."""
    output = cli_env("keys", "revoke", "-5unknownkid", "--yes-revoke-now", code=1)
    assert "No such option" not in output
    assert "-5unknownkid" in output


def test_prune_removes_expired_retired_keys_and_revoked_ones(cli_env, tmp_path):
    kid = active_es256(cli_env)
    cli_env("keys", "rotate", "--force")
    index_path = tmp_path / "keys" / "keyring.json"
    index = json.loads(index_path.read_text())
    for entry in index["keys"]:
        if entry["kid"] == kid:
            entry["retire_after"] = int(time.time()) - 1
    index_path.write_text(json.dumps(index))
    assert "removed 1 key(s)" in cli_env("keys", "prune")
    assert kid not in {r["kid"] for r in json.loads(cli_env("keys", "list", "--json"))}
    assert not (tmp_path / "keys" / f"{kid}.pem").exists()


def test_audit_tail_filters_by_event_and_since(cli_env):
    cli_env("keys", "rotate", "--force")
    assert "keys.rotate" in cli_env("audit", "tail", "--since", "5m")
    assert "keys.rotate" not in cli_env("audit", "tail", "--event", "login")
    assert cli_env("audit", "tail", "--since", "2999-01-01T00:00:00") == ""
    assert "Invalid value" in cli_env("audit", "tail", "--since", "yesterday", code=2)
    assert "Invalid value" in cli_env("audit", "tail", "--since", "99999999d", code=2)  # before year 1


def test_a_broken_key_is_named_at_start_and_can_be_revoked(cli_env, tmp_path):
    """Other commands, and a rotation, refuse a keyring holding a broken key; revoking it repairs it."""
    kid = active_es256(cli_env)
    pem = tmp_path / "keys" / f"{kid}.pem"
    pem.write_bytes(pem.read_bytes()[:60])
    assert f"{pem} is truncated" in cli_env("clients", "list", code=1)
    assert kid in cli_env("keys", "list")
    assert f"{pem} is truncated" in cli_env("keys", "rotate", "--force", code=1)
    cli_env("keys", "revoke", kid, "--yes-revoke-now")
    assert active_es256(cli_env) != kid
    cli_env("clients", "list")
