"""``idp app scan``: the mobile-app simulator, and ``--qr-approver`` for ``idp clients add``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from idp.core.settings import load_settings
from idp.dev.app_simulator import AppSimulatorError, MobileAppSimulator
from idp.protocol.clients import QR_APPROVER_KINDS

#: ``--qr-approver`` on ``idp clients add``: which kind of app may approve QR logins.
qr_approver_option = click.option(
    "--qr-approver", type=click.Choice(QR_APPROVER_KINDS), default=None,
    help="bureau_app (approves with a qr:approve access token) or an external app that signs approvals with "
         "the key in --jwks-file (iit_app, business_licence_app)")


def register_app_commands(main: click.Group, with_app) -> None:
    """The simulator speaks HTTP to a running provider, so it needs no app context (``with_app``)."""

    @main.group()
    def app() -> None:
        """The bureau's mobile app, simulated for demos and tests."""

    @app.command("scan")
    @click.argument("payload")
    @click.option("--as", "identifier", required=True, help="the person: username, phone or document number")
    @click.option("--password", required=True, envvar="IDP_APP_PASSWORD", help="the person's password")
    @click.option("--face", is_flag=True, help="second factor: a (development) face check instead of SMS")
    @click.option("--business", default=None, help="log the app in through this business entry (e.g. enterprise)")
    @click.option("--entity", default=None, help="taxpayer number to act for, when there is a choice")
    @click.option("--deny", is_flag=True, help="decline the login instead of approving it")
    @click.option("--issuer", envvar="IDP_ISSUER", default="http://127.0.0.1:5000", show_default=True)
    @click.option("--client-id", required=True, envvar="IDP_APP_CLIENT_ID",
                  help="the app's registration (public, --qr-approver bureau_app)")
    @click.option("--redirect-uri", envvar="IDP_APP_REDIRECT_URI", default="http://127.0.0.1:8765/cb",
                  show_default=True)
    @click.option("--sms-outbox", type=click.Path(path_type=Path), default=None,
                  help="development SMS outbox (default: the provider's instance folder)")
    @click.option("--json", "as_json", is_flag=True)
    def app_scan(payload: str, identifier: str, password: str, face: bool, business: str | None,
                 entity: str | None, deny: bool, issuer: str, client_id: str, redirect_uri: str,
                 sms_outbox: Path | None, as_json: bool) -> None:
        """Log in as the app would, scan PAYLOAD (the QR URL or the user code), then approve it."""
        simulator = MobileAppSimulator(issuer=issuer, client_id=client_id, redirect_uri=redirect_uri,
                                       sms_outbox=sms_outbox or load_settings().sms_outbox_path)
        try:
            simulator.login(identifier, password, face=face, business=business, entity=entity)
            asked = simulator.scan(payload)
            decided = simulator.deny(payload) if deny else simulator.approve(payload)
        except AppSimulatorError as error:
            raise click.ClickException(str(error)) from None
        if as_json:
            click.echo(json.dumps({"scanned": asked, "decided": decided}, ensure_ascii=False))
            return
        requester = asked["requester"]
        click.echo(f"requested by: {asked['client']['name']} ({asked['client']['client_id'] or '-'})")
        click.echo(f"scopes:       {' '.join(asked['scopes']) or '-'}")
        click.echo(f"from:         {requester['ip']} at {requester['requested_at']}")
        click.echo(f"logs in as:   {asked['login']['business']}"
                   + (f" for {asked['login']['entity']['id']}" if asked['login'].get('entity') else ""))
        click.echo(f"decision:     {decided['status']}")
