"""``idp pii``: the keys of the personal data encrypted at rest (docs/operations.md, docs/privacy.md)."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask import Flask

from idp.core.personal_data_cipher import (
    PersonalDataKeysError,
    add_data_key,
    current_personal_data_cipher,
    generate_key_file,
    key_file_path,
    read_key_file,
    write_key_file,
)
from idp.core.personal_data_rotation import reseal_under_current_key
from idp.core.settings import load_settings


def register_pii_commands(main: click.Group, with_app: Callable) -> None:
    @main.group("pii")
    def pii_group() -> None:
        """Keys of the personal data encrypted at rest (ID numbers, names, phones)."""

    @pii_group.command("new-key")
    @click.option("--standby", is_flag=True,
                  help="add the key without sealing with it yet (give every node the file first)")
    def new_key(standby: bool) -> None:
        """Add a data key to IDP_PII_KEYS_FILE (creating the file, with its index key, if there is
        none) and make it the one new values are sealed with, unless --standby."""
        settings = load_settings()
        try:
            path = key_file_path(settings)
            if path.exists():
                content = read_key_file(path)
                key_id = add_data_key(content, make_current=not standby)
            else:
                content = generate_key_file(settings.CRYPTO_SUITE)
                key_id = content["current"]
        except PersonalDataKeysError as error:
            raise click.ClickException(str(error)) from None
        write_key_file(path, content)
        state = "standby" if content["current"] != key_id else "current"
        click.echo(f"key {key_id} added to {path} ({state}); keys: {', '.join(content['data_keys'])}")

    @pii_group.command("use-key")
    @click.argument("key_id")
    def use_key(key_id: str) -> None:
        """Make KEY_ID (added with new-key --standby) the key new values are sealed with."""
        try:
            path = key_file_path(load_settings())
            content = read_key_file(path)
        except PersonalDataKeysError as error:
            raise click.ClickException(str(error)) from None
        if key_id not in content.get("data_keys", {}):
            raise click.ClickException(f"{path} holds no key {key_id!r}; it holds {', '.join(content['data_keys'])}")
        content["current"] = key_id
        write_key_file(path, content)
        click.echo(f"key {key_id} is current in {path}: copy the file to every node, then run idp pii rotate-key")

    @pii_group.command("rotate-key")
    @click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True,
                  help="rows resealed per transaction")
    @with_app
    def rotate_key(app: Flask, batch_size: int) -> None:
        """Reseal every value under the current key, in batches, while the provider serves;
        safe to interrupt and run again. Prints how many values moved and how many are left."""
        cipher = current_personal_data_cipher()
        result = reseal_under_current_key(cipher, batch_size=batch_size)
        for table, count in result.resealed.items():
            click.echo(f"{table}: {count} row(s) resealed, {result.remaining[table]} left under other keys")
        left = sum(result.remaining.values())
        click.echo(f"every value is under key {cipher.current}" if not left else
                   f"{left} value(s) still under other keys: run it again once every node seals with {cipher.current}")
