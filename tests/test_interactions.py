"""The relying party's pending request as one object (docs/architecture.md §5.2): where a page sends
a person back to, and what an error page may offer as "return to the app"."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import update

from idp.core.database import db
from idp.models import Client
from idp.protocol.client_registry import client_registry
from idp.protocol.interactions import find_interaction

from conftest import authorization_request, hidden_value


def pending(client, rp, **extra) -> str:
    """The app sends the person to /authorize; returns the interaction id of the login page."""
    request = authorization_request(rp, **extra)
    location = client.get("/authorize", query_string=request.params).headers["Location"]
    return hidden_value(client.get(location).get_data(as_text=True), "interaction")


def test_the_interaction_knows_its_login_and_where_to_resume(app, client, rp):
    with client:
        interaction_id = pending(client, rp, login_hint="zhangsan")
        interaction = find_interaction(interaction_id)
        assert interaction is not None
        assert interaction.param("login_hint") == "zhangsan"
        assert interaction.login_url() == f"/login?interaction={interaction_id}"
        resumed = parse_qs(urlsplit(interaction.resume_url()).query)
        assert resumed["interaction"] == [interaction_id] and resumed["client_id"] == [rp.client_id]
        assert find_interaction("not-one-of-this-browser") is None


def test_the_return_target_is_the_apps_access_denied_redirect(app, client, rp):
    with client:
        interaction = find_interaction(pending(client, rp, state="s-42"))
        target = interaction.return_target()
        assert target.client_name == "测试应用" and target.redirect_uri == rp.redirect_uri
        parts = urlsplit(target.url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == rp.redirect_uri
        assert parse_qs(parts.query) == {"error": ["access_denied"], "state": ["s-42"], "iss": ["http://idp.test"]}


def test_no_return_target_once_the_redirect_uri_is_no_longer_registered(app, client, rp):
    with client:
        interaction = find_interaction(pending(client, rp))
        db.session.execute(update(Client).where(Client.client_id == rp.client_id)
                           .values(redirect_uris=["https://rp.test/elsewhere"]))
        db.session.commit()
        client_registry().forget(rp.client_id)
        assert interaction.return_target() is None
