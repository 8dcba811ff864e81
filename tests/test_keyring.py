"""The signing keyring: states, thumbprint kids, rotation rules, stores and encryption (docs/architecture.md §8)."""

from __future__ import annotations

import multiprocessing
import time

import pytest
from joserfc.jwk import KeySet

from idp.core.settings import load_settings
from idp.keyring import Keyring, KeyringError
from idp.keyring.file_store import FileKeyStore
from idp.keyring.lifecycle import initial_records, prune, published, revoke, rotate
from idp.keyring.records import load_jwk


def settings_for(tmp_path, **overrides):
    return load_settings({"INSTANCE_DIR": str(tmp_path), "KEYS_DIR": str(tmp_path / "keys"), "SECRET_KEY": "x",
                          "JWKS_MAX_AGE": 300, **overrides})


def states(records, alg="ES256"):
    return sorted(r.state for r in records if r.alg == alg)


def test_first_start_has_one_active_and_one_next_key_per_algorithm():
    records = initial_records(1000, "")
    for alg in ("ES256", "RS256", "EdDSA"):
        assert states(records, alg) == ["active", "next"]


def test_kid_is_the_rfc7638_thumbprint():
    for record in initial_records(1000, ""):
        key = load_jwk(record, "")
        assert record.kid == key.thumbprint()


def test_rotation_promotes_next_and_retires_active():
    records = initial_records(1000, "")
    old_active = next(r for r in records if r.alg == "ES256" and r.state == "active")
    old_next = next(r for r in records if r.alg == "ES256" and r.state == "next")
    rotated = rotate(records, 2000, min_published=300, retire_window=900, passphrase="")
    by_kid = {r.kid: r for r in rotated}
    assert by_kid[old_next.kid].state == "active" and by_kid[old_next.kid].activated_at == 2000
    assert by_kid[old_active.kid].state == "retired" and by_kid[old_active.kid].retire_after == 2900
    assert states(rotated) == ["active", "next", "retired"]


def test_rotation_is_refused_while_next_key_is_younger_than_jwks_max_age():
    records = initial_records(1000, "")
    with pytest.raises(KeyringError, match="max-age"):
        rotate(records, 1100, min_published=300, retire_window=900, passphrase="")
    forced = rotate(records, 1100, min_published=300, retire_window=900, passphrase="", force=True)
    assert states(forced) == ["active", "next", "retired"]


def test_retired_key_is_published_until_its_tokens_expired_then_pruned():
    rotated = rotate(initial_records(1000, ""), 2000, min_published=300, retire_window=900, passphrase="")
    retired = next(r for r in rotated if r.state == "retired" and r.alg == "ES256")
    assert retired in published(rotated, 2899)
    assert retired not in published(rotated, 2900)
    assert retired in prune(rotated, 2899)
    assert retired not in prune(rotated, 2900)


def test_revoking_the_active_key_removes_it_at_once_and_promotes_next():
    records = initial_records(1000, "")
    active = next(r for r in records if r.alg == "ES256" and r.state == "active")
    after = revoke(records, active.kid, 1500, "")
    assert active.kid not in {r.kid for r in published(after, 1500)}
    assert states(after) == ["active", "next", "revoked"]


def test_revoking_an_unknown_kid_is_refused():
    with pytest.raises(KeyringError, match="no key"):
        revoke(initial_records(1000, ""), "nope", 1500, "")


def test_private_keys_are_encrypted_at_rest_with_the_passphrase(tmp_path):
    keyring = Keyring(FileKeyStore(tmp_path / "keys"), settings_for(tmp_path, KEY_PASSPHRASE="correct horse"))
    keyring.ensure_initialised()
    pems = list((tmp_path / "keys").glob("*.pem"))
    assert len(pems) == 6
    assert all(b"ENCRYPTED PRIVATE KEY" in p.read_bytes() for p in pems)
    assert keyring.active_key().kid
    wrong = Keyring(FileKeyStore(tmp_path / "keys"), settings_for(tmp_path, KEY_PASSPHRASE="wrong"))
    with pytest.raises(KeyringError, match="IDP_KEY_PASSPHRASE"):
        wrong.active_key()


def test_production_refuses_to_start_without_a_passphrase(tmp_path):
    with pytest.raises(KeyringError, match="IDP_KEY_PASSPHRASE is not set"):
        Keyring(FileKeyStore(tmp_path / "keys"), settings_for(tmp_path, ENVIRONMENT="production", SECRET_KEY="s"))


def test_jwks_publishes_next_active_and_retired_but_never_private_parts(tmp_path):
    keyring = Keyring(FileKeyStore(tmp_path / "keys"), settings_for(tmp_path))
    keyring.ensure_initialised()
    keyring.rotate(force=True)
    jwks = keyring.public_jwks()
    assert len(jwks["keys"]) == 9
    assert all("d" not in key and "p" not in key for key in jwks["keys"])
    assert {k["kid"] for k in jwks["keys"]} == {r.kid for r in keyring.records()}
    assert len(KeySet.import_key_set(jwks).keys) == 9


def test_a_worker_sees_a_rotation_made_by_another_process_without_restart(tmp_path):
    settings = settings_for(tmp_path, KEYRING_REFRESH_SECONDS=0)
    worker = Keyring(FileKeyStore(tmp_path / "keys"), settings)
    worker.ensure_initialised()
    before = worker.active_key().kid
    admin = Keyring(FileKeyStore(tmp_path / "keys"), settings)
    time.sleep(0.01)  # distinct mtime
    admin.rotate(force=True)
    assert worker.active_key().kid != before


