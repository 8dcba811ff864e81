"""Steps shared by the account-centre tests: log in, let time pass, post a page's form."""

from __future__ import annotations

from sqlalchemy import select, update

from idp.core.database import db
from idp.models import AuditEvent, LoginSession, Person
from idp.people.accounts import create_person

from conftest import PASSWORD, PHONE, csrf_from, let_sms_cooldown_pass, login_through_pages

OTHER_DOC = "440524188001010014"
OTHER_PHONE = "13987654321"
NEW_PHONE = "13900001111"
NEW_PASSWORD = "Fresh@2027ab"


def log_in(app, client, identifier: str = "zhangsan", password: str = PASSWORD, phone: str = PHONE) -> None:
    """Password + SMS through the login pages; the phone's resend cooldown is passed first."""
    let_sms_cooldown_pass(app)
    response = login_through_pages(app, client, "/login", identifier=identifier, password=password, phone=phone)
    assert response.headers["Location"] == "/"


def age_logins(app, seconds: int) -> None:
    """Every login happened ``seconds`` earlier than it did."""
    with app.app_context():
        db.session.execute(update(LoginSession).values(auth_time=LoginSession.auth_time - seconds))
        db.session.commit()


def post_form(client, page: str, data: dict, action: str | None = None):
    """Open ``page`` as a browser would and submit its form with the page's CSRF token."""
    html = client.get(page)
    assert html.status_code == 200, (page, html.status_code, html.headers.get("Location"))
    return client.post(action or page, data={"csrf_token": csrf_from(html.get_data(as_text=True)), **data})


def post_with_token(client, path: str, data: dict):
    """Submit to ``path`` with the session's CSRF token, as a form kept open in another tab would."""
    token = csrf_from(client.get("/account").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def person_row(app, person_id: int) -> Person:
    with app.app_context():
        row = db.session.get(Person, person_id)
        db.session.expunge(row)
        return row


def create_other_person(app, *, phone: str = OTHER_PHONE, username: str | None = "lisi") -> int:
    with app.app_context():
        other = create_person(doc_type="ID_CARD", doc_number=OTHER_DOC, name="李四", phone=phone,
                              password=PASSWORD, username=username)
        db.session.commit()
        return other.id


def audit_events(app, event: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.execute(select(AuditEvent).where(AuditEvent.event == event)
                                       .order_by(AuditEvent.id)).scalars())
        for row in rows:
            db.session.expunge(row)
        return rows
