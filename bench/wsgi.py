"""The WSGI entry the benchmark serves (granian or gunicorn): the provider exactly as deployed.

Settings come from the ``IDP_*`` environment that ``bench/run.py`` sets; nothing here
changes the application, unless ``run.py --without-audit-records`` asks (bench/audit_records.py).
"""

import audit_records

from idp.app import create_app

audit_records.apply_from_environment()
app = create_app()
