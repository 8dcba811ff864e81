"""The WSGI entry the benchmark serves (granian or gunicorn): the provider exactly as deployed.

Settings come from the ``IDP_*`` environment that ``bench/run.py`` sets; nothing here
changes the application.
"""

from idp.app import create_app

app = create_app()
