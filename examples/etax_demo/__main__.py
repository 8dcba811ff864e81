"""``python -m examples.etax_demo --port 5001 --client-id ... --client-secret ...``

Every option can come from the environment instead (``ETAX_DEMO_PORT``, ``ETAX_DEMO_CLIENT_ID``,
``ETAX_DEMO_CLIENT_SECRET``, ``ETAX_DEMO_ISSUER``, ``ETAX_DEMO_NAME``).  ``idp serve --demo``
registers the clients and prints the commands for two instances.
"""

from __future__ import annotations

import argparse
import os

from examples.etax_demo.app import DemoConfig, create_demo_app


def main(argv: list[str] | None = None) -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m examples.etax_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(env("ETAX_DEMO_PORT", "5001")))
    parser.add_argument("--issuer", default=env("ETAX_DEMO_ISSUER", "http://127.0.0.1:5000"))
    parser.add_argument("--client-id", default=env("ETAX_DEMO_CLIENT_ID"))
    parser.add_argument("--client-secret", default=env("ETAX_DEMO_CLIENT_SECRET"))
    parser.add_argument("--name", default=env("ETAX_DEMO_NAME", "演示电子税务局"))
    args = parser.parse_args(argv)
    if not args.client_id or not args.client_secret:
        parser.error("--client-id and --client-secret (or ETAX_DEMO_CLIENT_ID/_SECRET) are required; "
                     "`idp serve --demo` prints them")
    # The redirect URIs registered for the demo are on 127.0.0.1: serve there, nowhere else.
    config = DemoConfig(issuer=args.issuer.rstrip("/"), client_id=args.client_id,
                        client_secret=args.client_secret, base_url=f"http://127.0.0.1:{args.port}", name=args.name)
    create_demo_app(config).run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
