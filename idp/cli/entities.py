"""``idp entities import`` and ``idp roles add|remove``: managing who acts for which taxpayer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
from flask import Flask

from idp.taxpayers.entities import ROLES, EntityError, add_role, import_entities, remove_role

T = TypeVar("T")


def _apply(change: Callable[[], T]) -> T:
    """Run ``change``; an :class:`EntityError` is the operator's usage error."""
    try:
        return change()
    except EntityError as error:
        raise click.UsageError(str(error)) from None


def register_entity_commands(main: click.Group, with_app) -> None:
    @main.group()
    def entities() -> None:
        """Taxpayer entities, cross-region registrations and agency agreements."""

    @entities.command("import")
    @click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
    @with_app
    def entities_import(app: Flask, csv_file) -> None:
        """Apply a CSV with the columns row_type (entity | cross_region | agency_agreement),
        taxpayer_number, name, kind, tax_authority_code, tax_authority_name, client_taxpayer_number, status.
        Idempotent: applying the same file twice changes nothing; bad rows are reported by line."""
        report = _apply(lambda: import_entities(csv_file))
        for line, reason in report.errors:
            click.echo(f"line {line}: {reason}", err=True)
        click.echo(f"applied {report.applied}, unchanged {report.unchanged}, errors {len(report.errors)}")
        if report.errors:
            raise click.exceptions.Exit(1)  # an answer, not a failure: the good rows stand (cli/command_audit.py)

    @main.group()
    def roles() -> None:
        """People's roles on taxpayer entities."""

    def role_command(name: str):
        """``idp roles <name> --person … --taxpayer-number … --role …``, run with the app."""

        def decorate(func):
            func = with_app(func)
            func = click.option("--role", required=True, type=click.Choice(ROLES))(func)
            func = click.option("--taxpayer-number", required=True)(func)
            func = click.option("--person", required=True, help="username, phone or document number")(func)
            return roles.command(name)(func)

        return decorate

    @role_command("add")
    def roles_add(app: Flask, person: str, taxpayer_number: str, role: str) -> None:
        """Add a role; it stays pending until the person confirms it at their next login."""
        added = _apply(lambda: add_role(person, taxpayer_number, role))
        click.echo(f"role {role}: {added.status}")

    @role_command("remove")
    def roles_remove(app: Flask, person: str, taxpayer_number: str, role: str) -> None:
        """Remove a role; grants made for that entity end at once."""
        removed = _apply(lambda: remove_role(person, taxpayer_number, role))
        click.echo(f"role {role}: {'removed' if removed else 'was not held'}")
