"""A person's browser over real HTTP (``requests``), for providers served on a loopback port: the
in-process live provider, an ``idp serve`` node, an installed wheel.

It walks the login pages as a browser does (CSRF token and interaction from each form, the SMS
code from the development outbox) and stops at the relying party's callback, which nothing needs
to serve: the callback URL is what a relying-party library is handed.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from urllib.parse import urljoin

import requests

from conftest import PASSWORD, csrf_from, hidden_value


def follow_until(browser: requests.Session, url: str, stop_prefix: str) -> requests.Response | str:
    """GET ``url`` following redirects by hand; the first target starting with ``stop_prefix``
    is returned unfetched, otherwise the final response."""
    response = browser.get(url, allow_redirects=False, timeout=10)
    while response.is_redirect:
        target = urljoin(response.url, response.headers["Location"])
        if target.startswith(stop_prefix):
            return target
        response = browser.get(target, allow_redirects=False, timeout=10)
    return response


def log_in_over_http(base_url: str, authorization_url: str, redirect_uri: str, sms_code: Callable[[], str],
                     identifier: str = "zhangsan", password: str = PASSWORD,
                     browser: requests.Session | None = None, finish_url: str | None = None) -> str:
    """Password, then the SMS code ``sms_code()`` reads from the outbox; returns the callback URL
    the provider redirects to. ``browser`` keeps its cookies across calls when given.
    ``finish_url``: another node of the same provider, where the SMS step and the way back go."""
    finish_url = finish_url or base_url
    with nullcontext(browser) if browser else requests.Session() as session:
        page = follow_until(session, authorization_url, redirect_uri)
        assert isinstance(page, requests.Response) and page.status_code == 200, page
        assert page.url.startswith(f"{base_url}/login?"), page.url
        posted = session.post(f"{base_url}/login", allow_redirects=False, timeout=10, data={
            "csrf_token": csrf_from(page.text), "interaction": hidden_value(page.text, "interaction"),
            "identifier": identifier, "password": password,
        })
        assert posted.status_code == 302, posted.text
        sms_page = session.get(urljoin(finish_url, posted.headers["Location"]), timeout=10)
        assert sms_page.status_code == 200, sms_page.text
        posted = session.post(f"{finish_url}/login/sms", allow_redirects=False, timeout=10, data={
            "csrf_token": csrf_from(sms_page.text), "code": sms_code(),
        })
        assert posted.status_code == 302, posted.text
        callback = follow_until(session, urljoin(posted.url, posted.headers["Location"]), redirect_uri)
        assert isinstance(callback, str), f"no redirect to {redirect_uri}: {callback.status_code} {callback.text}"
        return callback
