"""`auth_strategy = keystone` against a real Keystone (from PyPI) run locally.

Keystone lives in its own virtualenv (`.venv-keystone` beside `.venv`, or
`$STATERA_KEYSTONE_VENV`), created here on first use and then reused. Each
run gets a private SQLite database and fernet keys in a temporary
directory, is bootstrapped with `keystone-manage`, and is served by the
standard library's WSGI server on a free loopback port; the process is
stopped (by its own pid) when the module's tests are done.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import Client
from tests.integration.api.helpers import V2, fault, ok

from statera.api.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[3]
HARNESS = Path(__file__).with_name("serve_keystone.py")
PASSWORD = "statera-test-admin"
START_DEADLINE_S = 90.0


@dataclass(frozen=True)
class Keystone:
    url: str
    demo_project_id: str

    def token(self, user: str, password: str, project: str) -> str:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": user, "domain": {"id": "default"}, "password": password}
                    },
                },
                "scope": {"project": {"name": project, "domain": {"id": "default"}}},
            }
        }
        response = httpx.post(f"{self.url}/v3/auth/tokens", json=body, timeout=30)
        assert response.status_code == 201, response.text
        return response.headers["X-Subject-Token"]


def _venv() -> Path:
    venv = Path(os.environ.get("STATERA_KEYSTONE_VENV", REPO / ".venv-keystone"))
    if not (venv / "bin" / "keystone-manage").exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
            subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", "keystone"], check=True, timeout=900
            )
        except (subprocess.SubprocessError, OSError) as exc:
            pytest.skip(f"cannot install Keystone from PyPI into {venv}: {exc}")
    return venv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method, f"{url}/v3{path}", json=body, headers={"X-Auth-Token": token}, timeout=30
    )
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keystone]:
    venv = _venv()
    home = tmp_path_factory.mktemp("keystone")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    (home / "keystone.conf").write_text(
        f"[database]\nconnection = sqlite:///{home}/keystone.db\n"
        f"[fernet_tokens]\nkey_repository = {home}/fernet-keys\n"
        f"[fernet_receipts]\nkey_repository = {home}/fernet-keys\n"
        f"[credential]\nkey_repository = {home}/credential-keys\n"
        "[token]\nprovider = fernet\n"
    )
    manage = [str(venv / "bin" / "keystone-manage"), "--config-file", str(home / "keystone.conf")]
    owner = ["--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid())]
    for args in (
        ["db_sync"],
        ["fernet_setup", *owner],
        ["credential_setup", *owner],
        [
            "bootstrap",
            "--bootstrap-password",
            PASSWORD,
            "--bootstrap-admin-url",
            f"{url}/v3",
            "--bootstrap-public-url",
            f"{url}/v3",
            "--bootstrap-internal-url",
            f"{url}/v3",
            "--bootstrap-region-id",
            "RegionOne",
        ],
    ):
        subprocess.run([*manage, *args], check=True, timeout=300, capture_output=True)
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [str(venv / "bin" / "python"), str(HARNESS), str(home), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            assert server.poll() is None, (home / "server.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/v3", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "Keystone did not answer in time"
            time.sleep(0.2)
        ks = Keystone(url=url, demo_project_id="")
        admin = ks.token("admin", PASSWORD, "admin")
        project = _api(url, admin, "POST", "/projects", {"project": {"name": "demo"}})["project"]
        roles = {r["name"]: r["id"] for r in _api(url, admin, "GET", "/roles")["roles"]}
        for user, role in (("alice", "member"), ("rita", "reader")):
            created = _api(
                url,
                admin,
                "POST",
                "/users",
                {"user": {"name": user, "password": f"{user}-pw", "domain_id": "default"}},
            )["user"]
            _api(
                url,
                admin,
                "PUT",
                f"/projects/{project['id']}/users/{created['id']}/roles/{roles[role]}",
            )
        yield Keystone(url=url, demo_project_id=project["id"])
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def settings_overrides(keystone: Keystone) -> str:
    return (
        "[api_settings]\nauth_strategy = keystone\n"
        "[keystone_authtoken]\n"
        f"www_authenticate_uri = {keystone.url}\n"
        f"auth_url = {keystone.url}\n"
        "auth_type = password\n"
        "username = admin\n"
        f"password = {PASSWORD}\n"
        "project_name = admin\n"
        "user_domain_name = Default\n"
        "project_domain_name = Default\n"
    )


@pytest.fixture
def bare(settings: Any, database: Any) -> Iterator[Client]:
    c = Client(create_app(settings, database))
    try:
        yield c
    finally:
        c.close()


def test_real_tokens(bare: Client, keystone: Keystone) -> None:
    alice = {"X-Auth-Token": keystone.token("alice", "alice-pw", "demo")}
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet"}}
    lb = ok(bare.post(f"{V2}/loadbalancers", json=body, headers=alice), 201)["loadbalancer"]
    assert lb["project_id"] == keystone.demo_project_id
    listed = ok(bare.get(f"{V2}/loadbalancers", headers=alice))["loadbalancers"]
    assert [x["id"] for x in listed] == [lb["id"]]

    rita = {"X-Auth-Token": keystone.token("rita", "rita-pw", "demo")}
    assert ok(bare.get(f"{V2}/loadbalancers/{lb['id']}", headers=rita))
    denied = bare.post(f"{V2}/loadbalancers", json=body, headers=rita)
    assert fault(denied, 403) == "Policy does not allow this request to be performed."


def test_bad_or_missing_token_is_401(bare: Client) -> None:
    response = bare.get(f"{V2}/loadbalancers", headers={"X-Auth-Token": "not-a-token"})
    assert response.status_code == 401, response.text
    assert "Keystone uri=" in response.headers.get("www-authenticate", "")
    assert bare.get(f"{V2}/loadbalancers").status_code == 401
    # Identity headers sent by a client are not believed.
    forged = {"X-Project-Id": "demo", "X-Roles": "admin", "X-Identity-Status": "Confirmed"}
    assert bare.get(f"{V2}/loadbalancers", headers=forged).status_code == 401
