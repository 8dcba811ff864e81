"""A calibration app: the server answering every request with discovery's bytes and no framework.

What this reaches is the most any Python WSGI app can reach under the same server
settings on this machine; the gap to ``/.well-known/openid-configuration`` is the cost
of Flask and the provider.
"""

import json

from idp.protocol.discovery import provider_metadata

BODY = json.dumps(provider_metadata("http://127.0.0.1:5000")).encode()
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
