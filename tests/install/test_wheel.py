"""The provider as users install it: a built wheel in a fresh virtual environment, not the
editable checkout the rest of the suite imports.

An editable install reads modules and templates from the source tree, so a package or a data
file the wheel leaves out goes unnoticed there (``idp/consent`` once lacked its ``__init__.py``
and a built wheel could not start). This test builds the wheel, installs it with its
dependencies in a new venv, and runs it from a folder outside the repository: the README's
operator commands (``idp db upgrade``, ``idp clients add``, ``idp users add``, ``idp serve``) and
one password + SMS login completed with a token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import DOC_NUMBER, PASSWORD, PHONE, RelyingParty, authorization_request
from faults.services import Node, free_port
from http_browser import log_in_over_http

REPOSITORY = Path(__file__).resolve().parents[2]
REDIRECT_URI = "https://rp.test/callback"


def _run(command: list[str], **options) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **options)
    assert done.returncode == 0, f"{command[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``bin`` folder of a fresh venv holding the built wheel and its dependencies."""
    base = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w",
          str(base / "dist"), str(REPOSITORY)])
    wheels = list((base / "dist").glob("qdtax_idp-*.whl"))
    assert len(wheels) == 1, wheels
    _run([sys.executable, "-m", "venv", str(base / "venv")])
    _run([str(base / "venv" / "bin" / "pip"), "install", "--disable-pip-version-check", "-q", str(wheels[0])])
    return base / "venv" / "bin"


def test_built_wheel_migrates_serves_and_logs_a_person_in(installed: Path, tmp_path: Path):
    work = tmp_path / "site"  # outside the repository: nothing can be imported from the source tree
    work.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_") and k != "PYTHONPATH"}
    env.update(IDP_ISSUER=f"http://127.0.0.1:{port}", IDP_PASSWORD_HASH_PROFILE="test",
               IDP_QR_WAITING_POLLS_PER_WORKER="1", IDP_METRICS_ADDRESS="")
    idp = str(installed / "idp")

    location = _run([str(installed / "python"), "-c", "import idp; print(idp.__file__)"], cwd=work, env=env)
    assert str(installed.parent) in location, f"idp imported from {location}, not the installed wheel"
    _run([idp, "db", "upgrade"], cwd=work, env=env)
    client = json.loads(_run([idp, "clients", "add", "--name", "安装测试应用", "--redirect-uri", REDIRECT_URI,
                              "--first-party", "--json"], cwd=work, env=env))
    _run([idp, "users", "add", "--doc-type", "ID_CARD", "--doc-number", DOC_NUMBER, "--name", "张三",
          "--phone", PHONE, "--password", PASSWORD, "--username", "zhangsan"], cwd=work, env=env)

    node = Node(port, env, tmp_path / "serve.log", command=[idp], cwd=work)
    node.start("--workers", "1", "--threads", "2")
    try:
        request = authorization_request(RelyingParty(client["client_id"], client["client_secret"], REDIRECT_URI))
        authorization_url = requests.Request("GET", f"{node.url}/authorize", params=request.params).prepare().url
        callback = log_in_over_http(node.url, authorization_url, REDIRECT_URI,
                                    lambda: node.last_sms_code(PHONE))
        code = parse_qs(urlsplit(callback).query)["code"][0]
        token = requests.post(f"{node.url}/token", auth=(client["client_id"], client["client_secret"]), timeout=10,
                              data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                                    "code_verifier": request.verifier})
        assert token.status_code == 200, token.text
        assert {"access_token", "id_token", "refresh_token"} <= set(token.json())
    finally:
        node.stop()
