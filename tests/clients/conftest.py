"""Fixtures of the client tests: the clients' own virtualenv and a running Statera.

The OpenStack clients live in `.venv-clients` beside `.venv` (`./run setup`
creates it from `tests/clients/requirements.txt`; the `clients_venv` fixture
creates it too when it is missing, so a plain `pytest` works). The server is a
real `statera up` with the noop drivers (`tests/noop_server.py`). Every test
here is marked `clients`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.clients.venv import VENV, ensure_clients_venv
from tests.noop_server import NoopServer

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.clients)


@pytest.fixture(scope="session")
def clients_bin() -> Path:
    return ensure_clients_venv(VENV)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoopServer]:
    # The built-in network, plus an IPv6 subnet for additional VIPs.
    extra = (
        "[network:private]\ncidr = 10.0.0.0/24\n"
        "[subnet:private-v6-subnet]\nnetwork = private\ncidr = fd00:5a::/64\n"
    )
    s = NoopServer(tmp_path_factory.mktemp("noop"), extra_config=extra)
    try:
        yield s.start()
    finally:
        s.close()


@pytest.fixture(scope="module")
def client_env(server: NoopServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the documented invocation: no Keystone, Statera for both services."""
    home = tmp_path_factory.mktemp("home")  # no clouds.yaml of the host's user leaks in
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "OS_AUTH_TYPE": "none",
        "OS_ENDPOINT": server.base,
        "OS_NETWORK_ENDPOINT_OVERRIDE": server.base + "/",
    }
