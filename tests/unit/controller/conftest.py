"""The agent client and the REST amphora driver over an in-memory agent.

Each test module defines the `agent` fixture: a callable `httpx.MockTransport`
handler that records what the driver sends and answers as an agent would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from statera.agent_client.client import AgentClient
from statera.controller.drivers import RestAmphora
from statera.settings import load_settings


@pytest.fixture
def client(agent: Callable[[httpx.Request], httpx.Response]) -> Iterator[AgentClient]:
    with AgentClient(
        ca_cert=Path("unused"),
        client_cert=Path("unused"),
        client_key=Path("unused"),
        timeout=httpx.Timeout(1.0),
        transport=httpx.MockTransport(agent),
    ) as client:
        yield client


@pytest.fixture
def driver(client: AgentClient, tmp_path: Path) -> RestAmphora:
    return RestAmphora(load_settings(overrides=""), pki_dir=tmp_path, client=client)
