"""The ``idp`` command: serve, migrate, register clients, add people."""

from __future__ import annotations

import json
import os
import sys
from functools import wraps
from typing import Any

import click
from flask import Flask

from idp.app import create_app
from idp.cli.account_closure import register_account_closure_commands
from idp.cli.accounts_import import register_accounts_import_commands
from idp.cli.command_audit import audited_command
from idp.cli.entities import register_entity_commands
from idp.cli.keys import register_audit_commands, register_key_commands
from idp.cli.legacy import register_legacy_commands
from idp.cli.pii import register_pii_commands
from idp.cli.registration import register_registration_commands
from idp.cli.relying_parties import register_logout_commands, relying_party_options
from idp.cli.retention import register_retention_commands
from idp.core.database import DatabaseUnavailable, check_database, upgrade_database
from idp.core.personal_data_cipher import PersonalDataKeysError, load_personal_data_cipher
from idp.core.settings import Settings, load_settings
from idp.dev.app_commands import qr_approver_option, register_app_commands
from idp.dev.certificate_commands import register_certs_commands
from idp.keyring import ALGORITHMS, ID_TOKEN_DEFAULT_ALGORITHM, KeyringError
from idp.people.accounts import AccountError, create_person
from idp.people.identity_documents import DOCUMENT_TYPES, DocumentNumberError, mask_document_number
from idp.people.usernames import UsernameError
from idp.protocol.clients import AUTH_METHODS, GRANT_TYPES, ClientRegistrationError, create_client, list_clients
from idp.web.serving import SERVERS


def migrate(settings: Settings, revision: str = "heads") -> None:
    """Apply the migrations, or say in one line why the database cannot be reached (exit status 1)."""
    try:
        check_database(settings.database_url, settings.DATABASE_CONNECT_TIMEOUT)
    except DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
    try:
        # Migration 0017 seals the personal data already there (docs/operations.md).
        personal_data = load_personal_data_cipher(settings)
    except PersonalDataKeysError as error:
        raise click.ClickException(str(error)) from None
    upgrade_database(settings.database_url, revision, personal_data=personal_data)


def start_app(*, check_keys: bool = True) -> Flask:
    """The provider over its migrated database with every signing key checked, or one line
    saying what stops it (exit status 1) before anything is served."""
    migrate(load_settings())
    try:
        return create_app(check_keys=check_keys)
    except KeyringError as error:
        raise click.ClickException(f"the signing keyring cannot be used: {error}") from None


