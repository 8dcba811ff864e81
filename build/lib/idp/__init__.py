"""qdtax-idp: the OpenID Connect identity provider of the city tax bureau's e-tax services.

The application factory lives in :mod:`idp.app` (``idp.app:create_app``); this package
init stays import-light so pure modules (document validators) import without Flask setup.
"""
