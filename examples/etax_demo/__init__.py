"""A demo e-tax web app: a Flask relying party built on authlib's Flask OAuth client.

Run two of them next to ``idp serve --demo`` (which prints the exact commands) to see single
sign-on, choosing and switching taxpayer, step-up to a face check, and single logout.
"""

from examples.etax_demo.app import DemoConfig, create_demo_app

__all__ = ["DemoConfig", "create_demo_app"]