def _in_app(*, check_keys: bool):
    def decorate(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            app = start_app(check_keys=check_keys)
            with app.app_context(), audited_command(click.get_current_context()):
                return func(app, *args, **kwargs)

        return wrapper

    return decorate


#: Run the command inside an application context, migrations applied and the keyring checked.
with_app = _in_app(check_keys=True)
#: The key commands: they must work on a keyring holding a broken key, to revoke or prune it.
with_app_for_keys = _in_app(check_keys=False)


@click.group()
def main() -> None:
    """qdtax-idp: the e-tax OpenID Connect provider."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="a non-loopback address only behind a reverse proxy (IDP_TRUSTED_PROXY_HOPS or --behind-proxy)")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--server", type=click.Choice(SERVERS), default="granian", show_default=True,
              help="the HTTP server (bench/README.md compares them)")
@click.option("--workers", default=2, show_default=True, type=int, help="worker processes")
@click.option("--threads", default=8, show_default=True, type=int,
              help="threads per worker; up to IDP_QR_WAITING_POLLS_PER_WORKER of them wait for QR logins "
                   "(more threads than that plus about four only contend for the GIL: bench/README.md)")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="log each request (method, path without its query, status, time); behind a reverse proxy "
                   "that logs them, --no-access-log spares the Python work of each line")
@click.option("--behind-proxy", is_flag=True,
              help="a reverse proxy that buffers requests (docs/deploy/nginx.conf) is this node's only client, "
                   "though IDP_TRUSTED_PROXY_HOPS is 0; allows a non-loopback --host")
@click.option("--demo", is_flag=True, help="seed demo people, taxpayers and two demo e-tax apps; print the commands")
@click.option("--demo-app-port", "demo_app_ports", multiple=True, type=click.IntRange(1, 65535),
              help="with --demo: the port of a demo e-tax app, given twice (default: --port + 1 and + 2)")
def serve(host: str, port: int, server: str, workers: int, threads: int, access_log: bool, behind_proxy: bool,
          demo: bool, demo_app_ports: tuple[int, ...]) -> None:
    """Start the provider (migrations and first signing key on first start)."""
    from idp.core.log_config import logging_config
    from idp.web.metrics_exporter import prepare_multiprocess_directory, start_metrics_exporter
    from idp.web.serving import ServeRefused, check_exposure, check_port_free, drain_seconds, run_server

    # Without a configured issuer, the issuer is where this command serves (workers inherit it).
    os.environ.setdefault("IDP_ISSUER", f"http://{host}:{port}")
    app_ports = _demo_app_ports(demo, demo_app_ports, port)
    if demo:
        from idp.dev.demo import demo_legacy_sunset

        # The demo shows the dual-track old enterprise login; a real deployment sets its own sunset.
        os.environ.setdefault("IDP_LEGACY_LOGIN_SUNSET", demo_legacy_sunset())
    settings = load_settings()
    if settings.QR_WAITING_POLLS_PER_WORKER >= threads:
        # Open QR login pages could then hold every thread and nothing else would be served.
        raise click.UsageError(f"IDP_QR_WAITING_POLLS_PER_WORKER ({settings.QR_WAITING_POLLS_PER_WORKER}) "
                               f"must be below --threads ({threads})")
    try:
        check_exposure(host, behind_proxy=behind_proxy or settings.TRUSTED_PROXY_HOPS >= 1)
        check_port_free(host, port)
    except ServeRefused as refusal:
        raise click.ClickException(str(refusal)) from None
    log_config = logging_config(settings.LOG_FORMAT, access_log=access_log)
    # Before the first metric exists in this process, and so in the workers it starts.
    metrics_directory = prepare_multiprocess_directory()
    app = start_app()
    if demo:
        from idp.dev.demo import seed_demo

        with app.app_context():
            click.echo(seed_demo(app, app_ports))
    start_metrics_exporter(app, metrics_directory)
    run_server(server, host=host, port=port, workers=workers, threads=threads, logging_config=log_config,
               drain=drain_seconds(settings))


def _demo_app_ports(demo: bool, given: tuple[int, ...], provider_port: int) -> tuple[int, int]:
    """The two demo apps' ports: each registered app's redirect URI names its port, so an app
    started on another port would be refused (invalid_request) at its first login."""
    from idp.dev.demo import default_demo_app_ports

    if given and not demo:
        raise click.UsageError("--demo-app-port needs --demo")
    if given and len(given) != 2:
        raise click.UsageError("--demo-app-port: give it twice, one port for each demo app (e.g. "
                               "--demo-app-port 8001 --demo-app-port 8002)")
    ports = (given[0], given[1]) if given else default_demo_app_ports(provider_port)
    if demo and (len(set(ports)) != 2 or provider_port in ports or max(ports) > 65535):
        raise click.UsageError(f"the demo apps need two ports of their own, apart from the provider's {provider_port} "
                               f"(got {ports[0]} and {ports[1]}): use --demo-app-port twice")
    return ports


@main.group()
def db_group() -> None:
    """Database schema."""


main.add_command(db_group, name="db")


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations to IDP_DATABASE_URL."""
    migrate(load_settings(), revision)
    click.echo(f"database at revision {revision}")


@main.group()
def clients() -> None:
    """Relying parties."""


@clients.command("add")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--public", is_flag=True, help="a native or browser app without a secret (auth method none)")
@click.option("--first-party", is_flag=True, help="a bureau app: no consent screen")
@click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(GRANT_TYPES))
@click.option("--auth-method", type=click.Choice(AUTH_METHODS))
@click.option("--jwks-file", type=click.File("r"), help="public JWKS for private_key_jwt")
@click.option("--scope", default=None, help="allowed scopes (default: openid profile phone)")
@click.option("--id-token-alg", default=ID_TOKEN_DEFAULT_ALGORITHM, show_default=True, type=click.Choice(ALGORITHMS),
              help="id_token_signed_response_alg (RS256 when omitted, as OIDC Registration section 2 says)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@relying_party_options
@qr_approver_option
@with_app
def clients_add(app: Flask, name, redirect_uris, post_logout_redirect_uris, public, first_party, grant_types,
                auth_method, jwks_file, scope, id_token_alg, as_json, **rp_options) -> None:
    """Register a client; prints client_id (and client_secret, shown only now)."""
    try:
        client, secret = create_client(
            name=name,
            redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout_redirect_uris),
            public=public,
            first_party=first_party,
            grant_types=list(grant_types) or None,
            auth_method=auth_method,
            jwks=json.load(jwks_file) if jwks_file else None,
            id_token_alg=id_token_alg,
            **({"scope": scope} if scope else {}),
            **rp_options,
        )
    except ClientRegistrationError as error:
        raise click.UsageError(str(error)) from None
    result = {"client_id": client.client_id, "name": client.name,
              "token_endpoint_auth_method": client.token_endpoint_auth_method}
    if secret:
        result["client_secret"] = secret
    click.echo(json.dumps(result, ensure_ascii=False) if as_json else "\n".join(f"{k}: {v}" for k, v in result.items()))


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_app
def clients_list(app: Flask, as_json: bool) -> None:
    """List registered clients (never their secrets), with what ``clients add`` registered."""
    rows: list[dict[str, Any]] = [
        {"client_id": c.client_id, "name": c.name, "auth_method": c.token_endpoint_auth_method,
         "grant_types": c.grant_types, "redirect_uris": c.redirect_uris, "first_party": c.first_party,
         "qr_approver": c.qr_approver, "default_acr_values": c.default_acr_values,
         "id_token_signed_response_alg": c.id_token_signed_response_alg,
         "subject_type": c.subject_type, "backchannel_logout_uri": c.backchannel_logout_uri,
         "require_pushed_authorization_requests": c.require_pushed_authorization_requests,
         "dpop_bound_access_tokens": c.dpop_bound_access_tokens}
        for c in list_clients()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['client_id']}  {row['name']}  {row['auth_method']}  {' '.join(row['grant_types'])}")


