"""Discovery and the JWKS answered from memory, in front of Flask.

Every relying party and resource server fetches these two documents, so they are the
provider's hottest paths (bench/README.md: 15,000/s of them on two cores), and a Flask request
costs several times what the answer itself does. The Flask views stay the one definition of
both documents: this replays a view's last 200 answer, headers included, for as long as what
the document is built from is unchanged. Discovery never changes in a running process; the
JWKS changes when the published key set does (the keyring re-reads its store every
``KEYRING_REFRESH_SECONDS``), and the next request after that is answered by the view again.
Conditional (``If-None-Match``) and non-GET requests always go to the views.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask

from idp.keyring import current_keyring

DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
JWKS_PATH = "/jwks.json"


class PublishedDocuments:
    """WSGI middleware: ``versions`` maps a path to a function giving its document's current
    version (compared with ``==``), called outside any application context: pushing one for each
    request cost as much as the rest of the answer, so a function that needs one pushes it."""

    def __init__(self, app: Flask, versions: dict[str, Callable[[], object]]):
        self.app = app
        self.next = app.wsgi_app
        self.versions = versions
        #: path -> (version, status, headers, body) of the view's last 200 answer
        self.replies: dict[str, tuple[object, str, list[tuple[str, str]], bytes]] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        version_of = self.versions.get(path)
        if version_of is None or environ.get("REQUEST_METHOD") != "GET" or "HTTP_IF_NONE_MATCH" in environ:
            return self.next(environ, start_response)
        try:
            version = version_of()
        except Exception:
            # The view and the app's error pages answer (a 503 when a store cannot be reached).
            return self.next(environ, start_response)
        reply = self.replies.get(path)
        if reply is None or reply[0] != version:
            return self._answer_and_keep(path, version, environ, start_response)
        start_response(reply[1], list(reply[2]))
        return [reply[3]]

    def _answer_and_keep(self, path: str, version: object, environ: dict, start_response: Callable) -> list[bytes]:
        answer: dict = {}

        def keep_start(status: str, headers: list[tuple[str, str]], exc_info=None):
            answer.update(status=status, headers=list(headers))
            return start_response(status, headers, exc_info)

        chunks = self.next(environ, keep_start)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        if answer.get("status", "").startswith("200 "):
            self.replies[path] = (version, answer["status"], answer["headers"], body)
        return [body]


def install_published_documents(app: Flask) -> None:
    keyring = current_keyring(app)

    def jwks_version() -> bytes:
        # The serialized key set is rebuilt only when the published keys change, so it is its
        # version; only a check of the keyring's store needs the app (its database).
        if keyring.check_due():
            with app.app_context():
                return keyring.public_jwks_document()
        return keyring.public_jwks_document()

    versions: dict[str, Callable[[], object]] = {path: lambda: None for path in DISCOVERY_PATHS}
    versions[JWKS_PATH] = jwks_version
    app.wsgi_app = PublishedDocuments(app, versions)  # type: ignore[method-assign]  # Flask's documented way to add WSGI middleware
