"""Serving behind reverse proxies: ``TRUSTED_PROXY_HOPS`` installs werkzeug's ``ProxyFix``.

Behind nginx or a load balancer the connection comes from the proxy, so without this every
citizen shares one per-IP rate-limit budget and every audit row and QR approval screen shows
the proxy's address. ``ProxyFix`` takes from each honoured header only the value the last
``TRUSTED_PROXY_HOPS`` proxies wrote; anything a client sent ahead of them is ignored.

Honoured:

* ``X-Forwarded-For`` becomes ``request.remote_addr``: the rate limits, the audit log and the
  QR login request all read it there.
* ``X-Forwarded-Proto`` becomes the request's scheme. authlib refuses an OAuth request whose URL
  is plain ``http`` on a public host (``InsecureTransportError``), so a proxy that terminates TLS
  must say the client used ``https``.

Not honoured: ``X-Forwarded-Host``, ``-Port`` and ``-Prefix``. Every absolute URL the provider
hands out (tokens, discovery, QR payloads, face-check return addresses) and the cookies'
``Secure`` flag come from the configured ``ISSUER``, never from the request, so a forwarded host
would buy nothing and would let a header choose what ``request.host`` says.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from idp.core.settings import current_settings


def install_reverse_proxy(app: Flask) -> None:
    """Trust ``X-Forwarded-For`` and ``X-Forwarded-Proto`` from ``TRUSTED_PROXY_HOPS`` proxies (none when 0).

    Call before :func:`idp.web.published_documents.install_published_documents`: its in-memory
    discovery and JWKS answers depend on neither address nor scheme, so the hottest paths need not
    pass through ``ProxyFix``, while every request it hands on to Flask does.
    """
    hops = current_settings(app).TRUSTED_PROXY_HOPS
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to add WSGI middleware
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