def _rotate_in_process(directory: str, barrier) -> None:
    settings = load_settings({"INSTANCE_DIR": directory, "KEYS_DIR": directory + "/keys", "SECRET_KEY": "x"})
    keyring = Keyring(FileKeyStore(directory + "/keys"), settings)
    barrier.wait()
    keyring.rotate(force=True)


def test_concurrent_rotations_never_leave_two_active_keys(tmp_path):
    Keyring(FileKeyStore(tmp_path / "keys"), settings_for(tmp_path)).ensure_initialised()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    processes = [context.Process(target=_rotate_in_process, args=(str(tmp_path), barrier)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    records = FileKeyStore(tmp_path / "keys").load()
    for alg in ("ES256", "RS256", "EdDSA"):
        assert states(records, alg).count("active") == 1
        assert states(records, alg).count("next") == 1
        assert states(records, alg).count("retired") == 4
    assert sorted(p.stem for p in (tmp_path / "keys").glob("*.pem")) == sorted(r.kid for r in records)


def test_database_store_rotates_and_is_seen_by_every_worker(app, database_url, instance_dir):
    from idp.app import create_app

    from conftest import make_settings

    overrides = make_settings(database_url, instance_dir, KEYRING_STORE="database", KEYRING_REFRESH_SECONDS=0)
    node_a, node_b = create_app(overrides), create_app(overrides)
    with node_a.app_context():
        first = node_a.extensions["idp.keyring"].active_key().kid
    with node_b.app_context():
        assert node_b.extensions["idp.keyring"].active_key().kid == first
        node_b.extensions["idp.keyring"].rotate(force=True)
        rotated = node_b.extensions["idp.keyring"].active_key().kid
    with node_a.app_context():
        assert node_a.extensions["idp.keyring"].active_key().kid == rotated != first
        records = node_a.extensions["idp.keyring"].records()
        assert states(records) == ["active", "next", "retired"]


def test_scheduled_rotation_happens_when_the_active_key_is_old_enough(app, database_url, instance_dir, tmp_path):
    import json

    from idp.app import create_app

    from conftest import make_settings

    node = create_app(make_settings(database_url, instance_dir, KEYS_DIR=str(tmp_path / "keys"),
                                    KEY_ROTATION_DAYS=30, KEYRING_REFRESH_SECONDS=0))
    index_path = tmp_path / "keys" / "keyring.json"
    index = json.loads(index_path.read_text())
    month_ago = int(time.time()) - 31 * 86400
    for entry in index["keys"]:
        entry["created_at"] = month_ago
        entry["activated_at"] = month_ago if entry["state"] == "active" else None
    index_path.write_text(json.dumps(index))
    with node.app_context():
        before = node.extensions["idp.keyring"].active_key().kid
    assert node.test_client().get("/jwks.json").status_code == 200
    with node.app_context():
        assert node.extensions["idp.keyring"].active_key().kid != before
        assert node.extensions["idp.keyring"].rotation_due() is False


def test_a_broken_key_written_after_start_leaves_the_jwks_serving_the_last_good_keys(
        app, database_url, instance_dir, tmp_path, caplog):
    """Another node rotated and its new key file is broken: this node goes on with what it read."""
    from idp.app import create_app

    from conftest import make_settings

    keys = tmp_path / "keys"
    node = create_app(make_settings(database_url, instance_dir, KEYS_DIR=str(keys), KEYRING_REFRESH_SECONDS=0))
    client = node.test_client()
    before = client.get("/jwks.json").get_json()
    time.sleep(0.01)  # a distinct mtime
    other_node = Keyring(FileKeyStore(keys), settings_for(tmp_path))
    new_kids = {r.kid for r in other_node.rotate(force=True)} - {k["kid"] for k in before["keys"]}
    broken = keys / f"{sorted(new_kids)[0]}.pem"
    good = broken.read_bytes()
    broken.write_bytes(good[:80])
    answer = client.get("/jwks.json")
    assert answer.status_code == 200
    assert answer.get_json() == before
    assert f"{broken} is truncated" in caplog.text
    broken.write_bytes(good)
    assert {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]} >= new_kids
    assert "can be read again" in caplog.text


def test_a_broken_key_in_the_database_store_stops_the_start_and_is_named(app, database_url, instance_dir):
    from sqlalchemy import update

    from idp.app import create_app
    from idp.core.database import db
    from idp.models import SigningKeyRow

    from conftest import make_settings

    overrides = make_settings(database_url, instance_dir, KEYRING_STORE="database")
    node = create_app(overrides)
    with node.app_context():
        kid = node.extensions["idp.keyring"].active_key("RS256").kid
        db.session.execute(update(SigningKeyRow).where(SigningKeyRow.kid == kid).values(private_pem="garbage"))
        db.session.commit()
    with pytest.raises(KeyringError, match=f"signing key {kid} \\(database table signing_key\\) is not a PEM"):
        create_app(overrides)


def test_a_key_file_swapped_for_another_key_is_refused(tmp_path):
    store = FileKeyStore(tmp_path / "keys")
    Keyring(store, settings_for(tmp_path)).ensure_initialised()
    active, upcoming = (next(r for r in store.load() if r.alg == "ES256" and r.state == state)
                        for state in ("active", "next"))
    (tmp_path / "keys" / f"{active.kid}.pem").write_bytes(upcoming.private_pem)
    with pytest.raises(KeyringError, match=f"holds another key than the one its kid {active.kid} names"):
        Keyring(store, settings_for(tmp_path)).ensure_initialised()