@main.group()
def users() -> None:
    """People's accounts."""


@users.command("add")
@click.option("--doc-type", required=True, type=click.Choice(list(DOCUMENT_TYPES)))
@click.option("--doc-number", required=True)
@click.option("--country", default=None, help="issuing country (ISO alpha-3) for foreign documents")
@click.option("--name", required=True)
@click.option("--phone", required=True)
@click.option("--password", required=True)
@click.option("--username", default=None)
@click.option("--realname-level", default=4, type=click.IntRange(3, 5), show_default=True)
@with_app
def users_add(app: Flask, doc_type, doc_number, country, name, phone, password, username, realname_level) -> None:
    """Create a person (operators and tests, until self-registration)."""
    try:
        person = create_person(doc_type=doc_type, doc_number=doc_number, name=name, phone=phone,
                               password=password, username=username, realname_level=realname_level,
                               country=country)
    except (DocumentNumberError, UsernameError) as error:
        raise click.UsageError(error.message("en")) from None
    except AccountError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"created {person.sub} ({mask_document_number(person.doc_number)})")


register_key_commands(main, with_app_for_keys)
register_entity_commands(main, with_app)
register_audit_commands(main, with_app)
register_accounts_import_commands(main, with_app)
register_account_closure_commands(main, with_app)
register_registration_commands(main, with_app)
register_logout_commands(main, with_app)
register_app_commands(main, with_app)
register_certs_commands(main, with_app)
register_legacy_commands(main, with_app)
register_pii_commands(main, with_app)
register_retention_commands(main, with_app)

if __name__ == "__main__":
    sys.exit(main())
